/**
 * The JSON report: every case record, the backends, load failures and the summary. The zod schema
 * of the file is `runReportSchema` (re-exported here), so consumers can validate what they read.
 */
import { runReportSchema } from "../run/records.ts";
import type { RunReport } from "../run/records.ts";

export { runReportSchema } from "../run/records.ts";
export type { RunReport } from "../run/records.ts";

/** Serializes a report; NaN and the infinities become the strings "NaN", "Infinity" and "-Infinity". */
export function renderJson(report: RunReport): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? String(value) : value), 2)}\n`;
}

/** Parses and validates a JSON report. Throws a ZodError that names the invalid field. */
export function parseJsonReport(text: string): RunReport {
  return runReportSchema.parse(JSON.parse(text));
}
