/**
 * Renders a case failure as plain text: the located diff table, the failure pattern and the
 * rerun line. The console, JUnit, HTML and vitest reports all show this text.
 */
import type { CaseFailure, ElementRow } from "../run/records.ts";

/** Formats a float64 value for a diff table (up to 12 significant digits). */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+inf";
  if (value === -Infinity) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  return String(Number(value.toPrecision(12)));
}

function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  return value.toPrecision(4);
}

/**
 * Formats an error/budget ratio so that a passing ratio never displays as 1 or more: values below 1
 * are truncated to three decimals (0.99998 shows as 0.999), others get four significant digits.
 */
export function formatBudgetRatio(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (value < 1) return (Math.floor(value * 1000) / 1000).toFixed(3);
  return value.toPrecision(4);
}

const HEADER = ["", "position", "got", "exact", "expected y", "budget", "error (ulp)", "error/budget", "verdict"];

function tableRows(rows: readonly ElementRow[], marked: number): string[][] {
  return rows.map((row) => [
    row.index === marked ? ">" : "",
    `[${row.position.join(", ")}]`,
    formatNumber(row.got),
    formatNumber(row.exact),
    formatNumber(row.expected),
    Number.isFinite(row.bound) ? row.bound.toPrecision(4) : formatNumber(row.bound),
    Number.isNaN(row.errorUlps) ? "-" : formatRatio(row.errorUlps),
    formatBudgetRatio(row.ratio),
    row.failure ?? (row.mayOverflow ? "ok (may overflow)" : "ok"),
  ]);
}

/** Renders rows as an aligned text table with a header. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], indent = "  "): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => indent + cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const ISOLATE_HINT = "Hint: rerun with --batch 1 to find the call that fails, and --timeout SECONDS if the case is only slow.";

function stderrSection(tail: string): string {
  return tail ? `\nLast lines of its stderr:\n${tail}` : "";
}

/**
 * Renders the located diff of a failure, without the case heading. With `hints` false the closing
 * hint lines are left out, for a diff that passed and only shows its worst element.
 */
export function renderFailure(failure: CaseFailure, hints = true): string {
  switch (failure.kind) {
    case "values": {
      const worst = failure.window.reduce((best, row) => (row.ratio > best.ratio ? row : best), failure.window[0]);
      const lines = [
        `${failure.failedCount} of ${failure.elementCount} output elements are outside the budget of variant ${failure.variant} (output shape [${failure.outShape.join(", ")}]).`,
        `Worst element ${worst ? `[${worst.position.join(", ")}]` : "-"} and its neighbours along the last axis:`,
        renderTable(HEADER, tableRows(failure.window, worst?.index ?? -1)),
      ];
      if (failure.failedCount > 1) {
        lines.push(`First failed elements:`, renderTable(HEADER, tableRows(failure.firstFailures, -1)));
      }
      if (failure.pattern !== null) lines.push(`Pattern: ${failure.pattern.name}: ${failure.pattern.description}.`);
      if (hints && failure.pattern !== null) {
        lines.push("Hint: the pattern names the likely bug. If the backend is right but rounds differently, declare the variant that describes it (spec/NUMERICS.md §9).");
      } else if (hints) {
        lines.push(
          `Hint: compare where the backend rounds with what ${failure.variant} declares (spec/NUMERICS.md §4 and §9): another accumulation dtype or more roundings per term need another variant.`,
        );
      }
      return lines.join("\n");
    }
    case "mismatch":
      return `The output ${failure.what} is ${failure.actual}, expected ${failure.expected} (SPEC.md §6.3 and §7.3 define the output shape and dtype).`;
    case "wrong-error":
      return `The backend reported error ${failure.actual}, expected ${failure.expected} (SPEC.md §9.1 fixes the order of the checks). Its message: ${failure.message}`;
    case "unexpected-error":
      return `The backend reported error ${failure.actual} for a valid call. Its message: ${failure.message}`;
    case "missing-error":
      return `The backend returned a value for an invalid call, expected error ${failure.expected}.`;
    case "crashed":
      return `The backend crashed: ${failure.message}${stderrSection(failure.stderrTail)}\n${ISOLATE_HINT}`;
    case "timeout":
      return `The backend timed out after ${failure.seconds} s.${stderrSection(failure.stderrTail)}\n${ISOLATE_HINT}`;
    case "unmodelled-variant":
      return `No error budget exists for the declared variant: ${failure.reason}. Declare a registered variant (spec/variants.ts).`;
  }
}
