/** One-line rendering of a load failure. */
import type { LoadFailureRecord } from "../run/records.ts";

/** Renders a load failure as `file [case CASE_ID]: CODE [SPEC §x]: message (values)`. */
export function formatIssueLine(failure: LoadFailureRecord): string {
  const where = failure.caseId === undefined ? failure.file : `${failure.file} case ${failure.caseId}`;
  return `${where}: ${failure.message}`;
}
