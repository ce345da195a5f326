/** Reading the last-level cache size from a sysfs-like folder made in a temporary directory. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parseCacheSize, readLastLevelCache } from "../cache-size.ts";
import type { LastLevelCache } from "../cache-size.ts";

interface FakeCache {
  readonly level?: string;
  readonly type?: string;
  readonly size?: string;
}

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "qmm-cache-sysfs-"));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Returns the reason of an unknown cache, and fails the test for a found one. */
function unknownReason(cache: LastLevelCache): string {
  if (cache.kind !== "unknown") throw new Error(`expected an unknown cache, got ${JSON.stringify(cache)}`);
  return cache.reason;
}

/** Writes index0, index1, ... with the given files, the way Linux lays out cpu0/cache. */
function writeCaches(caches: readonly FakeCache[]): void {
  for (const [index, cache] of caches.entries()) {
    const folder = join(root, `index${index}`);
    mkdirSync(folder);
    if (cache.level !== undefined) writeFileSync(join(folder, "level"), `${cache.level}\n`);
    if (cache.type !== undefined) writeFileSync(join(folder, "type"), `${cache.type}\n`);
    if (cache.size !== undefined) writeFileSync(join(folder, "size"), `${cache.size}\n`);
  }
}

describe("parseCacheSize", () => {
  test.each([
    ["48K", 48 * 1024],
    ["491520K", 480 * 2 ** 20],
    ["32M", 32 * 2 ** 20],
    ["1G", 2 ** 30],
    ["4096", 4096],
    [" 2048k\n", 2048 * 1024],
  ])("parses %j", (text, bytes) => {
    expect(parseCacheSize(text)).toBe(bytes);
  });

  test.each(["", "K", "12X", "-5K", "0K", "1.5M", "12 KiB"])("rejects %j", (text) => {
    expect(parseCacheSize(text)).toBeUndefined();
  });
});

describe("readLastLevelCache", () => {
  test("picks the highest level", () => {
    writeCaches([
      { level: "1", type: "Data", size: "48K" },
      { level: "1", type: "Instruction", size: "64K" },
      { level: "2", type: "Unified", size: "2048K" },
      { level: "3", type: "Unified", size: "491520K" },
    ]);

    expect(readLastLevelCache(root)).toEqual({ kind: "found", bytes: 480 * 2 ** 20, level: 3, folder: join(root, "index3") });
  });

  test("skips instruction caches", () => {
    writeCaches([
      { level: "1", type: "Data", size: "32K" },
      { level: "2", type: "Instruction", size: "4096K" },
    ]);

    const cache = readLastLevelCache(root);
    expect(cache).toMatchObject({ kind: "found", level: 1, bytes: 32 * 1024 });
  });

  test("largest cache of the top level", () => {
    writeCaches([
      { level: "3", type: "Unified", size: "16M" },
      { level: "3", type: "Unified", size: "32M" },
      { level: "2", type: "Unified", size: "64M" },
    ]);

    expect(readLastLevelCache(root)).toMatchObject({ kind: "found", level: 3, bytes: 32 * 2 ** 20, folder: join(root, "index1") });
  });

  test("missing type counts as unified", () => {
    writeCaches([{ level: "2", size: "1024K" }]);

    expect(readLastLevelCache(root)).toMatchObject({ kind: "found", level: 2, bytes: 2 ** 20 });
  });

  test("missing folder is unknown", () => {
    const missing = join(root, "no-such-folder");

    expect(unknownReason(readLastLevelCache(missing))).toContain(missing);
  });

  test("no data cache is unknown", () => {
    writeCaches([{ level: "1", type: "Instruction", size: "32K" }]);

    const cache = readLastLevelCache(root);
    expect(cache).toEqual({ kind: "unknown", reason: `no data or unified cache is described under ${root}` });
  });

  test("invalid size names the file", () => {
    writeCaches([
      { level: "1", type: "Data", size: "48K" },
      { level: "3", type: "Unified", size: "lots" },
    ]);

    const reason = unknownReason(readLastLevelCache(root));
    expect(reason).toContain("invalid cache size 'lots'");
    expect(reason).toContain(join(root, "index1", "size"));
  });

  test("missing level names the file", () => {
    writeCaches([{ type: "Unified", size: "8M" }]);

    const cache = readLastLevelCache(root);
    expect(cache).toEqual({ kind: "unknown", reason: `${join(root, "index0", "level")} is missing or unreadable` });
  });

  test("invalid level names the value", () => {
    writeCaches([{ level: "L3", type: "Unified", size: "8M" }]);

    expect(unknownReason(readLastLevelCache(root))).toContain("invalid cache level 'L3'");
  });
});
