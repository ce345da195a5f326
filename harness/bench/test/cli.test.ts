/** Argument parsing of `qmm-conformance bench`. */
import { describe, expect, test } from "vitest";
import { parseBenchArguments } from "../../cli/commands/bench.ts";
import { benchCases } from "../cases.ts";

describe("bench arguments", () => {
  test("defaults", () => {
    const args = parseBenchArguments([]);
    expect(args).toMatchObject({ quick: false, repeats: 10, warmup: 2, maxSeconds: 10, bandwidthMiB: 512 });
    expect(args).toHaveProperty("peers", ["native", "ort", "ort-int8", "mlx", "js"]);
  });

  test("backend filter and json", () => {
    const args = parseBenchArguments(["--backend", "native", "--backend", "ort", "--json", "out/bench.json", "--quick"]);
    expect(args).toMatchObject({ peers: ["native", "ort"], json: "out/bench.json", quick: true });
  });

  test("unknown backend is an error", () => {
    const args = parseBenchArguments(["--backend", "cuda"]);
    expect(args).toEqual({ error: "unknown --backend 'cuda': expected one of native, ort, ort-int8, mlx, js" });
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
