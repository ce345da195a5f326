/** Argument parsing of `qmm-conformance bench`. */
import { describe, expect, test } from "vitest";
import { parseBenchArguments } from "../../cli/commands/bench.ts";
import { benchCases } from "../cases.ts";

describe("bench arguments", () => {
  test("defaults", () => {
    const args = parseBenchArguments([]);
    expect(args).toMatchObject({ quick: false, repeats: 10, warmup: 2, maxSeconds: 10, bandwidthMiB: 512 });
    expect(args).toHaveProperty("peers", ["native", "ort", "ort-int8", "mlx", "js", "read"]);
  });

  test("backend filter and json", () => {
    const args = parseBenchArguments(["--backend", "native", "--backend", "ort", "--json", "out/bench.json", "--quick"]);
    expect(args).toMatchObject({ peers: ["native", "ort"], json: "out/bench.json", quick: true });
  });

  test("unknown backend is an error", () => {
    const args = parseBenchArguments(["--backend", "cuda"]);
    expect(args).toEqual({ error: "unknown --backend 'cuda': expected one of native, ort, ort-int8, mlx, js, read" });
  });

  test("cache defaults to cold for M = 1", () => {
    const args = parseBenchArguments([]);
    expect(args).toHaveProperty("cache", "cold-m1");
    expect(args).not.toHaveProperty("evictMiB");
  });

  test("cold, warm and eviction size", () => {
    expect(parseBenchArguments(["--cold"])).toHaveProperty("cache", "cold");
    expect(parseBenchArguments(["--warm"])).toHaveProperty("cache", "warm");
    expect(parseBenchArguments(["--cold", "--evict-mib", "1536"])).toMatchObject({ cache: "cold", evictMiB: 1536 });
    expect(parseBenchArguments(["--evict-mib", "64"])).toMatchObject({ cache: "cold-m1", evictMiB: 64 });
  });

  test("cold with warm is an error", () => {
    expect(parseBenchArguments(["--cold", "--warm"])).toEqual({ error: "--cold and --warm exclude each other: pass at most one" });
  });

  test("evict-mib with warm is an error", () => {
    const args = parseBenchArguments(["--warm", "--evict-mib", "1024"]);
    expect(args).toHaveProperty("error");
    expect((args as { error: string }).error).toContain("--evict-mib");
  });

  test.each(["0", "0.5", "lots", ""])("invalid evict-mib %j is an error", (text) => {
    expect(parseBenchArguments(["--evict-mib", text])).toEqual({ error: `invalid --evict-mib '${text}': expected a number of at least 1` });
  });

  test("invalid number is an error", () => {
    const args = parseBenchArguments(["--repeats", "0"]);
    expect(args).toHaveProperty("error");
    expect((args as { error: string }).error).toContain("--repeats");
  });
});

describe("bench cases", () => {
  test("full list covers every format twice", () => {
    const cases = benchCases(false);
    // 18 affine formats + 3 fp formats at M = 1 and M = 64, plus the K = N = 8192 headline.
    expect(cases).toHaveLength(2 * 21 + 1);
    expect(cases[0].id).toBe("affine/b4/g64/M1_K8192_N8192");
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  });

  test("quick list is small", () => {
    expect(benchCases(true).every((c) => c.K === 4096 && c.N === 4096)).toBe(true);
  });
});
