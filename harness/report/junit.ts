/**
 * The JUnit XML report: one testsuite per backend × suite and one testcase per case ID. Failures
 * carry the located diff and the rerun line. Unsupported cases and known divergences are
 * skipped with their reason, and crashes and timeouts are errors.
 */
import type { CaseRecord, RunReport } from "../run/records.ts";
import { formatIssueLine } from "./issue.ts";

/**
 * Escapes text for XML content and attribute values. Characters XML 1.0 does not allow (control
 * characters other than tab, newline and carriage return, lone surrogates) become U+FFFD.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function attributes(values: Readonly<Record<string, string | number>>): string {
  return Object.entries(values)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join("");
}

function testcase(record: CaseRecord, classname: string): string {
  const open = `    <testcase${attributes({ classname, name: record.caseId, time: (record.seconds ?? 0).toFixed(6) })}`;
  const body = (record.text ?? "") + (record.rerun ? `\nRerun: ${record.rerun}` : "");

  switch (record.status) {
    case "passed":
      return `${open}/>`;
    case "unexpected-pass":
      return `${open}>\n      <system-out>${escapeXml(record.reason ?? "")}</system-out>\n    </testcase>`;
    case "unsupported":
      return `${open}>\n      <skipped${attributes({ message: `unsupported: ${record.reason ?? ""}` })}/>\n    </testcase>`;
    case "inconclusive":
      return `${open}>\n      <skipped${attributes({ message: `inconclusive: ${record.reason ?? ""}` })}/>\n    </testcase>`;
    case "known-divergence":
      return `${open}>\n      <skipped${attributes({ message: `known divergence: ${record.reason ?? ""}` })}>${escapeXml(body)}</skipped>\n    </testcase>`;
    case "failed": {
      const message = firstLine(record.text ?? "failed");
      return `${open}>\n      <failure${attributes({ message, type: record.failure?.kind ?? "failed" })}>${escapeXml(body)}</failure>\n    </testcase>`;
    }
    case "crashed":
    case "timeout":
      return `${open}>\n      <error${attributes({ message: firstLine(record.text ?? record.status), type: record.status })}>${escapeXml(body)}</error>\n    </testcase>`;
  }
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0];
}

/** Renders the JUnit XML report. */
export function renderJunit(report: RunReport): string {
  const groups = new Map<string, CaseRecord[]>();
  for (const record of report.records) {
    const key = `${record.backend}.${record.suite}`;
    const list = groups.get(key) ?? [];
    list.push(record);
    groups.set(key, list);
  }

  const suites: string[] = [];
  for (const [name, records] of groups) {
    const failures = records.filter((record) => record.status === "failed").length;
    const errors = records.filter((record) => record.status === "crashed" || record.status === "timeout").length;
    const skipped = records.filter((record) => record.status === "unsupported" || record.status === "known-divergence").length;
    const time = records.reduce((sum, record) => sum + (record.seconds ?? 0), 0);
    const cases = records.map((record) => testcase(record, name));
    suites.push(`  <testsuite${attributes({ name, tests: records.length, failures, errors, skipped, time: time.toFixed(6) })}>\n${cases.join("\n")}\n  </testsuite>`);
  }

  if (report.loadFailures.length > 0) {
    const cases = report.loadFailures.map(
      (failure) =>
        `    <testcase${attributes({ classname: "load", name: failure.caseId ?? failure.file })}>\n      <error${attributes({ message: failure.message, type: failure.code })}>${escapeXml(formatIssueLine(failure))}</error>\n    </testcase>`,
    );
    suites.push(`  <testsuite${attributes({ name: "load", tests: cases.length, failures: 0, errors: cases.length, skipped: 0 })}>\n${cases.join("\n")}\n  </testsuite>`);
  }

  const missing = report.backends.filter((backend) => backend.status === "unavailable" && backend.required);
  if (missing.length > 0) {
    const cases = missing.map(
      (backend) =>
        `    <testcase${attributes({ classname: "backends", name: backend.name })}>\n      <error${attributes({ message: backend.status === "unavailable" ? backend.reason : "", type: "unavailable" })}/>\n    </testcase>`,
    );
    suites.push(`  <testsuite${attributes({ name: "backends", tests: cases.length, failures: 0, errors: cases.length, skipped: 0 })}>\n${cases.join("\n")}\n  </testsuite>`);
  }

  const total = report.records.length + report.loadFailures.length + missing.length;
  const failures = report.records.filter((record) => record.status === "failed").length;
  const errors = report.records.filter((record) => record.status === "crashed" || record.status === "timeout").length + report.loadFailures.length + missing.length;
  const head = `<testsuites${attributes({ name: "qmm-conformance", tests: total, failures, errors, time: report.seconds.toFixed(3) })}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${head}\n${suites.join("\n")}\n</testsuites>\n`;
}
