/**
 * The console report: backends, the table of backends × suites, load failures, the located diff
 * of each failure with its rerun line, and a closing hint. Text from files and workers (case IDs,
 * messages, stderr) may contain control characters, so every line is printed with them escaped.
 */
import { escapeControlCharacters } from "../../spec/errors.ts";
import { formatIssueLine } from "./issue.ts";
import { formatBudgetRatio, renderTable } from "../diagnose/render.ts";
import type { CaseRecord, RunReport } from "../run/records.ts";
import { nextSteps } from "./hint.ts";

/** Failures shown in full on the console; the rest are listed by ID. */
const MAX_DETAILED_FAILURES = 20;

/** Failures listed by ID after the detailed ones; beyond that only their count is printed. */
const MAX_LISTED_FAILURES = 100;

/** Renders the console report. */
export function renderConsole(report: RunReport): string {
  const sections = [renderBackends(report), renderSummary(report)];

  if (report.loadFailures.length > 0) {
    sections.push(["Load failures:", ...report.loadFailures.map((failure) => line(`  ${formatIssueLine(failure)}`))].join("\n"));
  }

  const failures = report.records.filter((record) => record.status === "failed" || record.status === "crashed" || record.status === "timeout");
  if (failures.length > 0) sections.push(renderFailures(failures));

  const inconclusive = report.records.filter((record) => record.status === "inconclusive");
  if (inconclusive.length > 0) sections.push(renderInconclusive(inconclusive));

  const unexpected = report.records.filter((record) => record.status === "unexpected-pass");
  if (unexpected.length > 0) {
    sections.push(["Unexpected passes:", ...unexpected.map((record) => line(`  ${record.backend} · ${record.caseId}: ${record.reason ?? ""}`))].join("\n"));
  }

  sections.push(renderVerdict(report, failures.length));

  const hints = nextSteps(report);
  if (hints.length > 0) sections.push(hints.map((hint) => line(`Hint: ${hint}`)).join("\n"));

  // Every line was escaped where it was built; this pass catches any text a section missed.
  return escapeControlCharacters(`${sections.join("\n\n")}\n`, "\n");
}

/** Escapes every control character of one output line, a line break included, so text cannot start a line of its own. */
function line(text: string): string {
  return escapeControlCharacters(text);
}

function renderBackends(report: RunReport): string {
  const lines = report.backends.map((backend) => {
    if (backend.status === "available") {
      const known = backend.knownDivergences > 0 ? `, ${backend.knownDivergences} known-divergence entries` : "";
      const details = Object.entries(backend.details ?? {}).map(([key, value]) => `${key}=${value}`);
      const detailText = details.length > 0 ? ` (${details.join(", ")})` : "";
      return line(`  ${backend.name}: ${backend.version}, variant ${backend.variant}${known}${detailText}`);
    }
    const required = backend.required ? " (required)" : "";
    const fix = backend.fix ? ` Fix: ${backend.fix}` : "";
    return line(`  ${backend.name}: unavailable${required}: ${backend.reason}.${fix}`);
  });
  return ["Backends:", ...lines].join("\n");
}

function renderSummary(report: RunReport): string {
  if (report.summary.length === 0) return "No case ran.";

  const header = ["backend", "suite", "passed", "failed", "unsupported", "known", "inconclusive", "worst error/budget"];
  const rows = report.summary.map((row) => {
    const failed = row.failed + row.crashed + row.timeout;
    const extra = [row.crashed > 0 ? `${row.crashed} crashed` : "", row.timeout > 0 ? `${row.timeout} timed out` : ""].filter(Boolean).join(", ");
    return [
      line(row.backend),
      line(row.suite),
      String(row.passed + row.unexpectedPass),
      extra ? `${failed} (${extra})` : String(failed),
      String(row.unsupported),
      String(row.known),
      String(row.inconclusive),
      row.worstRatio === null ? "-" : formatBudgetRatio(row.worstRatio),
    ];
  });
  return renderTable(header, rows, "");
}

/** Lists inconclusive cases per backend and variant, a few IDs each, so that a loose variant is visible. */
function renderInconclusive(records: readonly CaseRecord[]): string {
  const byBackend = new Map<string, CaseRecord[]>();
  for (const record of records) byBackend.set(record.backend, [...(byBackend.get(record.backend) ?? []), record]);

  const lines = ["Inconclusive (the declared variant's budget is at least Σ|x·ŵ| for some elements, so an output of 0 would pass):"];
  for (const [backend, list] of byBackend) {
    const shown = list.slice(0, 5).map((record) => record.caseId);
    const more = list.length > shown.length ? ` and ${list.length - shown.length} more` : "";
    lines.push(line(`  ${backend}: ${list.length} cases, e.g. ${shown.join(", ")}${more}`));
  }
  return lines.join("\n");
}

function renderFailures(failures: readonly CaseRecord[]): string {
  const shown = failures.slice(0, MAX_DETAILED_FAILURES);
  const blocks = shown.map((record) => {
    const status = record.status === "failed" ? "FAIL" : record.status.toUpperCase();
    const text = escapeControlCharacters(record.text ?? "", "\n");
    return [line(`${status} ${record.backend} · ${record.caseId}`), indent(text), line(`  Rerun: ${record.rerun ?? ""}`)].join("\n");
  });

  if (failures.length > shown.length) {
    const rest = failures.slice(shown.length, shown.length + MAX_LISTED_FAILURES).map((record) => line(`  ${record.backend} · ${record.caseId}`));
    const unlisted = failures.length - shown.length - rest.length;
    if (unlisted > 0) rest.push(`  and ${unlisted} more`);
    blocks.push([`${failures.length - shown.length} more failures (the JSON, JUnit and HTML reports show every one in full):`, ...rest].join("\n"));
  }
  return blocks.join("\n\n");
}

function renderVerdict(report: RunReport, failures: number): string {
  const cases = new Set(report.records.map((record) => record.caseId)).size;
  const result = report.ok ? "PASSED" : "FAILED";
  const parts = [`${cases} cases`, `${report.backends.filter((backend) => backend.status === "available").length} backends`, `${failures} failures`];
  if (report.loadFailures.length > 0) parts.push(`${report.loadFailures.length} load failures`);
  return `Result: ${result} (${parts.join(", ")}) in ${report.seconds.toFixed(1)} s.`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => (line.length > 0 ? `  ${line}` : line))
    .join("\n");
}
