/**
 * Helpers that turn float64 values into case tensors: x rounded once to its dtype, and exactly
 * representable values checked instead of rounded.
 */
import { FORMAT_INFO, powerOfTwo, roundToDType } from "../../reference/formats/float.ts";
import { tensorFromNumbers } from "../../reference/tensor.ts";
import type { FloatDType, Tensor } from "../../spec/types.ts";
import type { CaseConfig } from "./config.ts";
import { xShapeOf } from "./config.ts";
import type { Random } from "./random.ts";

/** Number of elements of x: product of the batch dimensions times M·K. */
export function xElementCount(cfg: CaseConfig): number {
  return xShapeOf(cfg.shape).reduce((product, size) => product * size, 1);
}

/** Builds x from float64 values, each rounded once to the x dtype. */
export function xTensor(cfg: CaseConfig, values: ArrayLike<number>): Tensor {
  return tensorFromNumbers(cfg.xDType, xShapeOf(cfg.shape), values);
}

/** Builds x from values that must already be representable in its dtype; throws otherwise. */
export function exactXTensor(cfg: CaseConfig, values: ArrayLike<number>): Tensor {
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (!Number.isNaN(value) && roundToDType(value, cfg.xDType) !== value) {
      throw new Error(`x value ${value} at ${index} is not exactly representable in ${cfg.xDType}`);
    }
  }
  return xTensor(cfg, values);
}

/** Returns a random value of `dtype` with exponent e: 2^e·(1 + m·2^(1−p)) with a random m ≥ 1, so it is not a power of two. */
export function randomSignificand(rng: Random, dtype: FloatDType, exponent: number): number {
  const precision = FORMAT_INFO[dtype].precision;
  const mantissa = 1 + rng.integer(2 ** (precision - 1) - 1);
  return powerOfTwo(exponent) * (1 + mantissa * powerOfTwo(1 - precision));
}

/**
 * Returns floor(log2(value)) exactly for a positive finite value. Math.log2 only gives a first
 * guess, because its last bit may differ between engines; comparisons with powers of two settle it.
 */
export function floorLog2(value: number): number {
  let exponent = Math.floor(Math.log2(value));
  if (powerOfTwo(exponent) > value) exponent -= 1;
  if (powerOfTwo(exponent + 1) <= value) exponent += 1;
  return exponent;
}

/** Returns ceil(log2(value)) exactly for a positive finite value. */
export function ceilLog2(value: number): number {
  const exponent = floorLog2(value);
  return powerOfTwo(exponent) === value ? exponent : exponent + 1;
}

/** Fills `count` values with rng.normal()·scale. */
export function normalValues(rng: Random, count: number, scale = 1): Float64Array {
  const out = new Float64Array(count);
  for (let index = 0; index < count; index++) out[index] = rng.normal() * scale;
  return out;
}
