// ECR tag pattern matching: `*` matches any run of characters (including none); everything else is literal.
// Several patterns in one tagPatternList (or prefixes in one tagPrefixList) must ALL match (ECR semantics).

const compiled = new Map<string, (tag: string) => boolean>();

export function tagMatchesPattern(tag: string, pattern: string): boolean {
  return patternMatcher(pattern)(tag);
}

/** The pattern as a function of a tag, compiled once per pattern. */
export function patternMatcher(pattern: string): (tag: string) => boolean {
  let matches = compiled.get(pattern);
  if (!matches) {
    matches = compilePattern(pattern);
    compiled.set(pattern, matches);
  }
  return matches;
}

/** The commonest patterns need no regular expression: a literal tag ("buildcache") or one trailing `*` ("ci-*"). */
function compilePattern(pattern: string): (tag: string) => boolean {
  const stars = countWildcards(pattern);
  if (stars === 0) return (tag) => tag === pattern;
  if (stars === 1 && pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (tag) => tag.startsWith(prefix);
  }
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${body}$`, 's');
  return (tag) => re.test(tag);
}

/** An image matches a pattern list when, for every pattern, at least one of its tags matches it. */
export function tagsMatchPatternList(tags: readonly string[], patterns: readonly string[]): boolean {
  // Plain loops: this runs for every ranked image and rule, and closures per call would be garbage each time.
  for (let p = 0; p < patterns.length; p++) {
    let matched = false;
    for (let t = 0; t < tags.length && !matched; t++) matched = tagMatchesPattern(tags[t]!, patterns[p]!);
    if (!matched) return false;
  }
  return true;
}

/** An image matches a prefix list when, for every prefix, at least one of its tags starts with it. */
export function tagsMatchPrefixList(tags: readonly string[], prefixes: readonly string[]): boolean {
  for (let p = 0; p < prefixes.length; p++) {
    let matched = false;
    for (let t = 0; t < tags.length && !matched; t++) matched = tags[t]!.startsWith(prefixes[p]!);
    if (!matched) return false;
  }
  return true;
}

export function countWildcards(pattern: string): number {
  return pattern.split('*').length - 1;
}

/** Glob match for repository names in config (`*` any run, `?` one character). */
export function nameMatchesGlob(name: string, glob: string): boolean {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's').test(name);
}

const PROTECTION_TAG_PREFIX = 'keep-';
export const PROTECTION_TAG_PATTERN = `${PROTECTION_TAG_PREFIX}*`;

/** Deterministic protection tag for a digest: sha256:abc... -> keep-sha256-abc... */
export function protectionTagFor(digest: string): string {
  return PROTECTION_TAG_PREFIX + digest.replace(':', '-');
}

/** The digest a protection tag names, or undefined when the tag is not one of ours. */
export function digestOfProtectionTag(tag: string): string | undefined {
  // Most tags are not ours: a prefix check spares them the regular expression (every tag of 100k images comes here).
  if (!tag.startsWith(PROTECTION_TAG_PREFIX)) return undefined;
  const m = /^keep-(sha256)-([0-9a-f]{64})$/.exec(tag);
  return m ? `${m[1]}:${m[2]}` : undefined;
}
