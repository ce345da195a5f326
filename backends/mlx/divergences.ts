/**
 * The known divergences of MLX (0.32.4, CPU) from the specification (SPEC.md §11). Each entry names
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

// NOTE: most globs name error-suite IDs one by one, so a renamed case shows up as a failure
// and a case MLX starts to pass shows up as an unexpected pass.
/** The divergences of MLX from the specification. */
export const MLX_DIVERGENCES: readonly MlxDivergence[] = [
  {
    patterns: ["errors/E_EMPTY_DIM/**"],
    section: "§6.1",
    reason:
      "MLX has no empty-array guard in QuantizedMatmul: M = 0 or N = 0 divides by zero in the CPU kernel (SIGFPE on x86, so the worker crashes), and an empty batch dimension returns an empty array. The spec rejects empty dimensions with E_EMPTY_DIM.",
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
    patterns: ["errors/E_RANK/x-scalar", "errors/E_RANK/w-rank1", "errors/E_RANK/scales-rank3"],
    section: "§6.1",
    reason:
      "MLX checks no ranks: a 0-D x raises IndexError from shape(-1), a 1-D w fails the batch-shape check (E_BATCH_SHAPE), and scales with extra leading dimensions are accepted.",
  },
  {
    patterns: ["errors/E_BITS_INVALID/affine-b0", "errors/E_BITS_INVALID/affine-b7", "errors/E_BITS_INVALID/mxfp4-b8", "errors/E_GROUP_SIZE_INVALID/nvfp4-g32"],
    section: "§2.2",
    reason:
      "quantized_matmul does not validate bits or group_size: bits = 0 divides by zero in the shape check (the worker crashes), other values reach the shape check, whose truncating w.shape[-1]·32/bits reports incompatible shapes (E_PACKED_SHAPE), and the fp modes run whatever (bits, group_size) selects.",
  },
  {
    patterns: ["errors/E_SCALES_DTYPE/affine-uint8-scales", "errors/E_BIASES_DTYPE/affine-int32-biases"],
    section: "§7.1",
    reason: "In affine mode MLX checks only the promoted dtype of scales and biases, so an integer scales or biases tensor next to a float one is cast and accepted.",
  },
  {
    patterns: ["errors/E_X_DTYPE/*affine*"],
    section: "§7.1",
    reason: "In affine mode MLX casts an integer x to the promoted float dtype and computes, where the spec rejects it.",
  },
  {
    patterns: ["errors/E_RESERVED_SCALE/**", "errors/E_RESERVED_ELEMENT/**"],
    section: "§3.6",
    reason: "MLX decodes the reserved codes as numbers: E8M0 0xFF as +inf and E4M3 0x7F/0xFF as ±480. The spec rejects them.",
  },
];

/** The MLX divergences in the runner's form: one entry per glob, the section in the reason. */
export const knownDivergences: readonly KnownDivergence[] = MLX_DIVERGENCES.flatMap((divergence) =>
  divergence.patterns.map((pattern) => ({ pattern, reason: `SPEC.md ${divergence.section}: ${divergence.reason}` })),
);
