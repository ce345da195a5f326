/**
 * The error codes of SPEC.md §9 and the structured error every folder reports with.
 * A failure is data first (`code`, `section`, `values`); its message is rendered from that data.
 */

/** One row of the error-code table: the stable code, the SPEC.md section that defines it, and a title. */
export interface ErrorCodeRule {
  readonly section: string;
  readonly title: string;
}

/**
 * Every error code of the specification. Codes are stable: reports, golden vectors and worker
 * replies carry them, so a code is never renamed or reused.
 */
export const ERROR_CODES = {
  E_MODE_INVALID: { section: "§2.2", title: "mode is not affine, mxfp4, mxfp8 or nvfp4" },
  E_PARAM_INVALID: { section: "§2.3", title: "a parameter has the wrong type or form" },
  E_BITS_INVALID: { section: "§2.2", title: "bits is not allowed for the mode" },
  E_GROUP_SIZE_INVALID: { section: "§2.2", title: "group_size is not allowed for the mode" },
  E_BIASES_REQUIRED: { section: "§2.2", title: "affine mode needs biases" },
  E_BIASES_FORBIDDEN: { section: "§2.2", title: "mxfp4, mxfp8 and nvfp4 take no biases" },
  E_X_DTYPE: { section: "§7.1", title: "x is not float32, float16 or bfloat16" },
  E_W_DTYPE: { section: "§7.1", title: "w is not uint32" },
  E_SCALES_DTYPE: { section: "§7.1", title: "scales have the wrong dtype for the mode" },
  E_BIASES_DTYPE: { section: "§7.1", title: "biases are not float32, float16 or bfloat16" },
  E_RANK: { section: "§6.1", title: "a tensor has the wrong number of dimensions" },
  E_EMPTY_DIM: { section: "§6.1", title: "a dimension has size zero" },
  E_SCALES_BIASES_SHAPE: { section: "§5.2", title: "scales and biases differ in shape" },
  E_BATCH_SHAPE: { section: "§5.2", title: "w and scales differ in batch shape" },
  E_SCALES_ROWS: { section: "§5.2", title: "scales.shape[-2] differs from w.shape[-2]" },
  E_PACKED_SHAPE: { section: "§5.2", title: "w.shape[-1] and scales.shape[-1] do not fit bits and group_size" },
  E_K_MISMATCH: { section: "§6.2", title: "x.shape[-1] differs from the reduction length of w" },
  E_UNBATCHED_X: { section: "§6.3", title: "w has batch dimensions but x has none" },
  E_BROADCAST: { section: "§6.3", title: "the batch shapes of x and w cannot be broadcast" },
  E_RESERVED_SCALE: { section: "§3.6", title: "a scale byte is a reserved code (E8M0 0xFF, E4M3 0x7F or 0xFF)" },
  E_RESERVED_ELEMENT: { section: "§3.6", title: "an mxfp8 element byte is a reserved code (E4M3 0x7F or 0xFF)" },
  E_DATA_LENGTH: { section: "§14.2", title: "a tensor's data length contradicts its shape and dtype" },
  E_TOO_LARGE: { section: "§14.2", title: "a declared size is larger than the configured limit" },
  E_FILE_FORMAT: { section: "§14.1", title: "a file is truncated, corrupted or not of the expected format" },
  E_HASH_MISMATCH: { section: "§14.3", title: "a file's content does not match its recorded hash" },
  E_OUTPUT_PATH: { section: "§14.4", title: "an output path cannot take the output: an input file, a directory, a missing folder, a non-empty bundle folder, or a failed write" },
  E_FRAME: { section: "§13.2", title: "a worker frame is malformed" },
  E_PROTOCOL_VERSION: { section: "§13.3", title: "a worker speaks an unsupported protocol version" },
  E_UNSUPPORTED: { section: "§13.4", title: "a backend does not support this case" },
  E_BACKEND_INTERNAL: { section: "§13.4", title: "a backend failed for a reason of its own" },
  E_QUANTIZE_DTYPE: { section: "§12", title: "the matrix to quantize is not float32, float16 or bfloat16" },
  E_QUANTIZE_SHAPE: { section: "§12", title: "the last dimension of the matrix to quantize is not a multiple of group_size" },
  E_QUANTIZE_NONFINITE: { section: "§12", title: "the matrix to quantize contains NaN or infinity in a mode where MLX's result is undefined" },
} as const satisfies Record<string, ErrorCodeRule>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** A value that explains a failure: a shape, a dtype, a number, a name. */
export type ErrorValue = string | number | boolean | null | readonly number[] | readonly string[];

/** A failure as data: what went wrong, where the spec defines it, and the offending values. */
export interface SpecIssue {
  readonly code: ErrorCode;
  readonly section: string;
  /** Where the problem is, e.g. `["scales", "shape", -2]` or `["file", "vectors/affine.msgpack"]`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly values: Readonly<Record<string, ErrorValue>>;
}

/** Returns true when `value` is one of the specification's error codes. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/** Builds a {@link SpecIssue}, taking the section from the code table. */
export function specIssue(
  code: ErrorCode,
  message: string,
  values: Record<string, ErrorValue> = {},
  path: readonly (string | number)[] = [],
): SpecIssue {
  return { code, section: ERROR_CODES[code].section, path, message, values };
}

/**
 * Characters that move the cursor, change colours or reorder text when printed: the C0 and C1
 * control characters, DEL, and the Unicode bidirectional formatting characters.
 */
const CONTROL_CHARACTER = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, "gu");

const NAMED_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Returns true when `text` contains a character that {@link escapeControlCharacters} escapes. */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/**
 * Replaces each control or bidirectional formatting character with a visible escape (`\n`,
 * `\x1b`, `\u202e`), except those in `keep`, so that text from a file or a worker cannot drive
 * the terminal it is printed on. A backslash is left as it is, so `\x1b` in the output may also be
 * those four characters in the input.
 */
export function escapeControlCharacters(text: string, keep = ""): string {
  return text.replace(CONTROL_CHARACTERS, (character) => {
    if (keep.includes(character)) return character;
    const named = NAMED_ESCAPES[character];
    if (named !== undefined) return named;

    const code = character.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * Renders an issue as one line: code, section, message and the offending values. Control
 * characters, which a value read from a file may contain, are escaped.
 */
export function formatIssue(issue: SpecIssue): string {
  const shown = Object.entries(issue.values).map(([key, value]) => `${key}=${formatValue(value)}`);
  const where = issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  const details = shown.length > 0 ? ` (${shown.join(", ")})` : "";
  return escapeControlCharacters(`${issue.code} [SPEC ${issue.section}]${where}: ${issue.message}${details}`);
}

function formatValue(value: ErrorValue): string {
  if (Array.isArray(value)) return `[${value.join(",")}]`;
  return String(value);
}

/** An exception that carries a {@link SpecIssue}; thrown by validation and by file and frame readers. */
export class QmmError extends Error {
  readonly issue: SpecIssue;

  constructor(issue: SpecIssue) {
    super(formatIssue(issue));
    this.name = "QmmError";
    this.issue = issue;
  }

  /** The stable error code. */
  get code(): ErrorCode {
    return this.issue.code;
  }
}

/** Throws a {@link QmmError} built from the arguments. */
export function fail(
  code: ErrorCode,
  message: string,
  values: Record<string, ErrorValue> = {},
  path: readonly (string | number)[] = [],
): never {
  throw new QmmError(specIssue(code, message, values, path));
}
