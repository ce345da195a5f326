/** Per-backend, per-suite counts of a run. */
import type { CaseRecord, SummaryRow } from "./records.ts";

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Counts the records per backend and suite, grouped by backend in first-seen order. */
export function summarize(records: readonly CaseRecord[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow & { worstRatio: number | null }>();
  const ratios = new Map<string, number[]>();

  for (const record of records) {
    const key = `${record.backend}\u0000${record.suite}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { backend: record.backend, suite: record.suite, passed: 0, failed: 0, unsupported: 0, known: 0, unexpectedPass: 0, inconclusive: 0, crashed: 0, timeout: 0, worstRatio: null, medianRatio: null };
      rows.set(key, row);
      ratios.set(key, []);
    }

    switch (record.status) {
      case "passed":
        row.passed++;
        break;
      case "failed":
        row.failed++;
        break;
      case "unsupported":
        row.unsupported++;
        break;
      case "known-divergence":
        row.known++;
        break;
      case "unexpected-pass":
        row.unexpectedPass++;
        break;
      case "inconclusive":
        row.inconclusive++;
        break;
      case "crashed":
        row.crashed++;
        break;
      case "timeout":
        row.timeout++;
        break;
    }

    const ratio = record.status === "known-divergence" ? undefined : record.worstRatio;
    if (ratio !== undefined && (row.worstRatio === null || ratio > row.worstRatio)) row.worstRatio = ratio;
    if (ratio !== undefined) ratios.get(key)!.push(ratio);
  }

  for (const [key, row] of rows) row.medianRatio = median(ratios.get(key)!);

  // Group rows by backend, in the order backends first appear, and keep suites in first-seen order.
  const backendOrder = [...new Set(records.map((record) => record.backend))];
  return [...rows.values()].sort((a, b) => backendOrder.indexOf(a.backend) - backendOrder.indexOf(b.backend));
}
