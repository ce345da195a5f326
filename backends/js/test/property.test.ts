// Property test: on random configs, shapes and batch layouts the JS backend stays within one ulp
// of the exact reference, and agrees with it on NaN and infinities.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ulpOf } from "../../../reference/formats/float.ts";
import { quantizedMatmul } from "../../../reference/matmul.ts";
import { tensorToNumbers } from "../../../reference/tensor.ts";
import { FLOAT_DTYPES, MODES, MODE_RULES } from "../../../spec/types.ts";
import type { FloatDType, Mode } from "../../../spec/types.ts";
import type { CaseConfig, ShapeSpec } from "../../../vectors/generate/config.ts";
import { Random } from "../../../vectors/generate/random.ts";
import { normalValues, xElementCount, xTensor } from "../../../vectors/generate/values.ts";
import { buildDirectWeights, elementLevels } from "../../../vectors/generate/weights.ts";
import { jsQuantizedMatmul } from "../kernel.ts";

const BATCH_LAYOUTS: readonly { xBatch: number[]; wBatch: number[]; vector?: boolean }[] = [
  { xBatch: [], wBatch: [] },
  { xBatch: [], wBatch: [], vector: true },
  { xBatch: [3], wBatch: [] },
  { xBatch: [2, 1], wBatch: [3] },
  { xBatch: [1], wBatch: [2] },
  { xBatch: [2, 3], wBatch: [3] },
];

const configArbitrary = fc
  .record({
    mode: fc.constantFrom<Mode>(...MODES),
    bitsIndex: fc.nat(),
    groupIndex: fc.nat(),
    dtype: fc.constantFrom<FloatDType>(...FLOAT_DTYPES),
    transpose: fc.boolean(),
    layout: fc.constantFrom(...BATCH_LAYOUTS),
    M: fc.integer({ min: 1, max: 5 }),
    groups: fc.integer({ min: 1, max: 3 }),
    free: fc.integer({ min: 1, max: 9 }),
    seed: fc.string({ maxLength: 8 }),
  })
  .map(({ mode, bitsIndex, groupIndex, dtype, transpose, layout, M, groups, free, seed }) => {
    const rule = MODE_RULES[mode];
    const bits = rule.bits[bitsIndex % rule.bits.length];
    const groupSize = rule.groupSizes[groupIndex % rule.groupSizes.length];

    // The quantized axis is a multiple of group_size; the other one is free.
    const K = transpose ? groups * groupSize : free;
    const N = transpose ? free : groups * groupSize;
    const shape: ShapeSpec = { xBatch: layout.xBatch, wBatch: layout.wBatch, M: layout.vector ? 1 : M, K, N, vector: layout.vector === true };
    const cfg: CaseConfig = { mode, bits, groupSize, transpose, xDType: dtype, scalesDType: dtype, biasesDType: dtype, shape };
    return { cfg, seed };
  });

describe("JS backend property", () => {
  it("stays within one ulp of the reference", () => {
    fc.assert(
      fc.property(configArbitrary, ({ cfg, seed }) => {
        const rng = new Random(`property/${seed}`);
        const levels = elementLevels(cfg);
        const weights = buildDirectWeights(cfg, {
          scaleExponent: () => rng.integerBetween(-4, 1),
          scaleSign: () => (cfg.mode === "affine" || cfg.mode === "nvfp4" ? (rng.sign() as 1 | -1) : 1),
          level: () => rng.pick(levels),
        });
        const inputs = { x: xTensor(cfg, normalValues(rng, xElementCount(cfg))), w: weights.w, scales: weights.scales, ...(weights.biases === undefined ? {} : { biases: weights.biases }) };
        const params = { mode: cfg.mode, bits: cfg.bits, groupSize: cfg.groupSize, transpose: cfg.transpose };

        const expected = quantizedMatmul(inputs, params).y;
        const got = jsQuantizedMatmul(inputs, params);
        expect(got.shape).toEqual(expected.shape);
        expect(got.dtype).toBe(expected.dtype);

        const want = tensorToNumbers(expected);
        const have = tensorToNumbers(got);
        for (let i = 0; i < want.length; i++) {
          if (!Number.isFinite(want[i])) {
            expect(Object.is(have[i], want[i]) || (Number.isNaN(have[i]) && Number.isNaN(want[i]))).toBe(true);
          } else {
            expect(Math.abs(have[i] - want[i])).toBeLessThanOrEqual(ulpOf(want[i], expected.dtype as FloatDType));
          }
        }
      }),
      { numRuns: 200, seed: 20261204 },
    );
  });
});
