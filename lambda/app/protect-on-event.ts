// The event path: an image that starts being used between two nightly runs gets its protection tag within the
// invocation that announces the use, and the pin goes into the run state so the nightly grace logic knows it.
// Cheap and idempotent: an image already tagged and recorded costs one DescribeImages and one state read, no write.
import { isRepositoryManaged } from '../domain/config.js';
import type { ChangeMark, ImageUse, TagMove, UseEvent } from '../domain/events.js';
import { type OrgReference, orgPinsFor, orgPinsKey, parsePublishedPins, registryPrefix } from '../domain/org-pins.js';
import type { RegistryAddress } from '../domain/image-uri.js';
import { protectionTagFor } from '../domain/patterns.js';
import { HOUR_MS } from '../domain/time.js';
import type { Digest, ImageRecord, JanitorConfig, RepositoryState } from '../domain/types.js';
import type { Clock, RegistryPort, StateStore, WriteFailure } from './ports.js';
import type { ChangeMarksPort, LogPort } from './run-janitor.js';

/** A pin recorded less than this long ago is not re-written: a storm of task events costs no state writes. */
export const PIN_REFRESH_MS = 12 * HOUR_MS;

/** Reads of a few images by digest or tag (DescribeImages with imageIds), without listing the repository. */
export interface ImageLookupPort {
  /** The images the ids name; ids naming nothing are left out. null when the repository does not exist. */
  lookupImages(repository: string, ids: readonly { digest?: Digest; tag?: string }[]): Promise<ImageRecord[] | null>;
}

export interface EventDeps {
  registry: Pick<RegistryPort, 'getManifests' | 'putTag' | 'repositoryTags' | 'describeImages'>;
  /** Without it the repository is listed in full (correct, but not cheap). */
  imageLookup?: ImageLookupPort;
  stateStore: StateStore;
  clock: Clock;
  log: LogPort;
  /** This janitor's registry: uses of any other registry are not ours to protect. */
  registryAddress: RegistryAddress;
  /** Organization-wide pins: publishes uses of other registries' images for their janitors (adapters/pins-org.ts). */
  publishForeign?: (references: OrgReference[]) => Promise<void>;
  /** Reads a document of the organization pins bucket (pins.orgBucket), for an S3 Object Created event. */
  readOrgObject?: (key: string) => Promise<string | null>;
  /** Where an ECR push or delete is marked, so the nightly run reads that repository whole (domain/change-check.ts). */
  changeMarks?: ChangeMarksPort;
}

export interface EventOptions {
  config: JanitorConfig;
  dryRun?: boolean;
  /** Repositories handled at once (default 4): an event naming many images must not burst ECR's PutImage quota. */
  concurrency?: number;
  /** The ECR push or delete the event announces (domain/events.ts parseChangeMark): marked with deps.changeMarks. */
  changeMark?: ChangeMark;
}

export interface RepositoryEventResult {
  repository: string;
  /** Digests that got their protection tag now (or would, in a dry run). */
  tagged: Digest[];
  /** Digests already carrying their protection tag. */
  alreadyTagged: Digest[];
  /** Digests whose pin went into the run state now. */
  recorded: Digest[];
  /** References that name no image in the repository (nothing to keep). */
  unresolved: string[];
  /** ecr-push: the image the pushed tag named at the last run, when it no longer carries the tag. */
  tagLeft?: Digest;
  /** Why the state was not written (none yet, unreadable, distrusted): the tag alone protects then. */
  stateNotWritten?: string;
  failures: WriteFailure[];
}

export interface EventResult {
  kind: UseEvent['kind'];
  dryRun: boolean;
  /** References not handled, with why (another registry, unmanaged repository, not opted in). */
  ignored: { reference: string; reason: string }[];
  repositories: RepositoryEventResult[];
  failed: number;
  noAction?: string;
  /** Uses of other registries published for their janitors (organization-wide pins). */
  publishedForeign?: number;
  /** ECR push or delete: the repository whose change mark moved to this time (epoch ms). */
  changeMarked?: { repository: string; time: number };
}

export async function protectOnEvent(deps: EventDeps, options: EventOptions, event: UseEvent): Promise<EventResult> {
  const dryRun = options.dryRun === true || options.config.dryRun;
  const result: EventResult = { kind: event.kind, dryRun, ignored: [], repositories: [], failed: 0, ...(event.noAction ? { noAction: event.noAction } : {}) };
  for (const image of event.notEcr) result.ignored.push({ reference: image, reason: 'not an ECR image' });
  const byRepository = new Map<string, ImageUse[]>();
  const foreign: OrgReference[] = [];
  const uses = event.orgObject ? await usesPublishedFor(deps, options.config, event.orgObject, result) : event.uses;
  if (options.changeMark && deps.changeMarks) await markChange(deps, options.config, options.changeMark, result);
  const tagMove = event.tagMove ? tagMoveOfThisJanitor(deps, options.config, event.tagMove, result) : undefined;
  if (tagMove) byRepository.set(tagMove.repository, []);
  for (const use of uses) {
    const reference = describeUse(use);
    const { accountId, region } = deps.registryAddress;
    if (use.registry.accountId !== accountId || use.registry.region !== region) {
      result.ignored.push({ reference, reason: `registry ${use.registry.accountId}/${use.registry.region} is not this janitor's (${accountId}/${region})${deps.publishForeign ? '; published for its janitor' : ''}` });
      foreign.push({ registry: use.registry, repository: use.repository, ...(use.digest ? { digest: use.digest } : {}), ...(use.tag ? { tag: use.tag } : {}), source: use.source });
    } else if (!isRepositoryManaged(options.config, use.repository)) {
      result.ignored.push({ reference, reason: 'repository not managed (repositories.include/exclude)' });
    } else {
      const uses = byRepository.get(use.repository) ?? [];
      // Dedupe: a task with three containers on one image is one image.
      if (!uses.some((u) => u.digest === use.digest && u.tag === use.tag)) uses.push(use);
      byRepository.set(use.repository, uses);
    }
  }
  if (foreign.length > 0 && deps.publishForeign && !dryRun) {
    try {
      await deps.publishForeign(foreign);
      result.publishedForeign = foreign.length;
    } catch (error) {
      result.failed += 1;
      deps.log.error({ err: (error as Error).message }, 'event: publishing a use of another registry failed; the nightly publish is the backstop');
    }
  }
  if (result.ignored.length > 0) deps.log.info({ kind: event.kind, ignored: result.ignored }, 'event: references not handled by this janitor');
  if (event.noAction) deps.log.info({ kind: event.kind }, `event: ${event.noAction}`);

  const repositories = [...byRepository.keys()].sort();
  const results: (RepositoryEventResult | undefined)[] = new Array(repositories.length);
  let next = 0;
  const worker = async () => {
    while (next < repositories.length) {
      const index = next++;
      const repository = repositories[index]!;
      const move = tagMove?.repository === repository ? tagMove : undefined;
      results[index] = await protectInRepository(deps, options.config, repository, byRepository.get(repository)!, dryRun, result, move);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, repositories.length)) }, worker));
  result.repositories = results.filter((r): r is RepositoryEventResult => r !== undefined);
  result.failed += result.repositories.filter((r) => r.failures.length > 0).length;
  for (const r of result.repositories) {
    const fields = { repository: r.repository, kind: event.kind, tagged: r.tagged, alreadyTagged: r.alreadyTagged, recorded: r.recorded, unresolved: r.unresolved, failures: r.failures, dryRun };
    if (r.failures.length > 0) deps.log.error(fields, `event: protection in ${r.repository} failed; the nightly run is the backstop`);
    else deps.log.info(fields, `event: ${r.repository}: ${r.tagged.length} tagged, ${r.alreadyTagged.length} already protected`);
  }
  return result;
}

/**
 * Marks the repository changed before anything else: a failed mark fails the event, so EventBridge retries it, and a
 * mark that never lands leaves the weekly full read (fullReadEveryDays) as the backstop. Another registry's or an
 * unmanaged repository is not ours to mark.
 */
async function markChange(deps: EventDeps, config: JanitorConfig, mark: ChangeMark, result: EventResult): Promise<void> {
  const { accountId, region } = deps.registryAddress;
  if (mark.registry && (mark.registry.accountId !== accountId || mark.registry.region !== region)) return;
  if (!isRepositoryManaged(config, mark.repository)) return;
  const time = mark.time ?? deps.clock.now();
  try {
    await deps.changeMarks!.record(mark.repository, time);
    result.changeMarked = { repository: mark.repository, time };
  } catch (error) {
    result.failed += 1;
    deps.log.error({ repository: mark.repository, err: (error as Error).message }, `event: the change mark of ${mark.repository} could not be written; the event is retried`);
  }
}

/** The tag move when it is in this janitor's registry and a managed repository; otherwise ignored with why. */
function tagMoveOfThisJanitor(deps: EventDeps, config: JanitorConfig, move: TagMove, result: EventResult): TagMove | undefined {
  const reference = `${move.registry.accountId}.dkr.ecr.${move.registry.region}.amazonaws.com/${move.repository}:${move.tag}@${move.digest}`;
  const { accountId, region } = deps.registryAddress;
  if (move.registry.accountId !== accountId || move.registry.region !== region) {
    result.ignored.push({ reference, reason: `registry ${move.registry.accountId}/${move.registry.region} is not this janitor's (${accountId}/${region})` });
    return undefined;
  }
  if (!isRepositoryManaged(config, move.repository)) {
    result.ignored.push({ reference, reason: 'repository not managed (repositories.include/exclude)' });
    return undefined;
  }
  return move;
}

/**
 * Another account's janitor just published what it uses of this registry: those images are protected now, as if
 * announced by their own events. Only the configured bucket and this registry's prefix are read.
 */
async function usesPublishedFor(deps: EventDeps, config: JanitorConfig, object: { bucket: string; key: string }, result: EventResult): Promise<ImageUse[]> {
  const reason =
    object.bucket !== config.pins.orgBucket || !deps.readOrgObject
      ? `bucket ${object.bucket} is not the organization pins bucket (pins.orgBucket)`
      : !object.key.startsWith(registryPrefix(deps.registryAddress))
        ? `not under this registry's prefix ${registryPrefix(deps.registryAddress)}`
        : undefined;
  if (reason) {
    result.ignored.push({ reference: `s3://${object.bucket}/${object.key}`, reason });
    return [];
  }
  const text = await deps.readOrgObject!(object.key);
  if (text === null) return [];
  const doc = parsePublishedPins(text, `org pins ${object.key}`);
  if (object.key !== orgPinsKey(doc.registry, doc.publisher)) throw new Error(`org pins ${object.key}: names another publisher or registry than its key`);
  return orgPinsFor([doc], deps.registryAddress, deps.clock.now(), Number.POSITIVE_INFINITY).references.map((ref) => ({
    registry: deps.registryAddress,
    repository: ref.repository,
    ...(ref.digest !== undefined ? { digest: ref.digest } : {}),
    ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
    source: ref.source,
  }));
}

async function protectInRepository(
  deps: EventDeps,
  config: JanitorConfig,
  repository: string,
  uses: ImageUse[],
  dryRun: boolean,
  result: EventResult,
  tagMove?: TagMove,
): Promise<RepositoryEventResult | undefined> {
  const outcome: RepositoryEventResult = { repository, tagged: [], alreadyTagged: [], recorded: [], unresolved: [], failures: [] };
  try {
    const optIn = config.repositories.tag;
    if (optIn) {
      const tags = await deps.registry.repositoryTags(repository);
      if (tags === null || tags[optIn.key] !== optIn.value) {
        for (const use of uses) result.ignored.push({ reference: describeUse(use), reason: `repository has no tag ${optIn.key}=${optIn.value} (not opted in)` });
        if (tagMove) result.ignored.push({ reference: `${repository}:${tagMove.tag}`, reason: `repository has no tag ${optIn.key}=${optIn.value} (not opted in)` });
        return undefined;
      }
    }
    const stateRead = await readState(deps.stateStore, repository);
    let tagsChanged = false;
    if (tagMove) {
      // The image the tag named at the last run may still run (deployed by tag, resolved then): it is a use now.
      const tags = stateRead.state?.lastInventory?.tags;
      const left = tags?.[tagMove.tag];
      if (left !== undefined && left !== tagMove.digest) {
        uses = [{ registry: tagMove.registry, repository, digest: left, source: `event:ecr-push:${repository}:${tagMove.tag}` }];
      } else {
        const why = !stateRead.state ? stateRead.why : tags === undefined ? 'the last run recorded no tags' : left === undefined ? 'the tag is new since the last run' : 'the tag did not move';
        deps.log.info({ repository, tag: tagMove.tag }, `event: push of ${repository}:${tagMove.tag}: no image left behind to protect (${why})`);
      }
      // Where the tag points now, so a second move before the nightly run protects the image this push tagged.
      tagsChanged = tags !== undefined && left !== tagMove.digest;
    }
    const images = uses.length === 0 ? [] : await lookup(deps, repository, uses);
    if (images === null) {
      for (const use of uses) result.ignored.push({ reference: describeUse(use), reason: 'repository does not exist' });
      return undefined;
    }
    const now = deps.clock.now();
    const pinned = new Map<Digest, ImageRecord>();
    for (const use of uses) {
      // The digest that runs wins over the tag: the tag may have moved since the task pulled it.
      const image = use.digest !== undefined ? images.find((i) => i.digest === use.digest) : images.find((i) => use.tag !== undefined && i.tags.includes(use.tag));
      // The tag came back to the image it named (a push of the same digest, or moved back): nothing was left behind.
      if (image && tagMove && image.tags.includes(tagMove.tag)) continue;
      if (image) pinned.set(image.digest, image);
      else outcome.unresolved.push(describeUse(use));
      if (image && tagMove) outcome.tagLeft = image.digest;
    }
    if (outcome.unresolved.length > 0) deps.log.warn({ repository, unresolved: outcome.unresolved }, 'event: image not in the repository; nothing to protect');

    const toTag = [...pinned.values()].filter((image) => !image.tags.includes(protectionTagFor(image.digest)));
    outcome.alreadyTagged = [...pinned.keys()].filter((digest) => !toTag.some((image) => image.digest === digest));
    const toRecord = stateRead.state
      ? [...pinned.keys()].filter((digest) => {
          const seen = stateRead.state!.pinsLastSeen[digest];
          return seen === undefined || now - seen > PIN_REFRESH_MS;
        })
      : [];
    if (!stateRead.state) outcome.stateNotWritten = stateRead.why;
    if (dryRun) {
      outcome.tagged = toTag.map((i) => i.digest);
      return outcome;
    }
    if (toTag.length > 0) await addProtectionTags(deps, repository, toTag, outcome);
    if ((toRecord.length > 0 || toTag.length > 0 || tagsChanged) && stateRead.state) {
      // Recorded even when the tag failed: the nightly run then wants it protected and retries the tag.
      const state: RepositoryState = { ...stateRead.state, pinsLastSeen: { ...stateRead.state.pinsLastSeen } };
      if (tagsChanged && tagMove && state.lastInventory?.tags) {
        state.lastInventory = { ...state.lastInventory, tags: { ...state.lastInventory.tags, [tagMove.tag]: tagMove.digest } };
      }
      for (const digest of toRecord) state.pinsLastSeen[digest] = now;
      // Reading a manifest to tag it is a pull for ECR: keepPulledWithinDays must not count it.
      if (toTag.length > 0) state.janitorReads = { ...stateRead.state.janitorReads, ...Object.fromEntries(toTag.map((i) => [i.digest, now])) };
      try {
        await deps.stateStore.save(state);
        outcome.recorded = toRecord;
      } catch (error) {
        outcome.failures.push({ code: 'StateSaveFailed', message: (error as Error).message });
      }
    }
  } catch (error) {
    outcome.failures.push({ code: (error as { name?: string }).name ?? 'Error', message: (error as Error).message });
  }
  return outcome;
}

async function lookup(deps: EventDeps, repository: string, uses: ImageUse[]): Promise<ImageRecord[] | null> {
  // One read per image: a digest-only and a tag+digest reference to the same image are one id.
  const keys = new Set(uses.map((use) => (use.digest !== undefined ? `@${use.digest}` : `:${use.tag!}`)));
  const ids = [...keys].map((key) => (key.startsWith('@') ? { digest: key.slice(1) } : { tag: key.slice(1) }));
  if (deps.imageLookup) return deps.imageLookup.lookupImages(repository, ids);
  return deps.registry.describeImages(repository);
}

/** PutImage with each image's own manifest bytes and media type, as the nightly run does (run-janitor applyPlan). */
async function addProtectionTags(deps: EventDeps, repository: string, images: ImageRecord[], outcome: RepositoryEventResult): Promise<void> {
  const ownTypes = [...new Set(images.map((i) => i.manifestMediaType).filter((t): t is string => t !== undefined))];
  const fetched = await deps.registry.getManifests(repository, images.map((i) => i.digest), ownTypes);
  for (const image of images) {
    const tag = protectionTagFor(image.digest);
    const got = fetched.manifests[image.digest];
    if (!got) {
      outcome.failures.push({ digest: image.digest, tag, code: 'ManifestUnavailable', message: fetched.failures[image.digest] ?? 'manifest not returned' });
      continue;
    }
    const mediaType = got.mediaType ?? image.manifestMediaType;
    try {
      await deps.registry.putTag(repository, image.digest, mediaType !== undefined ? { ...got, mediaType } : got, tag);
      outcome.tagged.push(image.digest);
    } catch (error) {
      outcome.failures.push({ digest: image.digest, tag, code: (error as { name?: string }).name ?? 'Error', message: (error as Error).message });
    }
  }
}

/**
 * Only a state read cleanly is updated. With none (never run, lost) or a distrusted one, the nightly run reads it as
 * missing and counts every protection tag as pinned now, so the tag alone carries the pin; an unreadable one is left
 * for a person, as the nightly run leaves it.
 */
async function readState(store: StateStore, repository: string): Promise<{ state: RepositoryState | null; why?: string }> {
  try {
    const state = await store.load(repository);
    return state ? { state } : { state: null, why: 'no run state yet: the protection tag alone carries the pin (the nightly run counts it as pinned)' };
  } catch (error) {
    return { state: null, why: `run state not readable as the janitor's (${(error as Error).message}): left as it is; the protection tag carries the pin` };
  }
}

function describeUse(use: ImageUse): string {
  return `${use.registry.accountId}.dkr.ecr.${use.registry.region}.amazonaws.com/${use.repository}${use.tag !== undefined ? `:${use.tag}` : ''}${use.digest !== undefined ? `@${use.digest}` : ''}`;
}
