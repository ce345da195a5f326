import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import type { Tensor } from "../../../spec/types.ts";
import { checkElement, compareTensor } from "../compare.ts";
import type { ExpectedValues } from "../compare.ts";
import { elementBudget, planBudget } from "../plan.ts";
import type { BudgetPlan } from "../plan.ts";

function plan(variant: NumericsVariant, outDType: "float32" | "float16" = "float32", K = 4): BudgetPlan {
  const result = planBudget({ variant, outDType, mode: "affine", transpose: true, groupSize: 32, reductionLength: K, groupCount: 1 });
  if (result.kind === "unmodelled") throw new Error(result.reason);
  return result;
}

/** Expected values of a one-element output with the given exact value, rounded y and condition data. */
function expectedOne(exact: number, y: number, absSum = 1, dequantAbsSum = absSum, xAbsSum = 1, K = 4): ExpectedValues {
  return {
    y: Float64Array.of(y),
    exact: Float64Array.of(exact),
    condition: {
      absSum: Float64Array.of(absSum),
      dequantAbsSum: Float64Array.of(dequantAbsSum),
      xAbsSum: Float64Array.of(xAbsSum),
      reductionLength: K,
      groupCount: 1,
    },
  };
}

function check(p: BudgetPlan, expected: ExpectedValues, got: number) {
  return checkElement(p, expected, Float64Array.of(got), 0);
}

describe("checkElement bounded", () => {
  const f32 = plan(VARIANTS["dequantize-dot/f32"]);

  it("error equal to the bound passes", () => {
    const expected = expectedOne(0, 0, 1);
    const bound = elementBudget(f32, 0, 1, 1, 1).bound;
    const result = check(f32, expected, bound);
    expect(result.failure).toBeNull();
    expect(result.ratio).toBe(1);
    expect(check(f32, expected, -bound).failure).toBeNull();
  });

  it("error just beyond the bound fails", () => {
    const expected = expectedOne(0, 0, 1);
    const bound = elementBudget(f32, 0, 1, 1, 1).bound;
    const beyond = bound * (1 + 2 ** -52);
    expect(beyond).toBeGreaterThan(bound);
    const result = check(f32, expected, beyond);
    expect(result.failure).toBe("out-of-budget");
    expect(result.ratio).toBeGreaterThan(1);
  });

  it("error in ulps of the output", () => {
    const result = check(f32, expectedOne(1, 1, 1), 1 + 2 ** -23);
    expect(result.errorUlps).toBe(1);
  });

  it("non-finite result for a finite value fails", () => {
    expect(check(f32, expectedOne(1, 1), Infinity).failure).toBe("unexpected-non-finite");
    expect(check(f32, expectedOne(1, 1), NaN).failure).toBe("unexpected-non-finite");
  });

  it("may-overflow accepts a non-finite result", () => {
    const f16 = plan(VARIANTS["sequential/compute"], "float16", 16);
    const result = check(f16, expectedOne(1, 1, 65000, 65000), NaN);
    expect(result.mayOverflow).toBe(true);
    expect(result.failure).toBeNull();
  });

  it("infinity accepted at the overflow threshold", () => {
    const f16 = plan(VARIANTS["dequantize-dot/f32"], "float16", 1);
    // Synthetic: absSum 1 is below |exact|, which keeps the may-overflow rule out of the way.
    // y_exact = 65519 rounds to 65504 but 65519 + B (B ≥ ½ ulp = 16) reaches the threshold 65520.
    const nearThreshold = expectedOne(65519, 65504, 1, 1, 1, 1);
    expect(check(f16, nearThreshold, Infinity).failure).toBeNull();
    expect(check(f16, nearThreshold, -Infinity).failure).toBe("unexpected-non-finite");
    expect(check(f16, nearThreshold, NaN).failure).toBe("unexpected-non-finite");

    // 65503 + B = 65503 + 16.0039… stays below 65520, and S'·(1 + γ_1) stays below 65504.
    const belowThreshold = expectedOne(65503, 65504, 65503, 65503, 1, 1);
    expect(check(f16, belowThreshold, 65504).failure).toBeNull();
    expect(check(f16, belowThreshold, Infinity).failure).toBe("unexpected-non-finite");
  });

  it("NaN expected needs NaN", () => {
    expect(check(f32, expectedOne(NaN, NaN), NaN).failure).toBeNull();
    expect(check(f32, expectedOne(NaN, NaN), Infinity).failure).toBe("wrong-non-finite");
    expect(check(f32, expectedOne(NaN, NaN), 0).failure).toBe("missing-non-finite");
  });

  it("infinity expected needs the same infinity", () => {
    expect(check(f32, expectedOne(Infinity, Infinity), Infinity).failure).toBeNull();
    expect(check(f32, expectedOne(Infinity, Infinity), -Infinity).failure).toBe("wrong-non-finite");
    expect(check(f32, expectedOne(-Infinity, -Infinity), NaN).failure).toBe("wrong-non-finite");
    expect(check(f32, expectedOne(Infinity, Infinity), 3e38).failure).toBe("missing-non-finite");
  });

  it("class-free variant accepts any non-finite", () => {
    const factored = plan(VARIANTS["factored/f32"]);
    expect(check(factored, expectedOne(Infinity, Infinity), NaN).failure).toBeNull();
    expect(check(factored, expectedOne(NaN, NaN), -Infinity).failure).toBeNull();
    expect(check(factored, expectedOne(NaN, NaN), 1).failure).toBe("missing-non-finite");
  });
});

describe("checkElement bit-exact", () => {
  const exact = plan(VARIANTS.exact);

  it("equal bits pass", () => {
    expect(check(exact, expectedOne(1.00000001, 1), 1).failure).toBeNull();
  });

  it("signed zeros are equal", () => {
    expect(check(exact, expectedOne(0, 0), -0).failure).toBeNull();
  });

  it("any NaN matches NaN", () => {
    expect(check(exact, expectedOne(NaN, NaN), NaN).failure).toBeNull();
  });

  it("one ulp off fails", () => {
    const result = check(exact, expectedOne(1, 1), 1 + 2 ** -23);
    expect(result.failure).toBe("bit-mismatch");
    expect(result.ratio).toBe(Infinity);
  });
});

describe("compareTensor", () => {
  const f32 = plan(VARIANTS["dequantize-dot/f32"]);
  const y: Tensor = { dtype: "float32", shape: [1, 3], data: Float32Array.of(1, 2, 3) };
  const expected: ExpectedValues = {
    y: Float64Array.of(1, 2, 3),
    exact: Float64Array.of(1, 2, 3),
    condition: {
      absSum: Float64Array.of(1, 2, 3),
      dequantAbsSum: Float64Array.of(1, 2, 3),
      xAbsSum: Float64Array.of(1, 1, 1),
      reductionLength: 4,
      groupCount: 1,
    },
  };

  it("dtype mismatch", () => {
    const got: Tensor = { dtype: "float16", shape: [1, 3], data: Uint16Array.of(0, 0, 0) };
    expect(compareTensor(f32, y, expected, got)).toMatchObject({ kind: "mismatch", what: "dtype" });
  });

  it("shape mismatch", () => {
    const got: Tensor = { dtype: "float32", shape: [3], data: Float32Array.of(1, 2, 3) };
    expect(compareTensor(f32, y, expected, got)).toMatchObject({ kind: "mismatch", what: "shape" });
  });

  it("worst element and failed indices", () => {
    const got: Tensor = { dtype: "float32", shape: [1, 3], data: Float32Array.of(1, 2.5, 3 + 2 ** -22) };
    const result = compareTensor(f32, y, expected, got);
    if (result.kind !== "compared") throw new Error("expected a comparison");
    expect(result.failedIndices).toEqual([1]);
    expect(result.worst?.index).toBe(1);
    expect(result.elementCount).toBe(3);
    expect(result.overflowAcceptedCount).toBe(0);
  });

  it("counts accepted overflows", () => {
    const f16 = plan(VARIANTS["sequential/compute"], "float16", 16);
    const y16: Tensor = { dtype: "float16", shape: [2], data: Uint16Array.of(0x7bef, 0x3c00) };
    const values: ExpectedValues = {
      y: Float64Array.of(64992, 1),
      exact: Float64Array.of(65000, 1),
      condition: { absSum: Float64Array.of(65000, 1), dequantAbsSum: Float64Array.of(65000, 1), xAbsSum: Float64Array.of(1, 1), reductionLength: 16, groupCount: 1 },
    };
    const got: Tensor = { dtype: "float16", shape: [2], data: Uint16Array.of(0x7c00, 0x3c00) };
    const result = compareTensor(f16, y16, values, got);
    if (result.kind !== "compared") throw new Error("expected a comparison");
    expect(result.failedIndices).toEqual([]);
    expect(result.overflowAcceptedCount).toBe(1);
    expect(result.mayOverflowCount).toBe(1);
  });
});
