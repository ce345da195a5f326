/**
 * Case selection: ID patterns (globs or regular expressions) and sharding by a stable hash of the
 * case ID, so that a shard's cases never change when other cases are added or filtered out.
 */

/** A compiled case-ID pattern. */
export interface CasePattern {
  readonly source: string;
  matches(caseId: string): boolean;
}

/**
 * Compiles a case-ID pattern. `/…/flags` is a regular expression tested against the whole ID
 * (unanchored unless it anchors itself). Anything else is a glob over the `/`-separated ID:
 * `*` matches within one segment, `**` across segments, `?` one character. A glob also matches
 * every case below it, so `affine/b4` selects `affine/b4/g64/...`. Throws a SyntaxError for an
 * invalid regular expression.
 */
export function compilePattern(source: string): CasePattern {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(source);
  if (regex !== null) {
    const expression = new RegExp(regex[1], regex[2]);
    return { source, matches: (caseId) => expression.test(caseId) };
  }

  const glob = new RegExp(`^${globToRegexSource(source)}(?:/.*)?$`, "s");
  return { source, matches: (caseId) => caseId === source || glob.test(caseId) };
}

function globToRegexSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
    } else if (char === "*") {
      out += "[^/]*";
    } else if (char === "?") {
      out += "[^/]";
    } else {
      out += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return out;
}

/** One shard of a run: shard `index` (1-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Parses `i/n` with 1 ≤ i ≤ n, or returns an error message. */
export function parseShard(text: string): Shard | string {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) return `invalid shard '${text}': expected i/n, for example 1/4`;

  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || index < 1 || index > count) return `invalid shard '${text}': i must be between 1 and n`;
  return { index, count };
}

/** Returns the 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** True when a case belongs to the shard. */
export function inShard(caseId: string, shard: Shard): boolean {
  return stableHash(caseId) % shard.count === shard.index - 1;
}
