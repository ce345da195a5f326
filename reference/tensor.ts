/**
 * Building, decoding and serializing {@link Tensor} values. float16 and bfloat16 tensors carry their
 * uint16 bit patterns, so decoding and encoding go through the codecs of ./formats/float.ts.
 */
import { fail } from "../spec/errors.ts";
import { TENSOR_DATA_CONSTRUCTORS } from "../spec/types.ts";
import type { DType, Tensor, TensorData } from "../spec/types.ts";
import {
  bfloat16BitsToNumber,
  float16DecodeTable,
  numberToBfloat16Bits,
  numberToFloat16Bits,
} from "./formats/float.ts";

const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  uint32: 4,
  uint8: 1,
  float64: 8,
  int32: 4,
};

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Returns the bytes one element of `dtype` takes in memory and in files. */
export function bytesPerElement(dtype: DType): number {
  return BYTES_PER_ELEMENT[dtype];
}

/**
 * Returns the product of `shape` (1 for a scalar shape `[]`). Throws E_PARAM_INVALID when a
 * dimension is not a non-negative safe integer or the product exceeds Number.MAX_SAFE_INTEGER.
 */
export function elementCount(shape: readonly number[]): number {
  let count = 1;

  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (!Number.isSafeInteger(dim) || dim < 0) {
      fail("E_PARAM_INVALID", "a shape dimension is not a non-negative integer", { shape: [...shape], axis, dim }, ["shape", axis]);
    }
    count *= dim;
  }

  if (!Number.isSafeInteger(count)) {
    fail("E_PARAM_INVALID", "the shape has more elements than a safe integer can count", { shape: [...shape] }, ["shape"]);
  }
  return count;
}

/** Allocates zero-filled storage for `length` elements of `dtype`. */
export function emptyDataFor(dtype: DType, length: number): TensorData {
  return new TENSOR_DATA_CONSTRUCTORS[dtype](length);
}

function checkDataLength(dtype: DType, shape: readonly number[], actual: number, unit: string): number {
  const expected = elementCount(shape);
  if (actual !== expected) {
    fail(
      "E_DATA_LENGTH",
      `the data holds ${actual} ${unit} but shape [${shape.join(",")}] needs ${expected}`,
      { dtype, shape: [...shape], expected, actual },
    );
  }
  return expected;
}

/** Decodes every element of `t` to a float64: float16 and bfloat16 bits become their values, integers their values. */
export function tensorToNumbers(t: Tensor): Float64Array {
  const data = t.data;
  const out = new Float64Array(data.length);

  if (t.dtype === "float16") {
    const table = float16DecodeTable();
    for (let index = 0; index < data.length; index++) out[index] = table[data[index]];
  } else if (t.dtype === "bfloat16") {
    for (let index = 0; index < data.length; index++) out[index] = bfloat16BitsToNumber(data[index]);
  } else {
    out.set(data);
  }

  return out;
}

/**
 * Builds a tensor from float64 values. Float dtypes round each value to nearest even; integer dtypes
 * take integers in their range and throw E_PARAM_INVALID for anything else, so nothing wraps silently.
 * Throws E_DATA_LENGTH when `values.length` differs from the shape's element count.
 */
export function tensorFromNumbers(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
  const length = checkDataLength(dtype, shape, values.length, "values");
  const data = emptyDataFor(dtype, length);

  if (dtype === "float16" || dtype === "bfloat16") {
    const encode = dtype === "float16" ? numberToFloat16Bits : numberToBfloat16Bits;
    for (let index = 0; index < length; index++) data[index] = encode(values[index]);
  } else if (dtype === "uint32" || dtype === "uint8" || dtype === "int32") {
    copyIntegers(dtype, values, data);
  } else {
    for (let index = 0; index < length; index++) data[index] = values[index];
  }

  return { dtype, shape: [...shape], data };
}

const INTEGER_RANGE = {
  uint32: [0, 0xffffffff],
  uint8: [0, 0xff],
  int32: [-0x80000000, 0x7fffffff],
} as const;

function copyIntegers(dtype: keyof typeof INTEGER_RANGE, values: ArrayLike<number>, data: TensorData): void {
  const [min, max] = INTEGER_RANGE[dtype];

  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (!Number.isInteger(value) || value < min || value > max) {
      fail("E_PARAM_INVALID", `value ${value} is not an integer in [${min}, ${max}] as ${dtype} needs`, { dtype, index, value });
    }
    data[index] = value;
  }
}

/** Serializes the elements of `t` as little-endian bytes, in row-major order. */
export function tensorToBytes(t: Tensor): Uint8Array {
  const data = t.data;
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (IS_LITTLE_ENDIAN) return view.slice();

  const width = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(view.length);
  for (let start = 0; start < view.length; start += width) {
    for (let byte = 0; byte < width; byte++) out[start + byte] = view[start + width - 1 - byte];
  }
  return out;
}

/**
 * Builds a tensor from little-endian bytes. The bytes are copied into fresh storage, so the input may
 * start at any offset. Throws E_DATA_LENGTH when the byte count is not elementCount(shape)·width.
 */
export function tensorFromBytes(dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
  const width = bytesPerElement(dtype);
  const expectedBytes = elementCount(shape) * width;
  if (bytes.length !== expectedBytes) {
    fail(
      "E_DATA_LENGTH",
      `the data holds ${bytes.length} bytes but ${dtype} shape [${shape.join(",")}] needs ${expectedBytes}`,
      { dtype, shape: [...shape], expected: expectedBytes, actual: bytes.length },
    );
  }

  const data = emptyDataFor(dtype, expectedBytes / width);
  const target = new Uint8Array(data.buffer);
  if (IS_LITTLE_ENDIAN) {
    target.set(bytes);
  } else {
    for (let start = 0; start < bytes.length; start += width) {
      for (let byte = 0; byte < width; byte++) target[start + byte] = bytes[start + width - 1 - byte];
    }
  }

  return { dtype, shape: [...shape], data };
}
