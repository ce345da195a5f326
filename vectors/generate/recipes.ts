/**
 * The case list of the `generated` and `exact` suites. It avoids the full cross product and
 * combines three parts: a sweep of every mode × bits × group_size × dtype × transpose on small
 * shapes, targeted shapes that cross kernel tile boundaries, and every value pattern on a spread
 * of configs. Listing recipes is cheap, because ./build.ts builds data per recipe on demand.
 */
import { FLOAT_DTYPES, MODES, MODE_RULES } from "../../spec/types.ts";
import type { FloatDType, QmmParamsInput } from "../../spec/types.ts";
import type { CaseConfig, ShapeSpec } from "./config.ts";
import { caseId, config, plainShape, shapeTags } from "./config.ts";
import { VALUE_PATTERNS, exactTier, randomNormal } from "./patterns/index.ts";
import type { ValuePattern } from "./patterns/index.ts";

/** One case to generate: its ID, suite, config and value pattern. */
export interface Recipe {
  readonly id: string;
  readonly suite: "generated" | "exact";
  readonly cfg: CaseConfig;
  readonly pattern: ValuePattern;
  readonly tags: readonly string[];
  /** Parameters as the case passes them, when they differ from the config's explicit ones. */
  readonly params?: QmmParamsInput;
}

function recipe(suite: Recipe["suite"], cfg: CaseConfig, pattern: ValuePattern, extraTags: readonly string[] = []): Recipe {
  const reason = pattern.unsupported(cfg);
  if (reason !== undefined) throw new Error(`pattern ${pattern.name} does not fit ${caseId(cfg, pattern.name)}: ${reason}`);
  return { id: caseId(cfg, pattern.name), suite, cfg, pattern, tags: [pattern.name, ...shapeTags(cfg), ...extraTags] };
}

/** Lists every (mode, bits, group_size) the spec allows. */
function modeBitsGroups(): { mode: (typeof MODES)[number]; bits: number; groupSize: number }[] {
  return MODES.flatMap((mode) => MODE_RULES[mode].bits.flatMap((bits) => MODE_RULES[mode].groupSizes.map((groupSize) => ({ mode, bits, groupSize }))));
}

/** Builds the full sweep on one transposed and one untransposed shape (K of the latter need not be a multiple of anything). */
function sweep(suite: Recipe["suite"], pattern: ValuePattern, tShape: ShapeSpec, nShape: ShapeSpec): Recipe[] {
  const out: Recipe[] = [];
  for (const { mode, bits, groupSize } of modeBitsGroups()) {
    for (const dtype of FLOAT_DTYPES) {
      for (const transpose of [true, false]) {
        out.push(recipe(suite, config(mode, bits, groupSize, dtype, transpose, transpose ? tShape : nShape), pattern, ["sweep"]));
      }
    }
  }
  return out;
}

/** Configs the targeted shapes rotate through, so each shape meets an affine and an fp mode. */
const SHAPE_CONFIGS: readonly [CaseConfig["mode"], number, number, FloatDType][] = [
  ["affine", 4, 64, "float16"],
  ["mxfp4", 4, 32, "bfloat16"],
  ["affine", 8, 32, "bfloat16"],
  ["nvfp4", 4, 16, "float32"],
  ["affine", 3, 32, "float32"],
  ["mxfp8", 8, 32, "float16"],
  ["affine", 5, 32, "bfloat16"],
  ["affine", 6, 64, "float16"],
  ["affine", 2, 32, "float32"],
];

/** Two recipes per shape: the next affine and the next fp config of the rotation whose group size fits. */
function targetedShapes(shapes: readonly { shape: ShapeSpec; transpose: boolean; tag: string }[]): Recipe[] {
  const out: Recipe[] = [];
  let cursor = 0;

  for (const { shape, transpose, tag } of shapes) {
    const groupAxis = transpose ? shape.K : shape.N;
    for (const wantAffine of [true, false]) {
      for (let step = 0; step < SHAPE_CONFIGS.length; step++) {
        const [mode, bits, groupSize, dtype] = SHAPE_CONFIGS[(cursor + step) % SHAPE_CONFIGS.length];
        if ((mode === "affine") !== wantAffine || groupAxis % groupSize !== 0) continue;
        out.push(recipe("generated", config(mode, bits, groupSize, dtype, transpose, shape), randomNormal, [tag]));
        cursor = (cursor + step + 1) % SHAPE_CONFIGS.length;
        break;
      }
    }
  }
  return out;
}

function batched(xBatch: number[], wBatch: number[], M: number, K: number, N: number): ShapeSpec {
  return { xBatch, wBatch, M, K, N, vector: false };
}

/** Shapes that cross kernel tile and dispatch boundaries. */
function tileShapes(): { shape: ShapeSpec; transpose: boolean; tag: string }[] {
  const t = (shape: ShapeSpec, tag: string) => ({ shape, transpose: true, tag });
  const n = (shape: ShapeSpec, tag: string) => ({ shape, transpose: false, tag });

  return [
    t(plainShape(1, 4096, 11), "shape-example"),
    ...[1, 2, 3, 4, 5, 8, 9, 16, 32, 33, 65].map((M) => t(plainShape(M, 512, 72), "shape-M")),
    ...[1, 2, 3, 5, 8, 33].map((M) => n(plainShape(M, 96, 64), "shape-M")),
    ...[1, 3, 8, 9, 31, 33, 63, 65, 100, 129, 257].map((N) => t(plainShape(2, 128, N), "shape-N")),
    ...[256, 288, 512, 544, 1024, 1056, 3200].map((K) => t(plainShape(2, K, 9), "shape-K")),
    ...[256, 257, 512, 513, 1024, 1025, 3200].map((K) => n(plainShape(2, K, 64), "shape-K")),
    t(plainShape(1, 64, 32776), "shape-large"),
    t(plainShape(3, 64, 32776), "shape-large"),
    n(plainShape(1, 32776, 32), "shape-large"),
    t(batched([2, 1], [3], 3, 64, 16), "shape-batch"),
    n(batched([2, 1], [3], 3, 40, 64), "shape-batch"),
    t(batched([4], [], 3, 64, 16), "shape-batch"),
    n(batched([4], [], 2, 33, 64), "shape-batch"),
    t(batched([1], [3], 2, 64, 16), "shape-batch"),
    t(batched([3], [1], 2, 64, 16), "shape-batch"),
    n(batched([2, 3], [2, 3], 2, 24, 32), "shape-batch"),
    t(batched([2, 3], [3], 1, 128, 8), "shape-batch"),
    t({ xBatch: [], wBatch: [], M: 1, K: 256, N: 24, vector: true }, "shape-vector"),
    n({ xBatch: [], wBatch: [], M: 1, K: 70, N: 64, vector: true }, "shape-vector"),
  ];
}

/** Configs every value pattern runs on: each mode, each dtype and both layouts appear. */
const PATTERN_CONFIGS: readonly CaseConfig[] = [
  config("affine", 4, 64, "float16", true, plainShape(4, 256, 16)),
  config("affine", 3, 32, "bfloat16", false, plainShape(4, 66, 128)),
  config("affine", 8, 128, "float32", true, plainShape(4, 256, 16)),
  config("affine", 2, 64, "float16", false, plainShape(4, 66, 128)),
  config("mxfp4", 4, 32, "float32", true, plainShape(4, 256, 16)),
  config("mxfp4", 4, 32, "float16", false, plainShape(4, 66, 128)),
  config("mxfp8", 8, 32, "bfloat16", true, plainShape(4, 256, 16)),
  config("mxfp8", 8, 32, "float32", false, plainShape(4, 66, 128)),
  config("nvfp4", 4, 16, "float16", true, plainShape(4, 256, 16)),
  config("nvfp4", 4, 16, "bfloat16", false, plainShape(4, 66, 128)),
];

function patternCases(): Recipe[] {
  const out: Recipe[] = [];
  for (const pattern of VALUE_PATTERNS) {
    if (pattern === randomNormal || pattern === exactTier) continue;
    for (const cfg of PATTERN_CONFIGS) {
      if (pattern.unsupported(cfg) === undefined) out.push(recipe("generated", cfg, pattern));
    }
  }
  return out;
}

/** Affine with x, scales and biases of different dtypes: the output dtype follows promotion (SPEC.md §7.2). */
function mixedDTypeCases(): Recipe[] {
  const mixes: [FloatDType, FloatDType, FloatDType][] = [
    ["float16", "bfloat16", "bfloat16"],
    ["bfloat16", "float16", "float32"],
    ["float32", "float16", "float16"],
    ["float16", "float16", "bfloat16"],
  ];
  const out: Recipe[] = [];
  for (const [xDType, scalesDType, biasesDType] of mixes) {
    for (const transpose of [true, false]) {
      const shape = transpose ? plainShape(3, 128, 9) : plainShape(3, 45, 64);
      out.push(recipe("generated", { mode: "affine", bits: 4, groupSize: 64, transpose, xDType, scalesDType, biasesDType, shape }, randomNormal, ["mixed-dtype"]));
    }
  }
  return out;
}

/**
 * Cases whose parameters leave group_size, bits, transpose or even the mode to their defaults
 * (SPEC.md §2.3), as `null` or as a missing key. The ID names the resolved values.
 */
function defaultParamCases(): Recipe[] {
  const shape = plainShape(2, 128, 9);
  const variants: [CaseConfig["mode"], string, QmmParamsInput][] = [
    ["affine", "defaults-empty", {}],
    ["affine", "defaults-missing", { mode: "affine" }],
    ["mxfp4", "defaults-null", { mode: "mxfp4", groupSize: null, bits: null }],
    ["mxfp8", "defaults-missing", { mode: "mxfp8" }],
    ["nvfp4", "defaults-null", { mode: "nvfp4", transpose: true, groupSize: null, bits: null }],
  ];

  return variants.map(([mode, name, params]) => {
    const rule = MODE_RULES[mode];
    const cfg = config(mode, rule.defaultBits, rule.defaultGroupSize, "float32", true, shape);
    return { id: caseId(cfg, name), suite: "generated", cfg, pattern: randomNormal, tags: [randomNormal.name, "param-defaults", ...shapeTags(cfg)], params };
  });
}

/** Lists every recipe of the `generated` suite. */
export function generatedRecipes(): Recipe[] {
  return [
    ...sweep("generated", randomNormal, plainShape(3, 256, 7), plainShape(3, 67, 256)),
    ...targetedShapes(tileShapes()),
    ...patternCases(),
    ...mixedDTypeCases(),
    ...defaultParamCases(),
  ];
}

/**
 * Exact-tier cases on broadcast batches and a 1-D x, one per mode, dtype and layout: bit equality
 * there catches batch-stride bugs that a budget could hide.
 */
function exactBatchCases(): Recipe[] {
  const out: Recipe[] = [];
  for (const mode of MODES) {
    const rule = MODE_RULES[mode];
    const span = 2 * rule.defaultGroupSize;
    for (const [index, dtype] of FLOAT_DTYPES.entries()) {
      const transpose = index % 2 === 0;
      const broadcast = transpose ? batched([2, 1], [3], 2, span, 5) : batched([2, 1], [3], 2, 7, span);
      const vector: ShapeSpec = { xBatch: [], wBatch: [], M: 1, K: transpose ? span : 9, N: transpose ? 6 : span, vector: true };
      for (const shape of [broadcast, vector]) {
        out.push(recipe("exact", config(mode, rule.defaultBits, rule.defaultGroupSize, dtype, transpose, shape), exactTier, ["exact-batch"]));
      }
    }
  }
  return out;
}

/** Lists every recipe of the `exact` suite: the full sweep with the exact-by-construction pattern, then batched shapes. */
export function exactRecipes(): Recipe[] {
  return [...sweep("exact", exactTier, plainShape(4, 256, 9), plainShape(4, 40, 256)), ...exactBatchCases()];
}
