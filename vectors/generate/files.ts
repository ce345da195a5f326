/**
 * The vector files the generator produces, one per suite and mode (spec/FILES.md §14.1). Each file
 * lists its case IDs cheaply and builds its cases on demand.
 */
import { MODES } from "../../spec/types.ts";
import type { Mode } from "../../spec/types.ts";
import type { GoldenCase } from "../case.ts";
import { buildRecipe } from "./build.ts";
import { buildErrorCases, errorCaseIds } from "./errors.ts";
import { buildRealCases, realCaseIds } from "./real.ts";
import { exactRecipes, generatedRecipes } from "./recipes.ts";
import type { Recipe } from "./recipes.ts";

/** One vector file of the built-in suites. */
export interface VectorFileSpec {
  /** File name, e.g. `generated-affine.msgpack`. */
  readonly name: string;
  readonly suite: string;
  readonly mode?: Mode;
  /** Lists the case IDs in file order without building data. */
  ids(): string[];
  /** Builds the cases in file order, keeping those `filter` accepts. */
  build(filter?: (id: string) => boolean): GoldenCase[];
}

function recipeFile(suite: "generated" | "exact", mode: Mode, list: () => Recipe[]): VectorFileSpec {
  const recipes = () => list().filter((recipe) => recipe.cfg.mode === mode);
  return {
    name: `${suite}-${mode}.msgpack`,
    suite,
    mode,
    ids: () => recipes().map((recipe) => recipe.id),
    build: (filter) => recipes().filter((recipe) => filter === undefined || filter(recipe.id)).map(buildRecipe),
  };
}

/** Every built-in vector file, in load order. */
export const VECTOR_FILES: readonly VectorFileSpec[] = [
  ...MODES.map((mode) => recipeFile("generated", mode, generatedRecipes)),
  ...MODES.map((mode) => recipeFile("exact", mode, exactRecipes)),
  { name: "errors.msgpack", suite: "errors", ids: errorCaseIds, build: buildErrorCases },
  { name: "real.msgpack", suite: "real", ids: realCaseIds, build: buildRealCases },
];

/** The suite names, in load order. */
export const SUITES: readonly string[] = [...new Set(VECTOR_FILES.map((file) => file.suite))];

/** Looks a built-in file up by name. */
export function vectorFileByName(name: string): VectorFileSpec | undefined {
  return VECTOR_FILES.find((file) => file.name === name);
}
