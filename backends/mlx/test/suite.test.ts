/**
 * Every golden vector of the default suites through real MLX, via the harness's runner: each case
 * must pass within the mlx-cpu budget, be unsupported with a reason, or be a listed known divergence
 * that still fails. A divergence entry that MLX passes is an error too, so the list stays true.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConformance } from "../../../harness/run/runner.ts";
import { openCaseSource } from "../../../harness/run/source.ts";
import type { RunReport } from "../../../harness/run/records.ts";
import { loadSuites } from "../../../vectors/load.ts";
import { floatValues } from "../../../harness/budget/values.ts";
import { MODE_RULES } from "../../../spec/types.ts";
import type { Mode } from "../../../spec/types.ts";
import { emulateMlxCpu } from "./cpu-emulator.ts";
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
      .filter((record) => !["passed", "unsupported", "known-divergence", "inconclusive"].includes(record.status))
      .map((record) => `${record.status} ${record.caseId}${record.text === undefined ? "" : `\n${record.text}`}`);

    expect(failing).toEqual([]);
  });

  it("gives every unsupported case a reason", () => {
    const unexplained = report.records.filter((record) => record.status === "unsupported" && !record.reason);

    expect(unexplained).toEqual([]);
  });

  it("passes every value case within budget", () => {
    const values = report.records.filter((record) => record.suite !== "errors");
    const notPassed = values.filter((record) => record.status !== "passed" && record.status !== "inconclusive").map((record) => `${record.status} ${record.caseId}`);

    expect(values.length).toBeGreaterThan(400);
    expect(notPassed).toEqual([]);
  });

  // Where the mlx-cpu budget is too loose to judge (long float16 or bfloat16 sums), MLX's output must
  // instead equal, bit for bit, the model of its CPU loops that matmul.test.ts checks against MLX.
  it("matches the CPU-loop model where the budget is inconclusive", async () => {
    const inconclusive = new Set(report.records.filter((record) => record.status === "inconclusive").map((record) => record.caseId));
    const mismatches: string[] = [];
    let checked = 0;

    for await (const item of loadSuites({ filter: (id) => inconclusive.has(id) })) {
      if ("kind" in item) continue;
      const mode = (item.params.mode ?? "affine") as Mode;
      const params = {
        mode,
        transpose: item.params.transpose ?? true,
        groupSize: item.params.groupSize ?? MODE_RULES[mode].defaultGroupSize,
        bits: item.params.bits ?? MODE_RULES[mode].defaultBits,
      };
      const [outcome] = await backend.run([{ caseId: item.id, inputs: item.inputs, params: item.params }]);
      if (outcome.kind !== "ok") {
        mismatches.push(`${item.id}: ${outcome.kind}`);
        continue;
      }

      const model = emulateMlxCpu(item.inputs, params);
      const got = floatValues(outcome.y);
      const differing = got.findIndex((value, index) => !(value === model.values[index] || (Number.isNaN(value) && Number.isNaN(model.values[index]))));
      if (differing >= 0) mismatches.push(`${item.id}[${differing}]: mlx ${got[differing]}, model ${model.values[differing]}`);
      checked++;
    }

    expect(checked).toBe(inconclusive.size);
    expect(mismatches).toEqual([]);
  });
});
