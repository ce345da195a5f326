import { describe, expect, it } from "vitest";
import { ulpOf } from "../../../reference/formats/float.ts";
import { quantizedMatmul } from "../../../reference/matmul.ts";
import { tensorToNumbers } from "../../../reference/tensor.ts";
import type { FloatDType } from "../../../spec/types.ts";
import { numericsVariantSchema } from "../../../spec/variants.ts";
import type { GoldenCase } from "../../../vectors/case.ts";
import { buildRecipe } from "../../../vectors/generate/build.ts";
import { buildErrorCases } from "../../../vectors/generate/errors.ts";
import { exactRecipes, generatedRecipes } from "../../../vectors/generate/recipes.ts";
import { jsBackend, knownDivergences } from "../index.ts";

async function runCase(golden: GoldenCase) {
  const [outcome] = await jsBackend.run([{ caseId: golden.id, inputs: golden.inputs, params: golden.params }]);
  return outcome;
}

/** Builds a spread of generated cases: both layouts, every mode and dtype, batches, a 1-D x, non-finite values. */
function sampleCases(): GoldenCase[] {
  const wanted = [
    "affine/b4/g64/float16/t/M1_K4096_N11/random-normal",
    "affine/b3/g32/bfloat16/n/M4_K66_N128/outliers",
    "nvfp4/b4/g16/float16/t/M4_K256_N16/negative-scales",
    "mxfp8/b8/g32/float32/n/M4_K66_N128/nonfinite-x",
    "affine/b8/g128/float32/t/M4_K256_N16/nonfinite-scales-biases",
    "affine/b2/g64/float16/n/M4_K66_N128/nonfinite-scales-biases",
    "mxfp4/b4/g32/float32/t/M4_K256_N16/extreme-e8m0",
  ];
  const recipes = generatedRecipes();
  const byId = wanted.map((id) => {
    const recipe = recipes.find((r) => r.id === id);
    if (recipe === undefined) throw new Error(`no recipe ${id}`);
    return recipe;
  });
  const batched = recipes.filter((r) => r.tags.includes("shape-batch") || r.tags.includes("shape-vector"));
  const mixed = recipes.filter((r) => r.tags.includes("mixed-dtype"));
  return [...byId, ...batched, ...mixed].map(buildRecipe);
}

describe("JS backend", () => {
  it("declares a valid variant and no divergences", async () => {
    const probe = await jsBackend.probe();
    expect(probe.kind).toBe("available");
    if (probe.kind !== "available") return;
    expect(numericsVariantSchema.parse(probe.variant)).toEqual(probe.variant);
    expect(probe.variant.accumulator).toBe("float64");
    expect(probe.capabilities.reportsErrors).toBe(true);
    expect(knownDivergences).toEqual([]);
  });

  it("matches the exact tier bit for bit", async () => {
    for (const recipe of exactRecipes().filter((_, index) => index % 7 === 0)) {
      const golden = buildRecipe(recipe);
      const outcome = await runCase(golden);
      expect(outcome.kind, recipe.id).toBe("ok");
      if (outcome.kind !== "ok" || golden.expected.kind !== "value") continue;
      expect(outcome.y.dtype).toBe(golden.expected.y.dtype);
      expect(Array.from(outcome.y.data as ArrayLike<number>), recipe.id).toEqual(Array.from(golden.expected.y.data as ArrayLike<number>));
    }
  });

  it("rounds exact ties to even", async () => {
    // The tie patterns' sums are exact in float64, so the one final rounding decides every bit.
    for (const recipe of generatedRecipes().filter((r) => r.pattern.name === "ties")) {
      const golden = buildRecipe(recipe);
      const outcome = await runCase(golden);
      expect(outcome.kind, recipe.id).toBe("ok");
      if (outcome.kind !== "ok" || golden.expected.kind !== "value") continue;
      expect(Array.from(outcome.y.data as ArrayLike<number>), recipe.id).toEqual(Array.from(golden.expected.y.data as ArrayLike<number>));
    }
  });

  it("stays within one ulp of the reference", async () => {
    for (const golden of sampleCases()) {
      const outcome = await runCase(golden);
      expect(outcome.kind, golden.id).toBe("ok");
      if (outcome.kind !== "ok" || golden.expected.kind !== "value") continue;

      const reference = quantizedMatmul(golden.inputs, golden.params);
      expect(outcome.y.shape, golden.id).toEqual(reference.y.shape);
      const got = tensorToNumbers(outcome.y);
      const want = tensorToNumbers(reference.y);
      const dtype = reference.y.dtype as FloatDType;

      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i]) || !Number.isFinite(want[i])) {
          expect(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])), `${golden.id}[${i}]`).toBe(true);
          continue;
        }
        expect(Math.abs(got[i] - want[i]), `${golden.id}[${i}]`).toBeLessThanOrEqual(ulpOf(want[i], dtype));
      }
    }
  });

  it("reports every designed error code", async () => {
    for (const golden of buildErrorCases()) {
      const outcome = await runCase(golden);
      expect(outcome.kind, golden.id).toBe("error");
      if (outcome.kind === "error" && golden.expected.kind === "error") expect(outcome.code, golden.id).toBe(golden.expected.code);
    }
  });

  it("keeps going after a failing call in a batch", async () => {
    const [good] = sampleCases();
    const [bad] = buildErrorCases();
    const outcomes = await jsBackend.run([
      { caseId: bad.id, inputs: bad.inputs, params: bad.params },
      { caseId: good.id, inputs: good.inputs, params: good.params },
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(["error", "ok"]);
  });
});
