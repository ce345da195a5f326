/**
 * Patterns read from the size of the errors rather than their position. An error can equal the
 * contribution of the last group along K (a dropped or doubled tail group), the bias part of that
 * group, or a raw scale or bias value. The contributions come from the exact reference run on
 * masked inputs, so they are exact up to the float64 storage of `exact`.
 */
import { quantizedMatmul } from "../../reference/matmul.ts";
import { MODE_RULES } from "../../spec/types.ts";
import type { Mode, QmmInputs, QmmParamsInput, Tensor } from "../../spec/types.ts";
import type { FailurePattern } from "../run/records.ts";
import { floatValues } from "../budget/values.ts";

/** The facts the magnitude patterns are read from. */
export interface MagnitudeInput {
  readonly params: QmmParamsInput;
  readonly inputs: QmmInputs;
  readonly outShape: readonly number[];
  /** Flat indices of the failed elements, ascending and non-empty. */
  readonly failedIndices: readonly number[];
  readonly got: Float64Array;
  readonly exact: Float64Array;
  /** The budget of each failed element, in the order of failedIndices. */
  readonly bounds: readonly number[];
}

/** The share of failed elements a candidate must explain to be named. */
const EXPLAINED_SHARE = 0.9;

/** Relative tolerance when an error is matched against a scale or bias value. */
const VALUE_MATCH = 1 / 16;

/**
 * The largest output size times K for which the reference reruns on masked inputs. Beyond it the
 * group patterns are skipped, so that a failure report never costs much more than the case.
 */
const MAX_RERUN_TERMS = 2 ** 24;

/**
 * Returns the first magnitude pattern the failed elements match, or null. Runs the exact
 * reference up to twice on masked inputs, so it costs about as much as the reference on the case.
 */
export function classifyMagnitude(input: MagnitudeInput): FailurePattern | null {
  const mode = (input.params.mode ?? "affine") as Mode;
  if (!Object.hasOwn(MODE_RULES, mode) || !(input.params.transpose ?? true)) return null;

  const groupSize = input.params.groupSize ?? MODE_RULES[mode].defaultGroupSize;
  const K = input.inputs.x.shape[input.inputs.x.shape.length - 1];
  if (K <= groupSize || input.exact.length * K > MAX_RERUN_TERMS) return scaleSized(input, mode);

  const lastGroupInputs = { ...input.inputs, x: maskX(input.inputs.x, K - groupSize) };
  const lastGroup = quantizedMatmul(lastGroupInputs, input.params).exact;
  if (explains(input, lastGroup)) {
    return {
      name: "last-group-along-k",
      description: `the errors equal the contribution of the last group along K (k ≥ ${K - groupSize}): the last group is dropped or counted twice, often a K loop bound or K-tail bug`,
    };
  }

  if (mode === "affine") {
    const zeroCodes = { ...lastGroupInputs, w: { ...input.inputs.w, data: new Uint32Array(input.inputs.w.data.length) } };
    const lastBias = quantizedMatmul(zeroCodes, input.params).exact;
    if (explains(input, lastBias)) {
      return {
        name: "last-group-bias",
        description: `the errors equal β·Σx of the last group along K (k ≥ ${K - groupSize}): the bias of the last group is dropped or counted twice`,
      };
    }
  }

  return scaleSized(input, mode);
}

/** Returns a copy of x with every element before column `from` of the last axis set to zero. */
function maskX(x: Tensor, from: number): Tensor {
  const K = x.shape[x.shape.length - 1];
  const data = x.data.slice();
  for (let i = 0; i < data.length; i++) {
    if (i % K < from) data[i] = 0;
  }
  return { ...x, data };
}

/** True when got − exact ≈ ±contribution for most failed elements. */
function explains(input: MagnitudeInput, contribution: Float64Array): boolean {
  let explained = 0;

  input.failedIndices.forEach((index, n) => {
    const c = contribution[index];
    const error = input.got[index] - input.exact[index];
    if (!Number.isFinite(error) || !Number.isFinite(c) || c === 0) return;

    // The rest of the error, once the contribution is taken out, must fit the budget and be
    // clearly smaller than the error itself; otherwise large drift matches any contribution.
    const tolerance = Math.min(input.bounds[n], Math.abs(error) / 4) + Math.abs(c) * 2 ** -10;
    if (Math.abs(error + c) <= tolerance || Math.abs(error - c) <= tolerance) explained++;
  });

  return explained >= EXPLAINED_SHARE * input.failedIndices.length;
}

/** Names errors whose size matches a scale or bias value of the element's weight row. */
function scaleSized(input: MagnitudeInput, mode: Mode): FailurePattern | null {
  if (mode !== "affine" || input.inputs.scales.shape.length !== 2) return null;

  const N = input.outShape[input.outShape.length - 1];
  const scales = floatValues(input.inputs.scales);
  const biases = input.inputs.biases ? floatValues(input.inputs.biases) : new Float64Array(0);
  const groupsPerRow = input.inputs.scales.shape[1];
  let explained = 0;

  for (const index of input.failedIndices) {
    const error = Math.abs(input.got[index] - input.exact[index]);
    if (!Number.isFinite(error) || error === 0) continue;

    const row = index % N;
    for (let g = 0; g < groupsPerRow; g++) {
      const candidates = [Math.abs(scales[row * groupsPerRow + g]), Math.abs(biases[row * groupsPerRow + g] ?? 0)];
      if (candidates.some((value) => value > 0 && Math.abs(error - value) <= value * VALUE_MATCH)) {
        explained++;
        break;
      }
    }
  }

  if (explained < EXPLAINED_SHARE * input.failedIndices.length) return null;
  return {
    name: "scale-or-bias-sized",
    description: "the errors have the size of a scale or bias of the element's weight row: look for a scale or bias applied to the wrong group, or applied twice",
  };
}
