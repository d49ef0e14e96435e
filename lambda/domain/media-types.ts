// Manifest media types the janitor understands, defined once for lambda/ (the emulator keeps its own list: it judges
// the janitor and imports nothing from lambda/). Sources: OCI image-spec "Media Types"; Docker "Image Manifest V 2,
// Schema 2"; BuildKit "Cache export" (image-manifest=true); ECR API reference, BatchGetImage acceptedMediaTypes.

export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST_V2_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_V1_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
/** A BuildKit registry cache manifest's artifact (config) media type. */
export const BUILDKIT_CACHE_MEDIA_TYPE = 'application/vnd.buildkit.cacheconfig.v0';

/** Image indexes (manifest lists): they list other manifests of the repository. */
export const INDEX_MEDIA_TYPES: readonly string[] = [OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE];

/** Manifests of one runnable image (or an artifact shaped like one: referrers, attestations, caches). */
export const IMAGE_MEDIA_TYPES: readonly string[] = [
  OCI_MANIFEST_MEDIA_TYPE,
  DOCKER_MANIFEST_V2_MEDIA_TYPE,
  DOCKER_MANIFEST_V1_MEDIA_TYPE,
  DOCKER_MANIFEST_V1_SIGNED_MEDIA_TYPE,
];

/** Every manifest format we understand; listing them all stops ECR from converting a manifest on the way out. */
export const ACCEPTED_MANIFEST_MEDIA_TYPES: readonly string[] = [
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
  DOCKER_MANIFEST_V2_MEDIA_TYPE,
  DOCKER_MANIFEST_V1_MEDIA_TYPE,
  DOCKER_MANIFEST_V1_SIGNED_MEDIA_TYPE,
];

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}
