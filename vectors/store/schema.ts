/**
 * zod schemas of a vector file's records (spec/FILES.md §14.1). A file is a sequence of MessagePack
 * objects: one header, then one record per case. Tensors are kept as raw little-endian bytes here;
 * ./codec.ts checks their sizes and turns them into typed arrays.
 */
import { z } from "zod";
import { hasControlCharacters, isErrorCode } from "../../spec/errors.ts";
import { DTYPES } from "../../spec/types.ts";

/** The `format` string of every vector file header. */
export const VECTOR_FILE_FORMAT = "qmm-conformance-vectors";

/** The version of the record layout described in spec/FILES.md. */
export const VECTOR_FILE_VERSION = 1;

/** Raw bytes, as MessagePack `bin` decodes them. */
export const bytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: "expected MessagePack bin bytes" });

/** A tensor as stored: dtype, shape and the little-endian bytes of its elements in row-major order. */
export const tensorRecordSchema = z.strictObject({
  dtype: z.enum(DTYPES),
  shape: z.array(z.int().nonnegative()),
  data: bytesSchema,
});

/** A stored tensor record. */
export type TensorRecord = z.infer<typeof tensorRecordSchema>;

/** Per-element condition data (SPEC.md §8.4): float64 arrays as little-endian bytes. */
export const conditionRecordSchema = z.strictObject({
  absSum: bytesSchema,
  dequantAbsSum: bytesSchema,
  xAbsSum: bytesSchema,
  reductionLength: z.int().nonnegative(),
  groupCount: z.int().nonnegative(),
});

/** The expected outcome of a case: a value with its exact data, or an error code. */
export const expectationRecordSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("value"),
    y: tensorRecordSchema,
    exact: bytesSchema,
    condition: conditionRecordSchema,
  }),
  z.strictObject({
    kind: z.literal("error"),
    code: z.string().refine(isErrorCode, { message: "not an error code of spec/errors.ts" }),
  }),
]);

/**
 * One case. `params` is stored as written, without validation, because error cases carry invalid
 * parameters on purpose (a string `bits`, an unknown key).
 */
export const caseRecordSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .refine((id) => !hasControlCharacters(id), { message: "a case ID must not contain control or bidirectional formatting characters" }),
  suite: z.string().min(1),
  tags: z.array(z.string()),
  exactTier: z.boolean(),
  params: z.record(z.string(), z.unknown()),
  inputs: z.strictObject({
    x: tensorRecordSchema,
    w: tensorRecordSchema,
    scales: tensorRecordSchema,
    biases: tensorRecordSchema.nullable().optional(),
  }),
  expected: expectationRecordSchema,
});

/** A stored case record. */
export type CaseRecord = z.infer<typeof caseRecordSchema>;

/** The first object of a vector file. */
export const headerRecordSchema = z.strictObject({
  format: z.literal(VECTOR_FILE_FORMAT),
  version: z.literal(VECTOR_FILE_VERSION),
  suite: z.string().min(1),
  /** The file's name in the manifest, e.g. `generated-affine.msgpack`. */
  name: z.string().min(1),
  caseCount: z.int().nonnegative(),
});

/** A vector file header. */
export type HeaderRecord = z.infer<typeof headerRecordSchema>;
