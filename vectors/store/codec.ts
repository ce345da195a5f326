/**
 * Conversion between golden cases and their stored records (spec/FILES.md §14.1, §14.2). Decoding
 * checks every declared size against {@link SizeLimits} before it allocates, then checks each data
 * length against its shape, so a hostile or damaged file costs no more memory than its own bytes.
 */
import { QmmError, fail, specIssue } from "../../spec/errors.ts";
import type { QmmParamsInput, Tensor } from "../../spec/types.ts";
import type { ConditionData } from "../../reference/result.ts";
import { bytesPerElement, tensorFromBytes, tensorToBytes } from "../../reference/tensor.ts";
import { resolveCall } from "../../reference/validate.ts";
import type { Expectation, GoldenCase } from "../case.ts";
import type { CaseRecord, TensorRecord } from "./schema.ts";

/** Size limits a reader enforces before it allocates (spec/FILES.md §14.2). */
export interface SizeLimits {
  /** Largest vector file read into memory, in bytes. */
  readonly maxFileBytes: number;
  /** Largest tensor or float64 array a record may declare, in bytes. */
  readonly maxTensorBytes: number;
  /** Largest rank a stored tensor may have. */
  readonly maxRank: number;
}

/**
 * Default limits: 1 GiB per file and 512 MiB per tensor. The largest generated tensor is far below
 * both, and a file that needs more is better split than read whole.
 */
export const DEFAULT_LIMITS: SizeLimits = {
  maxFileBytes: 2 ** 30,
  maxTensorBytes: 2 ** 29,
  maxRank: 16,
};

/** Encodes a case as a record, with tensors as little-endian bytes. */
export function encodeCase(golden: GoldenCase): CaseRecord {
  const { x, w, scales, biases } = golden.inputs;

  return {
    id: golden.id,
    suite: golden.suite,
    tags: [...golden.tags],
    exactTier: golden.exactTier ?? false,
    params: { ...golden.params },
    inputs: {
      x: encodeTensor(x),
      w: encodeTensor(w),
      scales: encodeTensor(scales),
      ...(biases === undefined || biases === null ? {} : { biases: encodeTensor(biases) }),
    },
    expected: encodeExpectation(golden.expected),
  };
}

function encodeExpectation(expected: Expectation): CaseRecord["expected"] {
  if (expected.kind === "error") return { kind: "error", code: expected.code };

  const condition = expected.condition;
  return {
    kind: "value",
    y: encodeTensor(expected.y),
    exact: float64Bytes(expected.exact),
    condition: {
      absSum: float64Bytes(condition.absSum),
      dequantAbsSum: float64Bytes(condition.dequantAbsSum),
      xAbsSum: float64Bytes(condition.xAbsSum),
      reductionLength: condition.reductionLength,
      groupCount: condition.groupCount,
    },
  };
}

function encodeTensor(tensor: Tensor): TensorRecord {
  return { dtype: tensor.dtype, shape: [...tensor.shape], data: tensorToBytes(tensor) };
}

function float64Bytes(values: Float64Array): Uint8Array {
  return tensorToBytes({ dtype: "float64", shape: [values.length], data: values });
}

/**
 * Decodes a validated record into a golden case. Throws a QmmError naming the field: E_TOO_LARGE
 * for a declared size over the limits, E_DATA_LENGTH for data that contradicts its shape, and
 * E_FILE_FORMAT when the expected output contradicts the inputs.
 */
export function decodeCase(record: CaseRecord, limits: SizeLimits = DEFAULT_LIMITS): GoldenCase {
  const inputs = {
    x: decodeTensor(record.inputs.x, ["inputs", "x"], limits),
    w: decodeTensor(record.inputs.w, ["inputs", "w"], limits),
    scales: decodeTensor(record.inputs.scales, ["inputs", "scales"], limits),
    ...(record.inputs.biases === undefined || record.inputs.biases === null
      ? {}
      : { biases: decodeTensor(record.inputs.biases, ["inputs", "biases"], limits) }),
  };
  const params = record.params as QmmParamsInput;

  let expected: Expectation;
  if (record.expected.kind === "error") {
    expected = { kind: "error", code: record.expected.code as Extract<Expectation, { kind: "error" }>["code"] };
  } else {
    expected = decodeValueExpectation(record.expected, limits);
    checkAgainstInputs(expected, inputs, params);
  }

  return {
    id: record.id,
    suite: record.suite,
    params,
    inputs,
    expected,
    tags: record.tags,
    exactTier: record.exactTier,
  };
}

function decodeValueExpectation(record: Extract<CaseRecord["expected"], { kind: "value" }>, limits: SizeLimits): Expectation {
  const y = decodeTensor(record.y, ["expected", "y"], limits);
  const count = y.data.length;
  const condition: ConditionData = {
    absSum: decodeFloat64(record.condition.absSum, count, ["expected", "condition", "absSum"]),
    dequantAbsSum: decodeFloat64(record.condition.dequantAbsSum, count, ["expected", "condition", "dequantAbsSum"]),
    xAbsSum: decodeFloat64(record.condition.xAbsSum, count, ["expected", "condition", "xAbsSum"]),
    reductionLength: record.condition.reductionLength,
    groupCount: record.condition.groupCount,
  };

  return { kind: "value", y, exact: decodeFloat64(record.exact, count, ["expected", "exact"]), condition };
}

/** Checks the declared size of a tensor record against the limits, then its data length, then copies it. */
export function decodeTensor(record: TensorRecord, path: readonly (string | number)[], limits: SizeLimits): Tensor {
  if (record.shape.length > limits.maxRank) {
    fail("E_TOO_LARGE", `${path.join(".")} declares rank ${record.shape.length}, above the limit ${limits.maxRank}`, { rank: record.shape.length, limit: limits.maxRank }, [...path, "shape"]);
  }

  const width = bytesPerElement(record.dtype);
  let declaredBytes = width;
  for (const dimension of record.shape) declaredBytes *= dimension;
  if (declaredBytes > limits.maxTensorBytes) {
    fail(
      "E_TOO_LARGE",
      `${path.join(".")} declares shape [${record.shape.join(",")}] of ${record.dtype}, ${declaredBytes} bytes, above the limit of ${limits.maxTensorBytes} bytes`,
      { shape: record.shape, dtype: record.dtype, declaredBytes, limit: limits.maxTensorBytes },
      [...path, "shape"],
    );
  }

  if (record.data.length !== declaredBytes) {
    fail(
      "E_DATA_LENGTH",
      `${path.join(".")} has ${record.data.length} data bytes but shape [${record.shape.join(",")}] of ${record.dtype} needs ${declaredBytes}`,
      { shape: record.shape, dtype: record.dtype, expected: declaredBytes, actual: record.data.length },
      [...path, "data"],
    );
  }

  return tensorFromBytes(record.dtype, record.shape, record.data);
}

function decodeFloat64(bytes: Uint8Array, count: number, path: readonly (string | number)[]): Float64Array {
  if (bytes.length !== count * 8) {
    fail(
      "E_DATA_LENGTH",
      `${path.join(".")} has ${bytes.length} bytes but the output has ${count} elements (${count * 8} bytes as float64)`,
      { expected: count * 8, actual: bytes.length },
      [...path],
    );
  }
  return tensorFromBytes("float64", [count], bytes).data as Float64Array;
}

/** Checks that a value case describes a valid call whose output dtype and shape are those of y. */
function checkAgainstInputs(expected: Expectation, inputs: GoldenCase["inputs"], params: QmmParamsInput): void {
  if (expected.kind !== "value") return;

  let call;
  try {
    call = resolveCall(inputs, params);
  } catch (error) {
    if (!(error instanceof QmmError)) throw error;
    throw new QmmError(
      specIssue(
        "E_FILE_FORMAT",
        `the case expects a value, but its inputs are invalid: ${error.message}`,
        { inputCode: error.code },
        ["inputs", ...error.issue.path],
      ),
    );
  }

  const shapeMatches = call.outShape.length === expected.y.shape.length && call.outShape.every((d, axis) => d === expected.y.shape[axis]);
  if (call.outDType !== expected.y.dtype || !shapeMatches) {
    fail(
      "E_FILE_FORMAT",
      `expected y is ${expected.y.dtype} [${expected.y.shape.join(",")}] but the inputs give ${call.outDType} [${call.outShape.join(",")}]`,
      { yDType: expected.y.dtype, yShape: expected.y.shape, outDType: call.outDType, outShape: call.outShape },
      ["expected", "y"],
    );
  }
}
