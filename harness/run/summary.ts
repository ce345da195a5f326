/** Per-backend, per-suite counts of a run. */
import type { CaseRecord, SummaryRow } from "./records.ts";

/** Counts the records per backend and suite, in first-seen order. */
export function summarize(records: readonly CaseRecord[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow & { worstRatio: number | null }>();

  for (const record of records) {
    const key = `${record.backend}\u0000${record.suite}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { backend: record.backend, suite: record.suite, passed: 0, failed: 0, unsupported: 0, known: 0, unexpectedPass: 0, crashed: 0, timeout: 0, worstRatio: null };
      rows.set(key, row);
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
      case "crashed":
        row.crashed++;
        break;
      case "timeout":
        row.timeout++;
        break;
    }

    const ratio = record.status === "known-divergence" ? undefined : record.worstRatio;
    if (ratio !== undefined && (row.worstRatio === null || ratio > row.worstRatio)) row.worstRatio = ratio;
  }

  // Group rows by backend, in the order backends first appear, and keep suites in first-seen order.
  const backendOrder = [...new Set(records.map((record) => record.backend))];
  return [...rows.values()].sort((a, b) => backendOrder.indexOf(a.backend) - backendOrder.indexOf(b.backend));
}
