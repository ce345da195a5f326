import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ORACLE_FORMATS, exactOfDouble, roundExact } from "./rational-oracle.ts";
import type { Tensor } from "../../spec/types.ts";
import { dequantize, dequantizeToTensor } from "../dequantize.ts";
import { packCodes } from "../pack.ts";
import { tensorFromNumbers, tensorToNumbers } from "../tensor.ts";
import { expectQmmError } from "./expect-error.ts";

function packed(codes: number[], bits: number, shape: number[]): Tensor {
  const cols = shape[shape.length - 1];
  const rows = codes.length / cols;
  const words = packCodes(codes, bits, rows, cols);
  return { dtype: "uint32", shape: [...shape.slice(0, -1), (cols * bits) / 32], data: words };
}

function uint8(shape: number[], bytes: number[]): Tensor {
  return { dtype: "uint8", shape, data: Uint8Array.from(bytes) };
}

describe("dequantize affine", () => {
  it("computes s·q + β per group", () => {
    // One row of 64 4-bit codes, two groups of 32: group 0 has s = -0.25, β = 3; group 1 s = 2, β = -1.
    const codes = Array.from({ length: 64 }, (_, i) => i % 16);
    const w = packed(codes, 4, [1, 64]);
    const scales = tensorFromNumbers("float32", [1, 2], [-0.25, 2]);
    const biases = tensorFromNumbers("float16", [1, 2], [3, -1]);
    const result = dequantize(w, scales, biases, { mode: "affine", groupSize: 32, bits: 4 });

    expect(result.shape).toEqual([1, 64]);
    expect(result.hi[0]).toBe(3);
    expect(result.hi[15]).toBe(-0.75);
    expect(result.hi[31]).toBe(-0.75);
    expect(result.hi[32]).toBe(-1);
    expect(result.hi[47]).toBe(29);
    expect([...result.lo].every((value) => value === 0)).toBe(true);
  });

  it("keeps the exact sum in hi + lo", () => {
    // s = 2^23 + 1 and q = 3 give s·q = 25165827, and β = 2^-40 is below float64's spacing 2^-28
    // there, so hi = 25165827 and lo = 2^-40.
    const w = packed([3, ...new Array<number>(31).fill(0)], 8, [1, 32]);
    const scales = tensorFromNumbers("float32", [1, 1], [2 ** 23 + 1]);
    const biases = tensorFromNumbers("float32", [1, 1], [2 ** -40]);
    const result = dequantize(w, scales, biases, { mode: "affine", groupSize: 32, bits: 8 });

    expect(result.hi[0]).toBe(25165827);
    expect(result.lo[0]).toBe(2 ** -40);
    expect(result.hi[1]).toBe(2 ** -40);
    expect(result.lo[1]).toBe(0);
  });

  it("rounds once in dequantizeToTensor", () => {
    // 25165827 has 25 significant bits, so it is halfway between float32 neighbours 25165826 and
    // 25165828 (the even one). β = -2^-40 pulls the exact value below the tie, to 25165826; rounding
    // hi alone would give 25165828. With β = +2^-40 the result is 25165828.
    const w = packed([3, ...new Array<number>(31).fill(0)], 8, [1, 32]);
    const scales = tensorFromNumbers("float32", [1, 1], [2 ** 23 + 1]);
    const params = { mode: "affine", groupSize: 32, bits: 8 };

    const down = dequantizeToTensor(w, scales, tensorFromNumbers("float32", [1, 1], [-(2 ** -40)]), params, "float32");
    expect(down.data[0]).toBe(25165826);
    expect(down.dtype).toBe("float32");
    expect(down.shape).toEqual([1, 32]);
    const up = dequantizeToTensor(w, scales, tensorFromNumbers("float32", [1, 1], [2 ** -40]), params, "float32");
    expect(up.data[0]).toBe(25165828);
  });

  it("follows IEEE rules for non-finite scales and biases", () => {
    const w = packed([0, 1, ...new Array<number>(30).fill(2)], 2, [1, 32]);
    const infiniteScale = dequantize(w, tensorFromNumbers("float32", [1, 1], [Infinity]), tensorFromNumbers("float32", [1, 1], [1]), { mode: "affine", groupSize: 32, bits: 2 });
    expect(infiniteScale.hi[0]).toBeNaN();
    expect(infiniteScale.hi[1]).toBe(Infinity);
    expect(infiniteScale.lo[1]).toBe(0);

    const opposite = dequantize(w, tensorFromNumbers("float32", [1, 1], [Infinity]), tensorFromNumbers("float32", [1, 1], [-Infinity]), { mode: "affine", groupSize: 32, bits: 2 });
    expect(opposite.hi[1]).toBeNaN();
  });

  it("uses each batch matrix's own scales", () => {
    const codes = [...new Array<number>(32).fill(1), ...new Array<number>(32).fill(2)];
    const w = packed(codes, 8, [2, 1, 32]);
    const scales = tensorFromNumbers("bfloat16", [2, 1, 1], [0.5, 3]);
    const biases = tensorFromNumbers("bfloat16", [2, 1, 1], [0, 1]);
    const result = dequantize(w, scales, biases, { groupSize: 32, bits: 8 });
    expect(result.shape).toEqual([2, 1, 32]);
    expect(result.hi[0]).toBe(0.5);
    expect(result.hi[32]).toBe(7);
  });
});

describe("dequantize affine against the BigInt oracle", () => {
  const finiteFloat = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 });

  it("keeps s·q + β exactly in hi + lo and rounds it once", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("float32", "float16", "bfloat16" as const),
        fc.constantFrom(2, 3, 4, 5, 6, 8),
        fc.array(fc.tuple(finiteFloat, finiteFloat), { minLength: 2, maxLength: 2 }),
        fc.infiniteStream(fc.nat()),
        (dtype, bits, groups, stream) => {
          const codes = [...stream.take(64)].map((value) => value % (1 << bits));
          const scales = tensorFromNumbers(dtype, [1, 2], groups.map(([scale]) => scale));
          const biases = tensorFromNumbers(dtype, [1, 2], groups.map(([, bias]) => bias));
          const params = { mode: "affine", groupSize: 32, bits };
          const scaleValues = tensorToNumbers(scales);
          const biasValues = tensorToNumbers(biases);
          if (![...scaleValues, ...biasValues].every(Number.isFinite)) return;

          const result = dequantize(packed(codes, bits, [1, 64]), scales, biases, params);
          const rounded = tensorToNumbers(dequantizeToTensor(packed(codes, bits, [1, 64]), scales, biases, params, dtype));
          for (let index = 0; index < 64; index++) {
            const group = Math.floor(index / 32);
            const exact = exactOfDouble(scaleValues[group]) * BigInt(codes[index]) + exactOfDouble(biasValues[group]);
            expect(exactOfDouble(result.hi[index]) + exactOfDouble(result.lo[index])).toBe(exact);
            expect(rounded[index] + 0).toBe(roundExact(exact, ORACLE_FORMATS[dtype]) + 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("dequantize fp modes", () => {
  it("decodes mxfp4 as 2^(E-127)·E2M1", () => {
    // Scale byte 129 is 2^2. Codes 7, 15, 8, 1 are 6, -6, -0, 0.5.
    const codes = [7, 15, 8, 1, ...new Array<number>(28).fill(0)];
    const result = dequantize(packed(codes, 4, [1, 32]), uint8([1, 1], [129]), null, { mode: "mxfp4" });
    expect(result.hi.slice(0, 4)).toEqual(Float64Array.from([24, -24, -0, 2]));
    expect(Object.is(result.hi[2], -0)).toBe(true);
  });

  it("decodes mxfp8 as 2^(E-127)·E4M3", () => {
    // Scale byte 120 is 2^-7; element 0x7E is 448, so ŵ = 3.5. Element 0x81 is -2^-9, so ŵ = -2^-16.
    const codes = [0x7e, 0x81, ...new Array<number>(30).fill(0)];
    const result = dequantize(packed(codes, 8, [1, 32]), uint8([1, 1], [120]), undefined, { mode: "mxfp8" });
    expect(result.hi[0]).toBe(3.5);
    expect(result.hi[1]).toBe(-(2 ** -16));
  });

  it("decodes nvfp4 as E4M3·E2M1", () => {
    // Scale 0x3A is (1 + 2/8)·2^0 = 1.25; code 5 is 3, so ŵ = 3.75. The second group has scale 0x00 = 0.
    const codes = [5, ...new Array<number>(15).fill(2), 7, ...new Array<number>(15).fill(0)];
    const result = dequantize(packed(codes, 4, [1, 32]), uint8([1, 2], [0x3a, 0x00]), null, { mode: "nvfp4" });
    expect(result.hi[0]).toBe(3.75);
    expect(result.hi[1]).toBe(1.25);
    expect(result.hi[16]).toBe(0);
  });

  it("rejects reserved codes unless allowed", () => {
    const codes = [0, 1, ...new Array<number>(30).fill(0)];
    const w = packed(codes, 4, [1, 32]);
    const error = expectQmmError(() => dequantize(w, uint8([1, 1], [0xff]), null, { mode: "mxfp4" }), "E_RESERVED_SCALE");
    expect(error.issue.values).toMatchObject({ byte: 0xff, count: 1 });

    const allowed = dequantize(w, uint8([1, 1], [0xff]), null, { mode: "mxfp4" }, { allowReserved: true });
    expect(allowed.hi[0]).toBeNaN();
    expect(allowed.hi[1]).toBe(Infinity);

    expectQmmError(() => dequantize(packed(new Array<number>(16).fill(0), 4, [1, 16]), uint8([1, 1], [0x7f]), null, { mode: "nvfp4" }), "E_RESERVED_SCALE");

    const fp8 = packed([0, 0, 0x7f, ...new Array<number>(29).fill(0)], 8, [1, 32]);
    const elementError = expectQmmError(() => dequantize(fp8, uint8([1, 1], [127]), null, { mode: "mxfp8" }), "E_RESERVED_ELEMENT");
    expect(elementError.issue.values).toMatchObject({ byte: 0x7f, flatWord: 0, byteInWord: 2 });
    // MLX 0.32.4 decodes the reserved E4M3 codes to NaN.
    expect(dequantize(fp8, uint8([1, 1], [127]), null, { mode: "mxfp8" }, { allowReserved: true }).hi[2]).toBeNaN();
    const nvfp4 = packed([2, ...new Array<number>(15).fill(0)], 4, [1, 16]);
    expect(dequantize(nvfp4, uint8([1, 1], [0xff]), null, { mode: "nvfp4" }, { allowReserved: true }).hi[0]).toBeNaN();
  });
});

describe("dequantize input checks", () => {
  const w = packed(new Array<number>(64).fill(0), 4, [2, 32]);
  const scales = tensorFromNumbers("float32", [2, 1], [1, 1]);
  const biases = tensorFromNumbers("float32", [2, 1], [0, 0]);
  const params = { mode: "affine", groupSize: 32, bits: 4 };

  it("names the failing check", () => {
    expectQmmError(() => dequantize(w, scales, null, params), "E_BIASES_REQUIRED");
    expectQmmError(() => dequantize(w, uint8([2, 2], [127, 127, 127, 127]), null, { mode: "mxfp4" }), "E_PACKED_SHAPE");
    expectQmmError(() => dequantize(w, scales, biases, { mode: "mxfp4" }), "E_SCALES_DTYPE");
    expectQmmError(() => dequantize(w, uint8([2, 1], [127, 127]), biases, { mode: "mxfp4" }), "E_BIASES_FORBIDDEN");
    expectQmmError(() => dequantize(w, scales, biases, { ...params, bits: 7 }), "E_BITS_INVALID");
    expectQmmError(() => dequantize(w, scales, biases, { ...params, mode: "int4" }), "E_MODE_INVALID");
    expectQmmError(() => dequantize(w, tensorFromNumbers("float32", [1, 1], [1]), tensorFromNumbers("float32", [1, 1], [1]), params), "E_SCALES_ROWS");
    expectQmmError(() => dequantize(w, scales, tensorFromNumbers("float32", [2, 2], [0, 0, 0, 0]), params), "E_SCALES_BIASES_SHAPE");
    expectQmmError(() => dequantize({ ...w, dtype: "uint8", data: new Uint8Array(8) }, scales, biases, params), "E_W_DTYPE");
    expectQmmError(() => dequantize(w, tensorFromNumbers("float32", [1, 2, 1], [1, 1]), tensorFromNumbers("float32", [1, 2, 1], [0, 0]), params), "E_RANK");
    expectQmmError(() => dequantize({ ...w, data: new Uint32Array(3) }, scales, biases, params), "E_DATA_LENGTH");
  });

  it("reports the packed shape values", () => {
    const error = expectQmmError(() => dequantize(w, scales, biases, { ...params, groupSize: 64 }), "E_PACKED_SHAPE");
    expect(error.issue.values).toMatchObject({ wShape: [2, 4], scalesShape: [2, 1], bits: 4, groupSize: 64 });
  });

  it("returns decoded values that tensorToNumbers agrees with", () => {
    const result = dequantizeToTensor(w, scales, biases, params, "bfloat16");
    expect([...tensorToNumbers(result)].every((value) => value === 0)).toBe(true);
  });
});
