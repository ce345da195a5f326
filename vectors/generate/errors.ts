/**
 * The `errors` suite: invalid calls and the error code a backend must report (SPEC.md §9). Each
 * case is designed for one code. The expected code is then derived by running the reference
 * validation, so a case whose derived code differs from its design fails the generator.
 */
import { QmmError } from "../../spec/errors.ts";
import type { ErrorCode } from "../../spec/errors.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../spec/types.ts";
import { packCodes } from "../../reference/pack.ts";
import { tensorFromNumbers } from "../../reference/tensor.ts";
import { resolveCall } from "../../reference/validate.ts";
import type { GoldenCase } from "../case.ts";
import { Random } from "./random.ts";

/**
 * Error codes quantized_matmul can report for inputs a vector file can carry. E_DATA_LENGTH is
 * left out because a tensor whose data contradicts its shape is a damaged file (spec/FILES.md §14.2)
 * and the loader rejects it before any backend runs it.
 */
export const OP_ERROR_CODES: readonly ErrorCode[] = [
  "E_PARAM_INVALID",
  "E_MODE_INVALID",
  "E_BIASES_REQUIRED",
  "E_BIASES_FORBIDDEN",
  "E_SCALES_DTYPE",
  "E_BIASES_DTYPE",
  "E_GROUP_SIZE_INVALID",
  "E_BITS_INVALID",
  "E_W_DTYPE",
  "E_X_DTYPE",
  "E_RANK",
  "E_EMPTY_DIM",
  "E_SCALES_BIASES_SHAPE",
  "E_BATCH_SHAPE",
  "E_SCALES_ROWS",
  "E_PACKED_SHAPE",
  "E_K_MISMATCH",
  "E_UNBATCHED_X",
  "E_BROADCAST",
  "E_RESERVED_SCALE",
  "E_RESERVED_ELEMENT",
];

interface Call {
  inputs: QmmInputs;
  params: QmmParamsInput;
}

/** One invalid call: the code it is designed to trigger, a short name, and how to build it. */
interface ErrorDesign {
  readonly code: ErrorCode;
  readonly name: string;
  build(rng: Random): Call;
}

function randomCodes(rng: Random, count: number, bits: number): number[] {
  return Array.from({ length: count }, () => rng.integer(2 ** bits));
}

/** Builds a valid affine call, 4-bit g64: x (2, 128) float32, w packing (8, 128). */
function affineCall(rng: Random, options: { rows?: number; K?: number; xShape?: number[]; wBatch?: number[] } = {}): Call {
  const rows = options.rows ?? 8;
  const K = options.K ?? 128;
  const wBatch = options.wBatch ?? [];
  const matrices = wBatch.reduce((product, size) => product * size, 1);
  const groups = K / 64;
  const xShape = options.xShape ?? [2, K];

  const w: Tensor = { dtype: "uint32", shape: [...wBatch, rows, K / 8], data: packCodes(randomCodes(rng, matrices * rows * K, 4), 4, matrices * rows, K) };
  const scales = tensorFromNumbers("float32", [...wBatch, rows, groups], Array.from({ length: matrices * rows * groups }, () => 0.125));
  const biases = tensorFromNumbers("float32", [...wBatch, rows, groups], Array.from({ length: matrices * rows * groups }, () => -1));
  const x = tensorFromNumbers("float32", xShape, Array.from({ length: xShape.reduce((p, s) => p * s, 1) }, () => rng.normal()));

  return { inputs: { x, w, scales, biases }, params: { mode: "affine", transpose: true, groupSize: 64, bits: 4 } };
}

/** Builds a valid fp-mode call: x (2, 64) float32, w packing (8, 64), E8M0 or E4M3 scale bytes of value 1. */
function fpCall(rng: Random, mode: "mxfp4" | "mxfp8" | "nvfp4"): Call {
  const bits = mode === "mxfp8" ? 8 : 4;
  const groupSize = mode === "nvfp4" ? 16 : 32;
  const rows = 8;
  const K = 64;

  // mxfp8 element bytes avoid the reserved 0x7F and 0xFF; scale byte 127 is 2^0, E4M3 0x38 is 1.0.
  const codes = randomCodes(rng, rows * K, bits).map((code) => (bits === 8 && (code & 0x7f) === 0x7f ? code - 1 : code));
  const w: Tensor = { dtype: "uint32", shape: [rows, (K * bits) / 32], data: packCodes(codes, bits, rows, K) };
  const scales: Tensor = { dtype: "uint8", shape: [rows, K / groupSize], data: new Uint8Array(rows * (K / groupSize)).fill(mode === "nvfp4" ? 0x38 : 127) };
  const x = tensorFromNumbers("float32", [2, K], Array.from({ length: 2 * K }, () => rng.normal()));

  return { inputs: { x, w, scales }, params: { mode, transpose: true, groupSize, bits } };
}

function retype(tensor: Tensor, dtype: Tensor["dtype"]): Tensor {
  const values = Array.from(tensor.data as ArrayLike<number>, (value) => (dtype === "int32" || dtype === "uint8" ? Math.round(Math.abs(value)) % 200 : value));
  return tensorFromNumbers(dtype, tensor.shape, values);
}

function reshape(tensor: Tensor, shape: number[]): Tensor {
  return { ...tensor, shape };
}

function withScaleByte(call: Call, byte: number): Call {
  const data = (call.inputs.scales.data as Uint8Array).slice();
  data[3] = byte;
  return { ...call, inputs: { ...call.inputs, scales: { ...call.inputs.scales, data } } };
}

/** Returns `call` with one input tensor replaced (or removed, for `null` biases). */
function withInput(call: Call, name: keyof QmmInputs, tensor: Tensor | null): Call {
  return { ...call, inputs: { ...call.inputs, [name]: tensor } };
}

/** Returns `call` with new parameters; invalid ones are passed through as written. */
function withParams(call: Call, params: Record<string, unknown>): Call {
  return { ...call, params: params as QmmParamsInput };
}

function floats(shape: number[], value: number): Tensor {
  return tensorFromNumbers("float32", shape, new Array(shape.reduce((p, s) => p * s, 1)).fill(value));
}

/** Returns an affine call whose scales and biases have `shape`. */
function affineWithScaleShape(rng: Random, shape: number[]): Call {
  return withInput(withInput(affineCall(rng), "scales", floats(shape, 0.5)), "biases", floats(shape, 0));
}

/** Returns an mxfp8 call with one element byte of word `word`, byte `byte` set to `value`. */
function mxfp8WithElementByte(rng: Random, word: number, byte: number, value: number): Call {
  const call = fpCall(rng, "mxfp8");
  const data = (call.inputs.w.data as Uint32Array).slice();
  data[word] = ((data[word] & ~(0xff << (8 * byte))) | (value << (8 * byte))) >>> 0;
  return withInput(call, "w", { ...call.inputs.w, data });
}

const DESIGNS: readonly ErrorDesign[] = [
  { code: "E_PARAM_INVALID", name: "unknown-key-group_size", build: (rng) => withParams(affineCall(rng), { mode: "affine", group_size: 64 }) },
  { code: "E_PARAM_INVALID", name: "transpose-string", build: (rng) => withParams(affineCall(rng), { mode: "affine", transpose: "yes" }) },
  { code: "E_PARAM_INVALID", name: "bits-fraction", build: (rng) => withParams(affineCall(rng), { mode: "affine", bits: 4.5 }) },
  { code: "E_MODE_INVALID", name: "mode-int4", build: (rng) => withParams(affineCall(rng), { mode: "int4" }) },
  { code: "E_MODE_INVALID", name: "mode-capitalised", build: (rng) => withParams(affineCall(rng), { mode: "Affine" }) },
  { code: "E_BIASES_REQUIRED", name: "affine-without-biases", build: (rng) => withInput(affineCall(rng), "biases", null) },
  { code: "E_BIASES_FORBIDDEN", name: "mxfp4-with-biases", build: (rng) => withInput(fpCall(rng, "mxfp4"), "biases", floats([8, 2], 0)) },
  { code: "E_SCALES_DTYPE", name: "affine-uint8-scales", build: (rng) => { const call = affineCall(rng); return withInput(call, "scales", retype(call.inputs.scales, "uint8")); } },
  { code: "E_SCALES_DTYPE", name: "mxfp8-float16-scales", build: (rng) => withInput(fpCall(rng, "mxfp8"), "scales", tensorFromNumbers("float16", [8, 2], new Array(16).fill(1))) },
  { code: "E_BIASES_DTYPE", name: "affine-int32-biases", build: (rng) => { const call = affineCall(rng); return withInput(call, "biases", retype(call.inputs.biases!, "int32")); } },
  { code: "E_GROUP_SIZE_INVALID", name: "affine-g16", build: (rng) => withParams(affineWithScaleShape(rng, [8, 8]), { mode: "affine", groupSize: 16, bits: 4 }) },
  { code: "E_GROUP_SIZE_INVALID", name: "nvfp4-g32", build: (rng) => withParams(fpCall(rng, "nvfp4"), { mode: "nvfp4", groupSize: 32 }) },
  { code: "E_BITS_INVALID", name: "affine-b7", build: (rng) => withParams(affineCall(rng), { mode: "affine", bits: 7, groupSize: 64 }) },
  { code: "E_BITS_INVALID", name: "affine-b0", build: (rng) => withParams(affineCall(rng), { mode: "affine", bits: 0 }) },
  { code: "E_BITS_INVALID", name: "mxfp4-b8", build: (rng) => withParams(fpCall(rng, "mxfp4"), { mode: "mxfp4", bits: 8 }) },
  { code: "E_W_DTYPE", name: "w-int32", build: (rng) => { const call = affineCall(rng); return withInput(call, "w", { dtype: "int32", shape: call.inputs.w.shape, data: new Int32Array(call.inputs.w.data as Uint32Array) }); } },
  { code: "E_X_DTYPE", name: "x-float64", build: (rng) => { const call = affineCall(rng); return withInput(call, "x", retype(call.inputs.x, "float64")); } },
  { code: "E_X_DTYPE", name: "x-int32-fp-mode", build: (rng) => { const call = fpCall(rng, "mxfp4"); return withInput(call, "x", retype(call.inputs.x, "int32")); } },
  { code: "E_RANK", name: "x-scalar", build: (rng) => withInput(affineCall(rng), "x", floats([], 1)) },
  { code: "E_RANK", name: "w-rank1", build: (rng) => { const call = affineCall(rng); return withInput(call, "w", reshape(call.inputs.w, [call.inputs.w.data.length])); } },
  { code: "E_RANK", name: "scales-rank3", build: (rng) => affineWithScaleShape(rng, [1, 8, 2]) },
  { code: "E_EMPTY_DIM", name: "x-M0", build: (rng) => affineCall(rng, { xShape: [0, 128] }) },
  { code: "E_EMPTY_DIM", name: "w-N0", build: (rng) => affineCall(rng, { rows: 0 }) },
  { code: "E_EMPTY_DIM", name: "x-batch0", build: (rng) => affineCall(rng, { xShape: [0, 2, 128] }) },
  { code: "E_SCALES_BIASES_SHAPE", name: "biases-one-row-short", build: (rng) => withInput(affineCall(rng), "biases", floats([7, 2], 0)) },
  { code: "E_BATCH_SHAPE", name: "w-batch2-scales-batch3", build: (rng) => withInput(withInput(affineCall(rng, { wBatch: [2], xShape: [2, 2, 128] }), "scales", floats([3, 8, 2], 0.5)), "biases", floats([3, 8, 2], 0)) },
  { code: "E_SCALES_ROWS", name: "scales-one-row-extra", build: (rng) => affineWithScaleShape(rng, [9, 2]) },
  { code: "E_PACKED_SHAPE", name: "scales-group-count-wrong", build: (rng) => affineWithScaleShape(rng, [8, 3]) },
  { code: "E_PACKED_SHAPE", name: "b3-one-word-per-row", build: (rng) => withParams(withInput(affineCall(rng), "w", { dtype: "uint32", shape: [8, 1], data: new Uint32Array(8) }), { mode: "affine", bits: 3, groupSize: 32 }) },
  { code: "E_K_MISMATCH", name: "x-K-one-group-short", build: (rng) => affineCall(rng, { xShape: [2, 64] }) },
  { code: "E_K_MISMATCH", name: "untransposed-K", build: (rng) => withParams(affineCall(rng), { mode: "affine", transpose: false }) },
  { code: "E_UNBATCHED_X", name: "x-2d-w-3d", build: (rng) => affineCall(rng, { wBatch: [3], xShape: [2, 128] }) },
  { code: "E_UNBATCHED_X", name: "x-1d-w-3d", build: (rng) => affineCall(rng, { wBatch: [2], xShape: [128] }) },
  { code: "E_BROADCAST", name: "x-batch2-w-batch3", build: (rng) => affineCall(rng, { wBatch: [3], xShape: [2, 2, 128] }) },
  { code: "E_RESERVED_SCALE", name: "e8m0-0xFF", build: (rng) => withScaleByte(fpCall(rng, "mxfp4"), 0xff) },
  { code: "E_RESERVED_SCALE", name: "nvfp4-e4m3-0x7F", build: (rng) => withScaleByte(fpCall(rng, "nvfp4"), 0x7f) },
  { code: "E_RESERVED_SCALE", name: "nvfp4-e4m3-0xFF", build: (rng) => withScaleByte(fpCall(rng, "nvfp4"), 0xff) },
  { code: "E_RESERVED_ELEMENT", name: "mxfp8-0x7F", build: (rng) => mxfp8WithElementByte(rng, 5, 1, 0x7f) },
  { code: "E_RESERVED_ELEMENT", name: "mxfp8-0xFF", build: (rng) => mxfp8WithElementByte(rng, 0, 0, 0xff) },
  // Several problems at once: the first check in the order of SPEC.md §9.1 decides the code.
  { code: "E_MODE_INVALID", name: "order-mode-before-w-dtype", build: (rng) => { const call = affineCall(rng); return withParams(withInput(call, "w", retype(call.inputs.w, "float32")), { mode: "int8" }); } },
  { code: "E_SCALES_DTYPE", name: "order-scales-dtype-before-biases", build: (rng) => withInput(withInput(fpCall(rng, "mxfp8"), "scales", floats([8, 2], 1)), "biases", floats([8, 2], 0)) },
  { code: "E_K_MISMATCH", name: "order-K-before-reserved-scale", build: (rng) => withInput(withScaleByte(fpCall(rng, "mxfp4"), 0xff), "x", floats([2, 32], 1)) },
];

/** Builds every error case; throws when the reference reports a code other than the designed one. */
export function buildErrorCases(filter?: (id: string) => boolean): GoldenCase[] {
  const out: GoldenCase[] = [];

  for (const design of DESIGNS) {
    const id = `errors/${design.code}/${design.name}`;
    if (filter !== undefined && !filter(id)) continue;

    const { inputs, params } = design.build(new Random(id));
    const code = derivedCode(inputs, params);
    if (code !== design.code) throw new Error(`${id}: designed for ${design.code} but the reference validation reports ${code ?? "no error"}`);

    out.push({ id, suite: "errors", params, inputs, expected: { kind: "error", code }, tags: ["error", design.code] });
  }
  return out;
}

/** Lists the IDs of the error suite without building any data. */
export function errorCaseIds(): string[] {
  return DESIGNS.map((design) => `errors/${design.code}/${design.name}`);
}

function derivedCode(inputs: QmmInputs, params: QmmParamsInput): ErrorCode | undefined {
  try {
    resolveCall(inputs, params);
    return undefined;
  } catch (error) {
    if (error instanceof QmmError) return error.code;
    throw error;
  }
}
