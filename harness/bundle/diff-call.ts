/**
 * Compares a backend's output for one call with the exact result, element by element, within the
 * budget of a numerics variant: the computation behind `qmm-conformance diff`.
 */
import type { ExactResult } from "../../reference/result.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../spec/types.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import type { GoldenCase } from "../../vectors/case.ts";
import { compareTensor } from "../budget/compare.ts";
import type { ExpectedValues, TensorComparison } from "../budget/compare.ts";
import { elementBudget, planBudget } from "../budget/plan.ts";
import type { BudgetPlan, UnmodelledVariant } from "../budget/plan.ts";
import { budgetSetting } from "../budget/setting.ts";
import { floatValues } from "../budget/values.ts";
import { describeValueFailure } from "../diagnose/values.ts";
import type { CaseFailure } from "../run/records.ts";

/** The outcome of a diff. */
export type CallDiff =
  | {
      readonly kind: "compared";
      readonly exact: ExactResult;
      readonly plan: BudgetPlan;
      readonly comparison: Extract<TensorComparison, { kind: "compared" }>;
      /** The located diff: the worst element with its neighbours and the first failed elements. */
      readonly located: Extract<CaseFailure, { kind: "values" }>;
    }
  | { readonly kind: "mismatch"; readonly exact: ExactResult; readonly what: "dtype" | "shape"; readonly expected: string; readonly actual: string }
  | { readonly kind: "unmodelled"; readonly exact: ExactResult; readonly reason: string };

/** Prepares the budget of a call under `variant`, or explains why the variant has none. */
export function planCallBudget(inputs: QmmInputs, params: QmmParamsInput, exact: ExactResult, variant: NumericsVariant): BudgetPlan | UnmodelledVariant {
  return planBudget(budgetSetting(variant, params, inputs, exact.call.outDType, exact.condition));
}

/**
 * Returns the budget B of every output element, in flat order: 0 where the exact value is not
 * finite (the non-finite rules decide there) and everywhere under the bit-exact plan.
 */
export function elementBounds(plan: BudgetPlan, exact: ExactResult): Float64Array {
  const bounds = new Float64Array(exact.exact.length);
  if (plan.kind === "bit-exact") return bounds;

  const { absSum, dequantAbsSum, xAbsSum } = exact.condition;
  for (let index = 0; index < bounds.length; index++) {
    const value = exact.exact[index];
    if (Number.isFinite(value)) bounds[index] = elementBudget(plan, value, absSum[index], dequantAbsSum[index], xAbsSum[index]).bound;
  }
  return bounds;
}

/** Compares `got` with the exact result of the call (computed by the caller) within `variant`'s budget. */
export function diffCall(caseId: string, inputs: QmmInputs, params: QmmParamsInput, exact: ExactResult, got: Tensor, variant: NumericsVariant): CallDiff {
  const plan = planCallBudget(inputs, params, exact, variant);
  if (plan.kind === "unmodelled") return { kind: "unmodelled", exact, reason: plan.reason };

  const expected: ExpectedValues = { y: floatValues(exact.y), exact: exact.exact, condition: exact.condition };
  const comparison = compareTensor(plan, exact.y, expected, got);
  if (comparison.kind === "mismatch") return { kind: "mismatch", exact, what: comparison.what, expected: comparison.expected, actual: comparison.actual };

  const golden: GoldenCase = {
    id: caseId,
    suite: "diff",
    params,
    inputs,
    expected: { kind: "value", y: exact.y, exact: exact.exact, condition: exact.condition },
    tags: [],
  };
  const located = describeValueFailure(golden, variant.name, plan, expected, comparison);
  return { kind: "compared", exact, plan, comparison, located };
}
