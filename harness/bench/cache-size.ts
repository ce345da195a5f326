/**
 * The size of the last-level CPU cache, read from Linux sysfs: one folder `index<N>` per cache
 * of CPU 0 with the files `level` (1, 2, 3, ...), `type` (Data, Instruction, Unified) and `size`
 * (e.g. "491520K").
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The folder Linux describes the caches of CPU 0 in. */
export const CPU0_CACHE_SYSFS = "/sys/devices/system/cpu/cpu0/cache";

/** The last-level cache, or why its size is unknown. */
export type LastLevelCache =
  | { readonly kind: "found"; readonly bytes: number; readonly level: number; readonly folder: string }
  | { readonly kind: "unknown"; readonly reason: string };

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };

/** Parses a sysfs cache size ("48K", "32M", "1G" or a plain byte count) into bytes; undefined when malformed. */
export function parseCacheSize(text: string): number | undefined {
  const match = /^(\d+)\s*([KMG]?)$/i.exec(text.trim());
  if (match === null) return undefined;

  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toUpperCase()];
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/**
 * Reads the data or unified cache of the highest level under `root` (the largest one if a level
 * has several). Instruction caches are skipped; an `index` folder without a `type` file counts
 * as unified.
 */
export function readLastLevelCache(root: string = CPU0_CACHE_SYSFS): LastLevelCache {
  let folders: string[];
  try {
    folders = readdirSync(root).filter((name) => /^index\d+$/.test(name));
  } catch (error) {
    return { kind: "unknown", reason: `failed to list ${root}: ${(error as Error).message}` };
  }

  let best: { bytes: number; level: number; folder: string } | undefined;
  for (const name of folders) {
    const folder = join(root, name);
    const entry = readCacheEntry(folder);
    if (entry.kind === "invalid") return { kind: "unknown", reason: entry.reason };
    if (entry.kind === "instruction") continue;

    const better = best === undefined || entry.level > best.level || (entry.level === best.level && entry.bytes > best.bytes);
    if (better) best = { bytes: entry.bytes, level: entry.level, folder };
  }

  if (best === undefined) return { kind: "unknown", reason: `no data or unified cache is described under ${root}` };
  return { kind: "found", ...best };
}

type CacheEntry =
  | { readonly kind: "cache"; readonly level: number; readonly bytes: number }
  | { readonly kind: "instruction" }
  | { readonly kind: "invalid"; readonly reason: string };

function readCacheEntry(folder: string): CacheEntry {
  const typePath = join(folder, "type");
  if (existsSync(typePath) && readText(typePath) === "Instruction") return { kind: "instruction" };

  const levelPath = join(folder, "level");
  const levelText = readText(levelPath);
  if (levelText === undefined) return { kind: "invalid", reason: `${levelPath} is missing or unreadable` };
  const level = Number(levelText);
  if (levelText === "" || !Number.isInteger(level) || level < 1) return { kind: "invalid", reason: `invalid cache level '${levelText}' in ${levelPath}: expected a positive integer` };

  const sizePath = join(folder, "size");
  const sizeText = readText(sizePath);
  if (sizeText === undefined) return { kind: "invalid", reason: `${sizePath} is missing or unreadable` };
  const bytes = parseCacheSize(sizeText);
  if (bytes === undefined) return { kind: "invalid", reason: `invalid cache size '${sizeText}' in ${sizePath}: expected a byte count with an optional K, M or G suffix` };

  return { kind: "cache", level, bytes };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}
