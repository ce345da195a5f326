/**
 * The addon's cache eviction: its result fields, the argument checks and the buffer's
 * reallocation. Whether it evicts is a timing question, answered by the bench, not here.
 */
import { cpus, totalmem } from "node:os";
import { describe, expect, test } from "vitest";
import { loadAddon } from "../addon.ts";
import type { NativeAddon } from "../addon.ts";

const MiB = 2 ** 20;

function addon(): NativeAddon {
  const load = loadAddon();
  if (load.kind === "missing") throw new Error(`${load.reason} (fix: ${load.fix})`);
  return load.addon;
}

describe("native evictCaches", () => {
  test("streams at least the requested bytes", () => {
    const native = addon();

    const result = native.evictCaches(8 * MiB + 1);

    expect(result.threads).toBeGreaterThanOrEqual(1);
    expect(result.threads).toBeLessThanOrEqual(cpus().length);
    expect(result.bytes).toBeGreaterThanOrEqual(8 * MiB + 1);
    // Whole 64-byte lines per thread: less than one extra line per thread.
    expect(result.bytes % (64 * result.threads)).toBe(0);
    expect(result.bytes - (8 * MiB + 1)).toBeLessThan(64 * result.threads);
    expect(result.seconds).toBeGreaterThan(0);
    native.releaseEvictionBuffer();
  });

  test("resizes and reallocates after release", () => {
    const native = addon();
    const { threads } = native.evictCaches(1);
    const rounded = (bytes: number) => Math.ceil(bytes / (64 * threads)) * 64 * threads;

    expect(native.evictCaches(4 * MiB).bytes).toBe(rounded(4 * MiB));
    expect(native.evictCaches(2 * MiB).bytes).toBe(rounded(2 * MiB));
    native.releaseEvictionBuffer();
    native.releaseEvictionBuffer();
    expect(native.evictCaches(2 * MiB).bytes).toBe(rounded(2 * MiB));
    native.releaseEvictionBuffer();
  });

  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects %s bytes", (bytes) => {
    expect(() => addon().evictCaches(bytes)).toThrow(new TypeError("evictCaches expects one argument: a positive integer number of bytes"));
  });

  test("rejects a non-number", () => {
    expect(() => (addon().evictCaches as (bytes: unknown) => unknown)("1024")).toThrow(TypeError);
  });

  test("rejects more than half the memory", () => {
    const bytes = 2 ** Math.ceil(Math.log2(totalmem()));

    expect(() => addon().evictCaches(bytes)).toThrow(RangeError);
    expect(() => addon().evictCaches(bytes)).toThrow(`invalid eviction size ${bytes} bytes`);
  });
});
