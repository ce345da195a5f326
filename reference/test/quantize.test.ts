import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { FloatDType, Tensor } from "../../spec/types.ts";
import { dequantize } from "../dequantize.ts";
import { E2M1_VALUES } from "../formats/e2m1.ts";
import { E4M3_VALUES } from "../formats/e4m3.ts";
import { ulpOf } from "../formats/float.ts";
import { unpackCodes } from "../pack.ts";
import { quantize } from "../quantize.ts";
import { tensorFromNumbers, tensorToNumbers } from "../tensor.ts";
import { expectQmmError } from "./expect-error.ts";

const DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

function group(head: number[], length: number): number[] {
  return [...head, ...new Array<number>(length - head.length).fill(0)];
}

function codesOf(result: { w: Tensor }, bits: number, rows: number, cols: number): number[] {
  return [...unpackCodes(result.w.data as Uint32Array, bits, rows, cols)];
}

/** Values with -0 turned into +0: the E2M1 search sends -0 to code 0 (+0), and the spec compares zeros without sign. */
function unsignedZeros(values: ArrayLike<number>): number[] {
  return Array.from(values, (value) => value + 0);
}

function nextFloat32Above(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  view.setUint32(0, view.getUint32(0) + 1);
  return view.getFloat32(0);
}

function reconstruct(result: ReturnType<typeof quantize>, params: { mode: string; groupSize: number; bits: number }): Float64Array {
  const { hi, lo } = dequantize(result.w, result.scales, result.biases, params, { allowReserved: true });
  return hi.map((value, index) => value + lo[index]);
}

describe("quantize affine hand cases", () => {
  it("takes the larger-magnitude max as bias with a negative scale", () => {
    // max 3, min -1, |min| ≤ |max|: scale = -(4/3), edge 3, q0 = rint(3 / -(4/3)) = rint(-2.25) = -2,
    // so scale = 3 / -2 = -1.5 and bias 3. Codes: (3-3)/-1.5 = 0, (-1-3)/-1.5 = 2.67 → 3, (0-3)/-1.5 = 2.
    const w = tensorFromNumbers("float32", [1, 32], group([3, -1], 32));
    const result = quantize(w, { mode: "affine", groupSize: 32, bits: 2 });
    expect([...result.scales.data]).toEqual([-1.5]);
    expect([...result.biases!.data]).toEqual([3]);
    expect(codesOf(result, 2, 1, 32).slice(0, 4)).toEqual([0, 3, 2, 2]);
    expect(reconstruct(result, { mode: "affine", groupSize: 32, bits: 2 }).slice(0, 3)).toEqual(Float64Array.from([3, -1.5, 0]));
  });

  it("takes the min as bias when |min| > |max|", () => {
    // max 1, min -4: scale = +5/3, edge -4, q0 = rint(-4 / (5/3)) = rint(-2.4) = -2, scale = 2, bias -4.
    // Codes: -4 → 0; 1 → (1+4)/2 = 2.5, a tie that rint sends to the even 2; 0 → 2.
    const w = tensorFromNumbers("float32", [1, 32], group([-4, 1], 32));
    const result = quantize(w, { mode: "affine", groupSize: 32, bits: 2 });
    expect([...result.scales.data]).toEqual([2]);
    expect([...result.biases!.data]).toEqual([-4]);
    expect(codesOf(result, 2, 1, 32).slice(0, 3)).toEqual([0, 2, 2]);
  });

  it("reproduces a constant group exactly", () => {
    // max = min = 0.5: scale = -1e-7 (the floor), q0 = rint(0.5 / -1e-7) = -5000000, scale = -1e-7,
    // bias 0.5, every code (0.5 - 0.5)/scale = 0.
    const w = tensorFromNumbers("float32", [1, 32], new Array<number>(32).fill(0.5));
    const result = quantize(w, { mode: "affine", groupSize: 32, bits: 4 });
    expect([...result.biases!.data]).toEqual([0.5]);
    expect(result.scales.data[0]).toBe(Math.fround(0.5 / -5000000));
    expect(codesOf(result, 4, 1, 32).every((code) => code === 0)).toBe(true);
    expect([...reconstruct(result, { mode: "affine", groupSize: 32, bits: 4 })].every((value) => value === 0.5)).toBe(true);
  });

  it("stores the zero-group scale -1e-7 in w's dtype", () => {
    // An all-zero group keeps scale = -fround(1e-7) and bias 0. In float16 that scale rounds to
    // -2·2^-24, because 1e-7 / 2^-24 = 1.68 rounds to 2.
    const expected = { float32: -Math.fround(1e-7), float16: -(2 ** -23), bfloat16: -1.0011717677116394e-7 };
    for (const dtype of DTYPES) {
      const result = quantize(tensorFromNumbers(dtype, [1, 32], new Array<number>(32).fill(0)), { mode: "affine", groupSize: 32, bits: 4 });
      expect(tensorToNumbers(result.scales)[0], dtype).toBe(expected[dtype]);
      expect(tensorToNumbers(result.biases!)[0], dtype).toBe(0);
    }
  });

  it("packs codes in w's shape", () => {
    const w = tensorFromNumbers("float16", [2, 3, 64], Array.from({ length: 384 }, (_, i) => Math.cos(i)));
    const result = quantize(w, { mode: "affine", groupSize: 32, bits: 6 });
    expect(result.w.shape).toEqual([2, 3, 12]);
    expect(result.scales.shape).toEqual([2, 3, 2]);
    expect(result.scales.dtype).toBe("float16");
    expect(result.biases!.dtype).toBe("float16");
  });
});

describe("quantize affine properties", () => {
  const settings = fc.record({
    dtype: fc.constantFrom(...DTYPES),
    groupSize: fc.constantFrom(32, 64, 128),
    bits: fc.constantFrom(2, 3, 4, 5, 6, 8),
    magnitude: fc.constantFrom(1e-3, 1, 100),
    values: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 256, maxLength: 256 }),
  });

  it("reconstructs float32 within |scale| per group", () => {
    // The bound of MLX's own test_quantize_dequantize, which quantizes float32 weights.
    fc.assert(
      fc.property(settings, ({ groupSize, bits, magnitude, values }) => {
        const w = tensorFromNumbers("float32", [2, 128], values.map((value) => value * magnitude));
        const params = { mode: "affine", groupSize, bits };
        const result = quantize(w, params);
        const original = tensorToNumbers(w);
        const restored = reconstruct(result, params);
        const scales = tensorToNumbers(result.scales);
        for (let index = 0; index < original.length; index++) {
          const scale = Math.abs(scales[Math.floor(index / groupSize)]);
          expect(Math.abs(original[index] - restored[index])).toBeLessThanOrEqual(scale);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("reconstructs float16 and bfloat16 within the rounding of s and β", () => {
    // Storing s and β in w's dtype moves each by at most half an ulp (subnormals included), so
    // ŵ = s·q + β moves by at most q·ulp(s)/2 + ulp(β)/2 beyond the float32 bound |s|.
    fc.assert(
      fc.property(settings, fc.constantFrom("float16", "bfloat16" as const), ({ groupSize, bits, magnitude, values }, dtype) => {
        const w = tensorFromNumbers(dtype, [2, 128], values.map((value) => value * magnitude));
        const params = { mode: "affine", groupSize, bits };
        const result = quantize(w, params);
        const original = tensorToNumbers(w);
        const restored = reconstruct(result, params);
        const scales = tensorToNumbers(result.scales);
        const biases = tensorToNumbers(result.biases!);
        const codes = codesOf(result, bits, 2, 128);
        for (let index = 0; index < original.length; index++) {
          const g = Math.floor(index / groupSize);
          const halfUlpScale = ulpOf(scales[g], dtype) / 2;
          const bound = Math.abs(scales[g]) + halfUlpScale + codes[index] * halfUlpScale + ulpOf(biases[g], dtype) / 2;
          expect(Math.abs(original[index] - restored[index])).toBeLessThanOrEqual(bound);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives a negative scale when |max| ≥ |min|", () => {
    fc.assert(
      fc.property(settings, ({ dtype, groupSize, bits, values }) => {
        const w = tensorFromNumbers(dtype, [2, 128], values);
        const result = quantize(w, { mode: "affine", groupSize, bits });
        const original = tensorToNumbers(w);
        const scales = tensorToNumbers(result.scales);
        for (let g = 0; g < scales.length; g++) {
          const slice = original.slice(g * groupSize, (g + 1) * groupSize);
          const maxIsEdge = Math.abs(Math.max(...slice)) >= Math.abs(Math.min(...slice));
          expect(scales[g] < 0, `group ${g}`).toBe(maxIsEdge);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("quantize mx hand cases", () => {
  it("encodes mxfp4 with e = ceil(log2(amax/6))", () => {
    // amax = 6: 6/6 = 1, e = 0, byte 127. Elements /1: 6 → code 7, -3 → 13, 0.75 ties between 0.5
    // (code 1) and 1 (code 2) and goes to the lower code 1.
    const w = tensorFromNumbers("float32", [1, 32], group([6, -3, 0.75], 32));
    const result = quantize(w, { mode: "mxfp4" });
    expect([...result.scales.data]).toEqual([127]);
    expect(result.biases).toBeNull();
    expect(codesOf(result, 4, 1, 32).slice(0, 4)).toEqual([7, 13, 1, 0]);
  });

  it("rounds the exponent up just above a power of two", () => {
    // amax = 1544 (bfloat16): 1544/6 = 257.33 rounds in bfloat16 (spacing 2 there) to 258 = 2^8·1.0078,
    // so e = ceil(log2(258)) = 9 and the byte is 136. A log2 rounded to bfloat16 would read 8.0 and give 8.
    // The element 1544/2^9 = 3.015625 is nearest to 3, code 5.
    const w = tensorFromNumbers("bfloat16", [1, 32], group([1544], 32));
    const result = quantize(w, { mode: "mxfp4" });
    expect([...result.scales.data]).toEqual([136]);
    expect(codesOf(result, 4, 1, 32)[0]).toBe(5);

    // In float32, the next value above 6·2^-9 gives s one ulp above 2^-9, e = -8 and byte 119.
    const above = nextFloat32Above(6 * 2 ** -9);
    const single = quantize(tensorFromNumbers("float32", [1, 32], group([above], 32)), { mode: "mxfp4" });
    expect([...single.scales.data]).toEqual([119]);
    expect([...quantize(tensorFromNumbers("float32", [1, 32], group([6 * 2 ** -9], 32)), { mode: "mxfp4" }).scales.data]).toEqual([118]);
  });

  it("encodes mxfp8 elements with the ceiling exponent", () => {
    // amax = 1: log2(1/448) = -8.807, e = -8, byte 119. 1·2^8 = 256 = 2^8 is code (15 << 3) = 0x78.
    // fround(0.01)·256 = 2.56 rounds to E4M3 2.5 = (1 + 2/8)·2^1, code (8 << 3) | 2 = 0x42.
    const w = tensorFromNumbers("float32", [1, 32], group([1, 0.01, -0.01], 32));
    const result = quantize(w, { mode: "mxfp8" });
    expect([...result.scales.data]).toEqual([119]);
    expect(codesOf(result, 8, 1, 32).slice(0, 4)).toEqual([0x78, 0x42, 0xc2, 0]);
  });

  it("wraps the scale byte below 2^-127", () => {
    // amax = 6·2^-130 in float32: e = -130 and e + 127 = -3 wraps to byte 253. The elements divide by
    // 2^-130 exactly: 6·2^-130 → 6 (code 7), 3·2^-130 → 3 (code 5).
    const w = tensorFromNumbers("float32", [1, 32], group([6 * 2 ** -130, 3 * 2 ** -130], 32));
    const result = quantize(w, { mode: "mxfp4" });
    expect([...result.scales.data]).toEqual([253]);
    expect(codesOf(result, 4, 1, 32).slice(0, 2)).toEqual([7, 5]);
  });

  it("gives byte 127 and code 0 for a zero group", () => {
    for (const mode of ["mxfp4", "mxfp8"]) {
      const result = quantize(tensorFromNumbers("bfloat16", [1, 32], new Array<number>(32).fill(0)), { mode });
      expect([...result.scales.data]).toEqual([127]);
      expect([...result.w.data].every((word) => word === 0)).toBe(true);
    }
  });
});

describe("quantize nvfp4 hand cases", () => {
  it("encodes E4M3(amax/6) scales", () => {
    // amax 12: 12/6 = 2 = E4M3 0x40. Elements /2: 12 → 6 (code 7), -1.75 → -0.875, nearest -1 (code 10),
    // 1.5 → 0.75, a tie between 0.5 and 1 that goes to the lower code 1.
    const w = tensorFromNumbers("float32", [1, 16], group([12, -1.75, 1.5], 16));
    const result = quantize(w, { mode: "nvfp4" });
    expect([...result.scales.data]).toEqual([0x40]);
    expect(codesOf(result, 4, 1, 16).slice(0, 4)).toEqual([7, 10, 1, 0]);
  });

  it("gives scale byte 0 and code 0 for tiny groups", () => {
    // amax/6 = 2^-12/6 is below 2^-10, half the smallest E4M3 subnormal, so the scale byte is 0.
    // Each element divides by 0, giving ±infinity or NaN, and every E2M1 distance ties at code 0.
    const w = tensorFromNumbers("float32", [1, 16], group([2 ** -12, -(2 ** -13)], 16));
    const result = quantize(w, { mode: "nvfp4" });
    expect([...result.scales.data]).toEqual([0]);
    expect([...result.w.data]).toEqual([0, 0]);
  });

  it("loses huge elements to float32 distance ties", () => {
    // amax = 1e30 saturates the scale to 448. 1e30/448 is so large that every float32 distance to the
    // E2M1 table rounds to the same value, and the first code, 0, wins.
    const w = tensorFromNumbers("float32", [1, 16], group([1e30, 1], 16));
    const result = quantize(w, { mode: "nvfp4" });
    expect([...result.scales.data]).toEqual([0x7e]);
    expect(codesOf(result, 4, 1, 16).slice(0, 2)).toEqual([0, 0]);
  });

  it("keeps NaN and infinity as MLX's arithmetic does", () => {
    // A NaN maximum encodes as scale 448. NaN/448 and inf/448 have no nearest table value: code 0.
    const nan = quantize(tensorFromNumbers("float32", [1, 16], group([Number.NaN, 896], 16)), { mode: "nvfp4" });
    expect([...nan.scales.data]).toEqual([0x7e]);
    expect(codesOf(nan, 4, 1, 16).slice(0, 2)).toEqual([0, 4]);
    const infinite = quantize(tensorFromNumbers("float32", [1, 16], group([Infinity, 896], 16)), { mode: "nvfp4" });
    expect([...infinite.scales.data]).toEqual([0x7e]);
    expect(codesOf(infinite, 4, 1, 16).slice(0, 2)).toEqual([0, 4]);
  });
});

describe("quantize fp round trips", () => {
  const e2m1Codes = fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 32, maxLength: 32 });

  it("reproduces E2M1 values times a power of two in mxfp4", () => {
    fc.assert(
      fc.property(e2m1Codes, fc.integer({ min: -20, max: 10 }), fc.constantFrom(...DTYPES), (codes, exponent, dtype) => {
        // Code 7 (value 6) first, so amax/6 is exactly 2^exponent.
        const values = [6, ...codes.slice(1).map((code) => E2M1_VALUES[code])].map((value) => value * 2 ** exponent);
        const w = tensorFromNumbers(dtype, [1, 32], values);
        const result = quantize(w, { mode: "mxfp4" });
        expect(result.scales.data[0]).toBe(exponent + 127);
        expect(unsignedZeros(reconstruct(result, { mode: "mxfp4", groupSize: 32, bits: 4 }))).toEqual(unsignedZeros(tensorToNumbers(w)));
      }),
      { numRuns: 500 },
    );
  });

  it("reproduces E4M3 values times a power of two in mxfp8", () => {
    const e4m3Codes = fc.array(fc.integer({ min: 0, max: 255 }).filter((code) => (code & 0x7f) !== 0x7f), { minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(e4m3Codes, fc.integer({ min: -12, max: 6 }), fc.constantFrom(...DTYPES), (codes, exponent, dtype) => {
        // Code 0x7E (448) first, so amax/448 is exactly 2^exponent.
        const values = [448, ...codes.slice(1).map((code) => E4M3_VALUES[code])].map((value) => value * 2 ** exponent);
        const w = tensorFromNumbers(dtype, [1, 32], values);
        const result = quantize(w, { mode: "mxfp8" });
        expect(result.scales.data[0]).toBe(exponent + 127);
        expect(unsignedZeros(reconstruct(result, { mode: "mxfp8", groupSize: 32, bits: 8 }))).toEqual(unsignedZeros(tensorToNumbers(w)));
      }),
      { numRuns: 500 },
    );
  });

  it("reproduces E4M3 scale times E2M1 values in nvfp4", () => {
    const scaleCodes = fc.integer({ min: 0x08, max: 0x76 });
    fc.assert(
      fc.property(e2m1Codes, scaleCodes, fc.constantFrom(...DTYPES), (codes, scaleCode, dtype) => {
        const scale = E4M3_VALUES[scaleCode];
        const values = [6, ...codes.slice(1, 16).map((code) => E2M1_VALUES[code])].map((value) => value * scale);
        const w = tensorFromNumbers(dtype, [1, 16], values);
        const result = quantize(w, { mode: "nvfp4" });
        expect(result.scales.data[0]).toBe(scaleCode);
        expect(unsignedZeros(reconstruct(result, { mode: "nvfp4", groupSize: 16, bits: 4 }))).toEqual(unsignedZeros(tensorToNumbers(w)));
      }),
      { numRuns: 500 },
    );
  });

  it("gives exact zeros for zero input in every mode", () => {
    const modes = [
      { mode: "affine", groupSize: 64, bits: 4 },
      { mode: "mxfp4", groupSize: 32, bits: 4 },
      { mode: "mxfp8", groupSize: 32, bits: 8 },
      { mode: "nvfp4", groupSize: 16, bits: 4 },
    ];
    for (const params of modes) {
      for (const dtype of DTYPES) {
        const result = quantize(tensorFromNumbers(dtype, [4, 64], new Array<number>(256).fill(0)), params);
        expect([...reconstruct(result, params)].every((value) => value === 0), `${params.mode} ${dtype}`).toBe(true);
      }
    }
  });
});

describe("quantize validation", () => {
  const w = tensorFromNumbers("float32", [2, 64], new Array<number>(128).fill(1));

  it("follows MLX's order", () => {
    expectQmmError(() => quantize(w, { mode: "int4" }), "E_MODE_INVALID");
    expectQmmError(() => quantize({ dtype: "uint32", shape: [2, 64], data: new Uint32Array(128) }, {}), "E_QUANTIZE_DTYPE");
    expectQmmError(() => quantize({ dtype: "float64", shape: [2, 64], data: new Float64Array(128) }, {}), "E_QUANTIZE_DTYPE");
    expectQmmError(() => quantize(tensorFromNumbers("float32", [64], new Array<number>(64).fill(1)), {}), "E_RANK");
    // group_size 48 is not allowed, but MLX checks divisibility first: 64 % 48 ≠ 0.
    const shapeError = expectQmmError(() => quantize(w, { groupSize: 48 }), "E_QUANTIZE_SHAPE");
    expect(shapeError.issue.values).toMatchObject({ wShape: [2, 64], groupSize: 48 });
    expectQmmError(() => quantize(w, { groupSize: 16 }), "E_GROUP_SIZE_INVALID");
    expectQmmError(() => quantize(w, { groupSize: 0 }), "E_GROUP_SIZE_INVALID");
    expectQmmError(() => quantize(w, { bits: 7 }), "E_BITS_INVALID");
    expectQmmError(() => quantize(w, { mode: "mxfp4", bits: 8 }), "E_BITS_INVALID");
    expectQmmError(() => quantize(w, { mode: "nvfp4", groupSize: 32 }), "E_GROUP_SIZE_INVALID");
    expectQmmError(() => quantize(w, { mode: "mxfp8", groupSize: 32, bits: 4 }), "E_BITS_INVALID");
  });

  it("rejects non-finite values outside nvfp4", () => {
    const values = new Array<number>(128).fill(1);
    values[70] = Number.NaN;
    const withNaN = tensorFromNumbers("float16", [2, 64], values);
    for (const mode of ["affine", "mxfp4", "mxfp8"]) {
      const error = expectQmmError(() => quantize(withNaN, { mode }), "E_QUANTIZE_NONFINITE");
      expect(error.issue.values).toMatchObject({ mode, flatIndex: 70, value: "NaN" });
    }
    expect(() => quantize(withNaN, { mode: "nvfp4" })).not.toThrow();
  });
});
