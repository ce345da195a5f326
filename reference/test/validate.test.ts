import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, QmmError } from "../../spec/errors.ts";
import type { ErrorCode, SpecIssue } from "../../spec/errors.ts";
import { MODE_RULES, MODES } from "../../spec/types.ts";
import type { DType, Mode, QmmInputs, QmmParamsInput, Tensor, TensorData } from "../../spec/types.ts";
import { findReservedCodes, promoteFloat, resolveCall, resolveParams } from "../validate.ts";

function count(shape: readonly number[]): number {
  return shape.reduce((product, dimension) => product * dimension, 1);
}

function tensor(dtype: DType, shape: readonly number[], fill = 0): Tensor {
  const n = count(shape);
  const arrays: Record<DType, (n: number) => TensorData> = {
    float32: (n) => new Float32Array(n),
    float16: (n) => new Uint16Array(n),
    bfloat16: (n) => new Uint16Array(n),
    uint32: (n) => new Uint32Array(n),
    uint8: (n) => new Uint8Array(n),
    float64: (n) => new Float64Array(n),
    int32: (n) => new Int32Array(n),
  };
  const data = arrays[dtype](n);
  data.fill(fill);
  return { dtype, shape, data };
}

/** Builds a valid call of `mode`: x (2, K), w (3, ·) with transpose=true, one group per row. */
function validCase(mode: Mode): { inputs: QmmInputs; params: QmmParamsInput } {
  const rule = MODE_RULES[mode];
  const K = rule.defaultGroupSize;
  const words = (K * rule.defaultBits) / 32;
  const x = tensor("float32", [2, K]);
  const w = tensor("uint32", [3, words]);

  if (mode === "affine") {
    return { inputs: { x, w, scales: tensor("float32", [3, 1]), biases: tensor("float32", [3, 1]) }, params: { mode } };
  }
  const scaleByte = mode === "nvfp4" ? 0x38 : 127;
  return { inputs: { x, w, scales: tensor("uint8", [3, 1], scaleByte) }, params: { mode } };
}

function issueOf(inputs: QmmInputs, params: QmmParamsInput): SpecIssue {
  try {
    resolveCall(inputs, params);
  } catch (error) {
    if (error instanceof QmmError) return error.issue;
    throw error;
  }
  throw new Error("resolveCall accepted the call");
}

/** Codes some test in this file has triggered, for the coverage check at the end. */
const triggered = new Set<ErrorCode>();

function expectCode(inputs: QmmInputs, params: QmmParamsInput, code: ErrorCode): SpecIssue {
  const issue = issueOf(inputs, params);
  triggered.add(issue.code);
  expect(issue.code).toBe(code);
  expect(issue.section).toBe(ERROR_CODES[code].section);
  return issue;
}

const affine = validCase("affine");

describe("resolveCall on valid calls", () => {
  it.each(MODES)("accepts the %s baseline", (mode) => {
    const { inputs, params } = validCase(mode);
    const call = resolveCall(inputs, params);
    expect(call.params).toEqual({ mode, transpose: true, groupSize: MODE_RULES[mode].defaultGroupSize, bits: MODE_RULES[mode].defaultBits });
    expect([call.M, call.K, call.N]).toEqual([2, MODE_RULES[mode].defaultGroupSize, 3]);
    expect(call.outShape).toEqual([2, 3]);
    expect(call.outDType).toBe("float32");
  });

  it("resolves transpose=false dimensions", () => {
    const x = tensor("bfloat16", [5, 7]);
    const w = tensor("uint32", [7, 12]);
    const scales = tensor("bfloat16", [7, 1]);
    const call = resolveCall({ x, w, scales, biases: scales }, { bits: 3, groupSize: 128, transpose: false });
    expect([call.M, call.K, call.N]).toEqual([5, 7, 128]);
    expect(call.outDType).toBe("bfloat16");
  });

  it("drops the row axis for rank-1 x", () => {
    const x = tensor("float16", [64]);
    const call = resolveCall({ ...affine.inputs, x }, affine.params);
    expect(call.outShape).toEqual([3]);
    expect(call.M).toBe(1);
    expect(call.xBatch).toEqual([]);
  });

  it("broadcasts batch dimensions", () => {
    const x = tensor("float32", [4, 1, 2, 64]);
    const w = tensor("uint32", [5, 3, 8]);
    const scales = tensor("float32", [5, 3, 1]);
    const call = resolveCall({ x, w, scales, biases: scales }, {});
    expect(call.xBatch).toEqual([4, 1]);
    expect(call.wBatch).toEqual([5]);
    expect(call.outBatch).toEqual([4, 5]);
    expect(call.outShape).toEqual([4, 5, 2, 3]);
  });

  it("applies 2-D w to every batch of x", () => {
    const x = tensor("float32", [6, 2, 64]);
    const call = resolveCall({ ...affine.inputs, x }, affine.params);
    expect(call.outShape).toEqual([6, 2, 3]);
  });

  it("promotes output dtypes per mode", () => {
    const f16 = (shape: number[]) => tensor("float16", shape);
    const bf16 = (shape: number[]) => tensor("bfloat16", shape);
    const mixed = resolveCall({ x: f16([2, 64]), w: affine.inputs.w, scales: f16([3, 1]), biases: bf16([3, 1]) }, {});
    expect(mixed.outDType).toBe("float32");
    const half = resolveCall({ x: f16([2, 64]), w: affine.inputs.w, scales: f16([3, 1]), biases: f16([3, 1]) }, {});
    expect(half.outDType).toBe("float16");
    const mx = validCase("mxfp4");
    const fp = resolveCall({ ...mx.inputs, x: bf16([2, 32]) }, mx.params);
    expect(fp.outDType).toBe("bfloat16");
  });

  it("accepts valid shapes of every mode, bits and group size", () => {
    const configurations = MODES.flatMap((mode) =>
      MODE_RULES[mode].bits.flatMap((bits) => MODE_RULES[mode].groupSizes.map((groupSize) => ({ mode, bits, groupSize }))),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...configurations),
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
        ({ mode, bits, groupSize }, transpose, groups, rows, M, batch) => {
          const columns = groups * groupSize;
          const wRows = rows;
          const K = transpose ? columns : wRows;
          const N = transpose ? wRows : columns;
          const words = (columns * bits) / 32;
          const x = tensor("float32", [...batch, M, K]);
          const w = tensor("uint32", [...batch, wRows, words]);
          const scaleDType = mode === "affine" ? "float16" : "uint8";
          const scales = tensor(scaleDType, [...batch, wRows, groups]);
          const biases = mode === "affine" ? scales : undefined;
          const call = resolveCall({ x, w, scales, biases }, { mode, bits, groupSize, transpose });
          expect(call.outShape).toEqual([...batch, M, N]);
          expect(call.K).toBe(K);
        },
      ),
    );
  });
});

describe("resolveCall step 0 and 1", () => {
  it("rejects data length against the shape", () => {
    const x = { dtype: "float32" as const, shape: [2, 64], data: new Float32Array(127) };
    const issue = expectCode({ ...affine.inputs, x }, affine.params, "E_DATA_LENGTH");
    expect(issue.path).toEqual(["x", "data", "length"]);
    expect(issue.message).toContain("128 elements");
    expect(issue.message).toContain("127");
  });

  it("rejects a typed array of the wrong kind", () => {
    const scales = { dtype: "float16" as const, shape: [3, 1], data: new Float32Array(3) };
    const issue = expectCode({ ...affine.inputs, scales }, affine.params, "E_DATA_LENGTH");
    expect(issue.path).toEqual(["scales", "data"]);
    expect(issue.message).toContain("Uint16Array");
  });

  it("rejects negative and fractional dimensions", () => {
    const negative = { dtype: "float32" as const, shape: [-2, 64], data: new Float32Array(0) };
    expect(expectCode({ ...affine.inputs, x: negative }, affine.params, "E_DATA_LENGTH").path).toEqual(["x", "shape", 0]);
    const fractional = { dtype: "float32" as const, shape: [2.5, 64], data: new Float32Array(160) };
    expectCode({ ...affine.inputs, x: fractional }, affine.params, "E_DATA_LENGTH");
  });

  it("rejects an unknown dtype name", () => {
    const x = { dtype: "int8", shape: [2, 64], data: new Int8Array(128) } as unknown as Tensor;
    const issue = expectCode({ ...affine.inputs, x }, affine.params, "E_DATA_LENGTH");
    expect(issue.path).toEqual(["x", "dtype"]);
  });

  it("rejects a missing tensor", () => {
    const inputs = { w: affine.inputs.w, scales: affine.inputs.scales } as unknown as QmmInputs;
    const issue = expectCode(inputs, affine.params, "E_PARAM_INVALID");
    expect(issue.values.tensor).toBe("x");
  });

  it("rejects parameters of the wrong type", () => {
    const cases: [unknown, (string | number)[]][] = [
      [{ transpose: "false" }, ["params", "transpose"]],
      [{ bits: 4.5 }, ["params", "bits"]],
      [{ groupSize: "64" }, ["params", "groupSize"]],
      [{ mode: 4 }, ["params", "mode"]],
      [{ bits: Number.NaN }, ["params", "bits"]],
    ];
    for (const [params, path] of cases) {
      const issue = expectCode(affine.inputs, params as QmmParamsInput, "E_PARAM_INVALID");
      expect(issue.path).toEqual(path);
    }
  });

  it("shows the offending parameter value", () => {
    const cases: [Record<string, unknown>, string, string | number | null][] = [
      [{ bits: 4.5 }, "4.5", 4.5],
      [{ bits: Number.NaN }, "NaN", Number.NaN],
      [{ bits: Number.POSITIVE_INFINITY }, "Infinity", Number.POSITIVE_INFINITY],
      [{ groupSize: "64" }, '"64"', '"64"'],
      [{ transpose: "false" }, '"false"', '"false"'],
      [{ mode: 4 }, "4", 4],
      [{ mode: null }, "null", null],
    ];
    for (const [params, shown, value] of cases) {
      const issue = expectCode(affine.inputs, params as QmmParamsInput, "E_PARAM_INVALID");
      expect(issue.values.value, shown).toEqual(value);
      expect(issue.message, shown).toContain(`got ${shown}`);
      expect(issue.message, shown).not.toMatch(/Invalid input|expected .* received/);
    }
  });

  it("treats missing parameters as defaults", () => {
    for (const params of [undefined, null]) {
      const call = resolveCall(affine.inputs, params as unknown as QmmParamsInput);
      expect(call.params).toEqual({ mode: "affine", transpose: true, groupSize: 64, bits: 4 });
    }
  });

  it("rejects parameters that are not an object", () => {
    const issue = expectCode(affine.inputs, 4 as unknown as QmmParamsInput, "E_PARAM_INVALID");
    expect(issue.path).toEqual(["params"]);
  });

  it("rejects unknown parameter keys", () => {
    const issue = expectCode(affine.inputs, { group_size: 64 } as QmmParamsInput, "E_PARAM_INVALID");
    expect(issue.values.unknownKeys).toEqual(["group_size"]);
  });
});

describe("resolveCall steps 2 to 6", () => {
  it("rejects unknown modes", () => {
    for (const mode of ["AFFINE", "int4", "", "mxfp6"]) {
      const issue = expectCode(affine.inputs, { mode }, "E_MODE_INVALID");
      expect(issue.values.mode).toBe(mode);
    }
  });

  it("requires biases in affine mode", () => {
    const issue = expectCode({ ...affine.inputs, biases: null }, affine.params, "E_BIASES_REQUIRED");
    expect(issue.values).toEqual({ mode: "affine" });
    expect(issue.path).toEqual(["biases"]);
    expectCode({ ...affine.inputs, biases: undefined }, affine.params, "E_BIASES_REQUIRED");
  });

  it("rejects non-float affine scales", () => {
    const issue = expectCode({ ...affine.inputs, scales: tensor("uint8", [3, 1]) }, affine.params, "E_SCALES_DTYPE");
    expect(issue.values.scalesDType).toBe("uint8");
  });

  it("rejects non-float biases", () => {
    const issue = expectCode({ ...affine.inputs, biases: tensor("int32", [3, 1]) }, affine.params, "E_BIASES_DTYPE");
    expect(issue.values.biasesDType).toBe("int32");
  });

  it.each(["mxfp4", "mxfp8", "nvfp4"] as const)("rejects non-uint8 %s scales", (mode) => {
    const { inputs, params } = validCase(mode);
    const issue = expectCode({ ...inputs, scales: tensor("float16", [3, 1]) }, params, "E_SCALES_DTYPE");
    expect(issue.values.scalesDType).toBe("float16");
  });

  it.each(["mxfp4", "mxfp8", "nvfp4"] as const)("forbids %s biases", (mode) => {
    const { inputs, params } = validCase(mode);
    const issue = expectCode({ ...inputs, biases: tensor("float32", [3, 1]) }, params, "E_BIASES_FORBIDDEN");
    expect(issue.values.mode).toBe(mode);
  });

  it("rejects integers beyond 2^53 with the step 4 codes", () => {
    for (const bits of [2 ** 60, -(2 ** 60), 1e300]) {
      const issue = expectCode(affine.inputs, { bits }, "E_BITS_INVALID");
      expect(issue.values.bits).toBe(bits);
      expect(issue.values.allowed).toEqual([2, 3, 4, 5, 6, 8]);
      expect(issue.path).toEqual(["params", "bits"]);
    }

    const issue = expectCode(affine.inputs, { groupSize: 2 ** 53 }, "E_GROUP_SIZE_INVALID");
    expect(issue.values.groupSize).toBe(2 ** 53);
    expect(expectCode(affine.inputs, { mode: "int4", bits: 2 ** 60 }, "E_MODE_INVALID").values.mode).toBe("int4");
  });

  it("rejects group sizes outside the mode's set", () => {
    const cases: [Mode, number][] = [["affine", 16], ["affine", 256], ["affine", 0], ["mxfp4", 16], ["mxfp8", 64], ["nvfp4", 32]];
    for (const [mode, groupSize] of cases) {
      const { inputs } = validCase(mode);
      const issue = expectCode(inputs, { mode, groupSize }, "E_GROUP_SIZE_INVALID");
      expect(issue.values.groupSize).toBe(groupSize);
      expect(issue.values.allowed).toEqual(MODE_RULES[mode].groupSizes);
    }
  });

  it("rejects bits outside the mode's set", () => {
    const cases: [Mode, number][] = [["affine", 0], ["affine", 7], ["affine", 1], ["affine", -4], ["mxfp4", 8], ["mxfp8", 4], ["nvfp4", 8]];
    for (const [mode, bits] of cases) {
      const { inputs } = validCase(mode);
      const issue = expectCode(inputs, { mode, bits }, "E_BITS_INVALID");
      expect(issue.values.bits).toBe(bits);
    }
  });

  it("rejects w that is not uint32", () => {
    const issue = expectCode({ ...affine.inputs, w: tensor("int32", [3, 8]) }, affine.params, "E_W_DTYPE");
    expect(issue.values.wDType).toBe("int32");
  });

  it("rejects float64 and integer x", () => {
    for (const dtype of ["float64", "int32", "uint8"] as const) {
      const issue = expectCode({ ...affine.inputs, x: tensor(dtype, [2, 64]) }, affine.params, "E_X_DTYPE");
      expect(issue.values.xDType).toBe(dtype);
    }
  });
});

describe("resolveCall steps 7 to 15", () => {
  it("rejects a scalar x", () => {
    const issue = expectCode({ ...affine.inputs, x: tensor("float32", []) }, affine.params, "E_RANK");
    expect(issue.values.xShape).toEqual([]);
  });

  it("rejects a rank-1 w", () => {
    const w = tensor("uint32", [8]);
    const issue = expectCode({ ...affine.inputs, w }, affine.params, "E_RANK");
    expect(issue.values.wShape).toEqual([8]);
  });

  it("rejects scales of another rank than w", () => {
    const scales = tensor("float32", [1, 3, 1]);
    const issue = expectCode({ ...affine.inputs, scales, biases: scales }, affine.params, "E_RANK");
    expect(issue.values.scalesShape).toEqual([1, 3, 1]);
  });

  it("rejects empty dimensions in every tensor", () => {
    const x = expectCode({ ...affine.inputs, x: tensor("float32", [0, 64]) }, affine.params, "E_EMPTY_DIM");
    expect(x.values).toMatchObject({ tensor: "x", axis: 0, shape: [0, 64] });

    const w = tensor("uint32", [0, 8]);
    const scales = tensor("float32", [0, 1]);
    const issue = expectCode({ x: affine.inputs.x, w, scales, biases: scales }, affine.params, "E_EMPTY_DIM");
    expect(issue.values).toMatchObject({ tensor: "w", axis: 0 });

    const biases = tensor("float32", [3, 0]);
    const onlyBiases = expectCode({ ...affine.inputs, biases }, affine.params, "E_EMPTY_DIM");
    expect(onlyBiases.values).toMatchObject({ tensor: "biases", axis: 1 });
  });

  it("rejects scales and biases of different shapes", () => {
    const issue = expectCode({ ...affine.inputs, biases: tensor("float32", [3, 2]) }, affine.params, "E_SCALES_BIASES_SHAPE");
    expect(issue.values).toEqual({ scalesShape: [3, 1], biasesShape: [3, 2] });
  });

  it("rejects w and scales batch shapes that differ", () => {
    const x = tensor("float32", [2, 2, 64]);
    const w = tensor("uint32", [2, 3, 8]);
    const scales = tensor("float32", [4, 3, 1]);
    const issue = expectCode({ x, w, scales, biases: scales }, {}, "E_BATCH_SHAPE");
    expect(issue.values).toEqual({ wShape: [2, 3, 8], scalesShape: [4, 3, 1] });
  });

  it("rejects scales.shape[-2] unlike w.shape[-2]", () => {
    const scales = tensor("float32", [4, 1]);
    const issue = expectCode({ ...affine.inputs, scales, biases: scales }, affine.params, "E_SCALES_ROWS");
    expect(issue.values).toEqual({ wShape: [3, 8], scalesShape: [4, 1] });
    expect(issue.path).toEqual(["scales", "shape", -2]);
  });

  it("rejects w words that hold no whole number of codes", () => {
    const w = tensor("uint32", [3, 1]);
    const scales = tensor("float32", [3, 1]);
    const issue = expectCode({ x: tensor("float32", [2, 32]), w, scales, biases: scales }, { bits: 3, groupSize: 32 }, "E_PACKED_SHAPE");
    expect(issue.values).toEqual({ wShape: [3, 1], scalesShape: [3, 1], bits: 3, groupSize: 32 });
  });

  it("rejects w words unlike scales groups", () => {
    const scales = tensor("float32", [3, 2]);
    const issue = expectCode({ ...affine.inputs, scales, biases: scales }, affine.params, "E_PACKED_SHAPE");
    expect(issue.message).toContain("64");
    expect(issue.message).toContain("128");
  });

  it("rejects transposed scales", () => {
    // w packs a (3, 256) weight with group_size 64, so scales are (3, 4) and scales.T is (4, 3).
    const w = tensor("uint32", [3, 32]);
    const scales = tensor("float32", [4, 3]);
    const issue = expectCode({ x: tensor("float32", [2, 256]), w, scales, biases: scales }, {}, "E_SCALES_ROWS");
    expect(issue.values).toEqual({ wShape: [3, 32], scalesShape: [4, 3] });
  });

  it("rejects x.shape[-1] unlike K", () => {
    const transposed = expectCode({ ...affine.inputs, x: tensor("float32", [2, 63]) }, affine.params, "E_K_MISMATCH");
    expect(transposed.values).toEqual({ xShape: [2, 63], wShape: [3, 8], K: 64, transpose: true });

    const notTransposed = expectCode({ ...affine.inputs, x: tensor("float32", [2, 64]) }, { transpose: false }, "E_K_MISMATCH");
    expect(notTransposed.values).toMatchObject({ K: 3, transpose: false });
  });

  it("rejects batched w with unbatched x", () => {
    const w = tensor("uint32", [2, 3, 8]);
    const scales = tensor("float32", [2, 3, 1]);
    for (const xShape of [[2, 64], [64]]) {
      const issue = expectCode({ x: tensor("float32", xShape), w, scales, biases: scales }, {}, "E_UNBATCHED_X");
      expect(issue.values).toEqual({ xShape, wShape: [2, 3, 8] });
    }
  });

  it("rejects batch shapes that do not broadcast", () => {
    const w = tensor("uint32", [3, 3, 8]);
    const scales = tensor("float32", [3, 3, 1]);
    const issue = expectCode({ x: tensor("float32", [2, 2, 64]), w, scales, biases: scales }, {}, "E_BROADCAST");
    expect(issue.values).toMatchObject({ xBatch: [2], wBatch: [3] });
  });

  it.each([
    ["mxfp4", 0xff],
    ["mxfp8", 0xff],
    ["nvfp4", 0x7f],
    ["nvfp4", 0xff],
  ] as const)("rejects %s scale byte 0x%s", (mode, byte) => {
    const { inputs, params } = validCase(mode);
    const scales = tensor("uint8", [3, 1], mode === "nvfp4" ? 0x38 : 127);
    (scales.data as Uint8Array)[2] = byte;
    const issue = expectCode({ ...inputs, scales }, params, "E_RESERVED_SCALE");
    expect(issue.values).toEqual({ mode, byte, index: [2, 0], count: 1 });
  });

  it("accepts E8M0 0x7F and 0x00 and E4M3 0xFE scale bytes", () => {
    for (const [mode, byte] of [["mxfp4", 0x7f], ["mxfp4", 0x00], ["mxfp8", 0xfe], ["nvfp4", 0xfe], ["nvfp4", 0x80]] as const) {
      const { inputs, params } = validCase(mode);
      expect(() => resolveCall({ ...inputs, scales: tensor("uint8", [3, 1], byte) }, params)).not.toThrow();
    }
  });

  it("rejects mxfp8 element bytes 0x7F and 0xFF", () => {
    const { inputs, params } = validCase("mxfp8");
    const w = tensor("uint32", [3, 8], 0x01020304);
    (w.data as Uint32Array)[9] = 0x00ff0000;
    (w.data as Uint32Array)[20] = 0x7f;
    const issue = expectCode({ ...inputs, w }, params, "E_RESERVED_ELEMENT");
    expect(issue.values).toEqual({ mode: "mxfp8", byte: 0xff, wordIndex: [1, 1], byteInWord: 2, count: 2 });
  });

  it("ignores byte values in mxfp4 and nvfp4 elements", () => {
    for (const mode of ["mxfp4", "nvfp4"] as const) {
      const { inputs, params } = validCase(mode);
      const w = tensor("uint32", inputs.w.shape, 0xffffffff);
      expect(() => resolveCall({ ...inputs, w }, params)).not.toThrow();
    }
  });
});

describe("resolveCall validation order", () => {
  // Each row breaks two things, and the check earlier in SPEC.md §9.1 must win.
  const f32 = (shape: number[]) => tensor("float32", shape);
  const rows: [string, QmmInputs, QmmParamsInput, ErrorCode][] = [
    ["data length before parameters", { ...affine.inputs, x: { dtype: "float32", shape: [2, 64], data: new Float32Array(1) } }, { bits: 4.5 }, "E_DATA_LENGTH"],
    ["parameters before mode", affine.inputs, { mode: "bogus", transpose: 1 as unknown as boolean }, "E_PARAM_INVALID"],
    ["mode before biases", { ...affine.inputs, biases: null }, { mode: "bogus" }, "E_MODE_INVALID"],
    ["biases before group size", { ...affine.inputs, biases: null }, { groupSize: 8 }, "E_BIASES_REQUIRED"],
    ["scales dtype before biases dtype", { ...affine.inputs, scales: tensor("uint8", [3, 1]), biases: tensor("int32", [3, 1]) }, {}, "E_SCALES_DTYPE"],
    ["fp scales dtype before forbidden biases", { ...validCase("mxfp4").inputs, scales: f32([3, 1]), biases: f32([3, 1]) }, { mode: "mxfp4" }, "E_SCALES_DTYPE"],
    ["group size before bits", affine.inputs, { groupSize: 8, bits: 7 }, "E_GROUP_SIZE_INVALID"],
    ["bits before w dtype", { ...affine.inputs, w: tensor("float32", [3, 8]) }, { bits: 7 }, "E_BITS_INVALID"],
    ["w dtype before x dtype", { ...affine.inputs, w: tensor("int32", [3, 8]), x: tensor("float64", [2, 64]) }, {}, "E_W_DTYPE"],
    ["x dtype before rank", { ...affine.inputs, x: tensor("int32", []) }, {}, "E_X_DTYPE"],
    ["rank before empty dimension", { ...affine.inputs, x: f32([]), w: tensor("uint32", [0, 8]) }, {}, "E_RANK"],
    ["empty dimension before shape relations", { ...affine.inputs, x: f32([0, 5]), biases: f32([7, 1]) }, {}, "E_EMPTY_DIM"],
    ["scales-biases shape before batch shape", { x: f32([2, 2, 64]), w: tensor("uint32", [2, 3, 8]), scales: f32([4, 3, 1]), biases: f32([4, 3, 2]) }, {}, "E_SCALES_BIASES_SHAPE"],
    ["batch shape before scale rows", { x: f32([2, 2, 64]), w: tensor("uint32", [2, 3, 8]), scales: f32([4, 5, 1]), biases: f32([4, 5, 1]) }, {}, "E_BATCH_SHAPE"],
    ["scale rows before packed shape", { ...affine.inputs, scales: f32([5, 2]), biases: f32([5, 2]) }, {}, "E_SCALES_ROWS"],
    ["packed shape before K", { ...affine.inputs, x: f32([2, 7]), scales: f32([3, 2]), biases: f32([3, 2]) }, {}, "E_PACKED_SHAPE"],
    ["K before unbatched x", { x: f32([2, 7]), w: tensor("uint32", [2, 3, 8]), scales: f32([2, 3, 1]), biases: f32([2, 3, 1]) }, {}, "E_K_MISMATCH"],
    ["unbatched x before reserved scale", { x: f32([2, 32]), w: tensor("uint32", [2, 3, 4]), scales: tensor("uint8", [2, 3, 1], 0xff) }, { mode: "mxfp4" }, "E_UNBATCHED_X"],
    ["broadcast before reserved element", { x: f32([3, 2, 32]), w: tensor("uint32", [2, 3, 8], 0xffffffff), scales: tensor("uint8", [2, 3, 1], 127) }, { mode: "mxfp8" }, "E_BROADCAST"],
    ["reserved scale before reserved element", { x: f32([2, 32]), w: tensor("uint32", [3, 8], 0xffffffff), scales: tensor("uint8", [3, 1], 0xff) }, { mode: "mxfp8" }, "E_RESERVED_SCALE"],
  ];

  it.each(rows)("reports %s", (_name, inputs, params, code) => {
    expectCode(inputs, params, code);
  });
});

describe("resolveParams", () => {
  it("applies each mode's defaults", () => {
    for (const mode of MODES) {
      const params = resolveParams({ mode, groupSize: null, bits: null });
      expect(params).toEqual({ mode, transpose: true, groupSize: MODE_RULES[mode].defaultGroupSize, bits: MODE_RULES[mode].defaultBits });
    }
    expect(resolveParams({})).toEqual({ mode: "affine", transpose: true, groupSize: 64, bits: 4 });
  });

  it("rejects invalid bits without tensors", () => {
    expect(() => resolveParams({ bits: 0 })).toThrow(/E_BITS_INVALID/);
  });
});

describe("promoteFloat", () => {
  it("follows the promotion table", () => {
    expect(promoteFloat("float16", "float16")).toBe("float16");
    expect(promoteFloat("bfloat16", "bfloat16")).toBe("bfloat16");
    expect(promoteFloat("float16", "bfloat16")).toBe("float32");
    expect(promoteFloat("bfloat16", "float16")).toBe("float32");
    expect(promoteFloat("float32", "float16")).toBe("float32");
    expect(promoteFloat("bfloat16", "float32")).toBe("float32");
  });
});

describe("findReservedCodes", () => {
  it("counts every reserved byte once", () => {
    const bytes = new Uint8Array([0x00, 0x7f, 0xfe, 0xff, 0x7f]);
    expect(findReservedCodes(bytes, "e4m3")).toEqual({ index: 1, byte: 0x7f, count: 3 });
    expect(findReservedCodes(bytes, "e8m0")).toEqual({ index: 3, byte: 0xff, count: 1 });
    expect(findReservedCodes(new Uint8Array([1, 2]), "e8m0")).toBeUndefined();
  });

  it("agrees with a byte-by-byte scan", () => {
    const naive = (bytes: Uint8Array, format: "e8m0" | "e4m3") => {
      const hits = [...bytes.keys()].filter((i) => (format === "e8m0" ? bytes[i] === 0xff : (bytes[i] & 0x7f) === 0x7f));
      return hits.length === 0 ? undefined : { index: hits[0], byte: bytes[hits[0]], count: hits.length };
    };
    const byteValues = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x7f, 0xff, 0xfe, 0x7e, 0x80, 0x00, 0x01));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }).chain((base) => fc.array(byteValues, { maxLength: 64 }).map((extra) => Uint8Array.from([...base, ...extra]))), fc.integer({ min: 0, max: 3 }), fc.constantFrom("e8m0" as const, "e4m3" as const), (bytes, offset, format) => {
        const view = bytes.subarray(Math.min(offset, bytes.length));
        expect(findReservedCodes(view, format)).toEqual(naive(view, format));
      }),
      { numRuns: 500 },
    );
  });
});

describe("resolveCall coverage", () => {
  it("triggers every operation error code", () => {
    // Codes of quantize (§12), workers (§13) and files (§14) are raised elsewhere, except
    // E_DATA_LENGTH, which step 0 raises.
    const operationCodes = Object.entries(ERROR_CODES)
      .filter(([code, rule]) => !/^§1[234]/.test(rule.section) || code === "E_DATA_LENGTH")
      .map(([code]) => code);
    for (const code of operationCodes) expect(triggered.has(code as ErrorCode), code).toBe(true);
  });
});
