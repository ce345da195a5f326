// Property: honest simulations of the fp modes, including MLX's per-group scaling, stay within
// their budgets over random scales and magnitudes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import type { FloatDType } from "../../../spec/types.ts";
import { fpCase, simulateFp } from "../../test/fp-fixtures.ts";
import { compareTensor } from "../compare.ts";
import { planBudget } from "../plan.ts";
import { budgetSetting } from "../setting.ts";
import { floatValues } from "../values.ts";

const VARIANTS_UNDER_TEST: readonly NumericsVariant[] = [
  VARIANTS["mlx-cpu"],
  VARIANTS["sequential/compute"],
  VARIANTS["dequantize-dot/f32"],
  VARIANTS["dequantize-dot/f64"],
  VARIANTS["dequantize-rounded/f32"],
  VARIANTS["split-k/f32"],
];

// E8M0 byte ranges and x exponents per dtype: wide enough to reach subnormal products and
// scales that overflow or underflow a float16 or bfloat16 accumulator, with finite inputs.
const RANGES: Readonly<Record<FloatDType, { scale: [number, number]; x: [number, number] }>> = {
  float32: { scale: [60, 190], x: [-60, 30] },
  float16: { scale: [100, 150], x: [-26, 4] },
  bfloat16: { scale: [60, 190], x: [-60, 30] },
};

const caseArbitrary = fc
  .record({
    mode: fc.constantFrom("mxfp4" as const, "mxfp8" as const, "nvfp4" as const),
    dtype: fc.constantFrom<FloatDType>("float32", "float16", "bfloat16"),
    transpose: fc.boolean(),
    groups: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    spread: fc.integer({ min: 0, max: 8 }),
    xUnit: fc.double({ min: 0, max: 1, noNaN: true }),
    scaleCenter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((draw) => {
    const range = RANGES[draw.dtype];
    const groupSize = draw.mode === "nvfp4" ? 16 : 32;
    const low = Math.floor(range.scale[0] + draw.scaleCenter * (range.scale[1] - range.scale[0] - 10));
    return fpCase({
      mode: draw.mode,
      M: 2,
      K: draw.transpose ? groupSize * draw.groups : 48,
      N: draw.transpose ? 3 : groupSize * draw.groups,
      transpose: draw.transpose,
      dtype: draw.dtype,
      seed: draw.seed,
      xExponent: Math.floor(range.x[0] + draw.xUnit * (range.x[1] - range.x[0])),
      spread: draw.spread,
      scaleLow: low,
      scaleHigh: low + 10,
    });
  });

describe("fp-mode budget property", () => {
  for (const variant of VARIANTS_UNDER_TEST) {
    it(`${variant.name} honest simulation passes`, () => {
      fc.assert(
        fc.property(caseArbitrary, (golden) => {
          if (golden.expected.kind !== "value") return;
          const { y, exact, condition } = golden.expected;
          const plan = planBudget(budgetSetting(variant, golden.params, golden.inputs, y.dtype as FloatDType, condition));
          if (plan.kind === "unmodelled") throw new Error(plan.reason);

          const got = simulateFp(variant, golden.inputs, golden.params);
          const comparison = compareTensor(plan, y, { y: floatValues(y), exact, condition }, got);
          if (comparison.kind !== "compared") throw new Error(`mismatch: ${comparison.what}`);
          expect(comparison.failedIndices, `worst ${JSON.stringify(comparison.worst)}`).toEqual([]);
        }),
        { numRuns: 200, seed: 20261204 },
      );
    });
  }
});
