/**
 * Turns a recipe into a golden case: inputs from the value pattern, seeded by the case ID, and the
 * expected output from the exact reference.
 */
import { quantizedMatmul } from "../../reference/matmul.ts";
import { tensorToNumbers } from "../../reference/tensor.ts";
import type { QmmInputs, QmmParamsInput } from "../../spec/types.ts";
import type { GoldenCase } from "../case.ts";
import type { CaseConfig } from "./config.ts";
import { assertExactTier } from "./patterns/exact.ts";
import { Random } from "./random.ts";
import type { Recipe } from "./recipes.ts";

/** Returns the explicit parameters of a config, so generated cases never rely on defaults. */
export function paramsOf(cfg: CaseConfig): QmmParamsInput {
  return { mode: cfg.mode, transpose: cfg.transpose, groupSize: cfg.groupSize, bits: cfg.bits };
}

/** Runs the reference on `inputs` and packs the result as a value case. */
export function valueCase(id: string, suite: string, tags: readonly string[], params: QmmParamsInput, inputs: QmmInputs, exactTier = false): GoldenCase {
  const result = quantizedMatmul(inputs, params);
  return {
    id,
    suite,
    params,
    inputs,
    expected: { kind: "value", y: result.y, exact: result.exact, condition: result.condition },
    tags,
    exactTier,
  };
}

/** Builds the case of one recipe. The random stream is seeded by the ID alone. */
export function buildRecipe(recipe: Recipe): GoldenCase {
  const rng = new Random(recipe.id);
  const inputs = recipe.pattern.build(recipe.cfg, rng);
  const isExactTier = recipe.suite === "exact";
  const golden = valueCase(recipe.id, recipe.suite, recipe.tags, recipe.params ?? paramsOf(recipe.cfg), inputs, isExactTier);

  if (isExactTier && golden.expected.kind === "value") {
    assertExactTier(recipe.id, recipe.cfg, golden.expected.exact, tensorToNumbers(golden.expected.y), golden.expected.condition.dequantAbsSum);
  }
  return golden;
}
