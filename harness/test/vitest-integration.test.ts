// Runs a conformance suite that must fail in a child vitest process and checks the output a user gets.
import { execa } from "execa";
import { describe, expect, it } from "vitest";

describe("defineConformanceSuite", () => {
  it("failing case shows diff and rerun", async () => {
    const result = await execa("npx", ["vitest", "run", "harness/test/meta/sloppy-suite.test.ts"], {
      env: { QMM_SLOPPY_SUITE: "1", NO_COLOR: "1", FORCE_COLOR: "0" },
      reject: false,
      all: true,
    });
    const output = result.all ?? "";
    expect(result.exitCode).toBe(1);
    expect(output).toContain("conformance: sloppy");
    expect(output).toContain("affine/b4/g64/float32/t/2x9_K128/seed51");
    expect(output).toContain("outside the budget of variant dequantize-dot/f32");
    expect(output).toContain("Pattern: last-group-bias");
    expect(output).toContain("Rerun: qmm-conformance run --backend sloppy --filter 'affine/b4/g64/float32/t/2x9_K128/seed51'");
  });
});
