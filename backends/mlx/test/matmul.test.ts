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
import { packCodes } from "../../../reference/pack.ts";
import { tensorFromNumbers } from "../../../reference/tensor.ts";
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

/** A case built from raw codes and scale bytes, for inputs quantize would never produce. */
interface RawCase {
  readonly id: string;
  readonly inputs: QmmInputs;
  readonly params: { mode: Mode; transpose: boolean; groupSize: number; bits: number };
}

/**
 * Inputs that push MLX's sequential loops to their worst: long all-positive sums in float16 and
 * bfloat16 (every addition rounds at the size of the running sum), large terms that cancel, and
 * fp-mode scales so small that x·scale is subnormal in float16 before it meets an element of up to
 * 448 (transpose=false computes (x·scale)·value).
 */
async function adversarialCases(backend: MlxBackend): Promise<RawCase[]> {
  const list: RawCase[] = [];
  const next = normalSource(4242);

  // K·u stays at 1/2 (1024·2^-11 and 128·2^-8), so the γ_K budget is finite and can fail.
  for (const [dtype, K] of [["float16", 1024], ["bfloat16", 128]] as const) {
    const positive = tensorFromNumbers(dtype, [8, K], Float64Array.from({ length: 8 * K }, () => 0.5 + Math.abs(next()) / 4));
    const quantized = await mlxQuantize(backend, positive, "affine", 64, 4);
    const x = tensorFromNumbers(dtype, [2, K], Float64Array.from({ length: 2 * K }, () => 0.75 + Math.abs(next()) / 8));
    list.push({ id: `affine/${dtype}/positive-sum-K${K}`, inputs: { x, ...quantized }, params: { mode: "affine", transpose: true, groupSize: 64, bits: 4 } });

    const cancelling = tensorFromNumbers(dtype, [2, K], Float64Array.from({ length: 2 * K }, (_, index) => (index % 2 === 0 ? 1 : -1) * (100 + next())));
    list.push({ id: `affine/${dtype}/cancelling-K${K}`, inputs: { x: cancelling, ...quantized }, params: { mode: "affine", transpose: true, groupSize: 64, bits: 4 } });
  }

  for (const mode of ["mxfp8", "mxfp4"] as const) {
    for (const transpose of [true, false]) {
      const { groupSize, bits } = defaultsOf(mode);
      const K = 256;
      const N = 64;
      const rows = transpose ? N : K;
      const cols = transpose ? K : N;
      const codes = Array.from({ length: rows * cols }, () => {
        const code = Math.floor(Math.abs(next()) * 1e6) % 2 ** bits;
        return mode === "mxfp8" && (code & 0x7f) === 0x7f ? code - 1 : code;
      });
      const w = { dtype: "uint32" as const, shape: [rows, (cols * bits) / 32], data: packCodes(codes, bits, rows, cols) };
      // 2^-20 and 2^-22: x·scale lands below float16's smallest normal 2^-14.
      const scales = { dtype: "uint8" as const, shape: [rows, cols / groupSize], data: Uint8Array.from({ length: (rows * cols) / groupSize }, (_, index) => 127 - 20 - (index % 3)) };
      const x = tensorFromNumbers("float16", [3, K], Float64Array.from({ length: 3 * K }, () => next() / 32));
      list.push({ id: `${mode}/float16/${transpose ? "t" : "n"}/subnormal-x-scale`, inputs: { x, w, scales }, params: { mode, transpose, groupSize, bits } });
    }
  }
  return list;
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

  it("matches the model and budget on adversarial inputs", async () => {
    const failures: string[] = [];

    for (const testCase of await adversarialCases(backend)) {
      const [outcome] = await backend.run([{ caseId: testCase.id, inputs: testCase.inputs, params: testCase.params }]);
      expect(outcome.kind, testCase.id).toBe("ok");
      if (outcome.kind !== "ok") continue;

      const got = floatValues(outcome.y);
      const model = emulateMlxCpu(testCase.inputs, testCase.params);
      const differing = got.findIndex((value, index) => !bitsEqual(value, model.values[index]));
      if (differing >= 0) failures.push(`${testCase.id}[${differing}]: mlx ${got[differing]}, model ${model.values[differing]}`);

      const exact = quantizedMatmul(testCase.inputs, testCase.params);
      const plan = planBudget(budgetSetting(VARIANTS["mlx-cpu"], testCase.params, testCase.inputs, exact.call.outDType, exact.condition));
      if (plan.kind === "unmodelled") throw new Error(plan.reason);
      const comparison = compareTensor(plan, exact.y, { y: floatValues(exact.y), exact: exact.exact, condition: exact.condition }, outcome.y);
      if (comparison.kind === "mismatch") failures.push(`${testCase.id}: ${comparison.what} mismatch`);
      else if (comparison.failedIndices.length > 0) {
        const worst = comparison.worst!;
        failures.push(`${testCase.id}: ${comparison.failedIndices.length} out of budget, worst [${worst.index}] error ${worst.error} > bound ${worst.bound}`);
      } else if (!Number.isFinite(comparison.worst!.bound)) {
        failures.push(`${testCase.id}: the budget is infinite, so the comparison cannot fail`);
      }
    }

    expect(failures).toEqual([]);
  });

  // NOTE: with γ_K = K·u/(1 − K·u), bfloat16 cases with K ≥ 256 get an infinite budget, so for
  // them this check cannot fail; the bit-for-bit model test above still covers them.
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
