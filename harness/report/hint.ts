/** The closing hint of a report: what to do next, given what went wrong. */
import type { RunReport } from "../run/records.ts";

/** Returns the hint lines for a report (empty when everything passed and nothing needs attention). */
export function nextSteps(report: RunReport): string[] {
  const hints: string[] = [];
  const count = (status: string) => report.records.filter((record) => record.status === status).length;

  const valueFailures = report.records.filter((record) => record.status === "failed" && record.failure?.kind === "values").length;
  if (valueFailures > 0) {
    hints.push(
      "Rerun one failed case with its rerun line, and print its inputs with 'qmm-conformance vectors show CASE_ID'. The pattern line names the likely bug. If the backend computes differently from the variant it declares, declare the variant that describes it (spec/variants.ts, spec/NUMERICS.md) instead of widening a tolerance.",
    );
  }

  const codeFailures = report.records.filter((record) => record.status === "failed" && record.failure?.kind !== "values").length;
  if (codeFailures > 0) hints.push("Error-code and shape failures: SPEC.md §9.1 gives the order of the checks, and §9.2 the code of each.");

  if (count("crashed") + count("timeout") > 0) hints.push("Crashed or timed-out cases: read the stderr tail above, and rerun with --batch 1 to find the call that takes the backend down.");

  if (count("inconclusive") > 0) {
    hints.push(
      "Inconclusive cases: the declared variant allows errors as large as the sum itself there (e.g. long float16 or bfloat16 accumulation), so passing proves nothing. Declare a tighter variant if the backend computes more accurately, or accept that these cases cannot be judged.",
    );
  }

  if (count("unexpected-pass") > 0) hints.push("Unexpected passes: remove those entries from the backend's knownDivergences list.");

  if (report.loadFailures.length > 0) {
    hints.push(
      "Load failures: the vector files are damaged or stale. 'qmm-conformance vectors verify' names the files that differ and 'qmm-conformance vectors generate' rebuilds them; the error code names the check that failed (SPEC.md §14).",
    );
  }

  for (const backend of report.backends) {
    if (backend.status === "unavailable" && backend.required) {
      hints.push(`Required backend ${backend.name} is unavailable${backend.fix ? `: ${backend.fix}` : "."}`);
    }
  }

  if (report.records.length === 0 && report.loadFailures.length === 0) {
    hints.push("No case ran: check --filter, --suite, --shard and --vectors, and that at least one backend is available.");
  }
  return hints;
}
