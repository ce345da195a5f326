// A budget of at least Σ|x·ŵ| accepts an output of zero, so such a pass must not count as one.
import { describe, expect, it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import { evaluateOutcome } from "../evaluate.ts";
import { affineCase } from "../../test/fixtures.ts";
import type { Tensor } from "../../../spec/types.ts";

function zerosLike(y: Tensor): Tensor {
  return { ...y, data: new Uint16Array(y.data.length) };
}

describe("inconclusive status", () => {
  // bfloat16 in and out: sequential bfloat16 accumulation over K = 1024 has γ_K ≈ e^4 − 1 ≫ 1.
  const golden = affineCase({ M: 2, K: 1024, N: 5, dtype: "bfloat16", seed: 41, groupSize: 64 });
  if (golden.expected.kind !== "value") throw new Error("expected a value case");
  const zeros = zerosLike(golden.expected.y);

  it("marks a zero output under a loose variant", () => {
    const variant = VARIANTS["sequential/compute"];
    const record = evaluateOutcome(golden, { kind: "ok", y: zeros }, { backend: "zeros", variant, rerun: "" });
    expect(record.status).toBe("inconclusive");
    expect(record.vacuousElements).toBe(10);
    expect(record.reason).toContain("sequential/compute");
  });

  it("fails the zero output under a tight variant", () => {
    const variant = VARIANTS["dequantize-rounded/f32"];
    const record = evaluateOutcome(golden, { kind: "ok", y: zeros }, { backend: "zeros", variant, rerun: "" });
    expect(record.status).toBe("failed");
  });

  it("never passes an all-zero output", () => {
    // Long and short bfloat16 sums under every registered variant: zeros must fail or be inconclusive.
    for (const K of [64, 128, 256, 1024]) {
      for (const seed of [43, 44]) {
        const shortCase = affineCase({ M: 2, K, N: 5, dtype: "bfloat16", seed, groupSize: 32 });
        if (shortCase.expected.kind !== "value") throw new Error("expected a value case");
        for (const variant of Object.values(VARIANTS)) {
          const record = evaluateOutcome(shortCase, { kind: "ok", y: zerosLike(shortCase.expected.y) }, { backend: "zeros", variant, rerun: "" });
          expect(record.status, `${variant.name} K=${K} seed=${seed}`).not.toBe("passed");
        }
      }
    }
  });

  it("passes the correct output under a tight variant", () => {
    if (golden.expected.kind !== "value") return;
    const variant = VARIANTS["dequantize-rounded/f32"];
    const record = evaluateOutcome(golden, { kind: "ok", y: golden.expected.y }, { backend: "exact", variant, rerun: "" });
    expect(record.status).toBe("passed");
  });
});
