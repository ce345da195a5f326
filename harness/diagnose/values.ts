/**
 * Builds the located diff of a value case that failed: the worst element with its neighbours, the
 * first failed elements, and the pattern the failures form.
 */
import { checkElement } from "../budget/compare.ts";
import type { ExpectedValues, TensorComparison } from "../budget/compare.ts";
import type { BudgetPlan } from "../budget/plan.ts";
import type { GoldenCase } from "../../vectors/case.ts";
import type { CaseFailure, FailurePattern } from "../run/records.ts";
import { classifyStructure } from "./classify.ts";
import { elementRow, neighbourIndices } from "./locate.ts";
import { classifyMagnitude } from "./magnitude.ts";

/** Neighbours shown on each side of the worst element. */
const WINDOW_RADIUS = 3;

/** Failed elements listed in index order. */
const FIRST_FAILURES = 8;

/** Describes a failed value comparison. */
export function describeValueFailure(
  golden: GoldenCase,
  variantName: string,
  plan: BudgetPlan,
  expected: ExpectedValues,
  comparison: Extract<TensorComparison, { kind: "compared" }>,
): Extract<CaseFailure, { kind: "values" }> {
  const outShape = golden.expected.kind === "value" ? golden.expected.y.shape : [];
  const { failedIndices, got } = comparison;
  const check = (index: number) => checkElement(plan, expected, got, index);

  const worstIndex = comparison.worst?.index ?? failedIndices[0];
  const window = neighbourIndices(worstIndex, outShape, WINDOW_RADIUS).map((index) => elementRow(check(index), outShape));
  const firstFailures = failedIndices.slice(0, FIRST_FAILURES).map((index) => elementRow(check(index), outShape));

  return {
    kind: "values",
    variant: variantName,
    elementCount: comparison.elementCount,
    failedCount: failedIndices.length,
    mayOverflowCount: comparison.mayOverflowCount,
    window,
    firstFailures,
    outShape: [...outShape],
    pattern: classify(golden, plan, expected, comparison, outShape),
  };
}

function classify(
  golden: GoldenCase,
  plan: BudgetPlan,
  expected: ExpectedValues,
  comparison: Extract<TensorComparison, { kind: "compared" }>,
  outShape: readonly number[],
): FailurePattern | null {
  const { failedIndices, got, elementCount } = comparison;
  const structure = { outShape, elementCount, failedIndices, got, exact: expected.exact };

  const structural = classifyStructure(structure);
  if (structural !== null && structural.name !== "all-elements") return structural;

  try {
    const bounds = failedIndices.map((index) => checkElement(plan, expected, got, index).bound);
    const magnitude = classifyMagnitude({ params: golden.params, inputs: golden.inputs, outShape, failedIndices, got, exact: expected.exact, bounds });
    if (magnitude !== null) return magnitude;
  } catch {
    // The magnitude patterns are hints: a reference failure on masked inputs only drops the hint.
  }

  return structural;
}
