/**
 * Reading float tensors as float64 numbers. float16 and bfloat16 tensors store bit patterns
 * (Uint16Array), and every value of the three float dtypes is exactly a float64 number.
 */
import type { Tensor } from "../../spec/types.ts";

const widenView = new DataView(new ArrayBuffer(4));

/** Decodes a float16 bit pattern. */
export function float16FromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;

  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Decodes a bfloat16 bit pattern (the upper half of a float32). */
export function bfloat16FromBits(bits: number): number {
  widenView.setUint32(0, (bits & 0xffff) << 16);
  return widenView.getFloat32(0);
}

/**
 * Returns a float tensor's values as float64. Throws a TypeError for a tensor that is not
 * float32, float16, bfloat16 or float64, because those are the only dtypes y can have.
 */
export function floatValues(tensor: Tensor): Float64Array {
  const { dtype, data } = tensor;

  if (dtype === "float32" || dtype === "float64") return Float64Array.from(data as Float32Array | Float64Array);

  if (dtype === "float16" || dtype === "bfloat16") {
    const decode = dtype === "float16" ? float16FromBits : bfloat16FromBits;
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = decode(data[i]);
    return out;
  }

  throw new TypeError(`floatValues: expected a float tensor, got dtype ${dtype}`);
}
