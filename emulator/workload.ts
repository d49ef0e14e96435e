// Pushes real-shaped images through an ECRClient (so through the SDK and HTTP), as docker buildx and BuildKit do:
// multi-platform indexes with in-index attestations, registry cache manifests, OCI 1.1 referrers, plain images.
// Content is derived from a seed: the same seed gives the same bytes, different seeds give different digests.
import { createHash } from 'node:crypto';
import { ImageAlreadyExistsException, PutImageCommand, type ECRClient } from '@aws-sdk/client-ecr';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const BUILDKIT_CACHE_CONFIG = 'application/vnd.buildkit.cacheconfig.v0';
export const IN_TOTO = 'application/vnd.in-toto+json';
export const SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const NOTARY_SIGNATURE = 'application/vnd.cncf.notary.signature';
export type ReferrerArtifactType = typeof IN_TOTO | typeof SIGSTORE_BUNDLE | typeof NOTARY_SIGNATURE;

/** The OCI empty descriptor's blob ("{}"): its digest is fixed by the spec. */
const EMPTY_CONFIG = { mediaType: OCI_EMPTY, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
const DEFAULT_PLATFORMS = ['linux/amd64', 'linux/arm64'];
const DEFAULT_LAYER_BYTES = 30 * 1024 * 1024;
const SEED_ANNOTATION = 'org.opencontainers.image.revision';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface PushedManifest {
  digest: string;
  /** Layers plus config: what ECR reports as imageSizeInBytes. */
  bytes: number;
  text: string;
}

export interface BuildxBuildOptions {
  tags: string[];
  platforms?: string[];
  attestations?: boolean;
  /** Total layer bytes of each platform image. */
  layerBytes?: number;
  seed: string;
}

export interface BuildxBuildResult {
  indexDigest: string;
  /** Platform images, in the order of `platforms`. */
  childDigests: string[];
  /** One attestation manifest per platform image, same order. */
  attestationDigests: string[];
  /** Bytes of every manifest the build pushed (platform images and attestations). */
  bytes: number;
}

/** sha256 of text: for the (fake) blob digests the seed decides. */
function blobDigest(...parts: string[]): string {
  return `sha256:${createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('hex')}`;
}

function manifestDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

function descriptorSize(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function manifestBytes(config: { size: number }, layers: readonly { size: number }[]): number {
  return config.size + layers.reduce((sum, layer) => sum + layer.size, 0);
}

function platformOf(platform: string): { architecture: string; os: string; variant?: string } {
  const [os, architecture, variant] = platform.split('/');
  if (!os || !architecture) throw new Error(`platform must look like os/arch[/variant], got "${platform}"`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** PutImage; re-pushing identical content is a no-op, as `docker push` makes it. */
async function put(client: ECRClient, repository: string, text: string, mediaType: string, tag?: string): Promise<void> {
  try {
    await client.send(
      new PutImageCommand({ repositoryName: repository, imageManifest: text, imageManifestMediaType: mediaType, ...(tag !== undefined ? { imageTag: tag } : {}) }),
    );
  } catch (error) {
    if (!(error instanceof ImageAlreadyExistsException)) throw error;
  }
}

/** A runnable image manifest: config plus two layers, the app layer carrying most of the bytes. */
export function imageManifest(seed: string, layerBytes: number, platform?: string): PushedManifest {
  const baseSize = Math.floor(layerBytes / 3);
  const config = { mediaType: OCI_IMAGE_CONFIG, digest: blobDigest(seed, platform ?? '', 'config'), size: 1_469 };
  const layers = [
    { mediaType: OCI_LAYER, digest: blobDigest(seed, platform ?? '', 'base'), size: baseSize },
    { mediaType: OCI_LAYER, digest: blobDigest(seed, platform ?? '', 'app'), size: layerBytes - baseSize },
  ];
  const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
  return { digest: manifestDigest(text), bytes: manifestBytes(config, layers), text };
}

/** buildx's attestation manifest for one platform image: SBOM and provenance as in-toto layers. */
export function attestationManifest(seed: string, platform: string): PushedManifest {
  const config = { mediaType: OCI_IMAGE_CONFIG, digest: blobDigest(seed, platform, 'attestation-config'), size: 241 };
  const layers = [
    { mediaType: IN_TOTO, digest: blobDigest(seed, platform, 'sbom'), size: 4_361_481, annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' } },
    { mediaType: IN_TOTO, digest: blobDigest(seed, platform, 'provenance'), size: 19_307, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' } },
  ];
  const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
  return { digest: manifestDigest(text), bytes: manifestBytes(config, layers), text };
}

/**
 * A multi-platform build as `docker buildx build --push --platform ... --attest ...` leaves it: platform images and
 * their attestation manifests pushed untagged, then the index, once per tag.
 */
export async function pushBuildxBuild(client: ECRClient, repository: string, options: BuildxBuildOptions): Promise<BuildxBuildResult> {
  const platforms = options.platforms ?? DEFAULT_PLATFORMS;
  const withAttestations = options.attestations ?? true;
  const layerBytes = options.layerBytes ?? DEFAULT_LAYER_BYTES;
  const images = platforms.map((platform) => ({ platform, manifest: imageManifest(options.seed, layerBytes, platform) }));
  const attestations = withAttestations ? images.map(({ platform }) => attestationManifest(options.seed, platform)) : [];

  for (const { manifest } of images) await put(client, repository, manifest.text, OCI_MANIFEST);
  for (const manifest of attestations) await put(client, repository, manifest.text, OCI_MANIFEST);

  const entries: Descriptor[] = images.map(({ platform, manifest }) => ({
    mediaType: OCI_MANIFEST,
    digest: manifest.digest,
    size: descriptorSize(manifest.text),
    platform: platformOf(platform),
  }));
  attestations.forEach((manifest, i) => {
    entries.push({
      mediaType: OCI_MANIFEST,
      digest: manifest.digest,
      size: descriptorSize(manifest.text),
      annotations: { 'vnd.docker.reference.digest': images[i]!.manifest.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      platform: { architecture: 'unknown', os: 'unknown' },
    });
  });
  const indexText = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
  if (options.tags.length === 0) await put(client, repository, indexText, OCI_INDEX);
  for (const tag of options.tags) await put(client, repository, indexText, OCI_INDEX, tag);

  return {
    indexDigest: manifestDigest(indexText),
    childDigests: images.map(({ manifest }) => manifest.digest),
    attestationDigests: attestations.map((m) => m.digest),
    bytes: [...images.map(({ manifest }) => manifest), ...attestations].reduce((sum, m) => sum + m.bytes, 0),
  };
}

export interface CacheManifestOptions {
  tag: string;
  seed: string;
  bytes: number;
}

/**
 * BuildKit's registry cache (`--cache-to type=registry,image-manifest=true`): one manifest under the cache tag. Pushing
 * again moves the tag and leaves the previous cache manifest untagged, superseded.
 */
export async function pushCacheManifest(client: ECRClient, repository: string, options: CacheManifestOptions): Promise<PushedManifest> {
  const config = { mediaType: BUILDKIT_CACHE_CONFIG, digest: blobDigest(options.seed, 'cache-config'), size: 5_120 };
  const layerSize = Math.max(0, options.bytes - config.size);
  const layers = [{ mediaType: OCI_LAYER, digest: blobDigest(options.seed, 'cache-layer'), size: layerSize }];
  const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: BUILDKIT_CACHE_CONFIG, config, layers });
  await put(client, repository, text, OCI_MANIFEST, options.tag);
  return { digest: manifestDigest(text), bytes: manifestBytes(config, layers), text };
}

export interface ReferrerOptions {
  subjectDigest: string;
  subjectMediaType: string;
  /** Byte length of the subject's manifest. */
  subjectSize: number;
  artifactType: ReferrerArtifactType;
  seed: string;
}

/** An OCI 1.1 artifact about another image (provenance, SBOM, signature): untagged, with `subject`. */
export async function pushReferrer(client: ECRClient, repository: string, options: ReferrerOptions): Promise<PushedManifest> {
  const isAttestation = options.artifactType === IN_TOTO;
  const layers = [
    {
      mediaType: options.artifactType,
      digest: blobDigest(options.seed, options.subjectDigest, 'referrer'),
      size: isAttestation ? 19_307 : 3_412,
      ...(isAttestation ? { annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' } } : {}),
    },
  ];
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: options.artifactType,
    config: EMPTY_CONFIG,
    layers,
    subject: { mediaType: options.subjectMediaType, digest: options.subjectDigest, size: options.subjectSize },
    annotations: { [SEED_ANNOTATION]: options.seed },
  });
  await put(client, repository, text, OCI_MANIFEST);
  return { digest: manifestDigest(text), bytes: manifestBytes(EMPTY_CONFIG, layers), text };
}

export interface SingleImageOptions {
  tags: string[];
  seed: string;
  bytes: number;
}

/** A single-platform image (`docker build && docker push`), once per tag. */
export async function pushSingleImage(client: ECRClient, repository: string, options: SingleImageOptions): Promise<PushedManifest> {
  const manifest = imageManifest(options.seed, Math.max(0, options.bytes - 1_469));
  if (options.tags.length === 0) await put(client, repository, manifest.text, OCI_MANIFEST);
  for (const tag of options.tags) await put(client, repository, manifest.text, OCI_MANIFEST, tag);
  return manifest;
}
