/**
 * runBench's cache handling with a fake peer and a fake eviction: which cases evict, what the
 * rows and the report state, and the warm fallback's message.
 */
import { describe, expect, test } from "vitest";
import type { BenchCase } from "../cases.ts";
import type { CacheSetup } from "../eviction.ts";
import type { BenchPeer } from "../peers.ts";
import { runBench } from "../run.ts";

const CASES: readonly BenchCase[] = [
  { id: "affine/b4/g64/M1_K128_N64", mode: "affine", bits: 4, groupSize: 64, M: 1, K: 128, N: 64, headline: true },
  { id: "affine/b4/g64/M64_K128_N64", mode: "affine", bits: 4, groupSize: 64, M: 64, K: 128, N: 64, headline: true },
];

/** Creates a peer whose calls only append to `events`. */
function fakePeer(events: string[]): BenchPeer {
  return {
    name: "fake",
    description: "a peer that computes nothing",
    setUp: async () => ({ kind: "available", version: "1" }),
    prepare: async (c) => ({ kind: "ready", call: { weightBytes: 1, run: async () => void events.push(c.K === 512 ? "primer" : `run ${c.M}`) } }),
    close: async () => {},
  };
}

/** Creates a cold setup whose eviction appends to `events` instead of streaming memory. */
function fakeColdSetup(policy: "cold" | "cold-m1", events: string[]): CacheSetup {
  const evictionSeconds: number[] = [];
  return {
    kind: "cold",
    policy,
    size: { bytes: 1024, basis: "a test size" },
    bytes: 1024,
    threads: 2,
    evict: () => {
      events.push("evict");
      evictionSeconds.push(0.001);
      return 0.001;
    },
    evictionSeconds,
    release: () => void events.push("release"),
  };
}

async function bench(cache: CacheSetup, events: string[], log: string[] = []) {
  return runBench({ cases: CASES, peers: [fakePeer(events)], measure: { warmup: 1, repeats: 2, maxSeconds: 10 }, cache, bandwidthBytes: 0, log: (line) => log.push(line) });
}

describe("runBench cache modes", () => {
  test("default evicts for M = 1 only", async () => {
    const events: string[] = [];
    const report = await bench(fakeColdSetup("cold-m1", events), events);

    // Each eviction is followed by the untimed primer call of the same format.
    expect(events).toEqual(["evict", "primer", "run 1", "evict", "primer", "run 1", "evict", "primer", "run 1", "run 64", "run 64", "run 64", "release"]);
    expect(report.rows.map((row) => (row.kind === "measured" ? [row.M, row.cache] : row.kind))).toEqual([
      [1, "cold"],
      [64, "warm"],
    ]);
    expect(report.cache).toMatchObject({ kind: "cold", policy: "cold-m1", evictions: 3, medianEvictionSeconds: 0.001 });
  });

  test("cold evicts for every case", async () => {
    const events: string[] = [];
    const report = await bench(fakeColdSetup("cold", events), events);

    expect(events.filter((event) => event === "evict")).toHaveLength(6);
    expect(report.rows.every((row) => row.kind === "measured" && row.cache === "cold")).toBe(true);
  });

  test("fallback runs warm and says so", async () => {
    const events: string[] = [];
    const log: string[] = [];
    const report = await bench({ kind: "fallback", policy: "cold-m1", reason: "the native addon was not found" }, events, log);

    expect(events).not.toContain("evict");
    expect(report.rows.every((row) => row.kind === "measured" && row.cache === "warm")).toBe(true);
    expect(report.cache).toEqual({ kind: "fallback", policy: "cold-m1", reason: "the native addon was not found" });
    expect(log).toContain("cache: cold mode is unavailable, so every case runs WARM: the native addon was not found");
  });
});
