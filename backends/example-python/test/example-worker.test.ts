/**
 * The standard-library example worker, resolved through the registry as `cmd:python3 ...` the way
 * the docs show it, checked against the exact reference within its declared variant's budget.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareTensor } from "../../../harness/budget/compare.ts";
import { planBudget } from "../../../harness/budget/plan.ts";
import { budgetSetting } from "../../../harness/budget/setting.ts";
import { floatValues } from "../../../harness/budget/values.ts";
import type { Backend } from "../../../harness/backend.ts";
import { resolveBackend } from "../../../harness/registry.ts";
import { quantizedMatmul } from "../../../reference/matmul.ts";
import { packCodes } from "../../../reference/pack.ts";
import { tensorFromNumbers } from "../../../reference/tensor.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import type { FloatDType, QmmInputs } from "../../../spec/types.ts";
import { normalSource } from "../../mlx/test/support.ts";

const COMMAND = "cmd:python3 backends/example-python/worker.py";

function affineInputs(seed: number, dtype: FloatDType, transpose: boolean, bits: number, groupSize: number, M: number, K: number, N: number): QmmInputs {
  const next = normalSource(seed);
  const rows = transpose ? N : K;
  const cols = transpose ? K : N;
  const codes = Array.from({ length: rows * cols }, () => Math.floor(Math.abs(next() * 2 ** bits)) % 2 ** bits);
  const groups = rows * (cols / groupSize);

  return {
    x: tensorFromNumbers(dtype, [M, K], Array.from({ length: M * K }, next)),
    w: { dtype: "uint32", shape: [rows, (cols * bits) / 32], data: packCodes(codes, bits, rows, cols) },
    scales: tensorFromNumbers(dtype, [rows, cols / groupSize], Array.from({ length: groups }, () => next() / 2 ** bits)),
    biases: tensorFromNumbers(dtype, [rows, cols / groupSize], Array.from({ length: groups }, () => next() / 4)),
  };
}

describe("example python worker", () => {
  let backend: Backend;
  let variant: NumericsVariant;

  beforeAll(async () => {
    backend = (await resolveBackend(COMMAND, { timeoutSeconds: 60 })).backend;
    const probe = await backend.probe();
    if (probe.kind !== "available") throw new Error(`example worker unavailable: ${probe.reason}`);
    variant = probe.variant;
  });

  afterAll(async () => {
    await backend?.close?.();
  });

  it("declares the f64 dequantize-dot variant", () => {
    expect(variant.name).toBe("dequantize-dot/f64");
  });

  it("stays within its budget for affine cases", async () => {
    const failures: string[] = [];
    let seed = 7;

    for (const dtype of ["float32", "float16", "bfloat16"] as const) {
      for (const transpose of [true, false]) {
        for (const bits of [2, 3, 4, 5, 6, 8]) {
          const groupSize = [32, 64, 128][bits % 3];
          const inputs = affineInputs(seed++, dtype, transpose, bits, groupSize, 2, 128, 128);
          const params = { mode: "affine", transpose, groupSize, bits };
          const caseId = `affine/b${bits}/g${groupSize}/${dtype}/${transpose ? "t" : "n"}`;
          const [outcome] = await backend.run([{ caseId, inputs, params }]);
          if (outcome.kind !== "ok") {
            failures.push(`${caseId}: ${outcome.kind}`);
            continue;
          }

          const exact = quantizedMatmul(inputs, params);
          const plan = planBudget(budgetSetting(variant, params, inputs, exact.call.outDType, exact.condition));
          if (plan.kind === "unmodelled") throw new Error(plan.reason);
          const comparison = compareTensor(plan, exact.y, { y: floatValues(exact.y), exact: exact.exact, condition: exact.condition }, outcome.y);
          if (comparison.kind === "mismatch") failures.push(`${caseId}: ${comparison.what} mismatch`);
          else if (comparison.failedIndices.length > 0) failures.push(`${caseId}: ${comparison.failedIndices.length} elements out of budget`);
        }
      }
    }

    expect(failures).toEqual([]);
  });

  it("reports an unsupported mode", async () => {
    const inputs = affineInputs(1, "float32", true, 4, 32, 1, 32, 8);
    const [outcome] = await backend.run([{ caseId: "mxfp4/probe", inputs, params: { mode: "mxfp4" } }]);

    expect(outcome.kind).toBe("error");
    if (outcome.kind === "error") expect(outcome.code).toBe("E_UNSUPPORTED");
  });
});
