/**
 * The HTML report: one self-contained file (inline CSS, no scripts or external assets) with the
 * backends, the summary table, load failures and every failure with its located diff.
 */
import { escapeControlCharacters } from "../../spec/errors.ts";
import { formatBudgetRatio } from "../diagnose/render.ts";
import type { CaseRecord, RunReport } from "../run/records.ts";
import { nextSteps } from "./hint.ts";
import { formatIssueLine } from "./issue.ts";

/**
 * Escapes text for HTML content and quoted attribute values. Control and bidirectional formatting
 * characters other than tab and line break become visible escapes such as `\x1b`, because a
 * browser would hide them or reorder the text around them.
 */
export function escapeHtml(text: string): string {
  return escapeControlCharacters(text, "\t\n")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.bad { background: #fde2e1; } .good { background: #e3f6e5; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 12px; }
summary { cursor: pointer; font-family: monospace; }
`;

function row(cells: readonly string[], className = ""): string {
  const classAttribute = className ? ` class="${className}"` : "";
  return `<tr${classAttribute}>${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`;
}

function failureBlock(record: CaseRecord): string {
  const title = `${record.status.toUpperCase()} ${record.backend} · ${record.caseId}`;
  const reason = record.reason === undefined ? "" : `Reason: ${record.reason}\n\n`;
  const body = `${reason}${record.text ?? ""}\n\nRerun: ${record.rerun ?? ""}`;
  return `<details><summary>${escapeHtml(title)}</summary><pre>${escapeHtml(body)}</pre></details>`;
}

/** Renders the HTML report. */
export function renderHtml(report: RunReport): string {
  const backendRows = report.backends.map((backend) =>
    backend.status === "available"
      ? row([backend.name, "available", backend.version, backend.variant])
      : row([backend.name, backend.required ? "unavailable (required)" : "unavailable", backend.reason, backend.fix ?? ""], backend.required ? "bad" : ""),
  );

  const summaryRows = report.summary.map((entry) => {
    const failed = entry.failed + entry.crashed + entry.timeout;
    const worst = entry.worstRatio === null ? "-" : formatBudgetRatio(entry.worstRatio);
    const median = entry.medianRatio === null ? "-" : formatBudgetRatio(entry.medianRatio);
    return row(
      [entry.backend, entry.suite, String(entry.passed + entry.unexpectedPass), String(failed), String(entry.unsupported), String(entry.known), String(entry.inconclusive), worst, median],
      failed > 0 ? "bad" : "good",
    );
  });

  const failures = report.records.filter((record) => record.status === "failed" || record.status === "crashed" || record.status === "timeout");
  const known = report.records.filter((record) => record.status === "known-divergence");
  const unexpected = report.records
    .filter((record) => record.status === "unexpected-pass")
    .map((record) => `<li>${escapeHtml(`${record.backend} · ${record.caseId}: ${record.reason ?? ""}`)}</li>`);
  const loadFailures = report.loadFailures.map((failure) => `<li>${escapeHtml(formatIssueLine(failure))}</li>`);
  const hints = nextSteps(report).map((hint) => `<li>${escapeHtml(hint)}</li>`);

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>qmm-conformance report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>qmm-conformance: ${report.ok ? "passed" : "failed"}</h1>
<p>Started ${escapeHtml(report.startedAt)}, ${report.seconds.toFixed(1)} s. Filter: ${escapeHtml(report.selection.filter ?? "none")}. Shard: ${escapeHtml(report.selection.shard ?? "none")}.</p>
<h2>Backends</h2>
<table><tr><th>backend</th><th>status</th><th>version or reason</th><th>variant or fix</th></tr>${backendRows.join("")}</table>
<h2>Summary</h2>
<table><tr><th>backend</th><th>suite</th><th>passed</th><th>failed</th><th>unsupported</th><th>known</th><th>inconclusive</th><th>worst error/budget</th><th>median error/budget</th></tr>${summaryRows.join("")}</table>
${loadFailures.length > 0 ? `<h2>Load failures</h2><ul>${loadFailures.join("")}</ul>` : ""}
<h2>Failures (${failures.length})</h2>
${failures.map(failureBlock).join("\n") || "<p>None.</p>"}
${known.length > 0 ? `<h2>Known divergences (${known.length})</h2>${known.map(failureBlock).join("\n")}` : ""}
${unexpected.length > 0 ? `<h2>Unexpected passes (${unexpected.length})</h2><ul>${unexpected.join("")}</ul>` : ""}
${hints.length > 0 ? `<h2>Next steps</h2><ul>${hints.join("")}</ul>` : ""}
</body>
</html>
`;
}
