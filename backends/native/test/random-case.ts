/**
 * Random valid calls for the native backend tests: random codes packed with the reference's
 * packer, and scales, biases and x rounded to their dtypes. Independent of the kernels under test.
 */
import { packCodes } from "../../../reference/pack.ts";
import { tensorFromNumbers } from "../../../reference/tensor.ts";
import { MODE_RULES } from "../../../spec/types.ts";
import type { FloatDType, Mode, QmmInputs, QmmParamsInput } from "../../../spec/types.ts";

/** A small deterministic generator (mulberry32), so a failing case can be rerun from its seed. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The shape and types of one random call. */
export interface CaseSpec {
  readonly mode: Mode;
  readonly bits: number;
  readonly groupSize: number;
  readonly transpose: boolean;
  readonly xDType: FloatDType;
  /** Affine only; the fp modes use uint8 scale codes. */
  readonly scalesDType: FloatDType;
  readonly biasesDType: FloatDType;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** Batch dimensions of x; [] for a 2-D x. */
  readonly xBatch: readonly number[];
  /** Batch dimensions of w; [] for a 2-D w. */
  readonly wBatch: readonly number[];
  /** Gives x rank 1 (M must be 1). */
  readonly vectorX?: boolean;
}

/** Draws a standard normal value (Box–Muller). */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function product(sizes: readonly number[]): number {
  return sizes.reduce((total, size) => total * size, 1);
}

/** Draws a random code for the mode, skipping the reserved mxfp8 element bytes 0x7F and 0xFF. */
function randomCode(mode: Mode, bits: number, random: () => number): number {
  const code = Math.floor(random() * 2 ** bits);
  if (mode === "mxfp8" && (code & 0x7f) === 0x7f) return code - 1;
  return code;
}

/** Draws a random scale byte: E8M0 within 2^±8 of 1, E4M3 any non-reserved byte. */
function randomScaleByte(mode: Mode, random: () => number): number {
  if (mode === "nvfp4") {
    const byte = Math.floor(random() * 256);
    return (byte & 0x7f) === 0x7f ? byte - 1 : byte;
  }
  return 119 + Math.floor(random() * 17);
}

/** Builds the inputs and parameters of one random call. */
export function randomCall(spec: CaseSpec, seed: number): { inputs: QmmInputs; params: QmmParamsInput } {
  const random = createRandom(seed);
  const rows = spec.transpose ? spec.N : spec.K;
  const cols = spec.transpose ? spec.K : spec.N;
  const groups = cols / spec.groupSize;
  const wMatrices = product(spec.wBatch);

  const xShape = spec.vectorX ? [spec.K] : [...spec.xBatch, spec.M, spec.K];
  const xValues = Array.from({ length: product(xShape) }, () => gaussian(random));
  const x = tensorFromNumbers(spec.xDType, xShape, xValues);

  const codes = new Array<number>(wMatrices * rows * cols);
  for (let i = 0; i < codes.length; i++) codes[i] = randomCode(spec.mode, spec.bits, random);
  const words = packCodes(codes, spec.bits, wMatrices * rows, cols);
  const w = { dtype: "uint32" as const, shape: [...spec.wBatch, rows, (cols * spec.bits) / 32], data: words };

  const scaleShape = [...spec.wBatch, rows, groups];
  const scaleCount = product(scaleShape);
  const params: QmmParamsInput = { mode: spec.mode, transpose: spec.transpose, groupSize: spec.groupSize, bits: spec.bits };

  if (spec.mode !== "affine") {
    const bytes = Array.from({ length: scaleCount }, () => randomScaleByte(spec.mode, random));
    return { inputs: { x, w, scales: tensorFromNumbers("uint8", scaleShape, bytes) }, params };
  }

  // Scales of either sign and biases near −s·2^(bits−1), as MLX's quantize produces.
  const scaleValues = Array.from({ length: scaleCount }, () => (random() < 0.5 ? -1 : 1) * (0.01 + random() * 0.1));
  const biasValues = scaleValues.map((s) => -s * 2 ** (spec.bits - 1) + 0.01 * gaussian(random));
  return {
    inputs: {
      x,
      w,
      scales: tensorFromNumbers(spec.scalesDType, scaleShape, scaleValues),
      biases: tensorFromNumbers(spec.biasesDType, scaleShape, biasValues),
    },
    params,
  };
}

/** Lists every (mode, bits, group size) the spec allows. */
export function allFormats(): { mode: Mode; bits: number; groupSize: number }[] {
  const formats: { mode: Mode; bits: number; groupSize: number }[] = [];
  for (const [mode, rule] of Object.entries(MODE_RULES) as [Mode, (typeof MODE_RULES)[Mode]][]) {
    for (const bits of rule.bits) {
      for (const groupSize of rule.groupSizes) formats.push({ mode, bits, groupSize });
    }
  }
  return formats;
}

/**
 * Builds an affine 4-bit call whose float32 sums drift when summed in one long chain. Every ŵ
 * is 1 (code 1, scale 1, bias 0), x[·, 0] is 1, and every other x is 2^−24·(1 + 2^−10), just
 * above half a unit in the last place of 1. Added one by one to a running sum near 1, each term
 * rounds up to a whole unit, so the error grows by about 2^−24 per term. After 4096 terms it is
 * 2.4e−4, twenty times the factored form's budget at group size 64, while kernels that sum in
 * shorter chains stay within it.
 */
export function driftCall(M: number, K: number, N: number): { inputs: QmmInputs; params: QmmParamsInput } {
  const groupSize = 64;
  const tiny = 2 ** -24 * (1 + 2 ** -10);
  const xValues = Array.from({ length: M * K }, (_, i) => (i % K === 0 ? 1 : tiny));
  const words = packCodes(new Array<number>(N * K).fill(1), 4, N, K);
  const scaleShape = [N, K / groupSize];

  return {
    inputs: {
      x: tensorFromNumbers("float32", [M, K], xValues),
      w: { dtype: "uint32", shape: [N, K / 8], data: words },
      scales: tensorFromNumbers("float32", scaleShape, new Array<number>(N * (K / groupSize)).fill(1)),
      biases: tensorFromNumbers("float32", scaleShape, new Array<number>(N * (K / groupSize)).fill(0)),
    },
    params: { mode: "affine", transpose: true, groupSize, bits: 4 },
  };
}
