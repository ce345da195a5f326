/**
 * Benchmark results and their rendering as a plain-text table: one row per case and peer, with
 * the cache mode, the median time, throughput, weight traffic, the ratio to the fastest peer on the case and,
 * for M = 1, the weight traffic as a fraction of the measured memory bandwidth.
 */
import type { BenchCase } from "./cases.ts";
import type { CacheMode } from "./eviction.ts";
import type { Timing } from "./measure.ts";

/** The measurement of one case on one peer. */
export type BenchRow =
  | {
      readonly kind: "measured";
      readonly caseId: string;
      readonly peer: string;
      readonly M: number;
      readonly K: number;
      readonly N: number;
      /** Whether every run started with evicted caches. */
      readonly cache: CacheMode;
      readonly timing: Timing;
      readonly weightBytes: number;
      readonly note?: string;
      /** A floor to compare with (the streaming read), left out of the "x fastest" ratios. */
      readonly reference?: boolean;
    }
  | { readonly kind: "skipped"; readonly caseId: string; readonly peer: string; readonly reason: string };

/** Derived figures of a measured row. */
export interface RowFigures {
  /** 2·M·N·K floating-point operations per median time, in GFLOP/s. */
  readonly gflops: number;
  /** Weight bytes per median time, in GB/s (10^9 bytes). */
  readonly weightGBs: number;
  /** Median time over the fastest median of an implementation on the same case: 1 for the fastest. */
  readonly ratioToFastest: number;
  /** Weight GB/s over the measured memory bandwidth, for M = 1 rows when a bandwidth is known. */
  readonly bandwidthFraction?: number;
}

/** Computes the derived figures of every measured row. */
export function rowFigures(rows: readonly BenchRow[], bandwidthBytesPerSecond: number | undefined): Map<BenchRow, RowFigures> {
  const fastest = new Map<string, number>();
  for (const row of rows) {
    if (row.kind !== "measured" || row.reference === true) continue;
    const best = fastest.get(row.caseId);
    if (best === undefined || row.timing.median < best) fastest.set(row.caseId, row.timing.median);
  }

  const figures = new Map<BenchRow, RowFigures>();
  for (const row of rows) {
    if (row.kind !== "measured") continue;
    const seconds = row.timing.median;
    const bytesPerSecond = row.weightBytes / seconds;
    const fraction = row.M === 1 && bandwidthBytesPerSecond !== undefined ? bytesPerSecond / bandwidthBytesPerSecond : undefined;
    figures.set(row, {
      gflops: (2 * row.M * row.N * row.K) / seconds / 1e9,
      weightGBs: bytesPerSecond / 1e9,
      ratioToFastest: seconds / (fastest.get(row.caseId) ?? seconds),
      ...(fraction === undefined ? {} : { bandwidthFraction: fraction }),
    });
  }
  return figures;
}

const HEADER = ["case", "backend", "cache", "median ms", "min ms", "GFLOP/s", "weight GB/s", "x fastest", "of mem BW", "note"];

function formatNumber(value: number, digits: number): string {
  return value.toFixed(digits);
}

/**
 * Renders the rows as an aligned text table, cases in the given order. Skipped rows appear only
 * where `showSkipped` accepts them (all by default), so that a peer without the format does not
 * add a line to every case.
 */
export function formatTable(
  rows: readonly BenchRow[],
  bandwidthBytesPerSecond: number | undefined,
  showSkipped: (row: BenchRow) => boolean = () => true,
): string {
  const figures = rowFigures(rows, bandwidthBytesPerSecond);
  const lines: string[][] = [HEADER];

  for (const row of rows) {
    if (row.kind === "skipped") {
      if (!showSkipped(row)) continue;
      lines.push([row.caseId, row.peer, "-", "-", "-", "-", "-", "-", "-", row.reason]);
      continue;
    }
    const f = figures.get(row)!;
    lines.push([
      row.caseId,
      row.peer,
      row.cache,
      formatNumber(row.timing.median * 1e3, 3),
      formatNumber(row.timing.min * 1e3, 3),
      formatNumber(f.gflops, 1),
      formatNumber(f.weightGBs, 1),
      row.reference === true ? "-" : formatNumber(f.ratioToFastest, 2),
      f.bandwidthFraction === undefined ? "-" : `${formatNumber(f.bandwidthFraction * 100, 0)}%`,
      row.note ?? "",
    ]);
  }

  const widths = HEADER.map((_, column) => Math.max(...lines.map((line) => line[column].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8]);
  return lines
    .map((line) =>
      line
        .map((cell, column) => (column === line.length - 1 ? cell : numeric.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Orders rows by case (in `cases` order), then by peer name order of `peers`. */
export function sortRows(rows: readonly BenchRow[], cases: readonly BenchCase[], peers: readonly string[]): BenchRow[] {
  const caseOrder = new Map(cases.map((c, index) => [c.id, index]));
  const peerOrder = new Map(peers.map((name, index) => [name, index]));
  return [...rows].sort(
    (a, b) => (caseOrder.get(a.caseId) ?? 0) - (caseOrder.get(b.caseId) ?? 0) || (peerOrder.get(a.peer) ?? 0) - (peerOrder.get(b.peer) ?? 0),
  );
}
