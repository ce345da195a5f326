/**
 * Error budgets: a rigorous a-priori bound on |y_backend − y_exact| per output element, derived
 * from the numerics variant a backend declares and the case's condition data (SPEC.md §8.4, §10).
 * Every term and the assumption behind it is explained in spec/NUMERICS.md. Nothing here is a
 * tuned threshold: a backend that computes the way it declares can never exceed the budget.
 */
import type { NumericsVariant } from "../../spec/variants.ts";
import type { FloatDType, Mode } from "../../spec/types.ts";
import { FORMATS, gamma, maxFinite, subnormalError, ulp, unitRoundoff } from "./formats.ts";
import type { BudgetFormat } from "./formats.ts";

/** What the budget of one case depends on besides the per-element condition data. */
export interface BudgetSetting {
  readonly variant: NumericsVariant;
  /** The case's output dtype T, which is also what `compute` means in the variant. */
  readonly outDType: FloatDType;
  readonly mode: Mode;
  readonly transpose: boolean;
  readonly groupSize: number;
  /** K. */
  readonly reductionLength: number;
  /** G: the number of groups along the reduction. */
  readonly groupCount: number;
  /**
   * An upper bound on |ŵ| over the case's finite dequantized weights, used to detect that rounding
   * ŵ to the weight dtype may overflow. Omit it when unknown, and that check is skipped.
   */
  readonly weightMagnitude?: number;
  /**
   * The largest finite |scale| of the case. The per-group forms multiply an underflowed partial
   * result by the scale, so their subnormal terms grow with it. When omitted, the group-scaled
   * fp forms take it as unbounded and the factored form assumes |scale| ≤ 1.
   */
  readonly scaleMagnitude?: number;
  /** The bit width of the affine codes, which bounds Σ x·q in the factored form. Default 8. */
  readonly bits?: number;
}

/** The budget's model of how the sum is formed. */
export type AccumulationModel = "exact" | "dequantize-dot" | "factored" | "split-k" | "group-scaled";

/** A budget prepared for one case; {@link elementBudget} evaluates it per element. */
export type BudgetPlan =
  | { readonly kind: "bit-exact"; readonly outDType: FloatDType; readonly nonFiniteClassFree: boolean }
  | {
      readonly kind: "bounded";
      readonly outDType: FloatDType;
      /** Whether a non-finite exact value accepts a non-finite result of the other class. */
      readonly nonFiniteClassFree: boolean;
      readonly weightRounding: NumericsVariant["weightRounding"];
      readonly weightFormat: BudgetFormat;
      readonly accumulation: AccumulationModel;
      /** The number of roundings n in γ_n. */
      readonly roundings: number;
      /** The unit roundoff u in γ_n(u). */
      readonly accumulationRoundoff: number;
      /** γ_n(u). */
      readonly gammaN: number;
      /** The absolute subnormal term of the accumulation: a count of roundings times η. */
      readonly accumulationSubnormal: number;
      /** A subnormal term proportional to X (group-scaled forms): added as this factor times X. */
      readonly subnormalPerX: number;
      /**
       * For group-scaled forms, an intermediate that is not bounded by S' (Σ x·value before the
       * scale, or x·scale) is at most this factor times X; 0 when there is none.
       */
      readonly intermediatePerX: number;
      /** The max finite value of the accumulator format, which intermediatePerX·X must stay below. */
      readonly accumulatorMax: number;
      /** Factor (1 + (K+2)·2^−52) that covers the float64 rounding of S, D and X in the reference. */
      readonly conditionInflation: number;
      /** The smallest max finite value among the accumulator, partial-sum and output formats. */
      readonly overflowLimit: number;
      /** True when rounding ŵ to the weight format may overflow for this case. */
      readonly weightMayOverflow: boolean;
    };

/** The per-element budget and the terms it is made of (all absolute, in float64). */
export interface ElementBudget {
  /** B: the bound on |y_backend − exact|. 0 for the bit-exact plan, which compares bits instead. */
  readonly bound: number;
  /** Δw: the error from rounding the dequantized weight. */
  readonly weightTerm: number;
  /** A: the error of forming and summing the products. */
  readonly accumulationTerm: number;
  /** ½·ulp_out of the largest magnitude the unrounded result can have: the final rounding. */
  readonly roundingTerm: number;
  /** 2^−53·|y_exact|: the reference stores y_exact rounded to float64. */
  readonly storageTerm: number;
  /** True when the computation may overflow, so that a non-finite result is accepted. */
  readonly mayOverflow: boolean;
}

/** A budget a variant cannot be given, with the reason. */
export interface UnmodelledVariant {
  readonly kind: "unmodelled";
  readonly reason: string;
}

const FLOAT64_UNIT = 2 ** -53;

/** The largest magnitude of an E2M1 element (SPEC.md §3.3). */
const E2M1_MAX = 6;

/** The largest magnitude of a finite E4M3 element (SPEC.md §3.4). */
const E4M3_MAX = 448;

/**
 * Relative slack on B that covers the rounding of the budget formula itself, evaluated in float64
 * with round-to-nearest: fewer than 30 operations, each off by at most 2^−53 relative.
 */
export const EVALUATION_SLACK = 1 + 2 ** -48;

/** Resolves `compute` to the case's output dtype. */
function resolveFormat(name: string, outDType: FloatDType): BudgetFormat {
  return (name === "compute" ? outDType : name) as BudgetFormat;
}

/** Prepares the budget of one case, or explains why the variant has no budget model. */
export function planBudget(setting: BudgetSetting): BudgetPlan | UnmodelledVariant {
  const { variant, outDType } = setting;
  const K = setting.reductionLength;

  if (variant.accumulator === "exact" && variant.weightRounding === "exact" && variant.splitK === undefined) {
    return { kind: "bit-exact", outDType, nonFiniteClassFree: variant.nonFiniteClassFree };
  }

  const factored = variant.form === "factored" && setting.mode === "affine" && setting.transpose;
  const groupScaled = variant.fpScaling === "group-scaled" && setting.mode !== "affine";
  if ((factored || groupScaled) && variant.splitK !== undefined) {
    return { kind: "unmodelled", reason: `variant ${variant.name} combines a per-group form with split-K, which has no derived bound` };
  }

  // The factored and group-scaled forms never form ŵ, so ŵ has no rounding of its own there.
  const formsWeight = !factored && !groupScaled && variant.weightRounding !== "exact";
  const weightFormat: BudgetFormat = formsWeight ? resolveFormat(variant.weightDType, outDType) : "exact";
  const accumulatorFormat = resolveFormat(variant.accumulator, outDType);
  const uAcc = unitRoundoff(accumulatorFormat);
  const etaAcc = subnormalError(accumulatorFormat);
  const accumulatorMax = maxFinite(accumulatorFormat);

  let accumulation: AccumulationModel;
  let roundings: number;
  let u = uAcc;
  let accumulationSubnormal: number;
  let subnormalPerX = 0;
  let intermediatePerX = 0;
  let overflowLimit = Math.min(accumulatorMax, FORMATS[outDType].maxFinite);
  let scaleMayOverflow = false;

  if (variant.splitK !== undefined) {
    const parts = variant.splitK.parts;
    const partialFormat = resolveFormat(variant.splitK.partialDType, outDType);
    accumulation = "split-k";
    roundings = Math.ceil(K / parts) + parts;
    u = Math.max(uAcc, unitRoundoff(partialFormat));
    accumulationSubnormal = (K + parts) * Math.max(etaAcc, subnormalError(partialFormat));
    overflowLimit = Math.min(overflowLimit, maxFinite(partialFormat));
  } else if (accumulatorFormat === "exact") {
    accumulation = "exact";
    roundings = 0;
    accumulationSubnormal = 0;
  } else if (factored) {
    accumulation = "factored";
    roundings = setting.groupSize + 2 * setting.groupCount;
    // An underflow of x·q is multiplied by s afterwards; s·Σxq and β·Σx add one η per group each.
    accumulationSubnormal = K * (Math.max(1, setting.scaleMagnitude ?? 1) + 1) * etaAcc;
    // Σ x·q is not bounded by D when s is small: |Σ x·q| ≤ (2^bits − 1)·X.
    intermediatePerX = 2 ** (setting.bits ?? 8) - 1;
  } else if (groupScaled) {
    accumulation = "group-scaled";
    const elementMax = setting.mode === "mxfp8" ? E4M3_MAX : E2M1_MAX;
    const scaleMax = setting.scaleMagnitude ?? Infinity;
    scaleMayOverflow = scaleMax > accumulatorMax;
    if (setting.transpose) {
      // x·v rounded, gs − 1 group additions, ·s rounded, then G additions to the running sum. An
      // underflow of x·v is scaled by s afterwards; converting s to the accumulator adds at most
      // η per group, times |Σ x·v| ≤ elementMax·X.
      roundings = setting.groupSize + setting.groupCount + 1;
      accumulationSubnormal = (K * scaleMax + setting.groupCount) * etaAcc;
      subnormalPerX = elementMax * etaAcc;
      intermediatePerX = elementMax;
    } else {
      // (x·s)·v with both products rounded, then K additions into the output row. An underflow
      // of x·s, and of s converted to the accumulator, is multiplied by |v| ≤ elementMax.
      roundings = K + 1;
      accumulationSubnormal = K * (elementMax + 1) * etaAcc;
      subnormalPerX = elementMax * etaAcc;
      intermediatePerX = scaleMax;
    }
  } else {
    accumulation = "dequantize-dot";
    roundings = K - 1 + (variant.productRounding ? 1 : 0);
    accumulationSubnormal = variant.productRounding ? K * etaAcc : 0;
  }

  const weightMayOverflow =
    scaleMayOverflow || (weightFormat !== "exact" && setting.weightMagnitude !== undefined && setting.weightMagnitude > maxFinite(weightFormat));

  return {
    kind: "bounded",
    outDType,
    nonFiniteClassFree: variant.nonFiniteClassFree,
    weightRounding: formsWeight ? variant.weightRounding : "exact",
    weightFormat,
    accumulation,
    roundings,
    accumulationRoundoff: u,
    gammaN: gamma(roundings, u),
    accumulationSubnormal,
    subnormalPerX,
    intermediatePerX,
    accumulatorMax,
    conditionInflation: 1 + (K + 2) * 2 ** -52,
    overflowLimit,
    weightMayOverflow,
  };
}

/**
 * Evaluates the budget of one output element from its exact value (float64, finite) and condition
 * data: absSum S, dequantAbsSum D and xAbsSum X. See spec/NUMERICS.md for each term.
 */
export function elementBudget(
  plan: BudgetPlan,
  exact: number,
  absSum: number,
  dequantAbsSum: number,
  xAbsSum: number,
): ElementBudget {
  if (plan.kind === "bit-exact") {
    return { bound: 0, weightTerm: 0, accumulationTerm: 0, roundingTerm: 0, storageTerm: 0, mayOverflow: false };
  }

  const S = absSum * plan.conditionInflation;
  const D = dequantAbsSum * plan.conditionInflation;
  const X = xAbsSum * plan.conditionInflation;

  let weightTerm = 0;
  if (plan.weightRounding === "once") {
    weightTerm = unitRoundoff(plan.weightFormat) * S + subnormalError(plan.weightFormat) * X;
  } else if (plan.weightRounding === "twice") {
    weightTerm = gamma(2, unitRoundoff(plan.weightFormat)) * D + 2 * subnormalError(plan.weightFormat) * X;
  }
  const sPrime = S + weightTerm;

  const magnitude = plan.accumulation === "factored" ? D : sPrime;
  // An absolute rounding error of a product or scale passes through the later additions too, so
  // it grows by at most the factor (1 + γ_n).
  const subnormalTerm = (plan.accumulationSubnormal + plan.subnormalPerX * X) * (1 + plan.gammaN);
  const accumulationTerm = plan.gammaN * magnitude + subnormalTerm;

  // |exact| is y_exact rounded to float64, so |y_exact| ≤ |exact|·(1 + 2^−52).
  const exactMagnitude = Math.abs(exact) * (1 + 2 ** -52);
  const roundingTerm = 0.5 * ulp(plan.outDType, exactMagnitude + weightTerm + accumulationTerm);
  const storageTerm = FLOAT64_UNIT * exactMagnitude;

  const bound = (weightTerm + accumulationTerm + roundingTerm + storageTerm) * EVALUATION_SLACK;

  const peak = Math.max(sPrime, plan.accumulation === "factored" ? D : 0) * (1 + plan.gammaN);
  const intermediatePeak = plan.intermediatePerX * X * (1 + plan.gammaN);
  const mayOverflow = plan.weightMayOverflow || peak > plan.overflowLimit || intermediatePeak > plan.accumulatorMax;

  return { bound, weightTerm, accumulationTerm, roundingTerm, storageTerm, mayOverflow };
}
