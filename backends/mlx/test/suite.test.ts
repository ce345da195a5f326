/**
 * Every golden vector of the default suites through real MLX, via the harness's runner: each case
 * must pass within the mlx-cpu budget, be unsupported with a reason, or be a listed known divergence
 * that still fails. A divergence entry that MLX passes is an error too, so the list stays true.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConformance } from "../../../harness/run/runner.ts";
import { openCaseSource } from "../../../harness/run/source.ts";
import type { RunReport } from "../../../harness/run/records.ts";
import { knownDivergences } from "../divergences.ts";
import type { MlxBackend } from "../index.ts";
import { SKIP_MLX, startMlx } from "./support.ts";

describe.skipIf(SKIP_MLX)("mlx on the golden suites", () => {
  let backend: MlxBackend;
  let report: RunReport;

  beforeAll(async () => {
    backend = await startMlx();
    report = await runConformance([backend], openCaseSource({ suites: [] }), {
      timeoutSeconds: 120,
      knownDivergences: { mlx: knownDivergences },
      required: ["mlx"],
    });
  });

  afterAll(async () => {
    await backend?.close?.();
  });

  it("loads every vector file", () => {
    expect(report.loadFailures).toEqual([]);
  });

  it("runs every suite", () => {
    const suites = new Set(report.records.map((record) => record.suite));

    expect([...suites].sort()).toEqual(["errors", "exact", "generated", "real"]);
  });

  it("has no failing case", () => {
    const failing = report.records
      .filter((record) => !["passed", "unsupported", "known-divergence"].includes(record.status))
      .map((record) => `${record.status} ${record.caseId}${record.text === undefined ? "" : `\n${record.text}`}`);

    expect(failing).toEqual([]);
  });

  it("gives every unsupported case a reason", () => {
    const unexplained = report.records.filter((record) => record.status === "unsupported" && !record.reason);

    expect(unexplained).toEqual([]);
  });

  it("passes every value case within budget", () => {
    const values = report.records.filter((record) => record.suite !== "errors");
    const notPassed = values.filter((record) => record.status !== "passed").map((record) => `${record.status} ${record.caseId}`);

    expect(values.length).toBeGreaterThan(400);
    expect(notPassed).toEqual([]);
  });
});
