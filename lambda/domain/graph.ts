// The image graph: what each image in a repository is, and what holds it alive (its index, its subject).
// Built from DescribeImages records plus the manifests of image indexes. Anything we cannot read is marked as a problem:
// the planner keeps it, and an unreadable index makes every untagged image possibly its child.
import { isSha256Digest } from './digest.js';
import { BUILDKIT_CACHE_MEDIA_TYPE, IMAGE_MEDIA_TYPES, isIndexMediaType } from './media-types.js';
import type { Digest, GraphProblem, ImageGraph, ImageKind, ImageNode, ImageRecord, RepositoryInventory } from './types.js';

// Importers of the graph read these here too.
export { BUILDKIT_CACHE_MEDIA_TYPE, INDEX_MEDIA_TYPES, isIndexMediaType } from './media-types.js';

const ATTESTATION_TYPE_ANNOTATION = 'vnd.docker.reference.type';
const ATTESTATION_SUBJECT_ANNOTATION = 'vnd.docker.reference.digest';

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

  for (let i = 0; i < inventory.images.length; i++) {
    const record = inventory.images[i]!;
    const kind = initialKind(record);
    // Most images have no parents, children, referrers or problems: they share one frozen empty list until they do.
    const node: ImageNode = {
      id: i,
      record,
      kind,
      parents: NONE,
      children: NONE,
      missingChildren: NONE,
      referrers: NONE,
      billableBytes: kind === 'index' ? 0 : record.sizeBytes,
      problems: NONE,
    };
    if (record.subjectDigest) node.subject = record.subjectDigest;
    nodes.set(record.digest, node);
  }
  // A digest listed twice keeps its last record: number the nodes again so ids stay 0 to size - 1.
  if (nodes.size !== inventory.images.length) {
    let id = 0;
    nodes.forEach((node) => {
      node.id = id++;
    });
  }
  const problem = (node: ImageNode, message: string) => {
    node.problems = appended(node.problems, message);
    problems.push({ digest: node.record.digest, message });
  };

  // forEach, not for-of: no iterator result per image while the code is still cold (one graph is one call).
  nodes.forEach((node) => {
    if (node.kind === 'unknown') problem(node, `unknown media type ${node.record.manifestMediaType ?? '(none reported)'}: kept`);
    if (node.kind !== 'index') return;
    const digest = node.record.digest;
    const text = inventory.manifests[digest];
    const failure = inventory.manifestFailures?.[digest];
    if (text === undefined && (node.record.imageStatus === 'ARCHIVED' || node.record.imageStatus === 'ACTIVATING')) {
      // "Archived images cannot be pulled" (user guide "Archiving an image"): its manifest stays unreadable until a
      // restore. Blocking on it would stop the repository for good; its children stay safe without us, since ECR
      // expires no image a present manifest list references. Said in the report, not held against the repository.
      problems.push({ digest, message: `index manifest not readable while ${node.record.imageStatus.toLowerCase()}: its children are unknown (ECR keeps them while it exists)` });
      return;
    }
    if (text === undefined) {
      problem(node, `index manifest not read${failure ? ` (${failure})` : ''}: its children are unknown`);
      childrenUncertain = true;
      return;
    }
    const entries = readIndexEntries(text);
    if (typeof entries === 'string') {
      problem(node, `index manifest unreadable: ${entries}`);
      childrenUncertain = true;
      return;
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const child = nodes.get(entry.digest);
      if (!child) {
        if (!node.missingChildren.includes(entry.digest)) node.missingChildren = appended(node.missingChildren, entry.digest);
        continue;
      }
      // The child's own digest string, not the parsed one: the manifest's parsed text can then be collected young.
      if (!node.children.includes(entry.digest)) node.children = appended(node.children, child.record.digest);
      if (!child.parents.includes(digest)) child.parents = appended(child.parents, digest);
      if (entry.attestationOf !== undefined && child.kind === 'image') {
        child.kind = 'attestation';
        child.subject = nodes.get(entry.attestationOf)?.record.digest ?? entry.attestationOf;
      }
    }
  });

  nodes.forEach((node) => {
    if (node.kind !== 'referrer' || !node.subject) return;
    const subject = nodes.get(node.subject);
    if (subject) subject.referrers = appended(subject.referrers, node.record.digest);
  });
  return { repository: inventory.repository, nodes, problems, childrenUncertain };
}

/** The empty list nodes share; frozen, so a push on it fails loudly instead of reaching every node. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

/** Pushes onto a node's own list, or starts one when it still shares NONE. */
function appended(list: string[], item: string): string[] {
  if (list === NONE) return [item];
  list.push(item);
  return list;
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
  const descriptors = (parsed as { manifests: unknown[] }).manifests;
  const entries: IndexEntry[] = [];
  for (let i = 0; i < descriptors.length; i++) {
    const d = descriptors[i] as { digest?: unknown; annotations?: Record<string, unknown> } | null;
    if (typeof d?.digest !== 'string' || !isSha256Digest(d.digest)) return `manifests[${i}].digest is not a sha256 digest`;
    const annotations = d.annotations;
    const subject = annotations?.[ATTESTATION_SUBJECT_ANNOTATION];
    const entry: IndexEntry = { digest: d.digest };
    if (annotations?.[ATTESTATION_TYPE_ANNOTATION] === 'attestation-manifest' && typeof subject === 'string') entry.attestationOf = subject;
    entries.push(entry);
  }
  return entries;
}
