import { describe, expect, it } from "vitest";
import { resolveBackend, splitCommandLine } from "../registry.ts";

describe("resolveBackend", () => {
  it("reference probes available", async () => {
    const { backend } = await resolveBackend("reference", { timeoutSeconds: 10 });
    const probe = await backend.probe();
    expect(probe.kind).toBe("available");
    if (probe.kind === "available") expect(probe.variant.name).toBe("exact");
  });

  it("js exports a known-divergence list", async () => {
    const registered = await resolveBackend("js", { timeoutSeconds: 10 });
    expect(registered.backend.name).toBe("js");
    expect(Array.isArray(registered.knownDivergences)).toBe(true);
  });

  it("unknown name is unavailable", async () => {
    const { backend } = await resolveBackend("tpu", { timeoutSeconds: 10 });
    const probe = await backend.probe();
    expect(probe.kind).toBe("unavailable");
    if (probe.kind !== "unavailable") return;
    expect(probe.reason).toBe("unknown backend 'tpu'");
    expect(probe.fix).toContain("reference, js, native, mlx, cmd:PATH [ARGS]");
    expect(await backend.run([])).toEqual([]);
  });

  it("empty cmd is unavailable", async () => {
    const probe = await (await resolveBackend("cmd:", { timeoutSeconds: 10 })).backend.probe();
    expect(probe.kind).toBe("unavailable");
  });

  it("missing worker program is unavailable", async () => {
    const { backend } = await resolveBackend("cmd:/nonexistent/qmm-worker --flag", { timeoutSeconds: 10 });
    expect(backend.name).toBe("cmd:/nonexistent/qmm-worker --flag");
    const probe = await backend.probe();
    expect(probe.kind).toBe("unavailable");
    await backend.close?.();
  });
});

describe("splitCommandLine", () => {
  it("splits on whitespace", () => {
    expect(splitCommandLine("python3  worker.py --x 1")).toEqual(["python3", "worker.py", "--x", "1"]);
  });

  it("keeps quoted words together", () => {
    expect(splitCommandLine(`python3 "my worker.py" 'a b'c`)).toEqual(["python3", "my worker.py", "a bc"]);
  });

  it("empty text has no words", () => {
    expect(splitCommandLine("   ")).toEqual([]);
  });
});
