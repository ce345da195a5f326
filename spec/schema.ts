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
 * An optional integer parameter. Any safe integer passes here, so that 0 or −4 reach the mode's
 * allowed set and fail there with E_BITS_INVALID or E_GROUP_SIZE_INVALID (SPEC.md §2.2).
 */
const optionalIntegerSchema = z.int().nullable().optional();

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

/** Parses call parameters, throwing a QmmError with E_PARAM_INVALID on a wrong type or key (§9.1 step 1). */
export function parseParamsInput(value: unknown): QmmParamsInput {
  const result = paramsInputSchema.safeParse(value ?? {});
  if (!result.success) throw new QmmError(specIssueFromZod(result.error, "E_PARAM_INVALID", ["params"]));
  return result.data;
}

/** Parses one tensor, throwing a QmmError with E_DATA_LENGTH when it is malformed (§9.1 step 0). */
export function parseTensor(value: unknown, name: string): Tensor {
  const result = tensorSchema.safeParse(value);
  if (!result.success) throw new QmmError(specIssueFromZod(result.error, "E_DATA_LENGTH", [name]));
  return value as Tensor;
}
