import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import { FORMATS, gamma, subnormalError, ulp, unitRoundoff } from "../formats.ts";
import { elementBudget, planBudget } from "../plan.ts";
import type { BudgetPlan, BudgetSetting } from "../plan.ts";

// Expected budgets below were derived with exact rational arithmetic (Python fractions) from the
// formulas of spec/NUMERICS.md, independently of this module.

function setting(variant: NumericsVariant, overrides: Partial<BudgetSetting> = {}): BudgetSetting {
  return { variant, outDType: "float32", mode: "affine", transpose: true, groupSize: 32, reductionLength: 4, groupCount: 1, ...overrides };
}

function bounded(s: BudgetSetting): Extract<BudgetPlan, { kind: "bounded" }> {
  const plan = planBudget(s);
  if (plan.kind !== "bounded") throw new Error(`expected a bounded plan, got ${plan.kind}`);
  return plan;
}

function expectRelative(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-13);
}

describe("formats", () => {
  it("unit roundoff per format", () => {
    expect(unitRoundoff("float64")).toBe(2 ** -53);
    expect(unitRoundoff("float32")).toBe(2 ** -24);
    expect(unitRoundoff("float16")).toBe(2 ** -11);
    expect(unitRoundoff("bfloat16")).toBe(2 ** -8);
    expect(unitRoundoff("exact")).toBe(0);
  });

  it("subnormal error is half the smallest subnormal", () => {
    expect(subnormalError("float32")).toBe(2 ** -150);
    expect(subnormalError("float16")).toBe(2 ** -25);
    expect(subnormalError("bfloat16")).toBe(2 ** -134);
    expect(subnormalError("float64")).toBe(Number.MIN_VALUE);
    expect(subnormalError("exact")).toBe(0);
  });

  it("max finite and overflow threshold", () => {
    expect(FORMATS.float16.maxFinite).toBe(65504);
    expect(FORMATS.float16.overflowThreshold).toBe(65520);
    expect(FORMATS.float32.maxFinite).toBe(3.4028234663852886e38);
    expect(FORMATS.bfloat16.maxFinite).toBe(3.3895313892515355e38);
  });

  it("ulp across binades", () => {
    expect(ulp("float32", 1)).toBe(2 ** -23);
    expect(ulp("float32", 1.999)).toBe(2 ** -23);
    expect(ulp("float32", 2)).toBe(2 ** -22);
    expect(ulp("float16", 0)).toBe(2 ** -24);
    expect(ulp("float16", 2 ** -20)).toBe(2 ** -24);
    expect(ulp("float16", 65504)).toBe(32);
    expect(ulp("float16", Infinity)).toBe(32);
    expect(ulp("bfloat16", 0.25)).toBe(2 ** -9);
    expect(ulp("float64", 5e-324)).toBe(5e-324);
  });

  it("gamma is Higham's form below n·u = 1/2", () => {
    expect(gamma(0, 2 ** -24)).toBe(0);
    expect(gamma(4, 2 ** -24)).toBe((4 * 2 ** -24) / (1 - 4 * 2 ** -24));
    expect(gamma(1023, 2 ** -11)).toBe((1023 * 2 ** -11) / (1 - 1023 * 2 ** -11));
  });

  it("gamma bounds (1 + u)^n − 1 from n·u = 1/2", () => {
    // (1 + 2^-e)^n − 1 = ((2^e + 1)^n − 2^(e·n)) / 2^(e·n), computed exactly with BigInt.
    for (const [n, e] of [[128, 8], [255, 8], [512, 8], [1024, 11], [2048, 11], [4096, 11]]) {
      const exact = Number((((2n ** BigInt(e) + 1n) ** BigInt(n) - 2n ** BigInt(e * n)) * 2n ** 60n) / 2n ** BigInt(e * n)) / 2 ** 60;
      const bound = gamma(n, 2 ** -e);
      expect(bound).toBeGreaterThanOrEqual(exact);
      expect(bound).toBeLessThanOrEqual(exact * (1 + 2 ** -28));
    }
  });
});

describe("planBudget", () => {
  it("exact variant is bit-exact", () => {
    expect(planBudget(setting(VARIANTS.exact)).kind).toBe("bit-exact");
  });

  it("dequantize-dot counts K roundings", () => {
    const plan = bounded(setting(VARIANTS["dequantize-dot/f32"], { reductionLength: 100 }));
    expect(plan.accumulation).toBe("dequantize-dot");
    expect(plan.roundings).toBe(100);
    expect(plan.accumulationSubnormal).toBe(100 * 2 ** -150);
  });

  it("without product rounding counts K − 1", () => {
    const variant = { ...VARIANTS["dequantize-dot/f64"], productRounding: false };
    const plan = bounded(setting(variant, { reductionLength: 10 }));
    expect(plan.roundings).toBe(9);
    expect(plan.accumulationSubnormal).toBe(0);
  });

  it("factored applies to affine transpose only", () => {
    const variant = VARIANTS["factored/f32"];
    expect(bounded(setting(variant, { reductionLength: 64, groupCount: 2 })).accumulation).toBe("factored");
    expect(bounded(setting(variant, { reductionLength: 64, groupCount: 2 })).roundings).toBe(36);
    expect(bounded(setting(variant, { transpose: false, reductionLength: 64, groupCount: 64 })).accumulation).toBe("dequantize-dot");
    expect(bounded(setting(variant, { mode: "mxfp4", reductionLength: 64, groupCount: 2 })).accumulation).toBe("dequantize-dot");
  });

  it("factored subnormal term grows with the scale", () => {
    const variant = VARIANTS["factored/f32"];
    expect(bounded(setting(variant, { reductionLength: 64, groupCount: 2, scaleMagnitude: 4 })).accumulationSubnormal).toBe(64 * 5 * 2 ** -150);
    expect(bounded(setting(variant, { reductionLength: 64, groupCount: 2, scaleMagnitude: 0.25 })).accumulationSubnormal).toBe(64 * 2 * 2 ** -150);
  });

  it("factored Σx·q may overflow a float16 accumulator", () => {
    const variant = { ...VARIANTS["factored/f32"], accumulator: "float16" as const };
    const plan = bounded(setting(variant, { outDType: "float16", reductionLength: 64, groupCount: 2, bits: 4 }));
    expect(plan.intermediatePerX).toBe(15);
    // 15·X = 15·5000 > 65504 although S and D are small.
    expect(elementBudget(plan, 1, 10, 10, 5000).mayOverflow).toBe(true);
    expect(elementBudget(plan, 1, 10, 10, 100).mayOverflow).toBe(false);
  });

  it("split-K takes the coarser roundoff", () => {
    const plan = bounded(setting(VARIANTS["split-k/f32"], { outDType: "float16", reductionLength: 100 }));
    expect(plan.accumulation).toBe("split-k");
    expect(plan.roundings).toBe(13 + 8);
    expect(plan.accumulationRoundoff).toBe(2 ** -11);
    expect(plan.accumulationSubnormal).toBe(108 * 2 ** -25);
    expect(plan.overflowLimit).toBe(65504);
  });

  it("factored split-K is unmodelled", () => {
    const variant = { ...VARIANTS["factored/f32"], splitK: { parts: 4, partialDType: "float32" as const } };
    expect(planBudget(setting(variant)).kind).toBe("unmodelled");
  });

  it("compute resolves to the output dtype", () => {
    const plan = bounded(setting(VARIANTS["sequential/compute"], { outDType: "bfloat16" }));
    expect(plan.weightFormat).toBe("bfloat16");
    expect(plan.accumulationRoundoff).toBe(2 ** -8);
  });

  it("weight overflow from the weight magnitude", () => {
    const variant = VARIANTS["sequential/compute"];
    expect(bounded(setting(variant, { outDType: "float16", weightMagnitude: 70000 })).weightMayOverflow).toBe(true);
    expect(bounded(setting(variant, { outDType: "float16", weightMagnitude: 65504 })).weightMayOverflow).toBe(false);
    expect(bounded(setting(VARIANTS["factored/f32"], { outDType: "float16", weightMagnitude: 1e9 })).weightMayOverflow).toBe(false);
  });
});

describe("elementBudget", () => {
  it("dequantize-dot/f32, float32 output", () => {
    const plan = bounded(setting(VARIANTS["dequantize-dot/f32"]));
    const budget = elementBudget(plan, 3, 8, 10, 2);
    expectRelative(budget.weightTerm, 4.768371582031256e-7);
    expectRelative(budget.accumulationTerm, 1.9073492012468267e-6);
    expect(budget.roundingTerm).toBe(2 ** -23);
    expectRelative(budget.storageTerm, 3.3306690738754706e-16);
    expectRelative(budget.bound, 2.5033956493338096e-6);
    expect(budget.mayOverflow).toBe(false);
  });

  it("sequential/compute, float16 output", () => {
    const plan = bounded(setting(VARIANTS["sequential/compute"], { outDType: "float16", reductionLength: 16 }));
    const budget = elementBudget(plan, 0.5, 1, 1, 1);
    expectRelative(budget.weightTerm, 0.000977576711194144);
    expectRelative(budget.accumulationTerm, 0.007882193794231876);
    expect(budget.roundingTerm).toBe(2 ** -12);
    expectRelative(budget.bound, 0.009103911130426107);
  });

  it("factored/f32, bfloat16 output, uses D", () => {
    const plan = bounded(setting(VARIANTS["factored/f32"], { outDType: "bfloat16", reductionLength: 64, groupCount: 2 }));
    const budget = elementBudget(plan, -0.25, 5, 40, 3);
    expect(budget.weightTerm).toBe(0);
    expectRelative(budget.accumulationTerm, 8.583087264963606e-5);
    expect(budget.roundingTerm).toBe(2 ** -10);
    expectRelative(budget.bound, 0.0010623933726496677);
  });

  it("split-k/f32 with float16 partials", () => {
    const plan = bounded(setting(VARIANTS["split-k/f32"], { outDType: "float16", reductionLength: 100 }));
    const budget = elementBudget(plan, 1, 2, 2, 7);
    expectRelative(budget.weightTerm, 0.000976771116256736);
    expectRelative(budget.accumulationTerm, 0.020733647750526562);
    expectRelative(budget.bound, 0.022198700116783487);
  });

  it("float64 accumulation without product rounding", () => {
    const variant = { ...VARIANTS["dequantize-dot/f64"], weightRounding: "exact" as const, productRounding: false };
    const plan = bounded(setting(variant, { reductionLength: 10 }));
    const budget = elementBudget(plan, 2, 3, 3, 1);
    expectRelative(budget.accumulationTerm, 2.9976021664879337e-15);
    expectRelative(budget.bound, 1.1920929277042844e-7);
  });

  it("group-scaled mxfp4, transpose", () => {
    const plan = bounded(setting(VARIANTS["mlx-cpu"], { mode: "mxfp4", outDType: "float16", reductionLength: 64, groupCount: 2, scaleMagnitude: 8 }));
    expect(plan.accumulation).toBe("group-scaled");
    expect(plan.roundings).toBe(35);
    const budget = elementBudget(plan, 1, 4, 4, 3);
    expect(budget.weightTerm).toBe(0);
    expectRelative(budget.accumulationTerm, 0.06956406890368955);
    expectRelative(budget.bound, 0.07005235015368991);
  });

  it("group-scaled mxfp8, no transpose", () => {
    const plan = bounded(
      setting(VARIANTS["mlx-cpu"], { mode: "mxfp8", transpose: false, outDType: "bfloat16", reductionLength: 32, groupCount: 32, scaleMagnitude: 0.25 }),
    );
    expect(plan.roundings).toBe(33);
    const budget = elementBudget(plan, -0.5, 2, 2, 5);
    expectRelative(budget.accumulationTerm, 0.29596412556054036);
    expectRelative(budget.bound, 0.29791725056054147);
  });

  it("group-scaled intermediate overflow", () => {
    // Σ x·v before the scale can overflow float16 even when S is small: 6·X > 65504.
    const plan = bounded(setting(VARIANTS["mlx-cpu"], { mode: "mxfp4", outDType: "float16", reductionLength: 32, groupCount: 1, scaleMagnitude: 2 ** -10 }));
    expect(elementBudget(plan, 1, 20, 20, 12000).mayOverflow).toBe(true);
    expect(elementBudget(plan, 1, 20, 20, 100).mayOverflow).toBe(false);
  });

  it("scale beyond the accumulator overflows", () => {
    const plan = bounded(setting(VARIANTS["mlx-cpu"], { mode: "mxfp4", outDType: "float16", reductionLength: 32, groupCount: 1, scaleMagnitude: 2 ** 16 }));
    expect(plan.weightMayOverflow).toBe(true);
  });

  it("factored form has no weight term", () => {
    const plan = bounded(setting(VARIANTS["factored/f32-w32"], { reductionLength: 64, groupCount: 2 }));
    expect(plan.weightFormat).toBe("exact");
    const elsewhere = bounded(setting(VARIANTS["factored/f32-w32"], { transpose: false, reductionLength: 64, groupCount: 64 }));
    expect(elsewhere.weightFormat).toBe("float32");
  });

  it("accumulation overflow sets mayOverflow", () => {
    const plan = bounded(setting(VARIANTS["sequential/compute"], { outDType: "float16", reductionLength: 16 }));
    expect(elementBudget(plan, 1, 65000, 65000, 1).mayOverflow).toBe(true);
    expect(elementBudget(plan, 1, 1000, 1000, 1).mayOverflow).toBe(false);
  });

  it("n·u beyond 1 still gives a finite budget", () => {
    // float16 accumulation over K = 2048: γ_2048(2^-11) = (1 + 2^-11)^2048 − 1 ≈ e − 1.
    const plan = bounded(setting(VARIANTS["sequential/compute"], { outDType: "float16", reductionLength: 2048 }));
    const budget = elementBudget(plan, 1, 1, 1, 1);
    expect(Number.isFinite(budget.bound)).toBe(true);
    expect(budget.accumulationTerm).toBeGreaterThan(Math.E - 1);
    expect(budget.accumulationTerm).toBeLessThan(2);
    expect(budget.mayOverflow).toBe(false);
  });

  it("bit-exact plan has a zero budget", () => {
    const plan = planBudget(setting(VARIANTS.exact)) as BudgetPlan;
    expect(elementBudget(plan, 1, 1, 1, 1).bound).toBe(0);
  });
});
