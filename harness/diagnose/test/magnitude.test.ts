// The magnitude patterns on real reference results from deliberately broken simulations.
import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import { evaluateOutcome } from "../../run/evaluate.ts";
import { affineCase, simulate } from "../../test/fixtures.ts";
import { classifyMagnitude } from "../magnitude.ts";
import { quantizedMatmul } from "../../../reference/matmul.ts";
import type { Defects } from "../../test/fixtures.ts";

function patternOf(defects: Defects, seed: number): string | null | undefined {
  const golden = affineCase({ M: 3, K: 256, N: 7, seed, groupSize: 64 });
  const variant = VARIANTS["dequantize-dot/f64"];
  const y = simulate(variant, golden.inputs, golden.params, defects);
  const record = evaluateOutcome(golden, { kind: "ok", y }, { backend: "broken", variant, rerun: "" });
  expect(record.status).toBe("failed");
  return record.failure?.kind === "values" ? record.failure.pattern?.name : undefined;
}

describe("classifyMagnitude", () => {
  it("dropped last group", () => {
    expect(patternOf({ dropLastGroup: true }, 31)).toBe("last-group-along-k");
  });

  it("dropped last-group bias", () => {
    expect(patternOf({ dropLastGroupBias: true }, 32)).toBe("last-group-bias");
  });

  it("errors unlike the last group are not named", () => {
    // Errors of 1.4 times the last group's contribution, each 1.5 budgets large: once the
    // contribution is taken out, 0.4·|c| remains, more than a quarter of the error, so no group
    // was simply dropped or doubled (accumulation drift looks like this).
    const golden = affineCase({ M: 2, K: 256, N: 5, seed: 37, groupSize: 64 });
    const K = 256;
    const masked = golden.inputs.x.data.slice();
    for (let i = 0; i < masked.length; i++) if (i % K < K - 64) masked[i] = 0;
    const contribution = quantizedMatmul({ ...golden.inputs, x: { ...golden.inputs.x, data: masked } }, golden.params).exact;
    const exact = quantizedMatmul(golden.inputs, golden.params).exact;

    const failedIndices = Array.from(exact.keys()).filter((index) => contribution[index] !== 0);
    const got = exact.map((value, index) => value - 1.4 * contribution[index]);
    const bounds = failedIndices.map((index) => (1.4 * Math.abs(contribution[index])) / 1.5);
    const pattern = classifyMagnitude({ params: golden.params, inputs: golden.inputs, outShape: [2, 5], failedIndices, got, exact, bounds });

    expect(pattern?.name).not.toBe("last-group-along-k");
    expect(pattern?.name).not.toBe("last-group-bias");
  });

  it("scale-sized error", () => {
    expect(patternOf({ addScale: true }, 33)).toBe("scale-or-bias-sized");
  });
});
