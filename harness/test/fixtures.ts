/**
 * Test fixtures: small affine golden cases whose expectations come from the exact reference, and
 * backends that simulate a numerics variant operation by operation (honest), or break it on purpose
 * (sloppy). The simulations decide nothing about the budget themselves. They only round where the
 * variant declares that an implementation rounds.
 */
import { QmmError } from "../../spec/errors.ts";
import { MODES, FLOAT_DTYPES } from "../../spec/types.ts";
import type { FloatDType, QmmInputs, QmmParamsInput } from "../../spec/types.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import { quantizedMatmul } from "../../reference/matmul.ts";
import { packCodes, unpackCodes } from "../../reference/pack.ts";
import { roundToDType } from "../../reference/formats/float.ts";
import { tensorFromNumbers, tensorToNumbers } from "../../reference/tensor.ts";
import type { GoldenCase } from "../../vectors/case.ts";
import type { Backend, CallOutcome } from "../backend.ts";

/** A small deterministic generator (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Shape and parameters of an affine fixture case (transpose=true, 2-D weights). */
export interface AffineSpec {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly bits?: number;
  readonly groupSize?: number;
  readonly dtype?: FloatDType;
  /** Leading batch dimensions of x. */
  readonly batch?: readonly number[];
  readonly seed?: number;
  readonly suite?: string;
  /**
   * Magnitude exponents: x, scales and biases are drawn as ±2^(e + uniform[0, spread)) with e
   * from these fields, so that cases can reach subnormals, cancellation and overflow. When absent,
   * x is uniform in [−1, 1), scales in [0.01, 0.11) and biases in [−0.5, 0.5).
   */
  readonly magnitudes?: { readonly x: number; readonly scale: number; readonly bias: number; readonly spread: number };
}

/** Builds an affine case with random codes, scales, biases and x, and the reference's expectation. */
export function affineCase(spec: AffineSpec): GoldenCase {
  const { M, K, N } = spec;
  const bits = spec.bits ?? 4;
  const groupSize = spec.groupSize ?? 32;
  const dtype = spec.dtype ?? "float32";
  const batch = spec.batch ?? [];
  const next = random(spec.seed ?? 1);

  const magnitudes = spec.magnitudes;
  const signed = (exponent: number) => (next() < 0.5 ? -1 : 1) * 2 ** (exponent + next() * (magnitudes?.spread ?? 0));
  const drawX = magnitudes ? () => signed(magnitudes.x) : () => next() * 2 - 1;
  const drawScale = magnitudes ? () => Math.abs(signed(magnitudes.scale)) : () => 0.01 + next() * 0.1;
  const drawBias = magnitudes ? () => signed(magnitudes.bias) : () => next() - 0.5;

  const xCount = batch.reduce((product, size) => product * size, 1) * M * K;
  const x = tensorFromNumbers(dtype, [...batch, M, K], Array.from({ length: xCount }, drawX));
  const codes = Array.from({ length: N * K }, () => Math.floor(next() * 2 ** bits));
  const w = { dtype: "uint32" as const, shape: [N, (K * bits) / 32], data: packCodes(codes, bits, N, K) };
  const groups = N * (K / groupSize);
  const scales = tensorFromNumbers(dtype, [N, K / groupSize], Array.from({ length: groups }, drawScale));
  const biases = tensorFromNumbers(dtype, [N, K / groupSize], Array.from({ length: groups }, drawBias));

  const params: QmmParamsInput = { mode: "affine", transpose: true, groupSize, bits };
  const inputs: QmmInputs = { x, w, scales, biases };
  const result = quantizedMatmul(inputs, params);
  const shape = [...batch, M, N].join("x");

  return {
    id: `affine/b${bits}/g${groupSize}/${dtype}/t/${shape}_K${K}/seed${spec.seed ?? 1}`,
    suite: spec.suite ?? "generated",
    params,
    inputs,
    expected: { kind: "value", y: result.y, exact: result.exact, condition: result.condition },
    tags: ["random"],
  };
}

/** Builds an error case from parameters the reference rejects; throws if the reference accepts them. */
export function errorCase(id: string, base: GoldenCase, params: QmmParamsInput): GoldenCase {
  try {
    quantizedMatmul(base.inputs, params);
  } catch (error) {
    if (error instanceof QmmError) return { ...base, id, suite: "errors", params, expected: { kind: "error", code: error.code } };
    throw error;
  }
  throw new Error(`errorCase ${id}: the reference accepted the parameters`);
}

/** Deliberate defects of a simulated backend. */
export interface Defects {
  /** Accumulate in this dtype whatever the variant declares. */
  readonly accumulateIn?: FloatDType;
  /** Leave out β·x of the last group along K. */
  readonly dropLastGroupBias?: boolean;
  /** Leave out every term of the last group along K (dequantize-dot forms only). */
  readonly dropLastGroup?: boolean;
  /** Add the first scale of the element's weight row to every output (dequantize-dot forms only). */
  readonly addScale?: boolean;
}

function rounder(format: string, outDType: FloatDType): (value: number) => number {
  const resolved = format === "compute" ? outDType : format;
  if (resolved === "exact" || resolved === "float64") return (value) => value;
  return (value) => roundToDType(value, resolved as FloatDType);
}

/**
 * Computes an affine transpose=true call (2-D w, x of any rank) the way `variant` describes:
 * each rounding of the variant is applied with round-to-nearest-even, in k order.
 */
export function simulate(variant: NumericsVariant, inputs: QmmInputs, params: QmmParamsInput, defects: Defects = {}) {
  const outDType = inputs.x.dtype as FloatDType;
  const bits = params.bits ?? 4;
  const groupSize = params.groupSize ?? 64;
  const [N] = inputs.w.shape;
  const K = inputs.x.shape[inputs.x.shape.length - 1];
  const rows = inputs.x.data.length / K;
  const x = tensorToNumbers(inputs.x);
  const codes = unpackCodes(inputs.w.data as Uint32Array, bits, N, K);
  const scales = tensorToNumbers(inputs.scales);
  const biases = tensorToNumbers(inputs.biases!);

  const weight = rounder(variant.weightRounding === "exact" ? "exact" : variant.weightDType, outDType);
  const accumulate = rounder(defects.accumulateIn ?? variant.accumulator, outDType);
  const product = variant.productRounding ? accumulate : (value: number) => value;
  const groups = K / groupSize;
  const y = new Float64Array(rows * N);

  for (let row = 0; row < rows; row++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      if (variant.form === "factored") {
        for (let g = 0; g < groups; g++) {
          let xq = 0;
          let xs = 0;
          for (let k = g * groupSize; k < (g + 1) * groupSize; k++) {
            xq = accumulate(xq + accumulate(x[row * K + k] * codes[n * K + k]));
            xs = accumulate(xs + x[row * K + k]);
          }
          const bias = defects.dropLastGroupBias && g === groups - 1 ? 0 : biases[n * groups + g];
          sum = accumulate(sum + accumulate(scales[n * groups + g] * xq));
          sum = accumulate(sum + accumulate(bias * xs));
        }
      } else {
        const parts = variant.splitK?.parts ?? 1;
        const partial = rounder(variant.splitK?.partialDType ?? "exact", outDType);
        const chunk = Math.ceil(K / parts);
        for (let start = 0; start < K; start += chunk) {
          let part = 0;
          for (let k = start; k < Math.min(K, start + chunk); k++) {
            const g = Math.floor(k / groupSize);
            if (defects.dropLastGroup && g === groups - 1) continue;
            const bias = defects.dropLastGroupBias && g === groups - 1 ? 0 : biases[n * groups + g];
            const scaled = scales[n * groups + g] * codes[n * K + k];
            const dequantized = variant.weightRounding === "twice" ? weight(weight(scaled) + bias) : weight(scaled + bias);
            part = accumulate(part + product(x[row * K + k] * dequantized));
          }
          sum = accumulate(sum + partial(part));
        }
        if (defects.addScale) sum += scales[n * groups];
      }
      y[row * N + n] = sum;
    }
  }

  const outShape = [...inputs.x.shape.slice(0, -1), N];
  return tensorFromNumbers(outDType, outShape, y);
}

/** Creates a backend that runs {@link simulate} and declares `variant`. */
export function simulatedBackend(name: string, variant: NumericsVariant, defects: Defects = {}): Backend {
  return {
    name,
    async probe() {
      return {
        kind: "available",
        version: "test",
        variant,
        capabilities: { modes: MODES, dtypes: FLOAT_DTYPES, transpose: [true], batchedWeights: false, reportsErrors: false },
      };
    },
    async run(calls) {
      return calls.map((call): CallOutcome => ({ kind: "ok", y: simulate(variant, call.inputs, call.params, defects) }));
    },
  };
}
