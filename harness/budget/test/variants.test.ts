import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import type { FloatDType } from "../../../spec/types.ts";
import { affineCase, simulate } from "../../test/fixtures.ts";
import type { Defects } from "../../test/fixtures.ts";
import type { GoldenCase } from "../../../vectors/case.ts";
import { compareTensor } from "../compare.ts";
import { planBudget } from "../plan.ts";
import { budgetSetting } from "../setting.ts";
import { floatValues } from "../values.ts";
import { evaluateOutcome } from "../../run/evaluate.ts";

// Budgets checked against real reference results: backends that round exactly where their
// variant declares must pass, and backends that break their declaration must fail.

function judge(golden: GoldenCase, variant: NumericsVariant, defects: Defects = {}) {
  if (golden.expected.kind !== "value") throw new Error("value case expected");
  const { y, exact, condition } = golden.expected;
  const plan = planBudget(budgetSetting(variant, golden.params, golden.inputs, y.dtype as FloatDType, condition));
  if (plan.kind === "unmodelled") throw new Error(plan.reason);
  const got = simulate(variant, golden.inputs, golden.params, defects);
  const comparison = compareTensor(plan, y, { y: floatValues(y), exact, condition }, got);
  if (comparison.kind !== "compared") throw new Error(`mismatch: ${comparison.what}`);
  return comparison;
}

const HONEST: readonly NumericsVariant[] = [
  VARIANTS["dequantize-dot/f32"],
  VARIANTS["dequantize-dot/f64"],
  VARIANTS["dequantize-rounded/f32"],
  VARIANTS["sequential/compute"],
  VARIANTS["factored/f32"],
  VARIANTS["split-k/f32"],
];

const DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

describe("honest simulations pass", () => {
  for (const variant of HONEST) {
    for (const dtype of DTYPES) {
      it(`${variant.name} ${dtype}`, () => {
        for (const seed of [1, 2, 3]) {
          const golden = affineCase({ M: 3, K: 256, N: 5, dtype, seed, bits: 4, groupSize: 64 });
          const comparison = judge(golden, variant);
          expect(comparison.failedIndices).toEqual([]);
          expect(comparison.worst!.ratio).toBeLessThanOrEqual(1);
        }
      });
    }
  }
});

describe("sloppy simulations fail", () => {
  it("float16 accumulation declared as float32", () => {
    const golden = affineCase({ M: 4, K: 512, N: 8, dtype: "float32", seed: 7, groupSize: 64 });
    const comparison = judge(golden, VARIANTS["dequantize-dot/f32"], { accumulateIn: "float16" });
    expect(comparison.failedIndices.length).toBeGreaterThan(0);
    expect(comparison.worst!.ratio).toBeGreaterThan(1);
  });

  it("dropped bias of the last group", () => {
    const golden = affineCase({ M: 2, K: 256, N: 6, dtype: "float16", seed: 9, groupSize: 64 });
    const comparison = judge(golden, VARIANTS["dequantize-dot/f32"], { dropLastGroupBias: true });
    expect(comparison.failedIndices.length).toBeGreaterThan(0);
  });

  it("dropped bias is classified", () => {
    const golden = affineCase({ M: 2, K: 256, N: 6, dtype: "float32", seed: 9, groupSize: 64 });
    const y = simulate(VARIANTS["factored/f32"], golden.inputs, golden.params, { dropLastGroupBias: true });
    const record = evaluateOutcome(golden, { kind: "ok", y }, { backend: "sloppy", variant: VARIANTS["factored/f32"], rerun: "" });
    expect(record.status).toBe("failed");
    expect(record.failure?.kind).toBe("values");
    if (record.failure?.kind !== "values") return;
    expect(record.failure.pattern?.name).toBe("last-group-bias");
    expect(record.text).toContain("last-group-bias");
  });

});
