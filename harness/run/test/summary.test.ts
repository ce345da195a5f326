import { describe, expect, it } from "vitest";
import type { CaseRecord } from "../records.ts";
import { summarize } from "../summary.ts";

function record(backend: string, suite: string, status: CaseRecord["status"], worstRatio?: number): CaseRecord {
  return { backend, suite, caseId: `${suite}/${Math.random()}`, status, ...(worstRatio === undefined ? {} : { worstRatio }) };
}

describe("summarize", () => {
  const rows = summarize([
    record("a", "generated", "passed", 0.1),
    record("b", "generated", "passed", 0.2),
    record("a", "errors", "passed"),
    record("a", "generated", "failed", 3),
    record("a", "generated", "passed", 0.5),
    record("a", "generated", "known-divergence", 40),
    record("a", "generated", "unsupported"),
  ]);

  it("groups rows by backend", () => {
    expect(rows.map((row) => `${row.backend}/${row.suite}`)).toEqual(["a/generated", "a/errors", "b/generated"]);
  });

  it("counts statuses", () => {
    expect(rows[0]).toMatchObject({ passed: 2, failed: 1, known: 1, unsupported: 1 });
  });

  it("worst and median skip known divergences", () => {
    expect(rows[0].worstRatio).toBe(3);
    expect(rows[0].medianRatio).toBe(0.5);
  });

  it("rows without value cases have no ratios", () => {
    expect(rows[1].worstRatio).toBeNull();
    expect(rows[1].medianRatio).toBeNull();
  });
});
