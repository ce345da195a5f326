/**
 * Turns one backend outcome for one golden case into a case record: the capability check before
 * the call, and the verdict after it (error codes, the value comparison with the budget, crashes).
 */
import type { Capabilities, CallOutcome } from "../backend.ts";
import { isFloatDType, isMode, MODE_RULES } from "../../spec/types.ts";
import { VARIANTS } from "../../spec/variants.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import type { GoldenCase } from "../../vectors/case.ts";
import { compareTensor } from "../budget/compare.ts";
import { planBudget } from "../budget/plan.ts";
import { budgetSetting } from "../budget/setting.ts";
import { floatValues } from "../budget/values.ts";
import { describeValueFailure } from "../diagnose/values.ts";
import { elementRow } from "../diagnose/locate.ts";
import { renderFailure } from "../diagnose/render.ts";
import type { CaseFailure, CaseRecord } from "./records.ts";

/**
 * Returns why a backend cannot run a case, or null when it can. Error cases are checked only
 * against `reportsErrors`, because their inputs are invalid on purpose.
 */
export function unsupportedReason(golden: GoldenCase, capabilities: Capabilities): string | null {
  if (golden.expected.kind === "error") {
    return capabilities.reportsErrors ? null : "the backend does not report the spec's error codes (reportsErrors is false)";
  }

  const mode = golden.params.mode ?? "affine";
  if (!isMode(mode) || !capabilities.modes.includes(mode)) return `mode ${mode} is not supported`;

  const bits = golden.params.bits ?? MODE_RULES[mode].defaultBits;
  const allowedBits = capabilities.bits?.[mode];
  if (allowedBits !== undefined && !allowedBits.includes(bits)) return `bits ${bits} is not supported for ${mode}`;

  const floats = [golden.inputs.x, mode === "affine" ? golden.inputs.scales : null, golden.inputs.biases ?? null];
  for (const tensor of floats) {
    if (tensor !== null && isFloatDType(tensor.dtype) && !capabilities.dtypes.includes(tensor.dtype)) return `dtype ${tensor.dtype} is not supported`;
  }

  const transpose = golden.params.transpose ?? true;
  if (!capabilities.transpose.includes(transpose)) return `transpose=${transpose} is not supported`;

  if (golden.inputs.w.shape.length > 2 && !capabilities.batchedWeights) return "batched weights are not supported";

  const outputElements = golden.expected.y.data.length;
  if (capabilities.maxOutputElements !== undefined && outputElements > capabilities.maxOutputElements) {
    return `the output has ${outputElements} elements, more than the backend's limit of ${capabilities.maxOutputElements}`;
  }
  return null;
}

/** The identity of one evaluation, for the record. */
export interface EvaluationContext {
  readonly backend: string;
  readonly variant: NumericsVariant;
  readonly rerun: string;
}

/** Judges a backend's outcome for a case. Known divergences are applied afterwards by the runner. */
export function evaluateOutcome(golden: GoldenCase, outcome: CallOutcome, context: EvaluationContext): CaseRecord {
  const base = { backend: context.backend, suite: golden.suite, caseId: golden.id };
  const failed = (failure: CaseFailure, status: CaseRecord["status"] = "failed"): CaseRecord => ({
    ...base,
    status,
    failure,
    text: renderFailure(failure),
    rerun: context.rerun,
  });

  switch (outcome.kind) {
    case "unsupported":
      return { ...base, status: "unsupported", reason: outcome.reason };
    case "crashed":
      return failed({ kind: "crashed", message: outcome.message, stderrTail: outcome.stderrTail }, "crashed");
    case "timeout":
      return failed({ kind: "timeout", seconds: outcome.seconds, stderrTail: outcome.stderrTail }, "timeout");
    case "error":
      if (outcome.code === "E_UNSUPPORTED") return { ...base, status: "unsupported", reason: outcome.message };
      if (golden.expected.kind === "error") {
        if (outcome.code === golden.expected.code) return { ...base, status: "passed" };
        return failed({ kind: "wrong-error", expected: golden.expected.code, actual: outcome.code, message: outcome.message });
      }
      return failed({ kind: "unexpected-error", actual: outcome.code, message: outcome.message });
    case "ok":
      break;
  }

  const seconds = outcome.seconds === undefined ? {} : { seconds: outcome.seconds };
  if (golden.expected.kind === "error") return { ...failed({ kind: "missing-error", expected: golden.expected.code }), ...seconds };

  const { y, exact, condition } = golden.expected;
  if (!isFloatDType(y.dtype)) throw new TypeError(`case ${golden.id}: the expected y has dtype ${y.dtype}, not a float dtype`);
  const variant = golden.exactTier === true ? VARIANTS.exact : context.variant;
  const plan = planBudget(budgetSetting(variant, golden.params, golden.inputs, y.dtype, condition));
  if (plan.kind === "unmodelled") return { ...failed({ kind: "unmodelled-variant", reason: plan.reason }), ...seconds };

  const expected = { y: floatValues(y), exact, condition };
  const comparison = compareTensor(plan, y, expected, outcome.y);
  if (comparison.kind === "mismatch") {
    return { ...failed({ kind: "mismatch", what: comparison.what, expected: comparison.expected, actual: comparison.actual }), ...seconds };
  }

  const worstRatio = comparison.worst?.ratio ?? 0;
  const worst = comparison.worst === null ? {} : { worst: elementRow(comparison.worst, y.shape) };
  const overflow = comparison.overflowAcceptedCount > 0 ? { mayOverflowAccepted: comparison.overflowAcceptedCount } : {};
  const zerosPass = comparison.elementCount > 0 && comparison.zeroPassesCount === comparison.elementCount;
  if (comparison.failedIndices.length === 0 && (comparison.vacuousCount > 0 || zerosPass)) {
    const reason =
      comparison.vacuousCount > 0
        ? `${comparison.vacuousCount} of ${comparison.elementCount} elements have a budget of variant ${variant.name} at least as large as Σ|x·ŵ|, so an output of 0 would pass there too; the variant is too loose to judge this case`
        : `every element's budget of variant ${variant.name} is at least its exact value, so an output of zeros would pass this case too; the variant is too loose to judge it`;
    return { ...base, status: "inconclusive", reason, vacuousElements: comparison.vacuousCount, worstRatio, ...worst, ...overflow, ...seconds };
  }
  if (comparison.failedIndices.length === 0) return { ...base, status: "passed", worstRatio, ...worst, ...overflow, ...seconds };

  const variantName = golden.exactTier === true ? `exact (the exact tier requires bit equality; declared ${context.variant.name})` : variant.name;
  const failure = describeValueFailure(golden, variantName, plan, expected, comparison);
  return { ...failed(failure), worstRatio, ...worst, ...overflow, ...seconds };
}
