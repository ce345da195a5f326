/**
 * Calls with adversarial data for the native backend tests. The kinds of data are
 * - x with a huge dynamic range, or only subnormal values,
 * - all-zero groups, and biases that cancel s·q exactly,
 * - NaN and ±inf in x, scales or biases, and affine scales from subnormal to near overflow,
 * - E4M3 codes that are all subnormal or at the max magnitude,
 * - E8M0 scales at and beyond the exponents where the addon switches to its float64 path.
 * Each kind changes the values of a call that randomCall builds, for any shape. Values are
 * rounded to their dtypes by tensorFromNumbers, and reserved codes (SPEC.md §3.6) are never
 * produced.
 */
import { floatValues } from "../../../harness/budget/values.ts";
import { packCodes } from "../../../reference/pack.ts";
import { tensorFromNumbers } from "../../../reference/tensor.ts";
import type { FloatDType, Mode, QmmInputs, QmmParamsInput } from "../../../spec/types.ts";
import { createRandom, randomCall } from "./random-case.ts";
import type { CaseSpec } from "./random-case.ts";

/** The kinds of data a call can hold. `gaussian` is randomCall's data, unchanged. */
export const DATA_KINDS = [
  "gaussian",
  "huge-range-x",
  "subnormal-x",
  "zero-groups",
  "cancelling-biases",
  "non-finite-x",
  "non-finite-weights",
  "extreme-affine-scales",
  "e4m3-subnormal",
  "e4m3-max",
  "e8m0-extremes",
] as const;

/** One kind of data. */
export type DataKind = (typeof DATA_KINDS)[number];

/** The modes each kind applies to. A kind not listed applies to every mode. */
const KIND_MODES: Partial<Record<DataKind, readonly Mode[]>> = {
  "cancelling-biases": ["affine"],
  "non-finite-weights": ["affine"],
  "extreme-affine-scales": ["affine"],
  "e4m3-subnormal": ["mxfp8", "nvfp4"],
  "e4m3-max": ["mxfp8", "nvfp4"],
  "e8m0-extremes": ["mxfp4", "mxfp8"],
};

/** Lists the data kinds that apply to a mode, `gaussian` first. */
export function dataKindsFor(mode: Mode): DataKind[] {
  return DATA_KINDS.filter((kind) => KIND_MODES[kind]?.includes(mode) ?? true);
}

/** Binary exponents of a float dtype: the smallest subnormal, the smallest normal and the largest finite. */
const EXPONENTS: Readonly<Record<FloatDType, { subnormal: number; normal: number; max: number }>> = {
  float32: { subnormal: -149, normal: -126, max: 127 },
  bfloat16: { subnormal: -133, normal: -126, max: 127 },
  float16: { subnormal: -24, normal: -14, max: 15 },
};

/** The values of a call before they are rounded and packed, with the codes of all w matrices row-major. */
interface Draft {
  readonly x: number[];
  readonly codes: number[];
  /** Affine: scale values. The fp modes: scale bytes. */
  readonly scales: number[];
  /** Affine only. */
  readonly biases: number[];
}

/** The geometry of a call's arrays. */
interface Layout {
  /** Rows of x over all x matrices (the row of a vector x is one). */
  readonly xRows: number;
  readonly K: number;
  /** Packed rows of w over all w matrices. */
  readonly wRows: number;
  /** Codes per packed row. */
  readonly columns: number;
  readonly groups: number;
}

function product(sizes: readonly number[]): number {
  return sizes.reduce((total, size) => total * size, 1);
}

function layoutOf(spec: CaseSpec): Layout {
  const rows = spec.transpose ? spec.N : spec.K;
  const columns = spec.transpose ? spec.K : spec.N;
  return {
    xRows: spec.vectorX ? 1 : product(spec.xBatch) * spec.M,
    K: spec.K,
    wRows: product(spec.wBatch) * rows,
    columns,
    groups: columns / spec.groupSize,
  };
}

/** Returns x, w, scales and biases of a call with randomCall's shapes and `kind`'s values. */
export function adversarialCall(spec: CaseSpec, kind: DataKind, seed: number): { inputs: QmmInputs; params: QmmParamsInput } {
  const base = randomCall(spec, seed);
  if (kind === "gaussian") return base;

  const layout = layoutOf(spec);
  const random = createRandom(seed ^ 0x5bd1e995);
  const draft = draftFrom(spec, base.inputs, layout);
  MUTATIONS[kind](draft, { spec, layout, random });
  return { inputs: buildInputs(spec, base.inputs, layout, draft), params: base.params };
}

/** Reads the values of randomCall's inputs back, so that a kind can change a few of them. */
function draftFrom(spec: CaseSpec, inputs: QmmInputs, layout: Layout): Draft {
  return {
    x: Array.from(floatValues(inputs.x)),
    codes: unpackCodes(inputs.w.data as Uint32Array, spec.bits, layout.wRows * layout.columns),
    scales: Array.from(spec.mode === "affine" ? floatValues(inputs.scales) : (inputs.scales.data as Uint8Array)),
    biases: inputs.biases ? Array.from(floatValues(inputs.biases)) : [],
  };
}

function buildInputs(spec: CaseSpec, base: QmmInputs, layout: Layout, draft: Draft): QmmInputs {
  const w = { ...base.w, data: packCodes(draft.codes, spec.bits, layout.wRows, layout.columns) };
  const x = tensorFromNumbers(spec.xDType, base.x.shape, draft.x);
  if (spec.mode !== "affine") return { x, w, scales: tensorFromNumbers("uint8", base.scales.shape, draft.scales) };

  return {
    x,
    w,
    scales: tensorFromNumbers(spec.scalesDType, base.scales.shape, draft.scales),
    biases: tensorFromNumbers(spec.biasesDType, base.scales.shape, draft.biases),
  };
}

/** Reads `count` codes of `bits` bits from a little-endian bit stream of uint32 words (SPEC.md §5.1). */
function unpackCodes(words: Uint32Array, bits: number, count: number): number[] {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const codes = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const bit = i * bits;
    const first = bit >>> 3;
    const window = bytes[first] | ((bytes[first + 1] ?? 0) << 8);
    codes[i] = (window >>> (bit & 7)) & ((1 << bits) - 1);
  }
  return codes;
}

interface MutationContext {
  readonly spec: CaseSpec;
  readonly layout: Layout;
  readonly random: () => number;
}

function sign(random: () => number): number {
  return random() < 0.5 ? -1 : 1;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)];
}

function integerBetween(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** The E4M3 codes with exponent field 0: ±m·2^−9 for m = 0 … 7 (SPEC.md §3.4). */
const E4M3_SUBNORMAL_CODES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87];

/**
 * E8M0 bytes around the addon's switch to float64 (bytes below 27 or above 227, exponents beyond
 * ±100), the ends of the range and 1.
 */
const E8M0_EXTREME_BYTES = [0, 1, 26, 27, 28, 127, 226, 227, 228, 253, 254];

const MUTATIONS: Readonly<Record<Exclude<DataKind, "gaussian">, (draft: Draft, context: MutationContext) => void>> = {
  // Magnitudes near both ends of the x dtype, next to each other, and some anywhere between.
  "huge-range-x"(draft, { spec, random }) {
    const range = EXPONENTS[spec.xDType];
    for (let i = 0; i < draft.x.length; i++) {
      const choice = random();
      let exponent: number;
      if (choice < 0.4) exponent = range.max - 20 + 19 * random();
      else if (choice < 0.8) exponent = range.normal + 20 * random();
      else exponent = range.subnormal + (range.max - range.subnormal) * random();
      draft.x[i] = sign(random) * 2 ** exponent;
    }
  },

  // Only zeros and values in the subnormal range of the x dtype. For float32 and bfloat16 x, the
  // products and sums then stay in or near float32's subnormal range.
  "subnormal-x"(draft, { spec, random }) {
    const range = EXPONENTS[spec.xDType];
    const steps = 2 ** (range.normal - range.subnormal);
    for (let i = 0; i < draft.x.length; i++) {
      draft.x[i] = random() < 0.1 ? 0 : sign(random) * integerBetween(random, 1, steps - 1) * 2 ** range.subnormal;
    }
  },

  // Groups whose x values are all zero, and weight groups whose ŵ are all ±0: zero codes with a
  // zero bias, or a zero scale and bias (affine); ±0 codes, or an E4M3 scale of ±0 (nvfp4).
  "zero-groups"(draft, { spec, layout, random }) {
    // With transpose=false, K need not be a multiple of the group size: a row ends in a shorter run.
    for (let r = 0; r < layout.xRows; r++) {
      for (let k = 0; k < layout.K; k += spec.groupSize) {
        if (random() < 0.3) draft.x.fill(0, r * layout.K + k, r * layout.K + Math.min(k + spec.groupSize, layout.K));
      }
    }

    // The ±0 codes: 0 and 8 in E2M1, 0x00 and 0x80 in E4M3.
    let zeroCodes = [0, 8];
    if (spec.mode === "affine") zeroCodes = [0];
    if (spec.mode === "mxfp8") zeroCodes = [0x00, 0x80];
    for (let r = 0; r < layout.wRows; r++) {
      for (let g = 0; g < layout.groups; g++) {
        if (random() >= 0.3) continue;
        const scale = r * layout.groups + g;
        const zeroScale = random() < 0.5;
        if (spec.mode === "affine") {
          draft.biases[scale] = 0;
          if (zeroScale) {
            draft.scales[scale] = sign(random) * 0;
            continue;
          }
        } else if (spec.mode === "nvfp4" && zeroScale) {
          draft.scales[scale] = pick(random, [0x00, 0x80]);
          continue;
        }

        const start = r * layout.columns + g * spec.groupSize;
        for (let c = 0; c < spec.groupSize; c++) draft.codes[start + c] = pick(random, zeroCodes);
      }
    }
  },

  // β = −s·q0 with s = ±2^−e, exact in every dtype: codes equal to q0 give ŵ = 0 and their
  // neighbours ŵ = ±s. The factored form's s·Σ x·q and β·Σ x then cancel almost entirely.
  "cancelling-biases"(draft, { spec, layout, random }) {
    const maxCode = 2 ** spec.bits - 1;
    for (let r = 0; r < layout.wRows; r++) {
      for (let g = 0; g < layout.groups; g++) {
        const scale = r * layout.groups + g;
        const s = sign(random) * 2 ** -integerBetween(random, 0, 10);
        const q0 = integerBetween(random, 0, maxCode);
        draft.scales[scale] = s;
        draft.biases[scale] = -s * q0;

        const start = r * layout.columns + g * spec.groupSize;
        for (let c = 0; c < spec.groupSize; c++) {
          let code = q0;
          if (random() < 0.3) code += sign(random);
          draft.codes[start + c] = Math.min(maxCode, Math.max(0, code));
        }
      }
    }
  },

  "non-finite-x"(draft, { random }) {
    const count = integerBetween(random, 1, 3);
    for (let i = 0; i < count; i++) draft.x[Math.floor(random() * draft.x.length)] = pick(random, [Infinity, -Infinity, NaN]);
  },

  "non-finite-weights"(draft, { random }) {
    const count = integerBetween(random, 1, 3);
    for (let i = 0; i < count; i++) {
      const target = random() < 0.5 ? draft.scales : draft.biases;
      target[Math.floor(random() * target.length)] = pick(random, [Infinity, -Infinity, NaN]);
    }
  },

  // Scales and biases of either sign from the subnormal range to near the max of their dtype,
  // so ŵ can be subnormal or overflow float32.
  "extreme-affine-scales"(draft, { spec, random }) {
    const scaleRange = EXPONENTS[spec.scalesDType];
    const biasRange = EXPONENTS[spec.biasesDType];
    for (let i = 0; i < draft.scales.length; i++) {
      draft.scales[i] = sign(random) * 2 ** (scaleRange.subnormal + (scaleRange.max - scaleRange.subnormal) * random());
      draft.biases[i] = random() < 0.2 ? 0 : sign(random) * 2 ** (biasRange.subnormal + (biasRange.max - biasRange.subnormal) * random());
    }
  },

  // mxfp8: every element code subnormal. nvfp4: every scale byte subnormal.
  "e4m3-subnormal"(draft, { spec, random }) {
    const target = spec.mode === "mxfp8" ? draft.codes : draft.scales;
    for (let i = 0; i < target.length; i++) target[i] = pick(random, E4M3_SUBNORMAL_CODES);
  },

  // mxfp8: element codes mostly ±448 (0x7E, 0xFE). nvfp4: scale bytes mostly ±448.
  "e4m3-max"(draft, { spec, random }) {
    const target = spec.mode === "mxfp8" ? draft.codes : draft.scales;
    for (let i = 0; i < target.length; i++) if (random() < 0.7) target[i] = pick(random, [0x7e, 0xfe]);
  },

  "e8m0-extremes"(draft, { random }) {
    for (let i = 0; i < draft.scales.length; i++) if (random() < 0.5) draft.scales[i] = pick(random, E8M0_EXTREME_BYTES);
  },
};
