/**
 * Detection of duplicate object keys in JSON text. JSON.parse keeps the last of two equal keys
 * without a word, and RFC 8259 §4 leaves such objects to each implementation: many report the
 * last pair, others fail or report every pair. So a file that repeats a key can mean different
 * things to different readers.
 */

/** A key that appears twice in one object, and the keys and array indices that lead to the object. */
export interface DuplicateKey {
  readonly key: string;
  readonly path: readonly (string | number)[];
}

/**
 * An object or array being scanned: its key or index in the enclosing value (none for the
 * outermost), and what the scanner needs to know about its contents.
 */
type Frame =
  | { readonly kind: "object"; readonly name?: string | number; readonly keys: Set<string>; expectingKey: boolean; lastKey: string }
  | { readonly kind: "array"; readonly name?: string | number; index: number };

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

/**
 * Returns the first key that appears twice in one object of `text`, comparing keys after their
 * escapes are decoded (`"x"` equals `"\u0078"`), or undefined when every object has distinct keys.
 * `text` must be valid JSON, for example text JSON.parse has accepted: the scanner checks no syntax.
 * It keeps an explicit stack of one small frame per open value, so deep nesting costs memory in
 * proportion to the depth and cannot overflow the call stack.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  let position = 0;

  while (position < text.length) {
    const character = text[position];
    const top = stack.at(-1);

    if (WHITESPACE.has(character) || character === ":") {
      position++;
    } else if (character === "{" || character === "[") {
      const name = top === undefined ? {} : { name: top.kind === "object" ? top.lastKey : top.index };
      stack.push(character === "{" ? { kind: "object", ...name, keys: new Set(), expectingKey: true, lastKey: "" } : { kind: "array", ...name, index: 0 });
      position++;
    } else if (character === "}" || character === "]") {
      stack.pop();
      position++;
    } else if (character === ",") {
      if (top?.kind === "object") top.expectingKey = true;
      if (top?.kind === "array") top.index++;
      position++;
    } else if (character === '"') {
      const end = stringEnd(text, position);
      if (top?.kind === "object" && top.expectingKey) {
        const key = JSON.parse(text.slice(position, end)) as string;
        if (top.keys.has(key)) return { key, path: stack.flatMap((frame) => (frame.name === undefined ? [] : [frame.name])) };
        top.keys.add(key);
        top.lastKey = key;
        top.expectingKey = false;
      }
      position = end;
    } else {
      position = literalEnd(text, position);
    }
  }
  return undefined;
}

/** Returns the index just past the closing quote of the string that starts at `start`. */
function stringEnd(text: string, start: number): number {
  let position = start + 1;
  while (position < text.length) {
    const character = text[position];
    // A backslash escapes the next character, so `\"` does not end the string and `\\` is one unit.
    if (character === "\\") {
      position += 2;
    } else if (character === '"') {
      return position + 1;
    } else {
      position++;
    }
  }
  return position;
}

/** Returns the index just past a number, `true`, `false` or `null` that starts at `start`. */
function literalEnd(text: string, start: number): number {
  let position = start;
  while (position < text.length && !WHITESPACE.has(text[position]) && !",:]}".includes(text[position])) position++;
  return position;
}
