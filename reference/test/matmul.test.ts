import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { quantizedMatmul } from "../matmul.ts";
import { tensorToNumbers } from "../tensor.ts";
import { oracleQuantizedMatmul, packForOracle, type OracleParams } from "./qmm-oracle.ts";
import type { FloatDType, QmmInputs, Tensor } from "../../spec/types.ts";

const FLOAT_DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

const FIELD_WIDTHS: Record<FloatDType, { exponentBits: number; fractionBits: number }> = {
  float32: { exponentBits: 8, fractionBits: 23 },
  float16: { exponentBits: 5, fractionBits: 10 },
  bfloat16: { exponentBits: 8, fractionBits: 7 },
};

/** Draws finite values of `dtype` as raw bits, from the whole range or from a narrow one that makes ties and cancellation. */
function floatBits(dtype: FloatDType, narrow: boolean): fc.Arbitrary<number> {
  const { exponentBits, fractionBits } = FIELD_WIDTHS[dtype];
  const maxField = 2 ** exponentBits - 2;
  const bias = 2 ** (exponentBits - 1) - 1;
  const exponent = narrow ? fc.integer({ min: bias - 3, max: bias + 3 }) : fc.integer({ min: 0, max: maxField });
  const fraction = narrow ? fc.integer({ min: 0, max: 3 }).map((f) => f << (fractionBits - 2)) : fc.integer({ min: 0, max: 2 ** fractionBits - 1 });
  return fc.tuple(fc.boolean(), exponent, fraction).map(([sign, e, f]) => ((sign ? 1 : 0) * 2 ** (exponentBits + fractionBits)) + e * 2 ** fractionBits + f);
}

function floatTensor(dtype: FloatDType, shape: number[], bits: readonly number[]): Tensor {
  if (dtype === "float32") {
    const words = Uint32Array.from(bits);
    return { dtype, shape, data: new Float32Array(words.buffer) };
  }
  return { dtype, shape, data: Uint16Array.from(bits) };
}

interface GeneratedCall {
  readonly inputs: QmmInputs;
  readonly params: OracleParams;
  readonly outDType: FloatDType;
}

const modes = fc.constantFrom(
  { mode: "affine", bits: 2, groupSize: 32 },
  { mode: "affine", bits: 3, groupSize: 32 },
  { mode: "affine", bits: 4, groupSize: 64 },
  { mode: "affine", bits: 5, groupSize: 32 },
  { mode: "affine", bits: 6, groupSize: 32 },
  { mode: "affine", bits: 8, groupSize: 128 },
  { mode: "mxfp4", bits: 4, groupSize: 32 },
  { mode: "mxfp8", bits: 8, groupSize: 32 },
  { mode: "nvfp4", bits: 4, groupSize: 16 },
) as fc.Arbitrary<{ mode: OracleParams["mode"]; bits: number; groupSize: number }>;

/** Whole calls: shapes, dtypes, codes, scales, biases and x, finite everywhere. */
const calls: fc.Arbitrary<GeneratedCall> = fc
  .record({
    mode: modes,
    transpose: fc.boolean(),
    xDType: fc.constantFrom(...FLOAT_DTYPES),
    scaleDType: fc.constantFrom(...FLOAT_DTYPES),
    biasDType: fc.constantFrom(...FLOAT_DTYPES),
    narrow: fc.boolean(),
    M: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 2 }),
    other: fc.integer({ min: 1, max: 3 }),
    longK: fc.integer({ min: 1, max: 40 }),
    batch: fc.constantFrom(0, 2),
    seed: fc.integer(),
  })
  .chain((shape) => {
    const { mode, bits, groupSize } = shape.mode;
    const affine = mode === "affine";
    const K = shape.transpose ? groupSize * shape.groups : shape.longK;
    const N = shape.transpose ? shape.other : groupSize * shape.groups;
    const rows = shape.transpose ? N : K;
    const cols = shape.transpose ? K : N;
    const wBatch = shape.batch === 0 ? [] : [shape.batch];
    const matrices = shape.batch === 0 ? 1 : shape.batch;
    const scaleCount = matrices * rows * (cols / groupSize);
    let xShape = [shape.batch, shape.M, K];
    if (shape.batch === 0) xShape = shape.M === 1 ? [K] : [shape.M, K];
    const xCount = xShape.reduce((a, b) => a * b, 1);
    const scaleBytes = fc.integer({ min: 0, max: 254 }).filter((byte) => mode !== "nvfp4" || (byte & 0x7f) !== 0x7f);
    const elementCodes = fc.integer({ min: 0, max: 2 ** bits - 1 }).filter((code) => mode !== "mxfp8" || (code & 0x7f) !== 0x7f);

    return fc.record({
      codes: fc.array(elementCodes, { minLength: matrices * rows * cols, maxLength: matrices * rows * cols }),
      scales: affine ? fc.array(floatBits(shape.scaleDType, shape.narrow), { minLength: scaleCount, maxLength: scaleCount }) : fc.array(scaleBytes, { minLength: scaleCount, maxLength: scaleCount }),
      biases: fc.array(floatBits(shape.biasDType, shape.narrow), { minLength: scaleCount, maxLength: scaleCount }),
      x: fc.array(floatBits(shape.xDType, shape.narrow), { minLength: xCount, maxLength: xCount }),
    }).map((data): GeneratedCall => {
      const words: number[] = [];
      for (let b = 0; b < matrices; b++) {
        words.push(...packForOracle(data.codes.slice(b * rows * cols, (b + 1) * rows * cols), bits, rows, cols));
      }
      const scaleShape = [...wBatch, rows, cols / groupSize];
      const inputs: QmmInputs = {
        x: floatTensor(shape.xDType, xShape, data.x),
        w: { dtype: "uint32", shape: [...wBatch, rows, (cols * bits) / 32], data: Uint32Array.from(words) },
        scales: affine ? floatTensor(shape.scaleDType, scaleShape, data.scales) : { dtype: "uint8", shape: scaleShape, data: Uint8Array.from(data.scales) },
        biases: affine ? floatTensor(shape.biasDType, scaleShape, data.biases) : null,
      };
      const outDType = !affine ? shape.xDType : promote(shape.xDType, promote(shape.scaleDType, shape.biasDType));
      return { inputs, params: { mode, bits, groupSize, transpose: shape.transpose }, outDType };
    });
  });

function promote(a: FloatDType, b: FloatDType): FloatDType {
  return a === b ? a : "float32";
}

describe("quantizedMatmul against the BigInt oracle", () => {
  it("is correctly rounded for every mode, dtype and transpose", () => {
    fc.assert(
      fc.property(calls, ({ inputs, params, outDType }) => {
        const result = quantizedMatmul(inputs, params);
        const expected = oracleQuantizedMatmul(inputs, params, outDType);
        expect(result.y.dtype).toBe(outDType);
        expect(Array.from(tensorToNumbers(result.y))).toEqual(expected.y);
        expect(Array.from(result.exact)).toEqual(expected.exact);
      }),
      { numRuns: 400 },
    );
  });
});
