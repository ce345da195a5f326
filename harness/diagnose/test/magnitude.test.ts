// The magnitude patterns on real reference results from deliberately broken simulations.
import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import { evaluateOutcome } from "../../run/evaluate.ts";
import { affineCase, simulate } from "../../test/fixtures.ts";
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

  it("scale-sized error", () => {
    expect(patternOf({ addScale: true }, 33)).toBe("scale-or-bias-sized");
  });
});
