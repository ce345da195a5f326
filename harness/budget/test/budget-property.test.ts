// Property: an implementation that rounds exactly where its variant declares never exceeds the
// budget, over random magnitudes that reach subnormals, cancellation and overflow.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import type { FloatDType } from "../../../spec/types.ts";
import { affineCase, simulate } from "../../test/fixtures.ts";
import { compareTensor } from "../compare.ts";
import { planBudget } from "../plan.ts";
import { budgetSetting } from "../setting.ts";
import { floatValues } from "../values.ts";

const VARIANTS_UNDER_TEST: readonly NumericsVariant[] = [
  VARIANTS["dequantize-dot/f64"],
  VARIANTS["dequantize-dot/f32"],
  VARIANTS["dequantize-rounded/f32"],
  VARIANTS["sequential/compute"],
  VARIANTS["factored/f32"],
  VARIANTS["factored/f32-w32"],
  VARIANTS["split-k/f32"],
  VARIANTS["mlx-cpu"],
];

// Exponent ranges per dtype, from below the smallest subnormal up to values whose products
// overflow the narrow accumulators. Inputs stay finite (max + spread stays below the dtype's
// overflow), because the simulations do not model the non-finite rules.
const EXPONENTS: Readonly<Record<FloatDType, { min: number; max: number }>> = {
  float32: { min: -140, max: 40 },
  float16: { min: -26, max: 2 },
  bfloat16: { min: -140, max: 40 },
};

const caseArbitrary = fc
  .record({
    dtype: fc.constantFrom<FloatDType>("float32", "float16", "bfloat16"),
    bits: fc.constantFrom(2, 3, 4, 8),
    K: fc.constantFrom(32, 64, 128),
    N: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    spread: fc.integer({ min: 0, max: 12 }),
    xUnit: fc.double({ min: 0, max: 1, noNaN: true }),
    scaleUnit: fc.double({ min: 0, max: 1, noNaN: true }),
    biasUnit: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((draw) => {
    const { min, max } = EXPONENTS[draw.dtype];
    const exponent = (unit: number) => Math.floor(min + unit * (max - min));
    return affineCase({
      M: 2,
      K: draw.K,
      N: draw.N,
      bits: draw.bits,
      groupSize: 32,
      dtype: draw.dtype,
      seed: draw.seed,
      magnitudes: { x: exponent(draw.xUnit), scale: exponent(draw.scaleUnit), bias: exponent(draw.biasUnit), spread: draw.spread },
    });
  });

describe("budget property", () => {
  for (const variant of VARIANTS_UNDER_TEST) {
    it(`${variant.name} honest simulation passes`, () => {
      fc.assert(
        fc.property(caseArbitrary, (golden) => {
          if (golden.expected.kind !== "value") return;
          const { y, exact, condition } = golden.expected;
          const plan = planBudget(budgetSetting(variant, golden.params, golden.inputs, y.dtype as FloatDType, condition));
          if (plan.kind === "unmodelled") throw new Error(plan.reason);

          const got = simulate(variant, golden.inputs, golden.params);
          const comparison = compareTensor(plan, y, { y: floatValues(y), exact, condition }, got);
          if (comparison.kind !== "compared") throw new Error(`mismatch: ${comparison.what}`);
          expect(comparison.failedIndices, `worst ${JSON.stringify(comparison.worst)}`).toEqual([]);
        }),
        { numRuns: 300, seed: 20261204 },
      );
    });
  }
});
