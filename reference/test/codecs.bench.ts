/**
 * Throughput of the reference's hot codecs: unpacking packed rows, exact dequantization and the
 * MLX-compatible quantize. Run with `npx vitest bench --run reference/test/codecs.bench.ts`.
 * Every case works on one 1024 × 4096 weight (4 Mi elements), so ops/s × 4 Mi is elements per second.
 */
import { bench, describe } from "vitest";
import type { FloatDType } from "../../spec/types.ts";
import { dequantize } from "../dequantize.ts";
import { packCodes, unpackCodes } from "../pack.ts";
import { quantize } from "../quantize.ts";
import { tensorFromNumbers } from "../tensor.ts";

const ROWS = 1024;
const COLUMNS = 4096;

function pseudoRandom(count: number, seed: number): Float64Array {
  const values = new Float64Array(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    values[index] = state / 2 ** 32 - 0.5;
  }
  return values;
}

const values = pseudoRandom(ROWS * COLUMNS, 7);

describe("unpackCodes", () => {
  for (const bits of [2, 3, 4, 5, 6, 8]) {
    const codes = Array.from(values, (value) => Math.floor((value + 0.5) * (1 << bits)));
    const words = packCodes(codes, bits, ROWS, COLUMNS);
    bench(`${bits} bits`, () => {
      unpackCodes(words, bits, ROWS, COLUMNS);
    });
  }
});

describe("quantize and dequantize", () => {
  const cases: { dtype: FloatDType; params: { mode: string; groupSize: number; bits: number } }[] = [
    { dtype: "float32", params: { mode: "affine", groupSize: 64, bits: 4 } },
    { dtype: "bfloat16", params: { mode: "affine", groupSize: 64, bits: 4 } },
    { dtype: "float32", params: { mode: "mxfp4", groupSize: 32, bits: 4 } },
    { dtype: "bfloat16", params: { mode: "mxfp4", groupSize: 32, bits: 4 } },
    { dtype: "float32", params: { mode: "mxfp8", groupSize: 32, bits: 8 } },
    { dtype: "float32", params: { mode: "nvfp4", groupSize: 16, bits: 4 } },
  ];

  for (const { dtype, params } of cases) {
    const w = tensorFromNumbers(dtype, [ROWS, COLUMNS], values);
    const quantized = quantize(w, params);
    const label = `${params.mode} ${dtype}`;
    bench(`quantize ${label}`, () => {
      quantize(w, params);
    }, { iterations: 3 });
    bench(`dequantize ${label}`, () => {
      dequantize(quantized.w, quantized.scales, quantized.biases, params);
    }, { iterations: 3 });
  }
});
