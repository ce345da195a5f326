/**
 * The coverage of the built-in suites, computed from the recipes alone, so no data is built. It
 * counts cases per mode × bits × group_size × dtype × transpose, per shape class, per value
 * pattern and per error code, and marks the gaps a mature suite must not have.
 */
import { FLOAT_DTYPES, MODES, MODE_RULES } from "../../spec/types.ts";
import type { Mode } from "../../spec/types.ts";
import { config, plainShape } from "./config.ts";
import { OP_ERROR_CODES, errorCaseIds } from "./errors.ts";
import { VALUE_PATTERNS } from "./patterns/index.ts";
import { realCaseIds } from "./real.ts";
import { exactRecipes, generatedRecipes } from "./recipes.ts";
import type { Recipe } from "./recipes.ts";

/** Shape classes every default suite must contain (tags of ./config.ts shapeTags). */
export const REQUIRED_SHAPE_CLASSES = [
  "M1",
  "M2-8",
  "M>8",
  "x-rank1",
  "N-odd",
  "N-mod8-tail",
  "N-mod32-tail",
  "N-mod64-tail",
  "K-at-256",
  "K-past-256",
  "K-at-512",
  "K-past-512",
  "K-at-1024",
  "K-past-1024",
  "K-3200",
  "dim>=2^15",
  "batch-broadcast",
  "batch-x-only",
] as const;

/** One row of a coverage table: a key, its count, and whether a zero count is a gap. */
export interface CoverageRow {
  readonly key: string;
  readonly count: number;
  readonly gap: boolean;
}

/** The whole coverage report. */
export interface CoverageReport {
  readonly caseCounts: Readonly<Record<string, number>>;
  /** mode/bits/group/dtype/t|n → count over the generated and exact suites. */
  readonly configs: readonly CoverageRow[];
  readonly shapeClasses: readonly CoverageRow[];
  /** pattern × mode → count; a gap where the pattern fits the mode but has no case. */
  readonly patterns: readonly CoverageRow[];
  readonly errorCodes: readonly CoverageRow[];
  readonly gaps: number;
}

function configKey(mode: Mode, bits: number, groupSize: number, dtype: string, transpose: boolean): string {
  return `${mode}/b${bits}/g${groupSize}/${dtype}/${transpose ? "t" : "n"}`;
}

function count<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Computes the coverage report of the built-in suites. */
export function coverageReport(): CoverageReport {
  const generated = generatedRecipes();
  const exact = exactRecipes();
  const recipes: Recipe[] = [...generated, ...exact];
  const errorIds = errorCaseIds();
  const realIds = realCaseIds();

  const byConfig = count(recipes, (r) => configKey(r.cfg.mode, r.cfg.bits, r.cfg.groupSize, r.cfg.xDType, r.cfg.transpose));
  const configs: CoverageRow[] = [];
  for (const mode of MODES) {
    for (const bits of MODE_RULES[mode].bits) {
      for (const groupSize of MODE_RULES[mode].groupSizes) {
        for (const dtype of FLOAT_DTYPES) {
          for (const transpose of [true, false]) {
            const key = configKey(mode, bits, groupSize, dtype, transpose);
            configs.push({ key, count: byConfig.get(key) ?? 0, gap: !byConfig.has(key) });
          }
        }
      }
    }
  }

  const tagCounts = count(recipes.flatMap((r) => r.tags), (tag) => tag);
  const shapeClasses = REQUIRED_SHAPE_CLASSES.map((key) => ({ key, count: tagCounts.get(key) ?? 0, gap: !tagCounts.has(key) }));

  const byPattern = count(recipes, (r) => `${r.pattern.name} × ${r.cfg.mode}`);
  const patterns: CoverageRow[] = [];
  for (const pattern of VALUE_PATTERNS) {
    for (const mode of MODES) {
      const key = `${pattern.name} × ${mode}`;
      const probe = config(mode, MODE_RULES[mode].defaultBits, MODE_RULES[mode].defaultGroupSize, "float32", true, plainShape(4, 256, 16));
      const applies = pattern.unsupported(probe) === undefined;
      patterns.push({ key, count: byPattern.get(key) ?? 0, gap: applies && !byPattern.has(key) });
    }
  }

  const byCode = count(errorIds, (id) => id.split("/")[1]);
  const errorCodes = OP_ERROR_CODES.map((code) => ({ key: code, count: byCode.get(code) ?? 0, gap: !byCode.has(code) }));

  const all = [...configs, ...shapeClasses, ...patterns, ...errorCodes];
  return {
    caseCounts: { generated: generated.length, exact: exact.length, errors: errorIds.length, real: realIds.length },
    configs,
    shapeClasses,
    patterns,
    errorCodes,
    gaps: all.filter((row) => row.gap).length,
  };
}
