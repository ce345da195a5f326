// Runner behaviour on real reference cases, with mock backends only for the harness's own error
// paths (crashes, hangs, broken probes, wrong outcome counts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { specIssue } from "../../../spec/errors.ts";
import { VARIANTS } from "../../../spec/variants.ts";
import type { GoldenCase, LoadFailure } from "../../../vectors/case.ts";
import type { Backend, BackendCall, CallOutcome, Capabilities } from "../../backend.ts";
import { referenceBackend } from "../../reference-backend.ts";
import { createWorkerBackend } from "../../worker/index.ts";
import { affineCase, errorCase, simulatedBackend } from "../../test/fixtures.ts";
import { runConformance } from "../runner.ts";
import type { CaseRecord } from "../records.ts";

const FULL: Capabilities = {
  modes: ["affine", "mxfp4", "mxfp8", "nvfp4"],
  dtypes: ["float32", "float16", "bfloat16"],
  transpose: [true, false],
  batchedWeights: true,
  reportsErrors: true,
};

function mockBackend(name: string, run: (calls: readonly BackendCall[]) => Promise<CallOutcome[]>, capabilities: Capabilities = FULL): Backend {
  return {
    name,
    async probe() {
      return { kind: "available", version: "mock", variant: VARIANTS["dequantize-dot/f32"], capabilities };
    },
    run,
  };
}

async function* from(items: readonly (GoldenCase | LoadFailure)[]) {
  yield* items;
}

const valueCase = affineCase({ M: 2, K: 64, N: 8, seed: 21 });
const f16Case = affineCase({ M: 2, K: 64, N: 8, seed: 22, dtype: "float16" });
const invalidBits = errorCase("errors/bits7", valueCase, { ...valueCase.params, bits: 7 });
const CASES = [valueCase, f16Case, invalidBits];

function statusOf(records: readonly CaseRecord[], caseId: string): string | undefined {
  return records.find((record) => record.caseId === caseId)?.status;
}

describe("runConformance", () => {
  it("reference passes every case", async () => {
    const report = await runConformance([referenceBackend], from(CASES));
    expect(report.ok).toBe(true);
    expect(report.records.map((record) => record.status)).toEqual(["passed", "passed", "passed"]);
    expect(report.summary.map((row) => row.suite)).toEqual(["generated", "errors"]);
  });

  it("rejected run is recorded as crashed", async () => {
    const broken = mockBackend("broken", async () => {
      throw new Error("segfault simulated");
    });
    const report = await runConformance([broken, referenceBackend], from(CASES));
    const brokenRecords = report.records.filter((record) => record.backend === "broken");
    expect(brokenRecords.map((record) => record.status)).toEqual(["crashed", "crashed", "crashed"]);
    expect(brokenRecords[0].text).toContain("segfault simulated");
    expect(report.records.filter((record) => record.backend === "reference").every((record) => record.status === "passed")).toBe(true);
    expect(report.ok).toBe(false);
  });

  it("hanging backend times out and the run goes on", async () => {
    const hanging = mockBackend("hanging", () => new Promise<CallOutcome[]>(() => {}));
    const report = await runConformance([hanging, referenceBackend], from(CASES), { timeoutSeconds: 0.05, batchSize: 2 });
    expect(report.records.filter((record) => record.backend === "hanging").map((record) => record.status)).toEqual(["timeout", "timeout", "timeout"]);
    expect(statusOf(report.records.filter((record) => record.backend === "reference"), valueCase.id)).toBe("passed");
  });

  it("wrong outcome count is a crash", async () => {
    const short = mockBackend("short", async () => []);
    const report = await runConformance([short], from([valueCase]));
    expect(report.records[0].status).toBe("crashed");
    expect(report.records[0].text).toContain("0 outcomes for 1 calls");
  });

  it("crash outcome keeps the stderr tail", async () => {
    const crashing = mockBackend("crashing", async (calls) => calls.map(() => ({ kind: "crashed", message: "worker exited with code 139", stderrTail: "Segmentation fault" })));
    const report = await runConformance([crashing], from([valueCase]));
    expect(report.records[0].status).toBe("crashed");
    expect(report.records[0].text).toContain("Segmentation fault");
  });

  it("throwing probe makes the backend unavailable", async () => {
    const backend: Backend = {
      name: "unprobeable",
      probe: async () => {
        throw new Error("dlopen failed");
      },
      run: async () => [],
    };
    const optional = await runConformance([backend], from(CASES));
    const record = optional.backends[0];
    expect(record).toMatchObject({ status: "unavailable", required: false });
    if (record.status === "unavailable") expect(record.reason).toContain("dlopen failed");
    expect(optional.ok).toBe(true);

    const required = await runConformance([backend], from(CASES), { required: ["unprobeable"] });
    expect(required.ok).toBe(false);
  });

  it("invalid variant makes the backend unavailable", async () => {
    const backend: Backend = {
      name: "undeclared",
      probe: async () => ({ kind: "available", version: "mock", variant: { name: "mine", form: "dequantize-dot" } as never, capabilities: FULL }),
      run: async () => [],
    };
    const report = await runConformance([backend], from(CASES));
    const record = report.backends[0];
    expect(record.status).toBe("unavailable");
    if (record.status === "unavailable") expect(record.reason).toContain("invalid numerics variant: accumulator");
    expect(report.records).toEqual([]);
  });

  it("capabilities make cases unsupported", async () => {
    const calls: string[] = [];
    const limited = mockBackend(
      "limited",
      async (batch) => {
        calls.push(...batch.map((call) => call.caseId));
        return referenceBackend.run(batch);
      },
      { ...FULL, dtypes: ["float32"], reportsErrors: false },
    );
    const report = await runConformance([limited], from(CASES));
    expect(statusOf(report.records, f16Case.id)).toBe("unsupported");
    expect(statusOf(report.records, invalidBits.id)).toBe("unsupported");
    expect(statusOf(report.records, valueCase.id)).toBe("passed");
    expect(calls).toEqual([valueCase.id]);
    expect(report.ok).toBe(true);
  });

  it("default bits meet the bits capability", async () => {
    // valueCase sets bits 4 explicitly; the same case with bits left to the default (4) must be
    // judged by the default, and a backend limited to 8 bits must not get it.
    const defaulted = { ...valueCase, id: "affine/default-bits", params: { ...valueCase.params, bits: null } };
    const eightOnly = mockBackend("eight-only", (batch) => referenceBackend.run(batch), { ...FULL, bits: { affine: [8] } });
    const report = await runConformance([eightOnly], from([defaulted]));
    expect(report.records[0].status).toBe("unsupported");
    expect(report.records[0].reason).toBe("bits 4 is not supported for affine");
  });

  it("wrong error code fails", async () => {
    const wrongCode = mockBackend("wrong-code", async (calls) => calls.map(() => ({ kind: "error", code: "E_PARAM_INVALID", message: "bad" })));
    const report = await runConformance([wrongCode], from([invalidBits, valueCase]));
    expect(report.records[0].failure).toMatchObject({ kind: "wrong-error", expected: "E_BITS_INVALID", actual: "E_PARAM_INVALID" });
    expect(report.records[1].failure).toMatchObject({ kind: "unexpected-error", actual: "E_PARAM_INVALID" });
  });

  it("value for an error case fails", async () => {
    const lenient = mockBackend("lenient", async (calls) => calls.map(() => ({ kind: "ok", y: valueCase.expected.kind === "value" ? valueCase.expected.y : (undefined as never) })));
    const report = await runConformance([lenient], from([invalidBits]));
    expect(report.records[0].failure).toMatchObject({ kind: "missing-error", expected: "E_BITS_INVALID" });
  });

  it("known divergences and unexpected passes", async () => {
    const sloppy = simulatedBackend("sloppy", VARIANTS["dequantize-dot/f32"], { dropLastGroupBias: true });
    const known = { sloppy: [{ pattern: "affine/**/seed21", reason: "drops the last bias" }, { pattern: "errors/*", reason: "stale entry" }] };
    const report = await runConformance([sloppy], from([valueCase, f16Case]), { knownDivergences: known });
    expect(statusOf(report.records, valueCase.id)).toBe("known-divergence");
    expect(report.records[0].reason).toBe("drops the last bias");
    expect(statusOf(report.records, f16Case.id)).toBe("failed");

    const honest = simulatedBackend("sloppy", VARIANTS["dequantize-dot/f32"]);
    const stale = await runConformance([honest], from([valueCase]), { knownDivergences: known });
    expect(stale.records[0].status).toBe("unexpected-pass");
    expect(stale.ok).toBe(true);
  });

  it("failed record has diff and rerun", async () => {
    const sloppy = simulatedBackend("sloppy", VARIANTS["dequantize-dot/f32"], { accumulateIn: "bfloat16" });
    const report = await runConformance([sloppy], from([valueCase]));
    const record = report.records[0];
    expect(record.status).toBe("failed");
    expect(record.rerun).toBe(`qmm-conformance run --backend sloppy --filter '${valueCase.id}'`);
    expect(record.text).toContain("outside the budget of variant dequantize-dot/f32");
    expect(record.worstRatio).toBeGreaterThan(1);
  });

  it("load failures are reported and the run goes on", async () => {
    const failure: LoadFailure = { kind: "load-failure", file: "vectors/broken.msgpack", issue: specIssue("E_HASH_MISMATCH", "content does not match", { file: "broken" }) };
    const report = await runConformance([referenceBackend], from([failure, valueCase]));
    expect(report.loadFailures).toHaveLength(1);
    expect(report.loadFailures[0].code).toBe("E_HASH_MISMATCH");
    expect(report.records[0].status).toBe("passed");
    expect(report.ok).toBe(false);
  });

  it("throwing source keeps earlier cases", async () => {
    async function* broken() {
      yield valueCase;
      throw new Error("disk read failed");
    }
    const report = await runConformance([referenceBackend], broken());
    expect(report.records.map((record) => record.status)).toEqual(["passed"]);
    expect(report.loadFailures[0].message).toContain("the case source failed: disk read failed");
    expect(report.ok).toBe(false);
  });

  it("filter, suite and shard select cases", async () => {
    const filtered = await runConformance([referenceBackend], from(CASES), { filter: "errors" });
    expect(filtered.records.map((record) => record.caseId)).toEqual([invalidBits.id]);

    const bySuite = await runConformance([referenceBackend], from(CASES), { suites: ["generated"] });
    expect(bySuite.records).toHaveLength(2);

    const shards = await Promise.all(
      [1, 2, 3].map((index) => runConformance([referenceBackend], from(CASES), { shard: { index, count: 3 } })),
    );
    const ids = shards.flatMap((shard) => shard.records.map((record) => record.caseId)).sort();
    expect(ids).toEqual(CASES.map((golden) => golden.id).sort());
  });
});

describe("runner deadlines and resets", () => {
  const FAKE_WORKER = fileURLToPath(new URL("../../worker/test/fake-worker.mjs", import.meta.url));

  it("worker timeout wins and the next case runs", async () => {
    const folder = await mkdtemp(join(tmpdir(), "qmm-hang-"));
    const worker = createWorkerBackend(process.execPath, [FAKE_WORKER, "--hang-once", join(folder, "hung")], { timeoutSeconds: 1, name: "hang-once" });
    try {
      const report = await runConformance([worker], from([valueCase, f16Case]), { batchSize: 1, timeoutSeconds: 1 });

      expect(report.records.map((record) => record.status)).toEqual(["timeout", "unsupported"]);
      expect(report.records[0].text).toContain("after 1 s");
    } finally {
      await worker.close?.();
      await rm(folder, { recursive: true, force: true });
    }
  }, 10_000);

  it("worker timeouts fit the batch deadline", async () => {
    const worker = createWorkerBackend(process.execPath, [FAKE_WORKER, "--hang-all"], { timeoutSeconds: 0.5, name: "hang-all" });
    try {
      const cases = [valueCase, invalidBits, affineCase({ M: 1, K: 64, N: 8, seed: 23 })];
      const report = await runConformance([worker], from(cases), { timeoutSeconds: 0.5 });

      expect(report.records.map((record) => record.status)).toEqual(["timeout", "timeout", "timeout"]);
      for (const record of report.records) {
        expect(record.text).toContain("after 0.5 s");
        expect(record.text).toContain(`fake worker: hanging on ${record.caseId}`);
      }
    } finally {
      await worker.close?.();
    }
  }, 10_000);

  it("missed deadline closes the backend first", async () => {
    let release: (() => void) | undefined;
    const events: string[] = [];
    const backend: Backend = {
      ...mockBackend("stuck-once", async (calls) => {
        events.push("run");
        if (events.length === 1) await new Promise<void>((resolve) => (release = resolve));
        events.push("returned");
        return calls.map(() => ({ kind: "error", code: "E_UNSUPPORTED", message: "mock" }));
      }),
      async close() {
        events.push("close");
        release?.();
      },
    };

    const report = await runConformance([backend], from([valueCase, f16Case]), { batchSize: 1, timeoutSeconds: 0.2 });

    expect(report.records.map((record) => record.status)).toEqual(["timeout", "unsupported"]);
    expect(events).toEqual(["run", "close", "returned", "run", "returned"]);
  });

  it("timeout beyond the timer maximum", async () => {
    const slow = mockBackend("slow", async (calls) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return calls.map(() => ({ kind: "error", code: "E_UNSUPPORTED", message: "mock" }));
    });

    const report = await runConformance([slow], from([valueCase]), { timeoutSeconds: 86_400 * 30 });

    expect(report.records.map((record) => record.status)).toEqual(["unsupported"]);
  });

  it("empty selection is not ok", async () => {
    const report = await runConformance([referenceBackend], from(CASES), { filter: "does/not/exist" });

    expect(report.selection.cases).toBe(0);
    expect(report.ok).toBe(false);
  });

  it("progress counts no cases without a backend", async () => {
    const finished: number[] = [];
    const progress = { update() {}, finish: (counts: { done: number }) => void finished.push(counts.done) };
    const absent = { ...mockBackend("absent", async () => []), probe: async () => ({ kind: "unavailable" as const, reason: "not built" }) };

    const report = await runConformance([absent], from(CASES), { progress });

    expect(finished).toEqual([0]);
    expect(report.selection.cases).toBe(CASES.length);
  });
});
