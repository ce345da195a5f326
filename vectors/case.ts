/**
 * The golden-case contract shared by the vector store and the harness. A case ID is a stable,
 * readable query string (for example `affine/b4/g64/float16/t/M1_K4096_N11/random-normal`) that names
 * the case everywhere: in the CLI filter, in report rows and in the rerun command.
 * `loadSuites` in ./load.ts streams these cases (and LoadFailure records) from the vector files.
 */
import type { ErrorCode, SpecIssue } from "../spec/errors.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../spec/types.ts";
import type { ConditionData } from "../reference/result.ts";

/** The result a backend must produce for a case. */
export type Expectation =
  | {
      readonly kind: "value";
      /** The correctly rounded result (SPEC.md §8.2). */
      readonly y: Tensor;
      /** The exact result rounded to float64 (SPEC.md §8.3 for non-finite values). */
      readonly exact: Float64Array;
      readonly condition: ConditionData;
    }
  | {
      readonly kind: "error";
      /** The error code a backend that reports errors must return. */
      readonly code: ErrorCode;
    };

/** One golden case, loaded and validated. */
export interface GoldenCase {
  readonly id: string;
  /** The suite the case belongs to: `generated`, `exact`, `errors` or `real`. */
  readonly suite: string;
  readonly params: QmmParamsInput;
  readonly inputs: QmmInputs;
  readonly expected: Expectation;
  /** Value pattern and shape-class tags, for coverage and filtering. */
  readonly tags: readonly string[];
  /**
   * True for the exact-by-construction tier (suite `exact`). Every partial sum of such a case is
   * representable in any order and in any dtype the case involves. So a backend must return the
   * expected y bit for bit, whatever numerics variant it declares. Absent means false.
   * NOTE: the harness must require bit equality for these cases instead of the variant's budget.
   */
  readonly exactTier?: boolean;
}

/** A vector file or case that could not be loaded; the run reports it and goes on with the rest. */
export interface LoadFailure {
  readonly kind: "load-failure";
  readonly file: string;
  readonly caseId?: string;
  readonly issue: SpecIssue;
}
