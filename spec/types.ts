/**
 * Core value types of the QuantizedMatmul specification (SPEC.md §2, §3, §7).
 * Every other folder imports these; they carry no behaviour.
 */

/** The quantization modes of SPEC.md §2.2. */
export const MODES = ["affine", "mxfp4", "mxfp8", "nvfp4"] as const;

/** A quantization mode name. */
export type Mode = (typeof MODES)[number];

/** Floating-point element types that x, scales (affine), biases and y may have (SPEC.md §7.1). */
export const FLOAT_DTYPES = ["float32", "float16", "bfloat16"] as const;

/** A floating-point dtype accepted by the operation. */
export type FloatDType = (typeof FLOAT_DTYPES)[number];

/** Every dtype a tensor can carry in this project. float16 and bfloat16 are stored as raw bits. */
export const DTYPES = ["float32", "float16", "bfloat16", "uint32", "uint8", "float64", "int32"] as const;

/** A tensor element type. float64 and int32 exist only so that invalid inputs can be expressed. */
export type DType = (typeof DTYPES)[number];

/** Storage of a tensor's elements, bit-exact: float16 and bfloat16 are kept as their uint16 bit patterns. */
export type TensorData = Float32Array | Float64Array | Uint16Array | Uint32Array | Uint8Array | Int32Array;

/** A constructor of one of the {@link TensorData} arrays, from a length or a buffer. */
export interface TensorDataConstructor {
  new (length: number): TensorData;
  new (buffer: ArrayBuffer): TensorData;
  readonly name: string;
}

/** The typed array each dtype is stored in. */
export const TENSOR_DATA_CONSTRUCTORS: Readonly<Record<DType, TensorDataConstructor>> = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  uint32: Uint32Array,
  uint8: Uint8Array,
  float64: Float64Array,
  int32: Int32Array,
};

/** A dense, row-major tensor. `data.length` equals the product of `shape`. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** The parameters of one call as a caller writes them: `null` or a missing key takes the mode's default (SPEC.md §2.3). */
export interface QmmParamsInput {
  readonly mode?: string;
  readonly transpose?: boolean;
  readonly groupSize?: number | null;
  readonly bits?: number | null;
}

/** Parameters after defaults are applied and validated (SPEC.md §2.3). */
export interface QmmParams {
  readonly mode: Mode;
  readonly transpose: boolean;
  readonly groupSize: number;
  readonly bits: number;
}

/** The tensors of one call. `biases` is required for affine and forbidden otherwise (SPEC.md §2.2). */
export interface QmmInputs {
  readonly x: Tensor;
  readonly w: Tensor;
  readonly scales: Tensor;
  readonly biases?: Tensor | null;
}

/** The mode table of SPEC.md §2.2: defaults and the allowed group sizes and bits. */
export interface ModeRule {
  readonly defaultGroupSize: number;
  readonly defaultBits: number;
  readonly groupSizes: readonly number[];
  readonly bits: readonly number[];
  readonly biases: "required" | "forbidden";
  readonly scales: "float" | "e8m0" | "e4m3";
  readonly element: "uint" | "e2m1" | "e4m3";
}

/** Defaults and allowed values per mode (SPEC.md §2.2). */
export const MODE_RULES: Readonly<Record<Mode, ModeRule>> = {
  affine: {
    defaultGroupSize: 64,
    defaultBits: 4,
    groupSizes: [32, 64, 128],
    bits: [2, 3, 4, 5, 6, 8],
    biases: "required",
    scales: "float",
    element: "uint",
  },
  mxfp4: { defaultGroupSize: 32, defaultBits: 4, groupSizes: [32], bits: [4], biases: "forbidden", scales: "e8m0", element: "e2m1" },
  mxfp8: { defaultGroupSize: 32, defaultBits: 8, groupSizes: [32], bits: [8], biases: "forbidden", scales: "e8m0", element: "e4m3" },
  nvfp4: { defaultGroupSize: 16, defaultBits: 4, groupSizes: [16], bits: [4], biases: "forbidden", scales: "e4m3", element: "e2m1" },
};

/** Returns true when `value` names one of the four modes. */
export function isMode(value: string): value is Mode {
  return (MODES as readonly string[]).includes(value);
}

/** Returns true when `dtype` is float32, float16 or bfloat16. */
export function isFloatDType(dtype: DType): dtype is FloatDType {
  return (FLOAT_DTYPES as readonly string[]).includes(dtype);
}
