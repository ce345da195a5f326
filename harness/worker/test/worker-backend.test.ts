/**
 * Error paths of the worker backend, driven by a scripted fake worker: each misbehaviour is
 * reported with its code or outcome, and the next case still runs.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { BackendCall, CallOutcome } from "../../backend.ts";
import { createWorkerBackend } from "../index.ts";
import type { WorkerBackend } from "../index.ts";

const FAKE = fileURLToPath(new URL("./fake-worker.mjs", import.meta.url));
const backends: WorkerBackend[] = [];

function fake(extraArgs: string[] = [], timeoutSeconds = 5, maxFrameBytes?: number, startTimeoutSeconds?: number): WorkerBackend {
  const backend = createWorkerBackend(process.execPath, [FAKE, ...extraArgs], { timeoutSeconds, name: "fake", maxFrameBytes, startTimeoutSeconds });
  backends.push(backend);
  return backend;
}

function call(caseId: string): BackendCall {
  const tensor = { dtype: "float32" as const, shape: [1, 1], data: new Float32Array([1]) };
  return { caseId, params: { mode: "affine" }, inputs: { x: tensor, w: tensor, scales: tensor, biases: tensor } };
}

function expectOk(outcome: CallOutcome): void {
  expect(outcome.kind).toBe("ok");
  if (outcome.kind === "ok") expect(Array.from(outcome.y.data)).toEqual([42]);
}

/** Whether a process is running; a zombie that no one reaped counts as ended. Reads Linux's /proc. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

afterEach(async () => {
  for (const backend of backends.splice(0)) await backend.close?.();
});

describe("worker backend handshake", () => {
  it("reports the worker's declaration", async () => {
    const probe = await fake().probe();

    expect(probe.kind).toBe("available");
    if (probe.kind !== "available") return;
    expect(probe.version).toBe("0.0.1");
    expect(probe.variant.name).toBe("exact");
    expect(probe.capabilities.modes).toEqual(["affine"]);
  });

  it("accepts a full variant record", async () => {
    const probe = await fake(["--variant", "object"]).probe();

    expect(probe.kind).toBe("available");
    if (probe.kind !== "available") return;
    expect(probe.variant.name).toBe("fake/f32");
    expect(probe.variant.accumulator).toBe("float32");
    expect(probe.variant.productRounding).toBe(true);
  });

  it("rejects an unknown variant name", async () => {
    const probe = await fake(["--variant", "fast-and-loose"]).probe();

    expect(probe.kind).toBe("unavailable");
    if (probe.kind === "unavailable") {
      expect(probe.reason).toContain("E_FRAME");
      expect(probe.reason).toContain("variant");
    }
  });

  it("rejects a wrong protocol version", async () => {
    const probe = await fake(["--protocol", "2"]).probe();

    expect(probe.kind).toBe("unavailable");
    if (probe.kind === "unavailable") {
      expect(probe.reason).toContain("E_PROTOCOL_VERSION");
      expect(probe.reason).toContain("2");
    }
  });

  it("reports a worker that exits on start", async () => {
    const probe = await fake(["--exit-on-start"]).probe();

    expect(probe.kind).toBe("unavailable");
    if (probe.kind === "unavailable") {
      expect(probe.reason).toContain("status 7");
      expect(probe.reason).toContain("failing on start");
    }
  });

  it("times out a silent handshake", async () => {
    const probe = await fake(["--silent-hello"], 5, undefined, 0.5).probe();

    expect(probe.kind).toBe("unavailable");
    if (probe.kind === "unavailable") expect(probe.reason).toContain("no handshake within 0.5 s");
  });

  it("reports a missing executable", async () => {
    const backend = createWorkerBackend("/nonexistent/worker-binary", [], { timeoutSeconds: 5 });
    backends.push(backend);
    const probe = await backend.probe();

    expect(probe.kind).toBe("unavailable");
    if (probe.kind === "unavailable") expect(probe.reason).toContain("worker program not found: /nonexistent/worker-binary (spawn ENOENT)");
  });
});

describe("worker backend cases", () => {
  it("keeps one process across cases", async () => {
    const backend = fake();
    const first = await backend.run([call("ok/1")]);
    const pid = backend.pid;
    const second = await backend.run([call("ok/2"), call("ok/3")]);

    expectOk(first[0]);
    second.forEach(expectOk);
    expect(backend.pid).toBe(pid);
  });

  it("passes a worker error through", async () => {
    const [outcome] = await fake().run([call("error/1")]);

    expect(outcome).toEqual({ kind: "error", code: "E_K_MISMATCH", message: "fake: K differs" });
  });

  it("times out a hung case and goes on", async () => {
    const backend = fake([], 0.5);
    const outcomes = await backend.run([call("ok/before"), call("hang/1"), call("ok/after")]);

    expectOk(outcomes[0]);
    expect(outcomes[1].kind).toBe("timeout");
    if (outcomes[1].kind === "timeout") {
      expect(outcomes[1].seconds).toBe(0.5);
      expect(outcomes[1].stderrTail).toContain("case hang/1");
    }
    expectOk(outcomes[2]);
  });

  it("restarts after an exit mid-reply", async () => {
    const backend = fake();
    await backend.run([call("ok/0")]);
    const firstPid = backend.pid;
    const outcomes = await backend.run([call("exit-mid-reply/1"), call("ok/after")]);

    expect(outcomes[0].kind).toBe("crashed");
    if (outcomes[0].kind === "crashed") {
      expect(outcomes[0].message).toContain("status 3");
      expect(outcomes[0].message).toContain("truncated frame");
      expect(outcomes[0].stderrTail).toContain("case exit-mid-reply/1");
    }
    expectOk(outcomes[1]);
    expect(backend.pid).not.toBe(firstPid);
  });

  it("rejects an oversized frame without allocating it", async () => {
    const outcomes = await fake([], 5, 1 << 20).run([call("oversized/1"), call("ok/after")]);

    expect(outcomes[0].kind).toBe("crashed");
    if (outcomes[0].kind === "crashed") {
      expect(outcomes[0].message).toContain("E_FRAME");
      expect(outcomes[0].message).toContain(`declaredLength=${0xfffffff0}`);
      expect(outcomes[0].message).toContain(`limit=${1 << 20}`);
    }
    expectOk(outcomes[1]);
  });

  it("rejects an undecodable body", async () => {
    const outcomes = await fake().run([call("garbage/1"), call("ok/after")]);

    expect(outcomes[0].kind).toBe("crashed");
    if (outcomes[0].kind === "crashed") expect(outcomes[0].message).toContain("not one MessagePack value");
    expectOk(outcomes[1]);
  });

  it("names the frame and field of a bad reply", async () => {
    const outcomes = await fake().run([call("ok/1"), call("bad-schema/2"), call("ok/after")]);

    expect(outcomes[1].kind).toBe("crashed");
    if (outcomes[1].kind === "crashed") {
      expect(outcomes[1].message).toContain("E_FRAME");
      expect(outcomes[1].message).toContain("frame=3");
      expect(outcomes[1].message).toContain("y.shape");
    }
    expectOk(outcomes[2]);
  });

  it("rejects a reply with another id", async () => {
    const outcomes = await fake().run([call("wrong-id/1"), call("ok/after")]);

    expect(outcomes[0].kind).toBe("crashed");
    if (outcomes[0].kind === "crashed") expect(outcomes[0].message).toContain("id does not match");
    expectOk(outcomes[1]);
  });

  it("rejects an unknown reply type", async () => {
    const outcomes = await fake().run([call("unknown-type/1"), call("ok/after")]);

    expect(outcomes[0].kind).toBe("crashed");
    if (outcomes[0].kind === "crashed") expect(outcomes[0].message).toContain("E_FRAME");
    expectOk(outcomes[1]);
  });

  it("reports a data length that contradicts the shape", async () => {
    const [outcome] = await fake().run([call("wrong-length/1")]);

    expect(outcome.kind).toBe("error");
    if (outcome.kind === "error") {
      expect(outcome.code).toBe("E_DATA_LENGTH");
      expect(outcome.message).toContain("expectedBytes=12");
    }
  });

  it("keeps only the stderr tail", async () => {
    const backend = fake([], 0.5);
    const [outcome] = await backend.run([call("noisy-hang/1")]);

    expect(outcome.kind).toBe("timeout");
    if (outcome.kind !== "timeout") return;
    const lines = outcome.stderrTail.split("\n");
    expect(lines).toHaveLength(20);
    expect(lines.at(-1)).toBe("noise line 99");
  });

  it("shows only the failed case's stderr", async () => {
    const backend = fake([], 0.5);
    const outcomes = await backend.run([call("noisy/1"), call("hang/2")]);

    expect(outcomes[1].kind).toBe("timeout");
    if (outcomes[1].kind === "timeout") expect(outcomes[1].stderrTail).toBe("fake worker: case hang/2");
  });
});

describe("worker backend parameters", () => {
  it("reports an unknown parameter key as unsupported", async () => {
    const backend = fake();
    const request = call("ok/1");
    const outcomes = await backend.run([{ ...request, params: { mode: "affine", group_size: 64 } as never }, call("ok/after")]);

    expect(outcomes[0].kind).toBe("unsupported");
    if (outcomes[0].kind === "unsupported") expect(outcomes[0].reason).toContain("group_size");
    expectOk(outcomes[1]);
  });
});

describe("worker backend start failures", () => {
  it("stops retrying a worker that cannot start", async () => {
    const backend = fake(["--exit-on-start"]);
    const outcomes = await backend.run([call("ok/1"), call("ok/2"), call("ok/3")]);

    expect(outcomes.map((outcome) => outcome.kind)).toEqual(["crashed", "crashed", "crashed"]);
    if (outcomes[2].kind === "crashed") {
      expect(outcomes[2].message).toContain("status 7");
      expect(outcomes[2].message).toContain("not retried for the rest of this batch");
      expect(outcomes[2].stderrTail).toContain("failing on start");
    }
  });
});

describe("worker backend process control", () => {
  it("rejects an error code outside the spec", async () => {
    const [outcome] = await fake().run([call("bad-code/1")]);

    expect(outcome.kind).toBe("crashed");
    if (outcome.kind === "crashed") {
      expect(outcome.message).toContain("E_FRAME");
      expect(outcome.message).toContain("E_NOT_A_CODE");
    }
  });

  it("keeps a timeout beyond the timer maximum", async () => {
    const [outcome] = await fake([], 86_400 * 30).run([call("slow/1")]);

    expectOk(outcome);
  });

  it("close stops a run in progress", async () => {
    const backend = fake([], 30);
    const running = backend.run([call("hang/1"), call("ok/2")]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await backend.close?.();
    const outcomes = await running;

    expect(outcomes.map((outcome) => outcome.kind)).toEqual(["crashed", "crashed"]);
    expectOk((await backend.run([call("ok/3")]))[0]);
  });

  it("close kills processes the worker started", async () => {
    const backend = fake(["--spawn-holder"]);
    const [reply] = await backend.run([call("holder-pid/1")]);
    expect(reply.kind).toBe("error");
    const holderPid = Number(reply.kind === "error" ? reply.message : NaN);
    expect(Number.isInteger(holderPid)).toBe(true);

    await backend.close?.();

    // SIGKILL to the group is delivered asynchronously, so the holder may take a moment to end.
    await expect.poll(() => isRunning(holderPid), { timeout: 2000, interval: 20 }).toBe(false);
  }, 10_000);

  it("times out a worker whose child holds stdout", async () => {
    const backend = fake(["--spawn-holder"], 0.5);
    const [hung] = await backend.run([call("hang/1")]);
    expect(hung.kind).toBe("timeout");

    expectOk((await backend.run([call("ok/2")]))[0]);
  }, 10_000);
});
