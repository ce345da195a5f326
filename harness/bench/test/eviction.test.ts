/**
 * Cold-cache settings: the policy per case, the eviction size and the setup's fallback and error
 * paths. The addon here is a fake; backends/native/test/evict.test.ts runs the real eviction.
 */
import { describe, expect, test } from "vitest";
import type { AddonLoad, EvictionResult, NativeAddon } from "../../../backends/native/addon.ts";
import { cacheModeFor, cacheReport, describeCache, evictionSize, MIN_EVICTION_BYTES, setUpCache } from "../eviction.ts";
import type { EvictionSize } from "../eviction.ts";

const MiB = 2 ** 20;
const SIZE: EvictionSize = { bytes: 960 * MiB, basis: "2 × the 480 MiB level-3 cache" };

/** Creates a loaded addon whose evictCaches is `evict`; the setup uses no other function. */
function fakeLoad(evict: ((bytes: number) => EvictionResult) | undefined, released: string[] = []): AddonLoad {
  const addon = {
    ...(evict === undefined ? {} : { evictCaches: evict }),
    releaseEvictionBuffer: () => void released.push("released"),
  } as unknown as NativeAddon;
  return { kind: "loaded", addon };
}

describe("cache mode per case", () => {
  test.each([
    ["cold-m1", 1, "cold"],
    ["cold-m1", 64, "warm"],
    ["cold", 1, "cold"],
    ["cold", 64, "cold"],
    ["warm", 1, "warm"],
    ["warm", 64, "warm"],
  ] as const)("%s with M = %i is %s", (policy, M, mode) => {
    expect(cacheModeFor(policy, M)).toBe(mode);
  });
});

describe("eviction size", () => {
  test("twice a large cache", () => {
    const size = evictionSize({ kind: "found", bytes: 480 * MiB, level: 3, folder: "/sys/x/index3" });
    expect(size).toEqual({ bytes: 960 * MiB, basis: "2 × the 480 MiB level-3 cache" });
  });

  test("minimum for a small cache", () => {
    const size = evictionSize({ kind: "found", bytes: 32 * MiB, level: 3, folder: "/sys/x/index3" });
    expect(size.bytes).toBe(512 * MiB);
    expect(size.basis).toBe("the 512 MiB minimum, more than 2 × the 32 MiB level-3 cache");
  });

  test("exactly the minimum", () => {
    const size = evictionSize({ kind: "found", bytes: 256 * MiB, level: 3, folder: "/sys/x/index3" });
    expect(size).toEqual({ bytes: MIN_EVICTION_BYTES, basis: "2 × the 256 MiB level-3 cache" });
  });

  test("minimum for an unknown cache", () => {
    const size = evictionSize({ kind: "unknown", reason: "failed to list /sys/x" });
    expect(size.bytes).toBe(512 * MiB);
    expect(size.basis).toContain("failed to list /sys/x");
    expect(size.basis).toContain("--evict-mib");
  });

  test("override wins", () => {
    const size = evictionSize({ kind: "found", bytes: 480 * MiB, level: 3, folder: "/sys/x/index3" }, 64);
    expect(size).toEqual({ bytes: 64 * MiB, basis: "set by --evict-mib" });
  });
});

describe("cache setup", () => {
  test("warm needs no addon", () => {
    const setup = setUpCache("warm", SIZE, { kind: "missing", reason: "not built", fix: "build it" });
    expect(setup).toEqual({ kind: "warm" });
  });

  test("missing addon falls back to warm", () => {
    const setup = setUpCache("cold-m1", SIZE, { kind: "missing", reason: "the native addon was not found at /x.node", fix: "node backends/native/build.mjs" });
    expect(setup).toEqual({ kind: "fallback", policy: "cold-m1", reason: "the native addon was not found at /x.node (fix: node backends/native/build.mjs)" });
  });

  test("old addon falls back to warm", () => {
    const setup = setUpCache("cold", SIZE, fakeLoad(undefined));
    if (setup.kind !== "fallback") throw new Error(`expected a fallback, got ${setup.kind}`);
    expect(setup.reason).toContain("no evictCaches function");
  });

  test("rejected size is invalid", () => {
    const setup = setUpCache("cold", SIZE, fakeLoad(() => {
      throw new RangeError("invalid eviction size 1006632960 bytes");
    }));
    expect(setup).toEqual({ kind: "invalid", message: "cache eviction of 960 MiB failed: invalid eviction size 1006632960 bytes" });
  });

  test("cold setup evicts and records", () => {
    const requests: number[] = [];
    const released: string[] = [];
    let seconds = 0.1;
    const setup = setUpCache("cold-m1", SIZE, fakeLoad((bytes) => {
      requests.push(bytes);
      seconds += 0.01;
      return { bytes: bytes + 128, threads: 2, seconds };
    }, released));
    if (setup.kind !== "cold") throw new Error(`expected a cold setup, got ${setup.kind}`);

    // The setup's own first eviction allocates the buffer and is not recorded.
    expect(requests).toEqual([960 * MiB]);
    expect(setup).toMatchObject({ policy: "cold-m1", bytes: 960 * MiB + 128, threads: 2, evictionSeconds: [] });

    expect(setup.evict()).toBeCloseTo(0.12, 12);
    expect(setup.evict()).toBeCloseTo(0.13, 12);
    expect(setup.evict()).toBeCloseTo(0.14, 12);
    expect(requests).toEqual([960 * MiB, 960 * MiB, 960 * MiB, 960 * MiB]);

    const report = cacheReport(setup);
    if (report.kind !== "cold") throw new Error(`expected a cold report, got ${report.kind}`);
    expect(report).toMatchObject({ policy: "cold-m1", evictionBytes: 960 * MiB + 128, threads: 2, evictions: 3 });
    expect(report.medianEvictionSeconds).toBeCloseTo(0.13, 12);

    setup.release();
    expect(released).toEqual(["released"]);
  });
});

describe("cache description", () => {
  test("cold for M = 1", () => {
    const line = describeCache({ kind: "cold", policy: "cold-m1", evictionBytes: 960 * MiB, evictionBasis: SIZE.basis, threads: 2, evictions: 22, medianEvictionSeconds: 0.11 });
    expect(line).toBe(
      "cache: cold for M = 1 cases (warm for the others): before every warm-up and timed run, 2 threads read 960 MiB " +
        "(2 × the 480 MiB level-3 cache, median 110 ms, outside the timed interval)",
    );
  });

  test("cold without evictions", () => {
    const line = describeCache({ kind: "cold", policy: "cold", evictionBytes: 512 * MiB, evictionBasis: "set by --evict-mib", threads: 4, evictions: 0, medianEvictionSeconds: null });
    expect(line).toContain("cold for every case");
    expect(line).toContain("(set by --evict-mib, outside the timed interval)");
  });

  test("fallback states warm and why", () => {
    const line = describeCache({ kind: "fallback", policy: "cold-m1", reason: "the native addon was not found at /x.node" });
    expect(line).toMatch(/^cache: WARM for every case/);
    expect(line).toContain("cold was requested for M = 1 cases");
    expect(line).toContain("the native addon was not found at /x.node");
  });

  test("warm", () => {
    expect(describeCache({ kind: "warm", policy: "warm" })).toBe("cache: warm for every case (--warm): no eviction between runs");
  });
});
