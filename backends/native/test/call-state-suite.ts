/**
 * State the native addon keeps between calls: the transposed-x buffer of the panel path and the
 * per-thread scratch persist across calls and only grow, and a mutex lets one call at a time use
 * them. Repeated, interleaved and concurrent calls must return the same bits as a call in a fresh
 * sequence, and must leave their inputs unchanged. Shared by the AVX-512 and the forced-AVX2
 * test files.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { floatValues } from "../../../harness/budget/values.ts";
import { tensorFromNumbers } from "../../../reference/tensor.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../../spec/types.ts";
import { createNativeBackend } from "../index.ts";
import { adversarialCall } from "./adversarial-case.ts";
import type { DataKind } from "./adversarial-case.ts";
import { judgeOutcome } from "./conformance-suite.ts";
import { describeCase, drawnCaseArbitrary } from "./panel-arbitrary.ts";
import type { DrawnCase } from "./panel-arbitrary.ts";
import { environmentInteger } from "./panel-fuzz-suite.ts";
import type { CaseSpec } from "./random-case.ts";

const RUNS = Math.max(1, Math.floor(environmentInteger("QMM_NATIVE_FUZZ_RUNS", 60) / 5));
const MAX_MULTIPLY_ADDS = environmentInteger("QMM_NATIVE_FUZZ_MAX_MULTIPLY_ADDS", 3_000_000);
const SEED = environmentInteger("QMM_NATIVE_FUZZ_SEED", 20261204);

const backend = createNativeBackend();

/** A call's inputs and parameters. */
interface Call {
  readonly inputs: QmmInputs;
  readonly params: QmmParamsInput;
}

/** Copies the bytes of a tensor's data. */
function bytesOf(tensor: Tensor): Buffer {
  return Buffer.from(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
}

/** Copies the bytes of every input tensor, to check that a call leaves its inputs unchanged. */
function inputBytes(call: Call): Buffer[] {
  const { x, w, scales, biases } = call.inputs;
  return [x, w, scales, ...(biases ? [biases] : [])].map(bytesOf);
}

/** Runs one call and returns its y, or throws with the outcome when the call did not succeed. */
async function runNative(call: Call): Promise<Tensor> {
  const [outcome] = await backend.run([{ caseId: "call-state", ...call }]);
  if (outcome.kind !== "ok") throw new Error(`the native backend returned ${outcome.kind}: ${JSON.stringify(outcome)}`);
  return outcome.y;
}

/** Asserts that a call's output is within budget against the exact reference. */
function expectWithinBudget(call: Call, y: Tensor, name: string): void {
  const verdict = judgeOutcome(call.inputs, call.params, { kind: "ok", y });
  expect(verdict.failed, `${name}: ${verdict.worst}`).toBe(0);
}

function callOf(spec: CaseSpec, kind: DataKind, seed: number): Call {
  return adversarialCall(spec, kind, seed);
}

/** Returns the call with every x value multiplied by `factor`, a power of two (so exactly). */
function withScaledX(call: Call, factor: number): Call {
  const { x } = call.inputs;
  const values = Array.from(floatValues(x), (value) => value * factor);
  return { ...call, inputs: { ...call.inputs, x: tensorFromNumbers(x.dtype, x.shape, values) } };
}

const F32 = { xDType: "float32", scalesDType: "float32", biasesDType: "float32" } as const;

/** A panel-path call with row and column tails. */
const SMALL_PANEL: CaseSpec = { mode: "affine", bits: 4, groupSize: 64, transpose: true, ...F32, M: 9, K: 192, N: 29, xBatch: [], wBatch: [] };

/**
 * A call with more rows, a longer K and two x matrices, whose transposed x and scratch are larger
 * than SMALL_PANEL's. The test scales its x by 2^40, so that any value it leaves in the buffers
 * would change SMALL_PANEL's results by far more than their budget.
 */
const LARGE_PANEL: CaseSpec = { mode: "affine", bits: 4, groupSize: 64, transpose: true, ...F32, M: 200, K: 64 * 40, N: 300, xBatch: [2], wBatch: [] };

/** A call on the small-M kernels, which read x untransposed. */
const SMALL_M: CaseSpec = { mode: "mxfp8", bits: 8, groupSize: 32, transpose: true, ...F32, M: 3, K: 96, N: 17, xBatch: [], wBatch: [] };

/** Registers the suite under `label`. */
export function describeCallState(label: string): void {
  describe(`native call state (${label})`, () => {
    test("interleaved calls leave no stale data", async () => {
      const small = callOf(SMALL_PANEL, "gaussian", 71);
      const large = withScaledX(callOf(LARGE_PANEL, "gaussian", 72), 2 ** 40);
      const smallM = callOf(SMALL_M, "gaussian", 73);
      const smallInputs = inputBytes(small);

      const first = await runNative(small);
      expectWithinBudget(small, first, "first call");
      await runNative(large);
      const afterLarge = await runNative(small);
      await runNative(smallM);
      const afterSmallM = await runNative(small);
      const repeated = await runNative(small);

      expect(bytesOf(afterLarge).equals(bytesOf(first)), "after a larger call").toBe(true);
      expect(bytesOf(afterSmallM).equals(bytesOf(first)), "after a small-M call").toBe(true);
      expect(bytesOf(repeated).equals(bytesOf(first)), "repeated").toBe(true);
      expect(inputBytes(small), "inputs unchanged").toEqual(smallInputs);
    });

    test("concurrent calls match sequential calls", async () => {
      const judged = [
        callOf(SMALL_PANEL, "gaussian", 81),
        callOf({ ...LARGE_PANEL, K: 64 * 8, N: 100 }, "gaussian", 82),
        callOf(SMALL_M, "gaussian", 83),
        callOf({ ...SMALL_PANEL, M: 64, N: 97, mode: "nvfp4", groupSize: 16, K: 160 }, "gaussian", 84),
      ];
      // Calls of a few milliseconds each, with transposed x of different sizes, so that
      // concurrent calls overlap in the addon unless its mutex serializes them.
      const long = [
        callOf({ ...LARGE_PANEL, M: 64, K: 4096, N: 256, xBatch: [] }, "gaussian", 85),
        callOf({ ...LARGE_PANEL, M: 130, K: 1024, N: 500, xBatch: [] }, "gaussian", 86),
        callOf({ ...LARGE_PANEL, M: 9, K: 8192, N: 200, xBatch: [] }, "gaussian", 87),
      ];
      const calls = [...judged, ...long];
      const sequential: Tensor[] = [];
      for (const call of calls) sequential.push(await runNative(call));
      judged.forEach((call, i) => expectWithinBudget(call, sequential[i], `call ${i}`));

      for (let round = 0; round < 5; round++) {
        const concurrent = await Promise.all([...calls, ...calls].map(runNative));
        for (let i = 0; i < concurrent.length; i++) {
          const index = i % calls.length;
          expect(bytesOf(concurrent[i]).equals(bytesOf(sequential[index])), `call ${index}, round ${round}`).toBe(true);
        }
      }
    });

    test(
      `${RUNS} random call sequences repeat their bits`,
      async () => {
        const arbitrary = drawnCaseArbitrary({ maxMultiplyAdds: MAX_MULTIPLY_ADDS });
        await fc.assert(
          fc.asyncProperty(arbitrary, arbitrary, arbitrary, async (target, before, between) => {
            await expectRepeatable(target, before, between);
          }),
          { numRuns: RUNS, seed: SEED },
        );
      },
      120_000 + RUNS * 5_000,
    );
  });
}

/**
 * Runs `target` after `before`, then after `between`, then twice at once next to `between`, and
 * asserts that all its results are bit-identical and that the first is within budget.
 */
async function expectRepeatable(target: DrawnCase, before: DrawnCase, between: DrawnCase): Promise<void> {
  const name = describeCase(target);
  const call = callOf(target.spec, target.kind, target.seed);
  const other = callOf(between.spec, between.kind, between.seed);

  await runNative(callOf(before.spec, before.kind, before.seed));
  const first = await runNative(call);
  expectWithinBudget(call, first, name);

  await runNative(other);
  const second = await runNative(call);
  const [, third, fourth] = await Promise.all([runNative(other), runNative(call), runNative(call)]);

  for (const [result, which] of [[second, "second"], [third, "third"], [fourth, "fourth"]] as const) {
    expect(bytesOf(result).equals(bytesOf(first)), `${name}: ${which} run differs from the first`).toBe(true);
  }
}
