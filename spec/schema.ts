/**
 * zod schemas of the call's parameters and tensors (SPEC.md §2.3, §9.1 steps 0 and 1), and the
 * conversion of zod failures into SpecIssue records. Other folders parse untrusted input with these
 * so that every rejection carries a stable error code.
 */
import { z } from "zod";
import { specIssue, QmmError } from "./errors.ts";
import type { ErrorCode, ErrorValue, SpecIssue } from "./errors.ts";
import { DTYPES, TENSOR_DATA_CONSTRUCTORS } from "./types.ts";
import type { DType, QmmParamsInput, Tensor, TensorData } from "./types.ts";

/** A tensor dtype name (SPEC.md §7.1 lists which ones each operand accepts). */
export const dtypeSchema = z.enum(DTYPES);

/**
 * An optional integer parameter. Any integer passes here, including 0, −4 and 2^60, so that it
 * reaches the mode's allowed set and fails there with E_BITS_INVALID or E_GROUP_SIZE_INVALID
 * (SPEC.md §2.2). zod's `z.int()` would reject integers beyond 2^53 as a type error.
 */
const optionalIntegerSchema = z
  .number()
  .refine((value) => Number.isInteger(value))
  .nullable()
  .optional();

/**
 * The parameters as a caller writes them (SPEC.md §2.3). Unknown keys are rejected, because a
 * misspelt key such as `group_size` would otherwise fall back to the default without a word.
 */
export const paramsInputSchema = z.strictObject({
  mode: z.string().optional(),
  transpose: z.boolean().optional(),
  groupSize: optionalIntegerSchema,
  bits: optionalIntegerSchema,
});

/** The typed-array class that stores each dtype (SPEC.md §14.2). */
export const TYPED_ARRAY_OF_DTYPE: Readonly<Record<DType, { readonly name: string; check(data: unknown): boolean }>> = Object.fromEntries(
  DTYPES.map((dtype) => {
    const constructor = TENSOR_DATA_CONSTRUCTORS[dtype];
    return [dtype, { name: constructor.name, check: (data: unknown) => data instanceof constructor }];
  }),
) as Record<DType, { readonly name: string; check(data: unknown): boolean }>;

/** Returns the number of elements of a shape (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dimension of shape) count *= dimension;
  return count;
}

/**
 * A well-formed tensor: a known dtype, a shape of non-negative safe integers, and data in the
 * typed array of that dtype with one entry per element (SPEC.md §9.1 step 0).
 */
export const tensorSchema = z
  .object({
    dtype: dtypeSchema,
    shape: z.array(z.int().nonnegative()),
    data: z.custom<TensorData>((data) => ArrayBuffer.isView(data) && !(data instanceof DataView), {
      message: "data must be a typed array",
    }),
  })
  .superRefine((tensor, context) => {
    const expected = TYPED_ARRAY_OF_DTYPE[tensor.dtype];
    if (!expected.check(tensor.data)) {
      context.addIssue({
        code: "custom",
        path: ["data"],
        message: `dtype ${tensor.dtype} is stored in a ${expected.name}, got a ${tensor.data.constructor.name}`,
      });
      return;
    }

    const count = elementCount(tensor.shape);
    if (tensor.data.length !== count) {
      context.addIssue({
        code: "custom",
        path: ["data", "length"],
        message: `shape [${tensor.shape.join(",")}] has ${count} elements but data has ${tensor.data.length}`,
      });
    }
  });

/**
 * Converts the first issue of a zod failure into a {@link SpecIssue} with the given code.
 * `basePath` names the value that was parsed, e.g. `["params"]` or `["x"]`, and zod's own path follows it.
 */
export function specIssueFromZod(error: z.ZodError, code: ErrorCode, basePath: readonly (string | number)[]): SpecIssue {
  const first = error.issues[0];
  const path = [...basePath, ...(first?.path ?? []).map((key) => (typeof key === "symbol" ? String(key) : key))];
  const values: Record<string, ErrorValue> = {};

  if (first !== undefined && first.code === "unrecognized_keys") values.unknownKeys = first.keys;
  if (first !== undefined && first.code === "invalid_type") values.expected = first.expected;
  if (first !== undefined && first.code === "invalid_value") values.allowed = first.values.map(String);
  if (error.issues.length > 1) values.moreIssues = error.issues.length - 1;

  const detail = first?.message ?? "invalid value";
  return specIssue(code, `${path.join(".")}: ${detail}`, values, path);
}

/** The type each parameter takes (SPEC.md §2.3), in the words of an error message. */
const PARAM_EXPECTED: Readonly<Record<keyof QmmParamsInput, string>> = {
  mode: "a string",
  transpose: "a boolean",
  groupSize: "an integer or null",
  bits: "an integer or null",
};

/** Parses call parameters, throwing a QmmError with E_PARAM_INVALID on a wrong type or key (§9.1 step 1). */
export function parseParamsInput(value: unknown): QmmParamsInput {
  const input = value ?? {};
  const result = paramsInputSchema.safeParse(input);
  if (!result.success) throw new QmmError(paramsIssue(result.error, input));
  return result.data;
}

/**
 * Renders the first problem of a parameter object as an E_PARAM_INVALID issue that names the key,
 * shows the offending value and states the type the key takes.
 */
function paramsIssue(error: z.ZodError, input: unknown): SpecIssue {
  const first = error.issues[0];
  const known = Object.keys(PARAM_EXPECTED).join(", ");

  if (first?.code === "unrecognized_keys") {
    const message = `unknown parameter ${first.keys.join(", ")}. The parameters are ${known}`;
    return specIssue("E_PARAM_INVALID", message, { unknownKeys: first.keys, known: Object.keys(PARAM_EXPECTED) }, ["params"]);
  }

  const key = first?.path[0];
  if (typeof key !== "string" || !Object.hasOwn(PARAM_EXPECTED, key) || input === null || typeof input !== "object") {
    const message = `params must be an object with the keys ${known}, got ${describeValue(input)}`;
    return specIssue("E_PARAM_INVALID", message, { value: errorValueOf(input) }, ["params"]);
  }

  const expected = PARAM_EXPECTED[key as keyof QmmParamsInput];
  const offending = (input as Record<string, unknown>)[key];
  const message = `${key} must be ${expected}, got ${describeValue(offending)}. Pass ${expected}, or leave it out for the default`;
  return specIssue("E_PARAM_INVALID", message, { key, value: errorValueOf(offending), expected }, ["params", key]);
}

/** Formats a value for a message: numbers, booleans and null as written, strings in JSON quotes. */
function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** Converts the offending value for `SpecIssue.values`: numbers, booleans and null stay, anything else becomes its description. */
function errorValueOf(value: unknown): ErrorValue {
  if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  return describeValue(value);
}

/** Parses one tensor, throwing a QmmError with E_DATA_LENGTH when it is malformed (§9.1 step 0). */
export function parseTensor(value: unknown, name: string): Tensor {
  const result = tensorSchema.safeParse(value);
  if (!result.success) throw new QmmError(specIssueFromZod(result.error, "E_DATA_LENGTH", [name]));
  return value as Tensor;
}
