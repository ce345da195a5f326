/**
 * Cold-cache timing. A matrix-vector product reads each weight once, so its speed limit is the
 * weight bytes over the memory bandwidth, but only if the weights come from memory: between
 * timed repeats they stay in a large enough cache. In cold mode the native addon streams a
 * buffer of at least twice the last-level cache size through every CPU before each run, outside
 * the timed interval, so the run finds none of its data cached.
 */
import type { AddonLoad } from "../../backends/native/addon.ts";
import type { LastLevelCache } from "./cache-size.ts";
import { median } from "./measure.ts";

/** Whether a case's runs start with evicted caches. */
export type CacheMode = "cold" | "warm";

/** The set of cases that run cold: every case, none, or the M = 1 cases (the default). */
export type CachePolicy = "cold" | "warm" | "cold-m1";

/** A policy under which some cases run cold. */
export type ColdPolicy = Exclude<CachePolicy, "warm">;

/** The smallest eviction buffer derived from the cache size, in bytes. */
export const MIN_EVICTION_BYTES = 512 * 2 ** 20;

/** Returns the mode a case with `M` rows of x runs in under `policy`. */
export function cacheModeFor(policy: CachePolicy, M: number): CacheMode {
  if (policy === "cold-m1") return M === 1 ? "cold" : "warm";
  return policy;
}

/** The size of the eviction buffer and how it was chosen. */
export interface EvictionSize {
  readonly bytes: number;
  /** The reason for the size, e.g. "2 × the 480 MiB level-3 cache". */
  readonly basis: string;
}

/**
 * Chooses the eviction size: `overrideMiB` when given, else max(2 × the last-level cache,
 * 512 MiB). An unknown cache size gives 512 MiB.
 */
export function evictionSize(cache: LastLevelCache, overrideMiB?: number): EvictionSize {
  if (overrideMiB !== undefined) return { bytes: Math.round(overrideMiB * 2 ** 20), basis: "set by --evict-mib" };

  if (cache.kind === "unknown") {
    return { bytes: MIN_EVICTION_BYTES, basis: `the ${formatMiB(MIN_EVICTION_BYTES)} minimum, because the last-level cache size is unknown (${cache.reason}); set the size with --evict-mib` };
  }

  const twice = 2 * cache.bytes;
  const described = `the ${formatMiB(cache.bytes)} level-${cache.level} cache`;
  if (twice >= MIN_EVICTION_BYTES) return { bytes: twice, basis: `2 × ${described}` };
  return { bytes: MIN_EVICTION_BYTES, basis: `the ${formatMiB(MIN_EVICTION_BYTES)} minimum, more than 2 × ${described}` };
}

/** The cache handling of a bench run, before any case. */
export type CacheSetup =
  | { readonly kind: "warm" }
  | {
      readonly kind: "cold";
      readonly policy: ColdPolicy;
      readonly size: EvictionSize;
      /** Bytes each eviction streams: the requested size rounded up to whole cache lines per thread. */
      readonly bytes: number;
      readonly threads: number;
      /** Evicts the caches and returns the seconds it took. */
      readonly evict: () => number;
      /** Seconds of every eviction made through `evict`. */
      readonly evictionSeconds: readonly number[];
      /** Frees the eviction buffer. */
      readonly release: () => void;
    }
  | { readonly kind: "fallback"; readonly policy: ColdPolicy; readonly reason: string };

/**
 * Sets up the cache handling for `policy`. Cold policies need the native addon's `evictCaches`:
 * without it the run falls back to warm ("fallback", with the reason). The first eviction runs
 * here, so that allocating and page-faulting the buffer happens once, before any case. An
 * eviction size the addon rejects (more than half the memory, or not allocatable) is "invalid".
 */
export function setUpCache(policy: CachePolicy, size: EvictionSize, load: AddonLoad): CacheSetup | { readonly kind: "invalid"; readonly message: string } {
  if (policy === "warm") return { kind: "warm" };

  if (load.kind === "missing") return { kind: "fallback", policy, reason: `${load.reason} (fix: ${load.fix})` };
  const { addon } = load;
  if (typeof addon.evictCaches !== "function") {
    return { kind: "fallback", policy, reason: "the loaded native addon has no evictCaches function, because it was built from older sources (fix: node backends/native/build.mjs)" };
  }

  let first;
  try {
    first = addon.evictCaches(size.bytes);
  } catch (error) {
    return { kind: "invalid", message: `cache eviction of ${formatMiB(size.bytes)} failed: ${(error as Error).message}` };
  }

  const evictionSeconds: number[] = [];
  return {
    kind: "cold",
    policy,
    size,
    bytes: first.bytes,
    threads: first.threads,
    evict: () => {
      const { seconds } = addon.evictCaches(size.bytes);
      evictionSeconds.push(seconds);
      return seconds;
    },
    evictionSeconds,
    release: () => addon.releaseEvictionBuffer(),
  };
}

/** The cache handling as a report states it. */
export type CacheReport =
  | { readonly kind: "warm"; readonly policy: "warm" }
  | {
      readonly kind: "cold";
      readonly policy: ColdPolicy;
      readonly evictionBytes: number;
      readonly evictionBasis: string;
      readonly threads: number;
      readonly evictions: number;
      /** Median seconds of one eviction; null when no case ran cold. */
      readonly medianEvictionSeconds: number | null;
    }
  | { readonly kind: "fallback"; readonly policy: ColdPolicy; readonly reason: string };

/** Summarizes a setup after the run, with the evictions it made. */
export function cacheReport(setup: CacheSetup): CacheReport {
  if (setup.kind === "warm") return { kind: "warm", policy: "warm" };
  if (setup.kind === "fallback") return setup;

  const seconds = setup.evictionSeconds;
  return {
    kind: "cold",
    policy: setup.policy,
    evictionBytes: setup.bytes,
    evictionBasis: setup.size.basis,
    threads: setup.threads,
    evictions: seconds.length,
    medianEvictionSeconds: seconds.length === 0 ? null : median(seconds),
  };
}

/** Describes the cache handling in one line for the report header. */
export function describeCache(report: CacheReport): string {
  if (report.kind === "warm") return "cache: warm for every case (--warm): no eviction between runs";

  const cases = report.policy === "cold" ? "every case" : "M = 1 cases (warm for the others)";
  if (report.kind === "fallback") {
    return `cache: WARM for every case, although cold was requested for ${cases}, because the native addon's cache eviction is unavailable: ${report.reason}`;
  }

  const took = report.medianEvictionSeconds === null ? "" : `, median ${(report.medianEvictionSeconds * 1e3).toFixed(0)} ms`;
  return (
    `cache: cold for ${cases}: before every warm-up and timed run, ${report.threads} threads read ` +
    `${formatMiB(report.evictionBytes)} (${report.evictionBasis}${took}, outside the timed interval)`
  );
}

function formatMiB(bytes: number): string {
  return `${Number((bytes / 2 ** 20).toFixed(1))} MiB`;
}
