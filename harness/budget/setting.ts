/**
 * Builds the {@link BudgetSetting} of a golden case: parameters after the mode's defaults, the
 * output dtype, K and G from the condition data, and an upper bound on the dequantized weights.
 */
import { MODE_RULES } from "../../spec/types.ts";
import type { FloatDType, Mode, QmmInputs, QmmParamsInput } from "../../spec/types.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import type { ConditionData } from "../../reference/result.ts";
import type { BudgetSetting } from "./plan.ts";
import { floatValues } from "./values.ts";

/** The largest magnitude of an E2M1 element (SPEC.md §3.3). */
const E2M1_MAX = 6;

/** The largest magnitude of a finite E4M3 value (SPEC.md §3.4). */
const E4M3_MAX = 448;

/** The reserved E8M0 byte (SPEC.md §3.6). */
const E8M0_RESERVED = 0xff;

/**
 * Returns the budget setting of a value case. `params` must be valid (value cases always are):
 * a missing group size or bit width takes the mode's default (SPEC.md §2.3).
 */
export function budgetSetting(
  variant: NumericsVariant,
  params: QmmParamsInput,
  inputs: QmmInputs,
  outDType: FloatDType,
  condition: ConditionData,
): BudgetSetting {
  const mode = (params.mode ?? "affine") as Mode;
  const rule = MODE_RULES[mode];
  const groupSize = params.groupSize ?? rule.defaultGroupSize;
  const bits = params.bits ?? rule.defaultBits;

  return {
    variant,
    outDType,
    mode,
    transpose: params.transpose ?? true,
    groupSize,
    reductionLength: condition.reductionLength,
    groupCount: condition.groupCount,
    weightMagnitude: weightMagnitude(mode, bits, inputs),
    scaleMagnitude: scaleMagnitude(mode, inputs),
    bits,
  };
}

/**
 * Returns an upper bound on |ŵ| over the finite dequantized weights of a call (SPEC.md §4).
 * Non-finite scales and biases are skipped: every output they reach has a non-finite exact value,
 * which the non-finite rules judge instead of the budget.
 * NOTE: the bound is per case, not per output column, so one large group makes every element of
 * the case accept a non-finite result when ŵ may overflow the weight dtype.
 */
export function weightMagnitude(mode: Mode, bits: number, inputs: QmmInputs): number {
  if (mode === "affine") {
    const maxCode = 2 ** bits - 1;
    const biases = inputs.biases ?? null;
    return maxFiniteMagnitude(floatValues(inputs.scales)) * maxCode + (biases === null ? 0 : maxFiniteMagnitude(floatValues(biases)));
  }

  const elementMax = mode === "mxfp8" ? E4M3_MAX : E2M1_MAX;
  return scaleMagnitude(mode, inputs) * elementMax;
}

/**
 * Returns an upper bound on the scale magnitudes of a call: the largest finite |scale| for
 * affine, the largest E8M0 scale (reserved bytes skipped), or the largest E4M3 value 448 for nvfp4.
 */
export function scaleMagnitude(mode: Mode, inputs: QmmInputs): number {
  if (mode === "affine") return maxFiniteMagnitude(floatValues(inputs.scales));
  if (mode === "nvfp4") return E4M3_MAX;

  let maxByte = 0;
  for (const byte of inputs.scales.data as Uint8Array) {
    if (byte !== E8M0_RESERVED && byte > maxByte) maxByte = byte;
  }
  return 2 ** (maxByte - 127);
}

function maxFiniteMagnitude(values: Float64Array): number {
  let max = 0;
  for (const value of values) {
    const magnitude = Math.abs(value);
    if (magnitude !== Infinity && magnitude > max) max = magnitude;
  }
  return max;
}
