// The image graph: what each image in a repository is, and what holds it alive (its index, its subject).
// Built from DescribeImages records plus the manifests of image indexes. Anything we cannot read is marked as a problem:
// the planner keeps it, and an unreadable index makes every untagged image possibly its child.
import type { Digest, GraphProblem, ImageGraph, ImageKind, ImageNode, ImageRecord, RepositoryInventory } from './types.js';

export const INDEX_MEDIA_TYPES: readonly string[] = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const IMAGE_MEDIA_TYPES: readonly string[] = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];
export const BUILDKIT_CACHE_MEDIA_TYPE = 'application/vnd.buildkit.cacheconfig.v0';
const ATTESTATION_TYPE_ANNOTATION = 'vnd.docker.reference.type';
const ATTESTATION_SUBJECT_ANNOTATION = 'vnd.docker.reference.digest';
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}

/** The digests whose manifests the graph needs: every image index (BatchGetImage, 100 per call). */
export function manifestDigestsToFetch(images: readonly ImageRecord[]): Digest[] {
  return images.filter((image) => isIndexMediaType(image.manifestMediaType)).map((image) => image.digest);
}

interface IndexEntry {
  digest: Digest;
  attestationOf?: Digest;
}

export function buildImageGraph(inventory: RepositoryInventory): ImageGraph {
  const nodes = new Map<Digest, ImageNode>();
  const problems: GraphProblem[] = [];
  let childrenUncertain = false;

  for (const record of inventory.images) {
    nodes.set(record.digest, {
      record,
      kind: initialKind(record),
      parents: [],
      children: [],
      missingChildren: [],
      referrers: [],
      billableBytes: isIndexMediaType(record.manifestMediaType) ? 0 : record.sizeBytes,
      problems: [],
      ...(record.subjectDigest ? { subject: record.subjectDigest } : {}),
    });
  }
  const problem = (node: ImageNode, message: string) => {
    node.problems.push(message);
    problems.push({ digest: node.record.digest, message });
  };

  for (const node of nodes.values()) {
    if (node.kind === 'unknown') problem(node, `unknown media type ${node.record.manifestMediaType ?? '(none reported)'}: kept`);
    if (node.kind !== 'index') continue;
    const digest = node.record.digest;
    const text = inventory.manifests[digest];
    const failure = inventory.manifestFailures?.[digest];
    if (text === undefined && (node.record.imageStatus === 'ARCHIVED' || node.record.imageStatus === 'ACTIVATING')) {
      // "Archived images cannot be pulled" (user guide "Archiving an image"): its manifest stays unreadable until a
      // restore. Blocking on it would stop the repository for good; its children stay safe without us, since ECR
      // expires no image a present manifest list references. Said in the report, not held against the repository.
      problems.push({ digest, message: `index manifest not readable while ${node.record.imageStatus.toLowerCase()}: its children are unknown (ECR keeps them while it exists)` });
      continue;
    }
    if (text === undefined) {
      problem(node, `index manifest not read${failure ? ` (${failure})` : ''}: its children are unknown`);
      childrenUncertain = true;
      continue;
    }
    const entries = readIndexEntries(text);
    if (typeof entries === 'string') {
      problem(node, `index manifest unreadable: ${entries}`);
      childrenUncertain = true;
      continue;
    }
    for (const entry of entries) {
      const child = nodes.get(entry.digest);
      if (!child) {
        if (!node.missingChildren.includes(entry.digest)) node.missingChildren.push(entry.digest);
        continue;
      }
      if (!node.children.includes(entry.digest)) node.children.push(entry.digest);
      if (!child.parents.includes(digest)) child.parents.push(digest);
      if (entry.attestationOf !== undefined && child.kind === 'image') {
        child.kind = 'attestation';
        child.subject = entry.attestationOf;
      }
    }
  }

  for (const node of nodes.values()) {
    if (node.kind !== 'referrer' || !node.subject) continue;
    nodes.get(node.subject)?.referrers.push(node.record.digest);
  }
  return { repository: inventory.repository, nodes, problems, childrenUncertain };
}

function initialKind(record: ImageRecord): ImageKind {
  if (isIndexMediaType(record.manifestMediaType)) return 'index';
  if (!record.manifestMediaType || !IMAGE_MEDIA_TYPES.includes(record.manifestMediaType)) return 'unknown';
  if (record.subjectDigest) return 'referrer';
  if (record.artifactMediaType === BUILDKIT_CACHE_MEDIA_TYPE) return 'cache';
  return 'image';
}

/** The manifests an index lists, or why it cannot be read. */
function readIndexEntries(text: string): IndexEntry[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { manifests?: unknown }).manifests)) {
    return 'no "manifests" list';
  }
  const entries: IndexEntry[] = [];
  for (const [i, descriptor] of ((parsed as { manifests: unknown[] }).manifests).entries()) {
    const d = descriptor as { digest?: unknown; annotations?: Record<string, unknown> } | null;
    if (typeof d?.digest !== 'string' || !DIGEST_RE.test(d.digest)) return `manifests[${i}].digest is not a sha256 digest`;
    const annotations = d.annotations ?? {};
    const subject = annotations[ATTESTATION_SUBJECT_ANNOTATION];
    const isAttestation = annotations[ATTESTATION_TYPE_ANNOTATION] === 'attestation-manifest';
    entries.push({ digest: d.digest, ...(isAttestation && typeof subject === 'string' ? { attestationOf: subject } : {}) });
  }
  return entries;
}
