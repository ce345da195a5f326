/**
 * The messages of the worker protocol (spec/PROTOCOL.md §13.3–13.5): zod schemas for everything a
 * worker sends, and the conversion between Tensor records and wire tensors.
 */
import { z } from "zod";
import { QmmError, specIssue } from "../../spec/errors.ts";
import type { SpecIssue } from "../../spec/errors.ts";
import { DTYPES, FLOAT_DTYPES, MODES, TENSOR_DATA_CONSTRUCTORS } from "../../spec/types.ts";
import type { DType, QmmParamsInput, Tensor, TensorData } from "../../spec/types.ts";
import { numericsVariantSchema, variantByName } from "../../spec/variants.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import type { Capabilities } from "../backend.ts";

/** The protocol version this harness speaks. */
export const PROTOCOL_VERSION = 1;

/** Bytes per element of each dtype on the wire. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  uint32: 4,
  uint8: 1,
  float64: 8,
  int32: 4,
};

/** A tensor as it travels in a frame: raw little-endian bytes in `data`. */
export interface WireTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

const wireTensorSchema = z.object({
  dtype: z.enum(DTYPES),
  shape: z.array(z.int().nonnegative()),
  data: z.instanceof(Uint8Array),
});

const capabilitiesSchema = z.object({
  modes: z.array(z.enum(MODES)).min(1),
  bits: z.partialRecord(z.enum(MODES), z.array(z.int())).optional(),
  dtypes: z.array(z.enum(FLOAT_DTYPES)).min(1),
  transpose: z.array(z.boolean()).min(1),
  batchedWeights: z.boolean(),
  maxOutputElements: z.int().positive().optional(),
  reportsErrors: z.boolean(),
});

const variantFieldSchema = z.union([
  z.string().refine((name) => variantByName(name) !== undefined, { message: "not a registered variant name" }),
  numericsVariantSchema,
]);

/** The worker's handshake reply. */
export const helloReplySchema = z.object({
  type: z.literal("hello"),
  protocol: z.int(),
  name: z.string().min(1),
  version: z.string(),
  capabilities: capabilitiesSchema,
  variant: variantFieldSchema,
  extensions: z.array(z.string()).optional(),
});

/** A parsed handshake reply, with the variant resolved to a full record. */
export interface HelloReply {
  readonly protocol: number;
  readonly name: string;
  readonly version: string;
  readonly capabilities: Capabilities;
  readonly variant: NumericsVariant;
  readonly extensions: readonly string[];
}

const errorReplySchema = z.object({
  type: z.literal("error"),
  id: z.int().nonnegative().nullable(),
  code: z.string().min(1),
  message: z.string(),
  supported: z.array(z.int()).optional(),
});

const resultReplySchema = z.object({
  type: z.literal("result"),
  id: z.int().nonnegative(),
  y: wireTensorSchema.optional(),
  tensors: z.record(z.string(), wireTensorSchema).optional(),
});

/** Any reply a worker may send after the handshake. */
export const replySchema = z.discriminatedUnion("type", [resultReplySchema, errorReplySchema]);

/** A parsed reply to a request. */
export type Reply = z.output<typeof replySchema>;

/** A parsed error reply. */
export type ErrorReply = z.output<typeof errorReplySchema>;

/**
 * Parses a decoded frame with `schema`, throwing E_FRAME that names the frame number and the first
 * offending field.
 */
export function parseMessage<T extends z.ZodType>(schema: T, value: unknown, frame: number): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;

  const first = parsed.error.issues[0];
  const field = (first?.path ?? []).map(String).join(".") || "(message)";
  const type = typeof value === "object" && value !== null && "type" in value ? String(value.type) : "(none)";
  throw new QmmError(
    specIssue("E_FRAME", `worker message of type '${type}' is invalid at '${field}': ${first?.message ?? "invalid"}`, { frame, field, type }, [
      "frame",
      frame,
      ...(first?.path ?? []).map(String),
    ]),
  );
}

/** Parses the handshake reply, resolving a variant name through the registry. */
export function parseHello(value: unknown, frame: number): HelloReply {
  const hello = parseMessage(helloReplySchema, value, frame);
  const variant = typeof hello.variant === "string" ? (variantByName(hello.variant) as NumericsVariant) : hello.variant;
  return {
    protocol: hello.protocol,
    name: hello.name,
    version: hello.version,
    capabilities: hello.capabilities,
    variant,
    extensions: hello.extensions ?? [],
  };
}

/** Converts a Tensor to its wire form without copying its bytes. */
export function tensorToWire(tensor: Tensor): WireTensor {
  const data = tensor.data;
  return { dtype: tensor.dtype, shape: [...tensor.shape], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Converts a wire tensor to a Tensor, copying the bytes into an aligned buffer. A byte length that
 * contradicts shape and dtype is E_DATA_LENGTH naming `name`.
 */
export function wireToTensor(wire: WireTensor, name: string): Tensor {
  const count = wire.shape.reduce((product, dimension) => product * dimension, 1);
  const expectedBytes = count * DTYPE_BYTES[wire.dtype];
  if (wire.data.byteLength !== expectedBytes) {
    throw new QmmError(lengthIssue(wire, name, expectedBytes));
  }

  // A fresh Uint8Array copies into an aligned ArrayBuffer of its own (Buffer.slice would share memory).
  const copy = new Uint8Array(wire.data).buffer;
  return { dtype: wire.dtype, shape: [...wire.shape], data: typedArrayOf(wire.dtype, copy) };
}

function lengthIssue(wire: WireTensor, name: string, expectedBytes: number): SpecIssue {
  return specIssue(
    "E_DATA_LENGTH",
    `tensor '${name}' has ${wire.data.byteLength} data bytes but shape and dtype need ${expectedBytes}`,
    { tensor: name, dtype: wire.dtype, shape: [...wire.shape], bytes: wire.data.byteLength, expectedBytes },
    [name, "data"],
  );
}

function typedArrayOf(dtype: DType, buffer: ArrayBuffer): TensorData {
  return new TENSOR_DATA_CONSTRUCTORS[dtype](buffer);
}

/** The parameters as they travel in a `run` request (snake_case keys, `nil` for a default). */
export interface WireParams {
  readonly mode: string;
  readonly transpose: boolean;
  readonly group_size: number | null;
  readonly bits: number | null;
}

/** Converts call parameters to the wire form. A missing mode or transpose takes the spec default. */
export function paramsToWire(params: QmmParamsInput): WireParams {
  return {
    mode: params.mode ?? "affine",
    transpose: params.transpose ?? true,
    group_size: params.groupSize ?? null,
    bits: params.bits ?? null,
  };
}
