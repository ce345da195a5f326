/**
 * Real MLX quantized_matmul through the worker protocol, checked two ways: bit for bit against a
 * model of the loops the `mlx-cpu` variant describes, and against the exact reference within the
 * budget that variant gets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quantizedMatmul } from "../../../reference/matmul.ts";
import { compareTensor } from "../../../harness/budget/compare.ts";
import { planBudget } from "../../../harness/budget/plan.ts";
import { budgetSetting } from "../../../harness/budget/setting.ts";
import { floatValues } from "../../../harness/budget/values.ts";
import { VARIANTS } from "../../../spec/variants.ts";
import { MODES } from "../../../spec/types.ts";
import type { FloatDType, Mode, QmmInputs, Tensor } from "../../../spec/types.ts";
import type { MlxBackend } from "../index.ts";
import { defaultsOf, emulateMlxCpu } from "./cpu-emulator.ts";
import { mlxQuantize, normalSource, randomTensor, SKIP_MLX, startMlx } from "./support.ts";

interface MatmulCase {
  readonly id: string;
  readonly mode: Mode;
  readonly dtype: FloatDType;
  readonly transpose: boolean;
  readonly bits: number;
  readonly groupSize: number;
  readonly xShape: readonly number[];
  readonly K: number;
  readonly N: number;
}

const SHAPES = [
  { xShape: [1, 128], K: 128, N: 128 },
  { xShape: [3, 256], K: 256, N: 128 },
  { xShape: [2, 2, 512], K: 512, N: 256 },
];

function cases(): MatmulCase[] {
  const list: MatmulCase[] = [];
  for (const mode of MODES) {
    const bitsList = mode === "affine" ? [2, 3, 4, 5, 6, 8] : [defaultsOf(mode).bits];
    for (const bits of bitsList) {
      for (const dtype of ["float32", "float16", "bfloat16"] as const) {
        for (const transpose of [true, false]) {
          for (const shape of SHAPES) {
            const groupSize = mode === "affine" ? [32, 64, 128][(bits + shape.K) % 3] : defaultsOf(mode).groupSize;
            const id = `${mode}/b${bits}/g${groupSize}/${dtype}/${transpose ? "t" : "n"}/x${shape.xShape.join("x")}_N${shape.N}`;
            list.push({ id, mode, dtype, transpose, bits, groupSize, ...shape });
          }
        }
      }
    }
  }
  return list;
}

async function buildInputs(backend: MlxBackend, testCase: MatmulCase, seed: number): Promise<QmmInputs> {
  const next = normalSource(seed);
  const { K, N, transpose } = testCase;
  const logical = transpose ? [N, K] : [K, N];
  const weightDType = testCase.mode === "affine" ? testCase.dtype : "float32";
  const weight = randomTensor(weightDType, logical, next, 1 / Math.sqrt(K));
  const quantized = await mlxQuantize(backend, weight, testCase.mode, testCase.groupSize, testCase.bits);
  const x = randomTensor(testCase.dtype, testCase.xShape, next);
  return { x, w: quantized.w, scales: quantized.scales, biases: quantized.biases };
}

function bitsEqual(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

describe.skipIf(SKIP_MLX)("mlx quantized_matmul", () => {
  let backend: MlxBackend;

  beforeAll(async () => {
    backend = await startMlx();
  });

  afterAll(async () => {
    await backend?.close?.();
  });

  it("matches the mlx-cpu loop model bit for bit", async () => {
    const mismatches: string[] = [];
    let seed = 1;

    for (const testCase of cases()) {
      const inputs = await buildInputs(backend, testCase, seed++);
      const params = { mode: testCase.mode, transpose: testCase.transpose, groupSize: testCase.groupSize, bits: testCase.bits };
      const [outcome] = await backend.run([{ caseId: testCase.id, inputs, params }]);
      if (outcome.kind !== "ok") {
        mismatches.push(`${testCase.id}: ${outcome.kind} ${"message" in outcome ? outcome.message : ""}`);
        continue;
      }

      const model = emulateMlxCpu(inputs, params);
      const got = floatValues(outcome.y);
      expect(outcome.y.dtype, testCase.id).toBe(model.dtype);
      const differing = got.findIndex((value, index) => !bitsEqual(value, model.values[index]));
      if (differing >= 0) mismatches.push(`${testCase.id}[${differing}]: mlx ${got[differing]}, model ${model.values[differing]}`);
    }

    expect(mismatches).toEqual([]);
  });

  it("stays within the mlx-cpu budget of the exact result", async () => {
    const failures: string[] = [];
    let seed = 1000;

    for (const testCase of cases()) {
      const inputs = await buildInputs(backend, testCase, seed++);
      const params = { mode: testCase.mode, transpose: testCase.transpose, groupSize: testCase.groupSize, bits: testCase.bits };
      const [outcome] = await backend.run([{ caseId: testCase.id, inputs, params }]);
      expect(outcome.kind, testCase.id).toBe("ok");
      if (outcome.kind !== "ok") continue;

      const exact = quantizedMatmul(inputs, params);
      const plan = planBudget(budgetSetting(VARIANTS["mlx-cpu"], params, inputs, exact.call.outDType, exact.condition));
      if (plan.kind === "unmodelled") throw new Error(plan.reason);
      const comparison = compareTensor(plan, exact.y, { y: floatValues(exact.y), exact: exact.exact, condition: exact.condition }, outcome.y as Tensor);
      if (comparison.kind === "mismatch") failures.push(`${testCase.id}: ${comparison.what} ${comparison.actual}, expected ${comparison.expected}`);
      else if (comparison.failedIndices.length > 0) {
        const worst = comparison.worst!;
        failures.push(`${testCase.id}: ${comparison.failedIndices.length} elements out of budget, worst [${worst.index}] error ${worst.error} > bound ${worst.bound}`);
      }
    }

    expect(failures).toEqual([]);
  });
});
