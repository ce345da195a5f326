/**
 * Runs the benchmark: sets up every peer, measures the memory bandwidth with the native addon,
 * then times each case on every peer in one process, one peer after the other, with the caches
 * evicted before every run of a cold case.
 */
import { cpus, totalmem } from "node:os";
import { loadAddon } from "../../backends/native/addon.ts";
import { primerCase } from "./cases.ts";
import type { BenchCase } from "./cases.ts";
import { cacheModeFor, cacheReport } from "./eviction.ts";
import type { CacheReport, CacheSetup } from "./eviction.ts";
import { benchInputs } from "./inputs.ts";
import { measureRoundRobin } from "./measure.ts";
import type { MeasureOptions } from "./measure.ts";
import { nativePeer } from "./native-peer.ts";
import { ortPeer } from "./ort-peer.ts";
import { readPeer } from "./read-peer.ts";
import { backendPeer } from "./peers.ts";
import type { BenchPeer, PeerStatus, PreparedCall } from "./peers.ts";
import type { QmmInputs } from "../../spec/types.ts";
import { rowFigures, sortRows } from "./results.ts";
import type { BenchRow, RowFigures } from "./results.ts";

/** The pause before each peer's runs of a case. */
const SETTLE_MILLISECONDS = 300;

/** Peer names in table order. */
export const PEER_NAMES = ["native", "ort", "ort-int8", "mlx", "js", "read"] as const;

/** Creates a peer by name. */
export function createPeer(name: string): BenchPeer | undefined {
  switch (name) {
    case "native":
      return nativePeer();
    case "ort":
      return ortPeer(0);
    case "ort-int8":
      return ortPeer(4);
    case "mlx":
      return backendPeer("mlx", "MLX on the CPU through the worker (timing includes sending every tensor)");
    case "js":
      return backendPeer("js", "qmm-conformance JS backend (timing includes validation)");
    case "read":
      return readPeer();
    default:
      return undefined;
  }
}

/** The cases, peers and timing settings of a benchmark run. */
export interface BenchOptions {
  readonly cases: readonly BenchCase[];
  readonly peers: readonly BenchPeer[];
  readonly measure: MeasureOptions;
  /** The cache policy and the eviction that makes a case cold; see eviction.ts. */
  readonly cache: CacheSetup;
  /** Size of the buffer the bandwidth probe streams over, in bytes; 0 skips the probe. */
  readonly bandwidthBytes: number;
  /** Receives one progress line at a time. */
  readonly log: (line: string) => void;
}

/** The machine a report was measured on. */
export interface MachineInfo {
  readonly cpu: string;
  readonly logicalCores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

/** A whole benchmark run. */
export interface BenchReport {
  readonly date: string;
  readonly machine: MachineInfo;
  /** Best streaming-read bandwidth over all threads, bytes per second, when the native addon is available. */
  readonly bandwidthBytesPerSecond?: number;
  readonly cache: CacheReport;
  readonly peers: readonly { readonly name: string; readonly description: string; readonly status: PeerStatus }[];
  readonly rows: readonly BenchRow[];
  readonly figures: Map<BenchRow, RowFigures>;
}

/** Returns facts about this machine for the report. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    logicalCores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Runs every case on every available peer. */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const statuses: { name: string; description: string; status: PeerStatus }[] = [];
  const available: BenchPeer[] = [];
  for (const peer of options.peers) {
    const status = await peer.setUp();
    statuses.push({ name: peer.name, description: peer.description, status });
    options.log(status.kind === "available" ? `${peer.name}: ${status.version}${status.details ? ` (${status.details})` : ""}` : `${peer.name}: unavailable: ${status.reason}`);
    if (status.kind === "available") available.push(peer);
  }

  if (options.cache.kind === "fallback") {
    options.log(`cache: cold mode is unavailable, so every case runs WARM: ${options.cache.reason}`);
  }

  const bandwidthBefore = measureBandwidth(options);

  const rows: BenchRow[] = [];
  try {
    for (const c of options.cases) {
      const inputs = benchInputs(c);
      rows.push(...unavailableRows(c, statuses));
      rows.push(...(await measureCase(c, inputs, available, options)));
    }
  } finally {
    for (const peer of options.peers) await peer.close();
    if (options.cache.kind === "cold") options.cache.release();
  }

  // A second probe after the cases: the higher figure is the less disturbed one.
  const bandwidthAfter = measureBandwidth(options);
  const bandwidth = bandwidthBefore === undefined || bandwidthAfter === undefined ? (bandwidthBefore ?? bandwidthAfter) : Math.max(bandwidthBefore, bandwidthAfter);

  const sorted = sortRows(rows, options.cases, options.peers.map((peer) => peer.name));
  return {
    date: new Date().toISOString(),
    machine: machineInfo(),
    ...(bandwidth === undefined ? {} : { bandwidthBytesPerSecond: bandwidth }),
    cache: cacheReport(options.cache),
    peers: statuses,
    rows: sorted,
    figures: rowFigures(sorted, bandwidth),
  };
}

function measureBandwidth(options: BenchOptions): number | undefined {
  if (options.bandwidthBytes <= 0) return undefined;
  // Loaded here and not taken from the native peer, so that the probe also runs without it.
  const load = loadAddon();
  if (load.kind === "missing") {
    options.log(`memory bandwidth: not measured, because the native addon is unavailable: ${load.reason}`);
    return undefined;
  }

  const bytesPerSecond = load.addon.measureReadBandwidth(options.bandwidthBytes, 5);
  options.log(`memory bandwidth: ${(bytesPerSecond / 1e9).toFixed(1)} GB/s (streaming read of ${Math.round(options.bandwidthBytes / 2 ** 20)} MiB, best of 5)`);
  return bytesPerSecond;
}

/** Rows for the peers that are unavailable, shown on the headline cases only. */
function unavailableRows(c: BenchCase, statuses: readonly { name: string; status: PeerStatus }[]): BenchRow[] {
  if (!c.headline) return [];
  return statuses.flatMap((entry) => (entry.status.kind === "unavailable" ? [{ kind: "skipped" as const, caseId: c.id, peer: entry.name, reason: `unavailable: ${entry.status.reason}` }] : []));
}

/** Prepares and times the case on every available peer, one peer after the other. */
async function measureCase(c: BenchCase, inputs: QmmInputs, peers: readonly BenchPeer[], options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const peer of peers) rows.push(await measureOne(peer, c, inputs, options));
  return rows;
}

async function measureOne(peer: BenchPeer, c: BenchCase, inputs: QmmInputs, options: BenchOptions): Promise<BenchRow> {
  let preparation;
  try {
    preparation = await peer.prepare(c, inputs);
  } catch (error) {
    return { kind: "skipped", caseId: c.id, peer: peer.name, reason: `preparation failed: ${(error as Error).message}` };
  }
  if (preparation.kind === "unsupported") return { kind: "skipped", caseId: c.id, peer: peer.name, reason: preparation.reason };

  const { call } = preparation;
  const cache = options.cache;
  const mode = cache.kind === "cold" ? cacheModeFor(cache.policy, c.M) : "warm";
  const primer = mode === "cold" ? await preparePrimer(peer, c) : undefined;
  const beforeRun =
    cache.kind === "cold" && mode === "cold"
      ? async () => {
          cache.evict();
          await primer?.run();
        }
      : undefined;
  try {
    // Let the previous peer's background work (a JS garbage collection, a worker process or
    // spinning threads finishing) end before this peer's warm-up.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MILLISECONDS));
    const [timing] = await measureRoundRobin([() => call.run()], options.measure, { beforeRun });
    options.log(`${c.id} ${peer.name} (${mode}): median ${(timing.median * 1e3).toFixed(3)} ms over ${timing.repeats} runs`);
    return { kind: "measured", caseId: c.id, peer: peer.name, M: c.M, K: c.K, N: c.N, cache: mode, timing, weightBytes: call.weightBytes, ...(call.note === undefined ? {} : { note: call.note }), ...(call.reference === true ? { reference: true } : {}) };
  } catch (error) {
    return { kind: "skipped", caseId: c.id, peer: peer.name, reason: `run failed: ${(error as Error).message}` };
  } finally {
    await call.dispose?.();
    await primer?.dispose?.();
  }
}

/**
 * Prepares the untimed call that runs after each eviction. The eviction flushes everything a
 * call touches, not only its weights: on a 2-core Xeon under KVM, priming with a tiny call of
 * the same format cut the native M = 1, K = N = 8192 cold median by about 0.6 ms, which is the
 * cost of code, small buffers and threads that a loop of real calls keeps warm. Returns
 * undefined when the peer cannot prepare it, and the cold run then goes unprimed.
 */
async function preparePrimer(peer: BenchPeer, c: BenchCase): Promise<PreparedCall | undefined> {
  const primer = primerCase(c);
  try {
    const preparation = await peer.prepare(primer, benchInputs(primer));
    return preparation.kind === "ready" ? preparation.call : undefined;
  } catch {
    return undefined;
  }
}
