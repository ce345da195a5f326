/** The value-pattern contract: how a named pattern turns a config and a random stream into inputs. */
import type { QmmInputs } from "../../../spec/types.ts";
import type { CaseConfig } from "../config.ts";
import type { Random } from "../random.ts";

/** A value pattern such as `random-normal` or `ties`. */
export interface ValuePattern {
  /** The last part of the case ID. */
  readonly name: string;
  /** One line on the inputs the pattern produces, for `vectors coverage`. */
  readonly summary: string;
  /** Returns undefined when the pattern fits the config, or the reason it does not. */
  unsupported(cfg: CaseConfig): string | undefined;
  /** Builds the inputs. Deterministic in `rng`. */
  build(cfg: CaseConfig, rng: Random): QmmInputs;
}

/** Splits the logical weight index (k, n) into the layout's (row, column). */
export function logicalIndex(cfg: CaseConfig, k: number, n: number): { row: number; col: number } {
  return cfg.transpose ? { row: n, col: k } : { row: k, col: n };
}

/** Same-dtype requirement shared by patterns that control rounding in one dtype. */
export function requireUniformDType(cfg: CaseConfig): string | undefined {
  if (cfg.mode === "affine" && (cfg.scalesDType !== cfg.xDType || cfg.biasesDType !== cfg.xDType)) {
    return "needs x, scales and biases in one dtype";
  }
  return undefined;
}
