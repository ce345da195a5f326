/**
 * Where MLX (0.32.4, CPU) knowingly differs from the specification (SPEC.md §11). Each entry names
 * the cases by case-ID glob (`*` within a segment, `**` across segments, as `--filter` reads them)
 * and gives the reason. A case listed here that fails is reported as a known divergence, not a failure.
 *
 * Numeric drift is never listed: MLX declares the `mlx-cpu` variant, and its budget covers what the
 * sequential float16 and bfloat16 loops do, however far that is from the exact value.
 */

import type { KnownDivergence } from "../../harness/run/runner.ts";

/** One divergence of MLX from the specification, with every case-ID glob it covers. */
export interface MlxDivergence {
  /** Case-ID globs the divergence applies to. */
  readonly patterns: readonly string[];
  /** The SPEC.md section whose rule MLX does not follow. */
  readonly section: string;
  /** MLX's behaviour and the reason the spec differs. */
  readonly reason: string;
}

// NOTE: the error-suite globs assume IDs of the form `errors/<CODE>/...`; the MLX suite test
// lists every failing case that no entry covers, so a renamed suite shows up there.
/** The divergences of MLX from the specification. */
export const MLX_DIVERGENCES: readonly MlxDivergence[] = [
  {
    patterns: ["errors/E_EMPTY_DIM/**"],
    section: "§6.1",
    reason:
      "MLX has no empty-array guard in QuantizedMatmul: M = 0 or K = 0 divides by zero in the CPU kernel (SIGFPE on x86, so the worker crashes) and N = 0 returns an empty array. The spec rejects empty dimensions with E_EMPTY_DIM.",
  },
  {
    patterns: ["errors/E_UNBATCHED_X/**"],
    section: "§6.3",
    reason: "MLX broadcasts only when both x and w have rank ≥ 3; with a batched w and x of rank ≤ 2 it silently uses w[0]. The spec rejects the call.",
  },
  {
    patterns: ["errors/E_SCALES_ROWS/**"],
    section: "§5.2",
    reason: "MLX never checks scales.shape[-2] against w.shape[-2] and reads scale rows out of bounds or ignores extra ones. The spec rejects the mismatch.",
  },
  {
    patterns: ["errors/E_BITS_INVALID/**", "errors/E_GROUP_SIZE_INVALID/**"],
    section: "§2.2",
    reason:
      "quantized_matmul does not validate bits or group_size: the fp modes run whatever (bits, group_size) selects (nvfp4 with group_size 32 runs as mxfp4), and bits = 0 divides by zero in the shape check. Affine values outside the CPU kernel's set raise at eval time.",
  },
  {
    patterns: ["errors/E_X_DTYPE/**"],
    section: "§7.1",
    reason:
      "In affine mode MLX casts an integer x to the promoted float dtype and computes, where the spec rejects it; float64 x passes MLX's op check and fails only when the CPU kernel runs.",
  },
  {
    patterns: ["errors/E_RESERVED_SCALE/**", "errors/E_RESERVED_ELEMENT/**"],
    section: "§3.6",
    reason: "MLX decodes the reserved codes as numbers: E8M0 0xFF as +inf and E4M3 0x7F/0xFF as ±480. The spec rejects them.",
  },
  {
    patterns: ["mxfp4/*/*/float16/**/*scale-extreme*", "mxfp8/*/*/float16/**/*scale-extreme*"],
    section: "§4",
    reason:
      "MLX's CPU fp kernels convert each E8M0 scale to the compute dtype first. With float16 x a scale outside 2^[−24, 15] becomes 0 or inf before it is applied, where the spec applies the exact power of two.",
  },
  {
    patterns: ["errors/**/multi-*"],
    section: "§9.1",
    reason:
      "MLX checks x's dtype and the broadcast after the weight checks and in its own order, so a call with several faults may report another code first.",
  },
];

/** The MLX divergences in the runner's form: one entry per glob, the section in the reason. */
export const knownDivergences: readonly KnownDivergence[] = MLX_DIVERGENCES.flatMap((divergence) =>
  divergence.patterns.map((pattern) => ({ pattern, reason: `SPEC.md ${divergence.section}: ${divergence.reason}` })),
);
