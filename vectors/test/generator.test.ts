import { describe, expect, it } from "vitest";
import { FORMAT_INFO, ulpOf } from "../../reference/formats/float.ts";
import { tensorToNumbers } from "../../reference/tensor.ts";
import type { FloatDType } from "../../spec/types.ts";
import type { GoldenCase } from "../case.ts";
import { buildRecipe } from "../generate/build.ts";
import { REQUIRED_SHAPE_CLASSES, coverageReport } from "../generate/coverage.ts";
import { OP_ERROR_CODES, buildErrorCases } from "../generate/errors.ts";
import { VECTOR_FILES } from "../generate/files.ts";
import { Random } from "../generate/random.ts";
import { exactRecipes, generatedRecipes } from "../generate/recipes.ts";
import type { Recipe } from "../generate/recipes.ts";
import { encodeVectorFile } from "../store/file.ts";

const generated = generatedRecipes();

function recipesWithPattern(pattern: string): Recipe[] {
  return generated.filter((recipe) => recipe.pattern.name === pattern);
}

function values(golden: GoldenCase): { y: Float64Array; exact: Float64Array; absSum: Float64Array } {
  if (golden.expected.kind !== "value") throw new Error(`${golden.id} is an error case`);
  return { y: tensorToNumbers(golden.expected.y), exact: golden.expected.exact, absSum: golden.expected.condition.absSum };
}

describe("Random", () => {
  it("repeats the stream for one seed", () => {
    const a = new Random("affine/b4/g64/float16/t/M1_K64_N8/random-normal");
    const b = new Random("affine/b4/g64/float16/t/M1_K64_N8/random-normal");
    const first = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(first);
  });

  it("differs between seeds", () => {
    const a = new Random("seed-a");
    const b = new Random("seed-b");
    expect(Array.from({ length: 8 }, () => a.nextUint32())).not.toEqual(Array.from({ length: 8 }, () => b.nextUint32()));
  });

  it("keeps uniform and integer draws in range", () => {
    const rng = new Random("ranges");
    for (let i = 0; i < 10_000; i++) {
      const u = rng.uniform();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      const n = rng.integerBetween(-3, 3);
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeGreaterThanOrEqual(-3);
      expect(n).toBeLessThanOrEqual(3);
    }
  });

  it("gives normal values with mean 0 and variance 1", () => {
    const rng = new Random("normal");
    const draws = Array.from({ length: 20_000 }, () => rng.normal());
    const mean = draws.reduce((s, v) => s + v, 0) / draws.length;
    const variance = draws.reduce((s, v) => s + (v - mean) ** 2, 0) / draws.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});

describe("generator determinism", () => {
  it("builds the same bytes twice for one ID", () => {
    const recipe = generated.find((r) => r.pattern.name === "outliers")!;
    const first = encodeVectorFile("generated", "t.msgpack", [buildRecipe(recipe)]);
    const second = encodeVectorFile("generated", "t.msgpack", [buildRecipe(recipe)]);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it("keeps a case's bytes when other cases are added", () => {
    const target = generated.find((r) => r.pattern.name === "ties")!;
    const other = generated.find((r) => r.pattern.name === "cancellation")!;

    const alone = encodeVectorFile("generated", "t.msgpack", [buildRecipe(target)]);

    // Building another case first must not move the target's random stream.
    buildRecipe(other);
    const afterOther = encodeVectorFile("generated", "t.msgpack", [buildRecipe(target)]);

    expect(Buffer.from(afterOther).equals(Buffer.from(alone))).toBe(true);
  });

  it("seeds a case from its ID only", () => {
    const target = generated.find((r) => r.pattern.name === "random-normal")!;
    const renamed: Recipe = { ...target, id: `${target.id}-renamed` };
    const a = buildRecipe(target);
    const b = buildRecipe(renamed);
    expect(Buffer.from(a.inputs.x.data.buffer).equals(Buffer.from(b.inputs.x.data.buffer))).toBe(false);
  });

  it("gives every case a unique ID", () => {
    const ids = VECTOR_FILES.flatMap((file) => file.ids());
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("coverage", () => {
  const report = coverageReport();

  it("has no gaps", () => {
    const gaps = [...report.configs, ...report.shapeClasses, ...report.patterns, ...report.errorCodes].filter((row) => row.gap).map((row) => row.key);
    expect(gaps).toEqual([]);
  });

  it("sweeps every mode, bits, group, dtype, transpose", () => {
    expect(report.configs).toHaveLength((6 * 3 + 3) * 3 * 2);
    for (const row of report.configs) expect(row.count, row.key).toBeGreaterThan(0);
  });

  it("contains every required shape class", () => {
    for (const shapeClass of REQUIRED_SHAPE_CLASSES) {
      expect(report.shapeClasses.find((row) => row.key === shapeClass)?.count, shapeClass).toBeGreaterThan(0);
    }
  });

  it("contains the named tile-crossing shapes", () => {
    const ids = generated.map((r) => r.id);
    for (const M of [1, 2, 3, 4, 5, 8, 33]) expect(ids.some((id) => id.includes(`/M${M}_K512_`)), `M=${M}`).toBe(true);
    expect(ids.some((id) => /\/M\d+_K64_N32776\//.test(id))).toBe(true);
    expect(ids.some((id) => id.includes("_K3200_"))).toBe(true);
    expect(ids.some((id) => id.includes("/Bx2x1_Bw3_"))).toBe(true);
    expect(ids.some((id) => id.includes("/Mvec_"))).toBe(true);
    expect(ids).toContain("affine/b4/g64/float16/t/M1_K4096_N11/random-normal");
  });

  it("has an error case for every op error code", () => {
    for (const code of OP_ERROR_CODES) expect(report.errorCodes.find((row) => row.key === code)?.count, code).toBeGreaterThan(0);
  });
});

describe("value patterns", () => {
  it("ties sit exactly halfway between neighbours", () => {
    for (const recipe of recipesWithPattern("ties")) {
      const golden = buildRecipe(recipe);
      const { y, exact } = values(golden);
      const dtype = golden.expected.kind === "value" ? (golden.expected.y.dtype as FloatDType) : "float32";
      for (let i = 0; i < y.length; i++) {
        expect(Math.abs(exact[i] - y[i]), `${recipe.id}[${i}]`).toBe(ulpOf(exact[i], dtype) / 2);
      }
    }
  });

  it("overflow gives infinities from finite sums", () => {
    for (const recipe of recipesWithPattern("overflow")) {
      const { y, exact } = values(buildRecipe(recipe));
      const overflowed = y.filter((v, i) => !Number.isFinite(v) && Number.isFinite(exact[i])).length;
      expect(overflowed, recipe.id).toBeGreaterThan(0);
      expect(y.some((v) => v === Infinity), recipe.id).toBe(true);
      expect(y.some((v) => v === -Infinity), recipe.id).toBe(true);
    }
  });

  it("partial-overflow keeps y finite past max", () => {
    for (const recipe of recipesWithPattern("partial-overflow")) {
      const { y, absSum } = values(buildRecipe(recipe));
      const maxFinite = FORMAT_INFO[recipe.cfg.xDType].maxFinite;
      // The first half of each sum has one sign, so it alone reaches absSum/2.
      for (let i = 0; i < y.length; i++) {
        expect(Number.isFinite(y[i]), `${recipe.id}[${i}]`).toBe(true);
        expect(absSum[i] / 2, `${recipe.id}[${i}]`).toBeGreaterThan(maxFinite);
      }
    }
  });

  it("subnormal results stay below the smallest normal", () => {
    for (const recipe of recipesWithPattern("subnormal")) {
      const { y } = values(buildRecipe(recipe));
      const minNormal = FORMAT_INFO[recipe.cfg.xDType].minNormal;
      const subnormals = y.filter((v) => v !== 0 && Math.abs(v) < minNormal).length;
      expect(subnormals / y.length, recipe.id).toBeGreaterThan(0.5);
    }
  });

  it("cancellation makes |y| far below Σ|x·ŵ|", () => {
    for (const recipe of recipesWithPattern("cancellation")) {
      const { exact, absSum } = values(buildRecipe(recipe));
      const ratios = Array.from(exact, (v, i) => absSum[i] / Math.abs(v)).sort((a, b) => a - b);
      expect(ratios[Math.floor(ratios.length / 2)], recipe.id).toBeGreaterThan(32);
    }
  });

  it("extreme-e8m0 uses scale bytes 0x00 and 0xFE", () => {
    for (const recipe of recipesWithPattern("extreme-e8m0")) {
      const bytes = buildRecipe(recipe).inputs.scales.data as Uint8Array;
      expect(bytes.includes(0x00), recipe.id).toBe(true);
      expect(bytes.includes(0xfe), recipe.id).toBe(true);
    }
  });

  it("extreme-e4m3 uses the edge codes", () => {
    const recipes = recipesWithPattern("extreme-e4m3");
    expect(recipes.map((r) => r.cfg.mode).sort()).toEqual(["mxfp8", "mxfp8", "nvfp4", "nvfp4"]);

    for (const recipe of recipes) {
      const golden = buildRecipe(recipe);
      if (recipe.cfg.mode === "nvfp4") {
        const bytes = golden.inputs.scales.data as Uint8Array;
        for (const byte of [0x7e, 0xfe, 0x01, 0x00, 0x80]) expect(bytes.includes(byte), `${recipe.id} 0x${byte.toString(16)}`).toBe(true);
      } else {
        const words = golden.inputs.w.data as Uint32Array;
        const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
        for (const byte of [0x7e, 0xfe, 0x01, 0x80]) expect(bytes.includes(byte), `${recipe.id} 0x${byte.toString(16)}`).toBe(true);
      }
    }
  });

  it("negative-scales has negative scales", () => {
    for (const recipe of recipesWithPattern("negative-scales")) {
      const golden = buildRecipe(recipe);
      const scales = golden.inputs.scales;
      const negative = scales.dtype === "uint8" ? Array.from(scales.data as Uint8Array).filter((b) => b & 0x80).length : tensorToNumbers(scales).filter((v) => v < 0).length;
      expect(negative, recipe.id).toBeGreaterThan(0);
    }
  });

  it("non-finite patterns produce NaN and infinities", () => {
    for (const recipe of [...recipesWithPattern("nonfinite-x"), ...recipesWithPattern("nonfinite-scales-biases")]) {
      const { y } = values(buildRecipe(recipe));
      expect(y.some(Number.isNaN), recipe.id).toBe(true);
      expect(y.some((v) => v === Infinity || v === -Infinity), recipe.id).toBe(true);
    }
  });

  it("zero-constant-groups has an all-zero row of +0", () => {
    for (const recipe of recipesWithPattern("zero-constant-groups")) {
      const { y } = values(buildRecipe(recipe));
      for (let n = 0; n < recipe.cfg.shape.N; n++) expect(Object.is(y[n], 0), `${recipe.id}[${n}]`).toBe(true);
    }
  });
});

describe("default parameters", () => {
  it("keeps params as written and matches explicit ones", () => {
    const recipes = generated.filter((r) => r.tags.includes("param-defaults"));
    expect(recipes.map((r) => r.id.split("/").at(-1))).toEqual(["defaults-empty", "defaults-missing", "defaults-null", "defaults-missing", "defaults-null"]);

    for (const recipe of recipes) {
      const golden = buildRecipe(recipe);
      expect(golden.params, recipe.id).toEqual(recipe.params);

      const explicit = buildRecipe({ ...recipe, params: undefined });
      expect(explicit.params.groupSize, recipe.id).toBe(recipe.cfg.groupSize);
      expect(Array.from(values(golden).y), recipe.id).toEqual(Array.from(values(explicit).y));
    }
  });
});

describe("exact tier", () => {
  it("builds every case with y equal to the exact value", () => {
    const recipes = exactRecipes();
    expect(recipes.length).toBe(126 + 24);
    expect(recipes.some((r) => r.cfg.shape.vector)).toBe(true);
    expect(recipes.some((r) => r.cfg.shape.wBatch.length > 0)).toBe(true);
    for (const recipe of recipes) {
      const golden = buildRecipe(recipe);
      const { y, exact } = values(golden);
      expect(golden.exactTier, recipe.id).toBe(true);
      expect(Array.from(y), recipe.id).toEqual(Array.from(exact));
      expect(tensorToNumbers(golden.inputs.x).some((v) => v !== 0), recipe.id).toBe(true);
    }
  });
});

describe("error suite", () => {
  it("derives each designed code from the reference", () => {
    const cases = buildErrorCases();
    for (const golden of cases) {
      expect(golden.expected.kind, golden.id).toBe("error");
      if (golden.expected.kind === "error") expect(golden.id.split("/")[1], golden.id).toBe(golden.expected.code);
    }
  });
});
