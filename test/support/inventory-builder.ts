// Builds RepositoryInventory values shaped as ECR reports them: buildx indexes with platform children and attestation
// manifests, BuildKit cache manifests, OCI 1.1 referrers. Digests are sha256 of the manifest text, as in ECR.
import { createHash } from 'node:crypto';
import type { Digest, ImageRecord, RepositoryInventory } from '../../lambda/domain/types.js';

export const DAY = 86_400_000;
export const MB = 1024 * 1024;
export const T0 = Date.UTC(2026, 0, 1);

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const CACHE_CONFIG = 'application/vnd.buildkit.cacheconfig.v0';

export function sha256(text: string): Digest {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export interface BuildxImage {
  index: Digest;
  platforms: Digest[];
  attestations: Digest[];
}

export class InventoryBuilder {
  readonly images: ImageRecord[] = [];
  readonly manifests: Record<Digest, string> = {};
  private seed = 0;
  private readonly byDigest = new Map<Digest, ImageRecord>();
  private readonly tagged = new Map<string, ImageRecord>();

  constructor(readonly repository = 'app') {}

  /** A multi-arch buildx build: platform manifests and (by default) one attestation per platform inside an index. */
  buildx(options: { tags: string[]; pushedAt: number; platforms?: number; attestations?: boolean; bytes?: number }): BuildxImage {
    const seed = this.seed++;
    const platforms: Digest[] = [];
    const attestations: Digest[] = [];
    const descriptors: object[] = [];
    const arches = ['amd64', 'arm64', 'ppc64le', 's390x'].slice(0, options.platforms ?? 2);
    for (const arch of arches) {
      const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: sha256(`config-${seed}-${arch}`) }, layers: [], seed, arch });
      const digest = this.add(text, { tags: [], pushedAt: options.pushedAt, sizeBytes: options.bytes ?? 50 * MB, manifestMediaType: OCI_MANIFEST, artifactMediaType: OCI_CONFIG });
      platforms.push(digest);
      descriptors.push({ mediaType: OCI_MANIFEST, digest, size: text.length, platform: { architecture: arch, os: 'linux' } });
    }
    if (options.attestations !== false) {
      for (const subject of platforms) {
        const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG }, layers: [{ mediaType: 'application/vnd.in-toto+json' }], attests: subject });
        const digest = this.add(text, { tags: [], pushedAt: options.pushedAt, sizeBytes: 20_000, manifestMediaType: OCI_MANIFEST, artifactMediaType: OCI_CONFIG });
        attestations.push(digest);
        descriptors.push({
          mediaType: OCI_MANIFEST,
          digest,
          size: text.length,
          annotations: { 'vnd.docker.reference.digest': subject, 'vnd.docker.reference.type': 'attestation-manifest' },
          platform: { architecture: 'unknown', os: 'unknown' },
        });
      }
    }
    const indexText = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors });
    const index = this.add(indexText, { tags: [], pushedAt: options.pushedAt, sizeBytes: options.bytes ?? 50 * MB, manifestMediaType: OCI_INDEX });
    this.manifests[index] = indexText;
    for (const tag of options.tags) this.tag(tag, index);
    return { index, platforms, attestations };
  }

  /** A single-platform image manifest. */
  single(options: { tags: string[]; pushedAt: number; bytes?: number }): Digest {
    const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, single: this.seed++ });
    const digest = this.add(text, { tags: [], pushedAt: options.pushedAt, sizeBytes: options.bytes ?? 30 * MB, manifestMediaType: OCI_MANIFEST, artifactMediaType: OCI_CONFIG });
    for (const tag of options.tags) this.tag(tag, digest);
    return digest;
  }

  /** A registry cache export (`--cache-to type=registry,image-manifest=true`): moves the tag to the new manifest. */
  cache(options: { pushedAt: number; tag?: string; bytes?: number }): Digest {
    const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: CACHE_CONFIG, cache: this.seed++ });
    const digest = this.add(text, { tags: [], pushedAt: options.pushedAt, sizeBytes: options.bytes ?? 200 * MB, manifestMediaType: OCI_MANIFEST, artifactMediaType: CACHE_CONFIG });
    this.tag(options.tag ?? 'buildcache', digest);
    return digest;
  }

  /** An OCI 1.1 referrer (signature, SBOM) of `subject`. */
  referrer(options: { subject: Digest; pushedAt: number }): Digest {
    const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.in-toto+json', subject: { digest: options.subject }, n: this.seed++ });
    return this.add(text, { tags: [], pushedAt: options.pushedAt, sizeBytes: 20_000, manifestMediaType: OCI_MANIFEST, artifactMediaType: 'application/vnd.in-toto+json', subjectDigest: options.subject });
  }

  /** An image whose media type we do not understand. */
  unknown(options: { tags: string[]; pushedAt: number }): Digest {
    const text = `unknown-${this.seed++}`;
    const digest = this.add(text, { tags: [], pushedAt: options.pushedAt, sizeBytes: MB, manifestMediaType: 'application/vnd.example.weird+json' });
    for (const tag of options.tags) this.tag(tag, digest);
    return digest;
  }

  /** Points `tag` at `digest`, taking it off whichever image had it (ECR tags are unique in a repository). */
  tag(tag: string, digest: Digest): this {
    const holder = this.tagged.get(tag);
    if (holder) holder.tags = holder.tags.filter((t) => t !== tag);
    const image = this.find(digest);
    image.tags.push(tag);
    this.tagged.set(tag, image);
    return this;
  }

  find(digest: Digest): ImageRecord {
    const image = this.byDigest.get(digest);
    if (!image) throw new Error(`no image ${digest}`);
    return image;
  }

  inventory(): RepositoryInventory {
    return {
      repository: this.repository,
      images: this.images.map((i) => ({ ...i, tags: [...i.tags] })),
      manifests: { ...this.manifests },
    };
  }

  private add(text: string, record: Omit<ImageRecord, 'digest'>): Digest {
    const digest = sha256(text);
    const image = { digest, ...record };
    this.images.push(image);
    this.byDigest.set(digest, image);
    return digest;
  }
}
