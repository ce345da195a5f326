/**
 * Judges a backend's output against the expectation of a value case, element by element, with the
 * budget of the backend's declared variant and the non-finite rules of SPEC.md §8.3.
 */
import type { Tensor } from "../../spec/types.ts";
import type { ConditionData } from "../../reference/result.ts";
import { FORMATS, ulp } from "./formats.ts";
import { elementBudget } from "./plan.ts";
import type { BudgetPlan } from "./plan.ts";
import { floatValues } from "./values.ts";

/** The reason one element failed. */
export type ElementFailure =
  /** Both values are finite and the error exceeds the budget. */
  | "out-of-budget"
  /** The `exact` variant returned something other than the correctly rounded y. */
  | "bit-mismatch"
  /** The exact value is finite, the result is not, and no overflow is possible. */
  | "unexpected-non-finite"
  /** The exact value is NaN or ±inf and the result is finite. */
  | "missing-non-finite"
  /** The exact value is non-finite and the result is non-finite of another class or sign. */
  | "wrong-non-finite";

/** The verdict on one output element with the numbers behind it. */
export interface ElementCheck {
  /** Flat (row-major) index into the output. */
  readonly index: number;
  readonly got: number;
  /** y_exact rounded to float64. */
  readonly exact: number;
  /** The correctly rounded y. */
  readonly expected: number;
  /** The budget B (0 for the `exact` variant). */
  readonly bound: number;
  /** |got − exact|; NaN when either is non-finite. */
  readonly error: number;
  /** The error in ulps of the output dtype at |exact|; NaN when either is non-finite. */
  readonly errorUlps: number;
  /** error / bound: at most 1 passes. 0 for an accepted non-finite result, Infinity for a failed one. */
  readonly ratio: number;
  readonly mayOverflow: boolean;
  readonly failure: ElementFailure | null;
}

/** Per-element condition data and expected values of a value case. */
export interface ExpectedValues {
  readonly y: Float64Array;
  readonly exact: Float64Array;
  readonly condition: ConditionData;
}

/** Checks element `index` of `got` (values as float64). */
export function checkElement(plan: BudgetPlan, expected: ExpectedValues, got: Float64Array, index: number): ElementCheck {
  const value = got[index];
  const exact = expected.exact[index];
  const y = expected.y[index];
  const finite = Number.isFinite(value) && Number.isFinite(exact);
  const error = finite ? Math.abs(value - exact) : NaN;
  const errorUlps = finite ? error / ulp(plan.outDType, exact) : NaN;
  const base = { index, got: value, exact, expected: y, error, errorUlps };

  if (plan.kind === "bit-exact") {
    const equal = value === y || (Number.isNaN(value) && Number.isNaN(y));
    const ratio = equal ? 0 : Infinity;
    return { ...base, bound: 0, ratio, mayOverflow: false, failure: equal ? null : "bit-mismatch" };
  }

  if (!Number.isFinite(exact)) {
    return { ...base, bound: 0, mayOverflow: false, ...judgeNonFiniteExact(plan.nonFiniteClassFree, value, exact) };
  }

  const { condition } = expected;
  const budget = elementBudget(plan, exact, condition.absSum[index], condition.dequantAbsSum[index], condition.xAbsSum[index]);
  const common = { ...base, bound: budget.bound, mayOverflow: budget.mayOverflow };

  if (Number.isFinite(value)) {
    return { ...common, ratio: budgetRatio(error, budget.bound), failure: error <= budget.bound ? null : "out-of-budget" };
  }

  if (budget.mayOverflow || reachesOverflow(plan.outDType, exact, budget.bound, value)) {
    return { ...common, ratio: 0, failure: null };
  }
  return { ...common, ratio: Infinity, failure: "unexpected-non-finite" };
}

/** Returns error / bound, with 0/0 = 0 and x/0 = Infinity for x > 0. */
function budgetRatio(error: number, bound: number): number {
  if (bound > 0) return error / bound;
  return error === 0 ? 0 : Infinity;
}

function judgeNonFiniteExact(classFree: boolean, value: number, exact: number): { ratio: number; failure: ElementFailure | null } {
  if (Number.isFinite(value)) return { ratio: Infinity, failure: "missing-non-finite" };

  const sameClass = Number.isNaN(exact) ? Number.isNaN(value) : value === exact;
  if (sameClass || classFree) return { ratio: 0, failure: null };
  return { ratio: Infinity, failure: "wrong-non-finite" };
}

/** True when `value` is an infinity of the sign of `exact` that the budget can reach by overflow. */
function reachesOverflow(outDType: BudgetPlan["outDType"], exact: number, bound: number, value: number): boolean {
  if (Number.isNaN(value) || Math.sign(value) !== Math.sign(exact)) return false;
  return Math.abs(exact) * (1 + 2 ** -52) + bound >= FORMATS[outDType].overflowThreshold;
}

/** The comparison of a whole output tensor. */
export type TensorComparison =
  | {
      readonly kind: "compared";
      readonly elementCount: number;
      /** Flat indices of the failed elements, ascending. */
      readonly failedIndices: readonly number[];
      /** The element with the largest error/budget ratio (the first one on ties), or null for an empty output. */
      readonly worst: ElementCheck | null;
      /** How many elements were allowed to overflow. */
      readonly mayOverflowCount: number;
      /** How many non-finite results for finite exact values were accepted as overflow. */
      readonly overflowAcceptedCount: number;
      /**
       * How many finite elements have a budget of at least Σ|x·ŵ|. There any output between 0 and
       * twice the exact value passes, so a pass tells nothing about the backend.
       */
      readonly vacuousCount: number;
      /** How many finite elements have |exact| within their budget, where an output of 0 passes. */
      readonly zeroPassesCount: number;
      /** The backend's values as float64, kept for the located diff. */
      readonly got: Float64Array;
    }
  | {
      readonly kind: "mismatch";
      readonly what: "dtype" | "shape";
      readonly expected: string;
      readonly actual: string;
    };

/** Compares a backend's output tensor with the expected y, exact values and condition data. */
export function compareTensor(plan: BudgetPlan, expectedY: Tensor, expected: ExpectedValues, got: Tensor): TensorComparison {
  if (got.dtype !== expectedY.dtype) {
    return { kind: "mismatch", what: "dtype", expected: expectedY.dtype, actual: String(got.dtype) };
  }

  const sameShape = got.shape.length === expectedY.shape.length && got.shape.every((size, axis) => size === expectedY.shape[axis]);
  if (!sameShape || got.data.length !== expectedY.data.length) {
    return { kind: "mismatch", what: "shape", expected: `[${expectedY.shape.join(", ")}]`, actual: `[${got.shape.join(", ")}] with ${got.data.length} elements` };
  }

  const values = floatValues(got);
  const failedIndices: number[] = [];
  let worstIndex = -1;
  let worstRatio = -1;
  let mayOverflowCount = 0;
  let overflowAcceptedCount = 0;
  let vacuousCount = 0;
  let zeroPassesCount = 0;
  const { absSum, dequantAbsSum, xAbsSum } = expected.condition;

  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    const exact = expected.exact[index];
    let ratio: number;
    let passed: boolean;

    // Fast paths for the common cases; everything else goes through checkElement.
    if (plan.kind === "bit-exact" && !Number.isNaN(value)) {
      passed = value === expected.y[index];
      ratio = passed ? 0 : Infinity;
    } else if (plan.kind === "bounded" && Number.isFinite(value) && Number.isFinite(exact)) {
      const budget = elementBudget(plan, exact, absSum[index], dequantAbsSum[index], xAbsSum[index]);
      const error = Math.abs(value - exact);
      passed = error <= budget.bound;
      ratio = budgetRatio(error, budget.bound);
      if (budget.mayOverflow) mayOverflowCount++;
      if (absSum[index] > 0 && budget.bound >= absSum[index]) vacuousCount++;
      if (Math.abs(exact) <= budget.bound) zeroPassesCount++;
    } else {
      const check = checkElement(plan, expected, values, index);
      passed = check.failure === null;
      ratio = check.ratio;
      if (check.mayOverflow) mayOverflowCount++;
      if (passed && !Number.isFinite(value) && Number.isFinite(exact)) overflowAcceptedCount++;
    }

    if (!passed) failedIndices.push(index);
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = index;
    }
  }

  const worst = worstIndex < 0 ? null : checkElement(plan, expected, values, worstIndex);
  return { kind: "compared", elementCount: values.length, failedIndices, worst, mayOverflowCount, overflowAcceptedCount, vacuousCount, zeroPassesCount, got: values };
}
