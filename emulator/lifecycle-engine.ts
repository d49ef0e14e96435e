// ECR's lifecycle evaluator, written from AWS's documentation and nothing else (the emulator is the independent judge
// of the janitor, so nothing here comes from the janitor's code). Naive on purpose: every rule looks at every image.
//
// Sources (quoted where a line depends on them):
//  [HOW]   "Automate the cleanup of images by using lifecycle policies in Amazon ECR", section "Lifecycle policy
//          evaluation rules" — https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
//  [PROPS] "Lifecycle policy properties in Amazon ECR"
//          — https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
//  [EX]    "Examples of lifecycle policies in Amazon ECR"
//          — https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
//  [#2613] containers-roadmap issue 2613: the preview lists (and the evaluator counts) children of manifest lists.

export const DAY_MS = 86_400_000;

export type EngineStorageClass = 'STANDARD' | 'ARCHIVE';

export interface EngineRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: 'tagged' | 'untagged' | 'any';
    tagPatternList?: string[];
    tagPrefixList?: string[];
    /** [PROPS] "If you omit this, the value of standard will be used." */
    storageClass?: 'standard' | 'archive';
    countType: 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' | 'transition'; targetStorageClass?: 'archive' };
}

export interface EnginePolicy {
  rules: EngineRule[];
}

/** One image as the lifecycle evaluator sees it. Times are epoch milliseconds. */
export interface EngineImage {
  digest: string;
  tags: readonly string[];
  pushedAt: number;
  lastPulledAt?: number;
  storageClass: EngineStorageClass;
  lastArchivedAt?: number;
  /** Set once the image was restored from archive: it then stands in for the push time. */
  lastActivatedAt?: number;
  /** An index (manifest list) in the repository lists it, and that index is not archived. */
  listedByPresentIndex: boolean;
  /** An OCI 1.1 referrer whose subject is in the repository. */
  subjectPresent: boolean;
  /** Push order, for images pushed in the same millisecond. */
  seq: number;
}

export interface EngineAction {
  digest: string;
  action: 'expire' | 'transition';
  rulePriority: number;
  /** The image's storage class when the rule selected it. */
  storageClass: EngineStorageClass;
}

/**
 * How the evaluator reads what AWS leaves open.
 * - childrenInRanking: index children and referrers whose parent/subject is present are ranked by count rules and
 *   listed by the preview (true: [#2613]); false: they are invisible to the evaluator until their parent/subject goes.
 * - tieBreak: which of two images pushed in the same millisecond counts as older (expired first).
 *   'older-push-first': the one pushed first (push order); 'newer-push-first': the one pushed last.
 */
export interface LifecycleReadings {
  childrenInRanking: boolean;
  tieBreak: 'older-push-first' | 'newer-push-first';
}

/** The documented behaviour, with the undocumented tie broken by push order ([EX] "Filtering on all images", B). */
export const FAITHFUL_READINGS: LifecycleReadings = Object.freeze({ childrenInRanking: false, tieBreak: 'older-push-first' });

/** The worst plausible reading of each open question: children ranked and listed, ties ranked the other way. */
export const PESSIMISTIC_READINGS: LifecycleReadings = Object.freeze({ childrenInRanking: true, tieBreak: 'newer-push-first' });

const compiledPatterns = new Map<string, RegExp>();

/** `*` matches any run of characters (also none); everything else literally; the whole tag must match. */
export function tagMatchesWildcard(tag: string, pattern: string): boolean {
  let regex = compiledPatterns.get(pattern);
  if (!regex) {
    const parts = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    regex = new RegExp(`^${parts.join('.*')}$`);
    if (compiledPatterns.size > 10_000) compiledPatterns.clear();
    compiledPatterns.set(pattern, regex);
  }
  return regex.test(tag);
}

/** The rule's storage class: [PROPS] "If you omit this, the value of standard will be used." */
function ruleStorageClass(rule: EngineRule): EngineStorageClass {
  return rule.selection.storageClass === 'archive' ? 'ARCHIVE' : 'STANDARD';
}

/**
 * Whether the image meets the rule's tagging requirements (and storage class: a rule "will only select images of this
 * storage class" [PROPS]). [HOW]: "An image is successfully matched if all of the tags in the tagPatternList or
 * tagPrefixList value are matched against any of the image's tags."
 */
export function ruleSelects(rule: EngineRule, image: EngineImage): boolean {
  if (ruleStorageClass(rule) !== image.storageClass) return false;
  const { tagStatus, tagPatternList, tagPrefixList } = rule.selection;
  if (tagStatus === 'untagged') return image.tags.length === 0;
  if (tagStatus === 'any') return true;
  if (image.tags.length === 0) return false;
  if (tagPatternList) return tagPatternList.every((pattern) => image.tags.some((tag) => tagMatchesWildcard(tag, pattern)));
  if (tagPrefixList) return tagPrefixList.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
  return false;
}

/**
 * The time count rules age and rank an image by: [HOW] "If an image was archived and then restored at any point in
 * the past, the image's last_activated_at is used instead of pushed_at_time."
 */
export function pushTimeOf(image: EngineImage): number {
  return image.lastActivatedAt ?? image.pushedAt;
}

/**
 * [HOW] sinceImagePulled: last_recorded_pulltime; "If an image was never pulled, the image's pushed_at_time is used
 * instead"; restored and "never pulled since the image was restored": last_activated_at.
 */
function lastPullOf(image: EngineImage): number {
  if (image.lastActivatedAt !== undefined && (image.lastPulledAt === undefined || image.lastPulledAt < image.lastActivatedAt)) {
    return image.lastActivatedAt;
  }
  return image.lastPulledAt ?? image.pushedAt;
}

/** Oldest first, by push time; equal push times by push order, one way or the other. */
export function oldestFirst(readings: LifecycleReadings): (a: EngineImage, b: EngineImage) => number {
  const tie = readings.tieBreak === 'older-push-first' ? 1 : -1;
  return (a, b) => pushTimeOf(a) - pushTimeOf(b) || tie * (a.seq - b.seq);
}

/** "Older than N days": strictly ([EX] "Filtering on all images" B: an untagged image pushed 1 day ago survives a 1-day rule). */
function olderThanDays(since: number, now: number, days: number): boolean {
  return now - since > days * DAY_MS;
}

/** The images one rule marks, on its own, as if no other rule existed ([HOW] "All rules are evaluated at the same time"). */
function marksOf(rule: EngineRule, selected: EngineImage[], now: number, readings: LifecycleReadings): Set<string> {
  const { countType, countNumber } = rule.selection;
  if (countType === 'imageCountMoreThan') {
    // [HOW] "images are sorted from youngest to oldest based on pushed_at_time and then all images greater than the
    // specified count are expired or archived."
    const youngestFirst = [...selected].sort(oldestFirst(readings)).reverse();
    return new Set(youngestFirst.slice(countNumber).map((image) => image.digest));
  }
  const marked = new Set<string>();
  for (const image of selected) {
    let since: number | undefined;
    if (countType === 'sinceImagePushed') since = pushTimeOf(image);
    else if (countType === 'sinceImagePulled') since = lastPullOf(image);
    // [HOW] "all archived images whose last_archived_at is older than the specified number of days"
    else if (countType === 'sinceImageTransitioned') since = image.storageClass === 'ARCHIVE' ? image.lastArchivedAt : undefined;
    if (since !== undefined && olderThanDays(since, now, countNumber)) marked.add(image.digest);
  }
  return marked;
}

/** Whether the evaluator sees the image at all under these readings. */
function visible(image: EngineImage, readings: LifecycleReadings): boolean {
  return readings.childrenInRanking || (!image.listedByPresentIndex && !image.subjectPresent);
}

/**
 * What the policy does to the images now: at most one action per image, by rule priority then oldest first.
 * [HOW]: "An image is expired or archived by exactly one or zero rules." "An image that matches the tagging requirements
 * of a rule cannot be expired or archived by a rule with a lower priority." "Rules can never mark images that are marked
 * by higher priority rules, but can still identify them as if they haven't been expired or archived."
 * So each image belongs to the highest-priority rule that selects it, and that rule alone decides its fate.
 */
export function evaluateLifecycle(policy: EnginePolicy, images: readonly EngineImage[], now: number, readings: LifecycleReadings = FAITHFUL_READINGS): EngineAction[] {
  const seen = images.filter((image) => visible(image, readings));
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const marks = rules.map((rule) => marksOf(rule, seen.filter((image) => ruleSelects(rule, image)), now, readings));
  const actions: { action: EngineAction; image: EngineImage }[] = [];
  for (const image of seen) {
    const owner = rules.findIndex((rule) => ruleSelects(rule, image));
    if (owner === -1 || !marks[owner]!.has(image.digest)) continue;
    const rule = rules[owner]!;
    // [PROPS] transition moves images to archive; an archived image has nowhere further to go.
    if (rule.action.type === 'transition' && image.storageClass !== 'STANDARD') continue;
    actions.push({ image, action: { digest: image.digest, action: rule.action.type, rulePriority: rule.rulePriority, storageClass: image.storageClass } });
  }
  const byAge = oldestFirst(readings);
  actions.sort((a, b) => a.action.rulePriority - b.action.rulePriority || byAge(a.image, b.image));
  return actions.map((entry) => entry.action);
}
