import { describe, expect, it } from "vitest";
import { quantizedMatmul } from "../matmul.ts";
import { tensorToNumbers } from "../tensor.ts";
import { packForOracle } from "./qmm-oracle.ts";
import type { QmmInputs, Tensor } from "../../spec/types.ts";

/** float32 tensor from plain numbers (every value used here is exactly representable). */
function f32(shape: number[], values: number[]): Tensor {
  return { dtype: "float32", shape, data: Float32Array.from(values) };
}

/** float16 tensor from bit patterns. */
function f16Bits(shape: number[], bits: number[]): Tensor {
  return { dtype: "float16", shape, data: Uint16Array.from(bits) };
}

/** Affine transpose=true inputs with one weight row per output, every group given by (code, scale, bias) and x. */
function affineRow(codes: number[], scales: number[], biases: number[], x: number[], groupSize = 32, bits = 4): QmmInputs {
  const K = codes.length;
  const groups = K / groupSize;
  return {
    x: f32([K], x),
    w: { dtype: "uint32", shape: [1, (K * bits) / 32], data: packForOracle(codes, bits, 1, K) },
    scales: f32([1, groups], scales),
    biases: f32([1, groups], biases),
  };
}

function values(tensor: Tensor): number[] {
  return Array.from(tensorToNumbers(tensor));
}

describe("quantizedMatmul hand-computed values", () => {
  it("computes s·q + β with a negative result", () => {
    // ŵ = 0.5·1 − 1 = −0.5 for all 32 elements; x = 1 everywhere, so y = 32·(−0.5) = −16.
    const inputs = affineRow(new Array(32).fill(1), [0.5], [-1], new Array(32).fill(1));
    const result = quantizedMatmul(inputs, { mode: "affine", bits: 4, groupSize: 32 });
    expect(result.y.shape).toEqual([1]);
    expect(values(result.y)).toEqual([-16]);
    expect(result.condition.absSum[0]).toBe(16);
    expect(result.condition.dequantAbsSum[0]).toBe(32 * (0.5 + 1));
    expect(result.condition.xAbsSum[0]).toBe(32);
  });

  it("rounds the exact sum once where float64 would leave a float32 tie", () => {
    // Terms 1, 2^-24 and 2^-80 in three groups. float64 drops 2^-80 and leaves 1 + 2^-24, a float32 tie
    // that goes to 1; the exact sum lies above the tie, so the correct float32 result is 1 + 2^-23.
    const codes = new Array(96).fill(0);
    codes[0] = 1;
    codes[32] = 1;
    codes[64] = 1;
    const x = new Array(96).fill(0);
    x[0] = 1;
    x[32] = 2 ** -24;
    x[64] = 2 ** -40;
    const result = quantizedMatmul(affineRow(codes, [1, 1, 2 ** -40], [0, 0, 0], x), { mode: "affine", bits: 4, groupSize: 32 });
    expect(values(result.y)).toEqual([1 + 2 ** -23]);
    expect(result.exact[0]).toBe(1 + 2 ** -24);
  });

  it("overflows float16 exactly at 65520", () => {
    // float16 x with float16 scales and biases: output float16. ŵ = 1 (code 1, scale 1, bias 0).
    const one = 0x3c00;
    const build = (x1Bits: number): QmmInputs => ({
      x: f16Bits([32], [0x7bff, x1Bits, ...new Array(30).fill(0)]),
      w: { dtype: "uint32", shape: [1, 4], data: packForOracle(new Array(32).fill(1), 4, 1, 32) },
      scales: f16Bits([1, 1], [one]),
      biases: f16Bits([1, 1], [0]),
    });
    // 65504 + 16 = 65520 is the midpoint to 65536, which rounds to even (2^16) and overflows.
    expect(values(quantizedMatmul(build(0x4c00), { groupSize: 32 }).y)).toEqual([Infinity]);
    // 65504 + 15 = 65519 stays below the midpoint.
    expect(values(quantizedMatmul(build(0x4b80), { groupSize: 32 }).y)).toEqual([65504]);
  });

  it("keeps a float16 subnormal result", () => {
    // x = 2^-24 (the smallest float16 subnormal) times ŵ = 3 gives 3·2^-24, a subnormal.
    const inputs: QmmInputs = {
      x: f16Bits([32], [0x0001, ...new Array(31).fill(0)]),
      w: { dtype: "uint32", shape: [1, 4], data: packForOracle(new Array(32).fill(3), 4, 1, 32) },
      scales: f16Bits([1, 1], [0x3c00]),
      biases: f16Bits([1, 1], [0]),
    };
    expect(values(quantizedMatmul(inputs, { groupSize: 32 }).y)).toEqual([3 * 2 ** -24]);
  });

  it("gives +0 for exact cancellation", () => {
    const x = [3, -3, ...new Array(30).fill(0)];
    const result = quantizedMatmul(affineRow(new Array(32).fill(2), [0.25], [0.125], x), { groupSize: 32 });
    expect(Object.is(tensorToNumbers(result.y)[0], 0)).toBe(true);
    expect(result.condition.absSum[0]).toBe(2 * 3 * 0.625);
  });

  it("decodes mxfp4 codes and E8M0 scales", () => {
    // Code 7 is E2M1 +6 and code 15 is −6; scale byte 128 is 2^1. ŵ = ±12; x = 0.5 and 0.25: y = 6 − 3 = 3.
    const codes = [7, 15, ...new Array(30).fill(0)];
    const inputs: QmmInputs = {
      x: f32([32], [0.5, 0.25, ...new Array(30).fill(0)]),
      w: { dtype: "uint32", shape: [1, 4], data: packForOracle(codes, 4, 1, 32) },
      scales: { dtype: "uint8", shape: [1, 1], data: Uint8Array.from([128]) },
    };
    expect(values(quantizedMatmul(inputs, { mode: "mxfp4" }).y)).toEqual([3]);
  });

  it("decodes transpose=false with groups along N", () => {
    // W is K=2 × N=32, quantized along N. Row k=0 has codes 1 with scale 2, bias 1 (ŵ = 3);
    // row k=1 has code 2 in column 5 only, scale 1, bias 0 (ŵ = 2 there, 0 elsewhere). x = [1, 10].
    const codes = [...new Array(32).fill(1), ...new Array(32).fill(0)];
    codes[32 + 5] = 2;
    const inputs: QmmInputs = {
      x: f32([2], [1, 10]),
      w: { dtype: "uint32", shape: [2, 4], data: packForOracle(codes, 4, 2, 32) },
      scales: f32([2, 1], [2, 1]),
      biases: f32([2, 1], [1, 0]),
    };
    const y = values(quantizedMatmul(inputs, { groupSize: 32, transpose: false }).y);
    expect(y).toHaveLength(32);
    expect(y[5]).toBe(23);
    expect(y[0]).toBe(3);
    expect(y[31]).toBe(3);
  });
});

describe("quantizedMatmul non-finite values", () => {
  const base = (): { codes: number[]; x: number[] } => ({ codes: new Array(32).fill(1), x: new Array(32).fill(1) });

  it("propagates NaN in x", () => {
    const { codes, x } = base();
    x[3] = NaN;
    expect(values(quantizedMatmul(affineRow(codes, [1], [0], x), { groupSize: 32 }).y)).toEqual([NaN]);
  });

  it("gives NaN for infinity times a zero weight", () => {
    const { codes, x } = base();
    codes[4] = 0;
    x[4] = Infinity;
    expect(values(quantizedMatmul(affineRow(codes, [1], [0], x), { groupSize: 32 }).y)).toEqual([NaN]);
  });

  it("gives infinity for infinity times a positive weight", () => {
    const { codes, x } = base();
    x[4] = -Infinity;
    expect(values(quantizedMatmul(affineRow(codes, [1], [0], x), { groupSize: 32 }).y)).toEqual([-Infinity]);
  });

  it("gives NaN when infinities of both signs meet", () => {
    const { codes, x } = base();
    x[4] = -Infinity;
    x[5] = Infinity;
    expect(values(quantizedMatmul(affineRow(codes, [1], [0], x), { groupSize: 32 }).y)).toEqual([NaN]);
  });

  it("gives NaN for an infinite scale on a zero code", () => {
    const { codes, x } = base();
    codes[0] = 0;
    expect(values(quantizedMatmul(affineRow(codes, [Infinity], [0], x), { groupSize: 32 }).y)).toEqual([NaN]);
  });

  it("gives infinity for an infinite bias", () => {
    const { codes, x } = base();
    expect(values(quantizedMatmul(affineRow(codes, [1], [Infinity], x), { groupSize: 32 }).y)).toEqual([Infinity]);
  });
});

describe("quantizedMatmul shapes", () => {
  it("broadcasts batch dimensions like numpy", () => {
    // x (2,1,1,32) and w (3,1,4): the output is (2,3,1,1); element [i,j] is x[i] against w[j].
    const wCodes = [...new Array(32).fill(1), ...new Array(32).fill(2), ...new Array(32).fill(3)];
    const inputs: QmmInputs = {
      x: f32([2, 1, 1, 32], [...new Array(32).fill(1), ...new Array(32).fill(2)]),
      w: { dtype: "uint32", shape: [3, 1, 4], data: packForOracle(wCodes, 4, 3, 32) },
      scales: f32([3, 1, 1], [1, 1, 1]),
      biases: f32([3, 1, 1], [0, 0, 0]),
    };
    const result = quantizedMatmul(inputs, { groupSize: 32 });
    expect(result.y.shape).toEqual([2, 3, 1, 1]);
    expect(values(result.y)).toEqual([32, 64, 96, 64, 128, 192]);
  });

  it("applies a 2-D w to every batch of a 3-D x", () => {
    const inputs: QmmInputs = {
      x: f32([2, 1, 32], [...new Array(32).fill(1), ...new Array(32).fill(-1)]),
      w: { dtype: "uint32", shape: [1, 4], data: packForOracle(new Array(32).fill(5), 4, 1, 32) },
      scales: f32([1, 1], [1]),
      biases: f32([1, 1], [0]),
    };
    const result = quantizedMatmul(inputs, { groupSize: 32 });
    expect(result.y.shape).toEqual([2, 1, 1]);
    expect(values(result.y)).toEqual([160, -160]);
  });
});

describe("quantizedMatmul size limit", () => {
  it("rejects an output beyond the limit before allocating", () => {
    // x (65536, 32) against w (65536, 32): 2^32 output elements from inputs of a few megabytes.
    const rows = 65536;
    const inputs: QmmInputs = {
      x: { dtype: "float16", shape: [rows, 32], data: new Uint16Array(rows * 32) },
      w: { dtype: "uint32", shape: [rows, 4], data: new Uint32Array(rows * 4) },
      scales: f16Bits([rows, 1], new Array(rows).fill(0x3c00)),
      biases: f16Bits([rows, 1], new Array(rows).fill(0)),
    };
    expect(() => quantizedMatmul(inputs, { groupSize: 32 })).toThrow(/E_TOO_LARGE.*elements=4294967296/);
  });
});
