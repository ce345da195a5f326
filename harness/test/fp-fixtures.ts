/**
 * Test fixtures for the fp modes (mxfp4, mxfp8, nvfp4): random cases whose expectations come from
 * the exact reference, and a simulation that rounds where a numerics variant declares, including
 * the per-group scaling of `fpScaling: group-scaled`.
 */
import { MODE_RULES } from "../../spec/types.ts";
import type { FloatDType, QmmInputs, QmmParamsInput } from "../../spec/types.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import { quantizedMatmul } from "../../reference/matmul.ts";
import { packCodes, unpackCodes } from "../../reference/pack.ts";
import { roundToDType } from "../../reference/formats/float.ts";
import { e2m1ToNumber } from "../../reference/formats/e2m1.ts";
import { e4m3ToNumber } from "../../reference/formats/e4m3.ts";
import { e8m0ToNumber } from "../../reference/formats/e8m0.ts";
import { tensorFromNumbers, tensorToNumbers } from "../../reference/tensor.ts";
import type { GoldenCase } from "../../vectors/case.ts";
import { random } from "./fixtures.ts";

/** An fp-mode fixture case. */
export interface FpSpec {
  readonly mode: "mxfp4" | "mxfp8" | "nvfp4";
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly transpose: boolean;
  readonly dtype: FloatDType;
  readonly seed: number;
  /** x is drawn as ±2^(xExponent + uniform[0, spread)). */
  readonly xExponent: number;
  readonly spread: number;
  /** E8M0 scale bytes are drawn from [scaleLow, scaleHigh]; nvfp4 uses positive finite E4M3 bytes. */
  readonly scaleLow: number;
  readonly scaleHigh: number;
}

/** Returns a random E4M3 byte that is not a reserved code. */
function e4m3Byte(next: () => number, positive: boolean): number {
  let byte = Math.floor(next() * (positive ? 0x80 : 0x100));
  if ((byte & 0x7f) === 0x7f) byte ^= 1;
  return byte;
}

/** Builds an fp-mode case and its expectation from the exact reference. */
export function fpCase(spec: FpSpec): GoldenCase {
  const { mode, M, K, N, transpose, dtype } = spec;
  const next = random(spec.seed);
  const rule = MODE_RULES[mode];
  const groupSize = rule.defaultGroupSize;
  const bits = rule.defaultBits;

  const x = tensorFromNumbers(
    dtype,
    [M, K],
    Array.from({ length: M * K }, () => (next() < 0.5 ? -1 : 1) * 2 ** (spec.xExponent + next() * spec.spread)),
  );

  const [rows, columns] = transpose ? [N, K] : [K, N];
  const codes = Array.from({ length: rows * columns }, () => (mode === "mxfp8" ? e4m3Byte(next, false) : Math.floor(next() * 16)));
  const w = { dtype: "uint32" as const, shape: [rows, (columns * bits) / 32], data: packCodes(codes, bits, rows, columns) };

  const scaleCount = rows * (columns / groupSize);
  const scaleBytes = Array.from({ length: scaleCount }, () =>
    mode === "nvfp4" ? e4m3Byte(next, true) : spec.scaleLow + Math.floor(next() * (spec.scaleHigh - spec.scaleLow + 1)),
  );
  const scales = { dtype: "uint8" as const, shape: [rows, columns / groupSize], data: Uint8Array.from(scaleBytes) };

  const params: QmmParamsInput = { mode, transpose, groupSize, bits };
  const inputs: QmmInputs = { x, w, scales };
  const result = quantizedMatmul(inputs, params);

  return {
    id: `${mode}/${dtype}/${transpose ? "t" : "n"}/M${M}_K${K}_N${N}/seed${spec.seed}`,
    suite: "generated",
    params,
    inputs,
    expected: { kind: "value", y: result.y, exact: result.exact, condition: result.condition },
    tags: ["random"],
  };
}

function rounder(format: string, outDType: FloatDType): (value: number) => number {
  const resolved = format === "compute" ? outDType : format;
  if (resolved === "exact" || resolved === "float64") return (value) => value;
  return (value) => roundToDType(value, resolved as FloatDType);
}

/** Computes an fp-mode call (2-D x and w) the way `variant` describes, in k order. */
export function simulateFp(variant: NumericsVariant, inputs: QmmInputs, params: QmmParamsInput) {
  const mode = params.mode as FpSpec["mode"];
  const rule = MODE_RULES[mode];
  const outDType = inputs.x.dtype as FloatDType;
  const transpose = params.transpose ?? true;
  const groupSize = rule.defaultGroupSize;
  const [M, K] = inputs.x.shape;
  const [rows] = inputs.w.shape;
  const columns = transpose ? K : (inputs.w.shape[1] * 32) / rule.defaultBits;
  const N = transpose ? rows : columns;

  const x = tensorToNumbers(inputs.x);
  const codes = unpackCodes(inputs.w.data as Uint32Array, rule.defaultBits, rows, columns);
  const element = mode === "mxfp8" ? e4m3ToNumber : e2m1ToNumber;
  const scaleBytes = inputs.scales.data as Uint8Array;
  const scaleOf = mode === "nvfp4" ? e4m3ToNumber : e8m0ToNumber;
  const groupsPerRow = columns / groupSize;

  const accumulate = rounder(variant.accumulator, outDType);
  const weight = rounder(variant.weightRounding === "exact" ? "exact" : variant.weightDType, outDType);
  const product = variant.productRounding ? accumulate : (value: number) => value;
  const groupScaled = variant.fpScaling === "group-scaled";

  // Element (k, n): its code, value and scale, whatever the layout.
  const at = (k: number, n: number) => {
    const [row, column] = transpose ? [n, k] : [k, n];
    return { value: element(codes[row * columns + column]), scale: scaleOf(scaleBytes[row * groupsPerRow + Math.floor(column / groupSize)]) };
  };

  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      if (groupScaled && transpose) {
        for (let start = 0; start < K; start += groupSize) {
          let partial = 0;
          for (let k = start; k < start + groupSize; k++) partial = accumulate(partial + accumulate(x[m * K + k] * at(k, n).value));
          sum = accumulate(sum + accumulate(accumulate(at(start, n).scale) * partial));
        }
      } else if (groupScaled) {
        for (let k = 0; k < K; k++) {
          const { value, scale } = at(k, n);
          sum = accumulate(sum + accumulate(accumulate(x[m * K + k] * accumulate(scale)) * value));
        }
      } else {
        const parts = variant.splitK?.parts ?? 1;
        const partialRound = rounder(variant.splitK?.partialDType ?? "exact", outDType);
        const chunk = Math.ceil(K / parts);
        for (let start = 0; start < K; start += chunk) {
          let part = 0;
          for (let k = start; k < Math.min(K, start + chunk); k++) {
            const { value, scale } = at(k, n);
            part = accumulate(part + product(x[m * K + k] * weight(scale * value)));
          }
          sum = accumulate(sum + partialRound(part));
        }
      }
      y[m * N + n] = sum;
    }
  }

  return tensorFromNumbers(outDType, [M, N], y);
}
