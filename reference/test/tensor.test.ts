import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { DType } from "../../spec/types.ts";
import {
  bytesPerElement,
  elementCount,
  emptyDataFor,
  tensorFromBytes,
  tensorFromNumbers,
  tensorToBytes,
  tensorToNumbers,
} from "../tensor.ts";
import { expectQmmError } from "./expect-error.ts";

describe("elementCount", () => {
  it("multiplies the dimensions", () => {
    expect(elementCount([])).toBe(1);
    expect(elementCount([3, 4, 5])).toBe(60);
    expect(elementCount([3, 0, 5])).toBe(0);
  });

  it("rejects invalid dimensions", () => {
    const error = expectQmmError(() => elementCount([2, -1]), "E_PARAM_INVALID");
    expect(error.issue.values).toMatchObject({ axis: 1, dim: -1 });
    expectQmmError(() => elementCount([1.5]), "E_PARAM_INVALID");
    expectQmmError(() => elementCount([2 ** 30, 2 ** 30, 2 ** 30]), "E_PARAM_INVALID");
  });
});

describe("bytesPerElement and emptyDataFor", () => {
  it("use the storage of each dtype", () => {
    const expected: [DType, number, string][] = [
      ["float32", 4, "Float32Array"],
      ["float16", 2, "Uint16Array"],
      ["bfloat16", 2, "Uint16Array"],
      ["uint32", 4, "Uint32Array"],
      ["uint8", 1, "Uint8Array"],
      ["float64", 8, "Float64Array"],
      ["int32", 4, "Int32Array"],
    ];
    for (const [dtype, width, storage] of expected) {
      expect(bytesPerElement(dtype)).toBe(width);
      const data = emptyDataFor(dtype, 3);
      expect(data.constructor.name).toBe(storage);
      expect(data.length).toBe(3);
    }
  });
});

describe("tensorFromNumbers", () => {
  it("rounds to nearest even in each float dtype", () => {
    // 1 + 2^-11 is a float16 tie (keeps 1); 1 + 2^-8 a bfloat16 tie (keeps 1); 1 + 2^-24 a float32 tie.
    expect([...tensorFromNumbers("float16", [2], [1 + 2 ** -11, 65520]).data]).toEqual([0x3c00, 0x7c00]);
    expect([...tensorFromNumbers("bfloat16", [2], [1 + 2 ** -8, -2]).data]).toEqual([0x3f80, 0xc000]);
    expect([...tensorFromNumbers("float32", [1], [1 + 2 ** -24]).data]).toEqual([1]);
  });

  it("round-trips through tensorToNumbers", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 16 }), fc.constantFrom("float32", "float16", "bfloat16" as const), (values, dtype) => {
        const once = tensorToNumbers(tensorFromNumbers(dtype, [values.length], values));
        const twice = tensorToNumbers(tensorFromNumbers(dtype, [values.length], once));
        expect([...twice]).toEqual([...once]);
      }),
    );
  });

  it("takes integers in range only", () => {
    expect([...tensorFromNumbers("uint8", [2], [0, 255]).data]).toEqual([0, 255]);
    expect([...tensorFromNumbers("int32", [2], [-(2 ** 31), 2 ** 31 - 1]).data]).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    const error = expectQmmError(() => tensorFromNumbers("uint8", [2], [1, 256]), "E_PARAM_INVALID");
    expect(error.issue.values).toMatchObject({ dtype: "uint8", index: 1, value: 256 });
    expectQmmError(() => tensorFromNumbers("uint32", [1], [0.5]), "E_PARAM_INVALID");
    expectQmmError(() => tensorFromNumbers("uint32", [1], [-1]), "E_PARAM_INVALID");
  });

  it("rejects a length that contradicts the shape", () => {
    const error = expectQmmError(() => tensorFromNumbers("float32", [2, 3], [1, 2, 3]), "E_DATA_LENGTH");
    expect(error.issue.values).toMatchObject({ dtype: "float32", shape: [2, 3], expected: 6, actual: 3 });
  });
});

describe("tensorToNumbers", () => {
  it("decodes float16 and bfloat16 bits", () => {
    const half = { dtype: "float16", shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x0001]) } as const;
    expect([...tensorToNumbers(half)]).toEqual([1, -2, 2 ** -24]);
    const brain = { dtype: "bfloat16", shape: [2], data: Uint16Array.from([0x3f80, 0x7f80]) } as const;
    expect([...tensorToNumbers(brain)]).toEqual([1, Infinity]);
  });
});

describe("tensor bytes", () => {
  it("serialize little-endian", () => {
    expect([...tensorToBytes(tensorFromNumbers("float32", [1], [1]))]).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect([...tensorToBytes(tensorFromNumbers("uint32", [1], [0x01020304]))]).toEqual([4, 3, 2, 1]);
    expect([...tensorToBytes(tensorFromNumbers("float16", [1], [1]))]).toEqual([0x00, 0x3c]);
    expect([...tensorToBytes(tensorFromNumbers("int32", [1], [-2]))]).toEqual([0xfe, 0xff, 0xff, 0xff]);
  });

  it("round-trip from an unaligned offset", () => {
    const source = new Uint8Array([0xaa, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
    const tensor = tensorFromBytes("float32", [2], source.subarray(1));
    expect([...tensor.data]).toEqual([1, -2]);
    expect([...tensorToBytes(tensor)]).toEqual([...source.subarray(1)]);
    source[1] = 0xff;
    expect(tensor.data[0]).toBe(1);
  });

  it("reject a byte count that contradicts the shape", () => {
    const error = expectQmmError(() => tensorFromBytes("float16", [3], new Uint8Array(5)), "E_DATA_LENGTH");
    expect(error.issue.values).toMatchObject({ dtype: "float16", shape: [3], expected: 6, actual: 5 });
  });
});
