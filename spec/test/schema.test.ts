import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ERROR_CODES, QmmError } from "../errors.ts";
import { DTYPES } from "../types.ts";
import type { Tensor } from "../types.ts";
import { elementCount, paramsInputSchema, parseParamsInput, parseTensor, specIssueFromZod, tensorSchema, TYPED_ARRAY_OF_DTYPE } from "../schema.ts";

function thrown(action: () => unknown): QmmError {
  try {
    action();
  } catch (error) {
    if (error instanceof QmmError) return error;
    throw error;
  }
  throw new Error("no QmmError was thrown");
}

describe("paramsInputSchema", () => {
  it("accepts every documented form", () => {
    const forms = [{}, { mode: "nvfp4" }, { transpose: false }, { groupSize: null, bits: null }, { groupSize: 64, bits: 4 }, { bits: 0 }, { bits: -3 }, { bits: 2 ** 60 }];
    for (const form of forms) expect(paramsInputSchema.safeParse(form).success, JSON.stringify(form)).toBe(true);
  });

  it("rejects wrong types and unknown keys", () => {
    const forms = [{ mode: 1 }, { transpose: "true" }, { groupSize: 64.5 }, { bits: "4" }, { bits: Number.POSITIVE_INFINITY }, { group_size: 64 }];
    for (const form of forms) expect(paramsInputSchema.safeParse(form).success, JSON.stringify(form)).toBe(false);
  });
});

describe("parseParamsInput", () => {
  it("treats undefined as no parameters", () => {
    expect(parseParamsInput(undefined)).toEqual({});
  });

  it("reports E_PARAM_INVALID with the path", () => {
    const error = thrown(() => parseParamsInput({ groupSize: "64" }));
    expect(error.code).toBe("E_PARAM_INVALID");
    expect(error.issue.section).toBe(ERROR_CODES.E_PARAM_INVALID.section);
    expect(error.issue.path).toEqual(["params", "groupSize"]);
    expect(error.issue.values.expected).toBe("an integer or null");
    expect(error.issue.values.value).toBe('"64"');
    expect(error.message).toContain('groupSize must be an integer or null, got "64"');
  });
});

describe("tensorSchema", () => {
  it("accepts each dtype in its typed array", () => {
    const arrays: Record<string, () => Tensor["data"]> = {
      float32: () => new Float32Array(6),
      float16: () => new Uint16Array(6),
      bfloat16: () => new Uint16Array(6),
      uint32: () => new Uint32Array(6),
      uint8: () => new Uint8Array(6),
      float64: () => new Float64Array(6),
      int32: () => new Int32Array(6),
    };
    for (const dtype of DTYPES) {
      expect(tensorSchema.safeParse({ dtype, shape: [2, 3], data: arrays[dtype]() }).success, dtype).toBe(true);
      expect(TYPED_ARRAY_OF_DTYPE[dtype].check(arrays[dtype]())).toBe(true);
    }
  });

  it("accepts scalars and empty tensors", () => {
    expect(tensorSchema.safeParse({ dtype: "float32", shape: [], data: new Float32Array(1) }).success).toBe(true);
    expect(tensorSchema.safeParse({ dtype: "uint8", shape: [0, 5], data: new Uint8Array(0) }).success).toBe(true);
  });

  it("rejects a wrong array kind", () => {
    const result = tensorSchema.safeParse({ dtype: "bfloat16", shape: [2], data: new Int32Array(2) });
    expect(result.success).toBe(false);
  });

  it("rejects non-array data and DataView", () => {
    expect(tensorSchema.safeParse({ dtype: "uint8", shape: [2], data: [1, 2] }).success).toBe(false);
    expect(tensorSchema.safeParse({ dtype: "uint8", shape: [2], data: new DataView(new ArrayBuffer(2)) }).success).toBe(false);
  });
});

describe("parseTensor", () => {
  it("reports E_DATA_LENGTH with counts", () => {
    const error = thrown(() => parseTensor({ dtype: "uint32", shape: [3, 4], data: new Uint32Array(11) }, "w"));
    expect(error.code).toBe("E_DATA_LENGTH");
    expect(error.issue.section).toBe(ERROR_CODES.E_DATA_LENGTH.section);
    expect(error.issue.path).toEqual(["w", "data", "length"]);
    expect(error.message).toContain("12 elements");
    expect(error.message).toContain("11");
  });

  it("returns the same tensor object", () => {
    const tensor: Tensor = { dtype: "uint8", shape: [1], data: new Uint8Array(1) };
    expect(parseTensor(tensor, "scales")).toBe(tensor);
  });
});

describe("specIssueFromZod", () => {
  it("keeps the first issue and counts the rest", () => {
    const schema = z.object({ a: z.number(), b: z.enum(["x", "y"]) });
    const result = schema.safeParse({ a: "no", b: "z" });
    expect(result.success).toBe(false);
    const issue = specIssueFromZod(result.error!, "E_FILE_FORMAT", ["header"]);
    expect(issue.code).toBe("E_FILE_FORMAT");
    expect(issue.section).toBe(ERROR_CODES.E_FILE_FORMAT.section);
    expect(issue.path).toEqual(["header", "a"]);
    expect(issue.values.moreIssues).toBe(1);
  });

  it("lists allowed enum values", () => {
    const result = z.object({ b: z.enum(["x", "y"]) }).safeParse({ b: "z" });
    const issue = specIssueFromZod(result.error!, "E_PARAM_INVALID", []);
    expect(issue.values.allowed).toEqual(["x", "y"]);
  });
});

describe("elementCount", () => {
  it("multiplies dimensions", () => {
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([5, 0])).toBe(0);
  });
});
