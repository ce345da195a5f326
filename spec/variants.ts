/**
 * The registry of numerics variants (SPEC.md §10). A backend declares one variant; the harness
 * turns it into a per-element error budget. A variant describes how an implementation computes,
 * never how far it may be off: the tolerance is derived from the description.
 */
import { z } from "zod";

/** Floating-point formats an implementation may accumulate in. `compute` is the case's output dtype. */
export const ACCUMULATORS = ["exact", "float64", "float32", "float16", "bfloat16", "compute"] as const;

/** Accumulation format of a variant. */
export type Accumulator = (typeof ACCUMULATORS)[number];

/**
 * How the dequantized weight ŵ is formed before it meets x:
 * `exact` keeps s·q+β (or scale·value) unrounded, `once` rounds it once to `weightDType`,
 * `twice` rounds s·q and then the sum with β separately (two roundings, as separate multiply and add do).
 */
export const WEIGHT_ROUNDINGS = ["exact", "once", "twice"] as const;

/** Weight rounding of a variant. */
export type WeightRounding = (typeof WEIGHT_ROUNDINGS)[number];

/** zod schema of a declared numerics variant; workers send this in their handshake (SPEC.md §13.3). */
export const numericsVariantSchema = z.object({
  /** Name from the registry, or a backend's own name for a parameterised variant. */
  name: z.string().min(1),
  /**
   * `dequantize-dot`: y = Σ_k x_k·ŵ_k. `factored`: per group, s·Σ x·q + β·Σ x (affine with
   * transpose=true only; other cases fall back to dequantize-dot).
   */
  form: z.enum(["dequantize-dot", "factored"]),
  accumulator: z.enum(ACCUMULATORS),
  weightRounding: z.enum(WEIGHT_ROUNDINGS),
  /**
   * The dtype ŵ is rounded to when weightRounding is not `exact`. `float64` fits an implementation
   * that forms s·q+β in double precision (one rounding of the addition; fp-mode weights are exact).
   */
  weightDType: z.enum(["compute", "float64", "float32", "bfloat16", "float16"]).default("compute"),
  /** Whether each product x·ŵ is rounded to the accumulator before it is added. */
  productRounding: z.boolean().default(true),
  /** Split-K: the reduction is cut into `parts` partial sums, each rounded to `partialDType`, then added. */
  splitK: z
    .object({ parts: z.number().int().min(2), partialDType: z.enum(["compute", "float32", "float16", "bfloat16"]) })
    .optional(),
  /**
   * Whether the class of a non-finite result may differ from the exact one (NaN where the exact
   * result is ±inf, or the reverse). Factored forms need this: inf·0 appears in s·Σxq even where ŵ ≠ 0.
   */
  nonFiniteClassFree: z.boolean().default(false),
  /**
   * How the mxfp4, mxfp8 and nvfp4 modes apply the scale. `dequantize` (the meaning when absent):
   * ŵ = scale·value is formed first, as for affine. `group-scaled`: with transpose=true each group's
   * Σ x·value is accumulated in the accumulator and then multiplied by the scale and added to the
   * running sum; with transpose=false each term is (x·scale)·value, each product rounded. The scale
   * is converted to the accumulator format first. Both orders round once per operation like the
   * dequantize form, but an underflow of x·scale is multiplied by |value| (up to 448 for mxfp8).
   */
  fpScaling: z.enum(["dequantize", "group-scaled"]).optional(),
});

/** A declared numerics variant, after zod defaults are applied. */
export type NumericsVariant = z.output<typeof numericsVariantSchema>;

/** Named variants of SPEC.md §10. Backends may declare one of these by name or a parameterised one. */
export const VARIANTS = {
  /** Correctly rounded: one rounding of the exact sum. Any correct backend of this kind matches bit for bit. */
  exact: {
    name: "exact",
    form: "dequantize-dot",
    accumulator: "exact",
    weightRounding: "exact",
    weightDType: "compute",
    productRounding: false,
    nonFiniteClassFree: false,
  },
  /** ŵ exact in float64, products and sums in float64, one final rounding. */
  "dequantize-dot/f64": {
    name: "dequantize-dot/f64",
    form: "dequantize-dot",
    accumulator: "float64",
    weightRounding: "once",
    weightDType: "float32",
    productRounding: true,
    nonFiniteClassFree: false,
  },
  /** ŵ rounded to float32, products and sums in float32. */
  "dequantize-dot/f32": {
    name: "dequantize-dot/f32",
    form: "dequantize-dot",
    accumulator: "float32",
    weightRounding: "once",
    weightDType: "float32",
    productRounding: true,
    nonFiniteClassFree: false,
  },
  /** ŵ rounded once to the compute dtype, float32 accumulation (a GPU tiled matmul on dequantized tiles). */
  "dequantize-rounded/f32": {
    name: "dequantize-rounded/f32",
    form: "dequantize-dot",
    accumulator: "float32",
    weightRounding: "once",
    weightDType: "compute",
    productRounding: true,
    nonFiniteClassFree: false,
  },
  /** s·Σ x·q + β·Σ x per group with float32 sums (a matrix-vector kernel that never forms ŵ). */
  "factored/f32": {
    name: "factored/f32",
    form: "factored",
    accumulator: "float32",
    weightRounding: "exact",
    weightDType: "compute",
    productRounding: true,
    nonFiniteClassFree: true,
  },
  /** Every operation in the compute dtype: s·q, +β, x·ŵ and the running sum each rounded (a scalar CPU loop in T). */
  "sequential/compute": {
    name: "sequential/compute",
    form: "dequantize-dot",
    accumulator: "compute",
    weightRounding: "twice",
    weightDType: "compute",
    productRounding: true,
    nonFiniteClassFree: false,
  },
  /**
   * A SIMD CPU kernel (the native backend). Affine with transpose=true: s·Σ x·q + β·Σ x per group
   * with float32 sums, or, for many rows of x, ŵ = fma(s, q, β) rounded once to float32 with every
   * term kept within the factored form's rounding count. Everywhere else ŵ rounded once to float32
   * (exact in the fp modes) and Σ x·ŵ in float32.
   */
  "factored/f32-w32": {
    name: "factored/f32-w32",
    form: "factored",
    accumulator: "float32",
    weightRounding: "once",
    weightDType: "float32",
    productRounding: true,
    nonFiniteClassFree: false,
  },
  /** float32 accumulation in `parts` partial sums, each rounded to the compute dtype before the final sum. */
  "split-k/f32": {
    name: "split-k/f32",
    form: "dequantize-dot",
    accumulator: "float32",
    weightRounding: "once",
    weightDType: "compute",
    productRounding: true,
    splitK: { parts: 8, partialDType: "compute" },
    nonFiniteClassFree: false,
  },
  /**
   * MLX's CPU kernels as built for Linux x86 (mlx 0.32, scalar loops in the compute dtype T, k
   * ascending, every operation rounded to T): affine forms s·q, +β, x·ŵ and the running sum as in
   * `sequential/compute`; the fp modes scale per group as `fpScaling: group-scaled` describes.
   * transpose=false accumulates into the T output row in the same order.
   */
  "mlx-cpu": {
    name: "mlx-cpu",
    form: "dequantize-dot",
    accumulator: "compute",
    weightRounding: "twice",
    weightDType: "compute",
    productRounding: true,
    fpScaling: "group-scaled",
    // Rounding s·q and then +β can turn a small nonzero ŵ into 0 (s·q and β cancel), so an
    // infinite x meets 0 and gives NaN where the exact result is ±inf.
    nonFiniteClassFree: true,
  },
} as const satisfies Record<string, NumericsVariant>;

/** A registry name. */
export type VariantName = keyof typeof VARIANTS;

/** Looks up a named variant, or returns undefined. */
export function variantByName(name: string): NumericsVariant | undefined {
  return Object.hasOwn(VARIANTS, name) ? VARIANTS[name as VariantName] : undefined;
}
