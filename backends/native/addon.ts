/**
 * Loading the compiled addon. A missing or broken binary is an expected state (no compiler, a
 * non-x86 machine, a failed build), so loading returns a result instead of throwing.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The path where `node backends/native/build.mjs` writes the addon. */
export const DEFAULT_ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), "build", "Release", "qmm_native.node");

/** The command that builds the addon. */
export const BUILD_COMMAND = "node backends/native/build.mjs";

/** The call record the addon's `run` reads; see src/addon.cc for the field meanings. */
export interface AddonProblem {
  readonly encoding: number;
  readonly scaleKind: number;
  readonly affine: boolean;
  readonly transpose: boolean;
  readonly bits: number;
  readonly groupSize: number;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly xType: number;
  readonly scalesType: number;
  readonly biasesType: number;
  readonly outType: number;
  readonly batchCount: number;
  readonly xMatrixCount: number;
  readonly wMatrixCount: number;
  readonly x: ArrayBufferView;
  readonly w: Uint32Array;
  readonly scales: ArrayBufferView;
  readonly biases?: ArrayBufferView;
  readonly y: Float32Array | Uint16Array;
  readonly xIndex: Int32Array;
  readonly wIndex: Int32Array;
}

/** The functions the compiled addon exports. */
export interface NativeAddon {
  /** Computes one call on a worker thread and writes the result into `problem.y`. */
  run(problem: AddonProblem): Promise<void>;
  /** The kernel set in use, the CPU features seen and the thread count. */
  info(): { isa: string; cpuFeatures: string; threads: number };
  /** Streams over a buffer of `bytes` bytes `repeats` times with every thread; returns the best bytes per second. */
  measureReadBandwidth(bytes: number, repeats: number): number;
  /**
   * Evicts the CPU caches for a cold-cache timing. One thread per CPU the calling thread may run
   * on (pinned to it on Linux) reads its share of a buffer of at least `bytes` bytes, which is
   * written once when it is allocated.
   * Once `bytes` is well above the last-level cache size, data touched before is no longer
   * cached. The buffer stays allocated for the next call with the same size. Blocks the calling
   * thread. Throws a RangeError when `bytes` is more than half the physical memory or cannot be
   * allocated, and a TypeError when it is not a positive integer.
   */
  evictCaches(bytes: number): EvictionResult;
  /**
   * Reads every element once with every thread of the pool, each over its share, as the
   * bandwidth probe does; returns their sum. Throws a TypeError unless given one Float32Array.
   */
  streamRead(data: Float32Array): number;
  /** Frees the buffer of `evictCaches`; a later call allocates it again. */
  releaseEvictionBuffer(): void;
}

/** The work of one `evictCaches` call. */
export interface EvictionResult {
  /** Bytes read over all threads: `bytes` rounded up to whole cache lines per thread. */
  readonly bytes: number;
  /** Threads that streamed, one per CPU. */
  readonly threads: number;
  /** Wall time in seconds; after a new allocation it includes writing the buffer and the page faults. */
  readonly seconds: number;
}

/** The outcome of loading the addon. */
export type AddonLoad =
  | { readonly kind: "loaded"; readonly addon: NativeAddon }
  | { readonly kind: "missing"; readonly reason: string; readonly fix: string };

const loaded = new Map<string, AddonLoad>();

/** Loads the addon at `path` once per process; later calls return the same outcome. */
export function loadAddon(path: string = DEFAULT_ADDON_PATH): AddonLoad {
  const cached = loaded.get(path);
  if (cached !== undefined) return cached;

  const outcome = tryLoad(path);
  loaded.set(path, outcome);
  return outcome;
}

function tryLoad(path: string): AddonLoad {
  if (!existsSync(path)) {
    const buildError = join(dirname(dirname(path)), "BUILD_ERROR.txt");
    const reason = existsSync(buildError)
      ? `the native addon is not built: ${readFileSync(buildError, "utf8").trim()}`
      : `the native addon was not found at ${path}`;
    return { kind: "missing", reason, fix: BUILD_COMMAND };
  }

  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    return { kind: "loaded", addon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: "missing", reason: `the native addon at ${path} failed to load: ${message}`, fix: `rebuild it with ${BUILD_COMMAND}` };
  }
}
