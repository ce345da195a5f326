/** The registry of value patterns, by name. */
import { extremeE4m3, extremeE8m0, negativeScales, overflow, partialOverflow, subnormal, ties } from "./direct.ts";
import { exactTier } from "./exact.ts";
import type { ValuePattern } from "./pattern.ts";
import { cancellation, nonFiniteScales, nonFiniteX, outliers, randomNormal, zeroConstantGroups } from "./quantized.ts";

export type { ValuePattern } from "./pattern.ts";
export { exactTier } from "./exact.ts";
export { randomNormal } from "./quantized.ts";

/** Every pattern of the generated suite, in the order coverage lists them. */
export const VALUE_PATTERNS: readonly ValuePattern[] = [
  randomNormal,
  outliers,
  cancellation,
  ties,
  overflow,
  partialOverflow,
  subnormal,
  zeroConstantGroups,
  negativeScales,
  extremeE8m0,
  extremeE4m3,
  nonFiniteX,
  nonFiniteScales,
  exactTier,
];

/** Looks a pattern up by name. */
export function patternByName(name: string): ValuePattern | undefined {
  return VALUE_PATTERNS.find((pattern) => pattern.name === name);
}
