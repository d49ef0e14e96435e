// ECR tag pattern matching: `*` matches any run of characters (including none); everything else is literal.
// Several patterns in one tagPatternList (or prefixes in one tagPrefixList) must ALL match (ECR semantics).

const compiled = new Map<string, RegExp>();

export function tagMatchesPattern(tag: string, pattern: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    compiled.set(pattern, re);
  }
  return re.test(tag);
}

/** An image matches a pattern list when, for every pattern, at least one of its tags matches it. */
export function tagsMatchPatternList(tags: readonly string[], patterns: readonly string[]): boolean {
  return patterns.every((pattern) => tags.some((tag) => tagMatchesPattern(tag, pattern)));
}

/** An image matches a prefix list when, for every prefix, at least one of its tags starts with it. */
export function tagsMatchPrefixList(tags: readonly string[], prefixes: readonly string[]): boolean {
  return prefixes.every((prefix) => tags.some((tag) => tag.startsWith(prefix)));
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
  const m = /^keep-(sha256)-([0-9a-f]{64})$/.exec(tag);
  return m ? `${m[1]}:${m[2]}` : undefined;
}
