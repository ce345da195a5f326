// A conformance suite that must fail: a backend that drops the last group's bias. It only runs
// when vitest-integration.test.ts starts it with QMM_SLOPPY_SUITE=1, and is skipped otherwise.
import { it } from "vitest";
import { VARIANTS } from "../../../spec/variants.ts";
import { defineConformanceSuite } from "../../vitest.ts";
import { affineCase, simulatedBackend } from "../fixtures.ts";

if (process.env.QMM_SLOPPY_SUITE === "1") {
  const sloppy = simulatedBackend("sloppy", VARIANTS["dequantize-dot/f32"], { dropLastGroupBias: true });
  const honest = affineCase({ M: 2, K: 128, N: 9, seed: 51, groupSize: 64 });
  await defineConformanceSuite(sloppy, { source: [honest], knownDivergences: [] });
} else {
  it.skip("sloppy suite runs only from vitest-integration.test.ts", () => {});
}
