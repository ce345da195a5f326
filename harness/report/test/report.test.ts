import { describe, expect, it } from "vitest";
import { hasControlCharacters, specIssue } from "../../../spec/errors.ts";
import { VARIANTS } from "../../../spec/variants.ts";
import type { GoldenCase, LoadFailure } from "../../../vectors/case.ts";
import { referenceBackend } from "../../reference-backend.ts";
import { runConformance } from "../../run/runner.ts";
import { affineCase, simulatedBackend } from "../../test/fixtures.ts";
import { renderConsole } from "../console.ts";
import { renderHtml } from "../html.ts";
import { parseJsonReport, renderJson } from "../json.ts";
import { escapeXml, renderJunit } from "../junit.ts";

const awkward: GoldenCase = { ...affineCase({ M: 2, K: 64, N: 11, seed: 41 }), id: `affine/odd<&"'>\u0001name` };
const plain = affineCase({ M: 2, K: 64, N: 8, seed: 42 });
const loadFailure: LoadFailure = { kind: "load-failure", file: "vectors/x<y>.msgpack", issue: specIssue("E_FILE_FORMAT", "truncated file", { bytes: 12 }) };

async function* source() {
  yield loadFailure;
  yield awkward;
  yield plain;
}

const sloppy = simulatedBackend("sloppy", VARIANTS["dequantize-dot/f32"], { accumulateIn: "bfloat16" });
const report = await runConformance([referenceBackend, sloppy], source());

describe("console report", () => {
  const text = renderConsole(report);

  it("has the summary table", () => {
    expect(text).toMatch(/backend\s+suite\s+passed\s+failed\s+unsupported\s+known\s+inconclusive\s+worst error\/budget/);
    expect(text).toMatch(/reference\s+generated\s+2\s+0\s+0\s+0\s+0/);
    expect(text).toMatch(/sloppy\s+generated\s+0\s+2/);
  });

  it("shows failures with rerun lines", () => {
    expect(text).toContain(`FAIL sloppy · ${plain.id}`);
    expect(text).toContain(`Rerun: qmm-conformance run --backend sloppy --filter '${plain.id}'`);
  });

  it("ends with a hint", () => {
    expect(text.trimEnd().split("\n").at(-1)).toMatch(/^Hint: /);
    expect(text).toContain("Result: FAILED");
  });
});

describe("console failure list", () => {
  it("caps the list of further failures", () => {
    const failure = report.records.find((record) => record.status === "failed")!;
    const many = Array.from({ length: 150 }, (_, index) => ({ ...failure, caseId: `many/${index}` }));
    const text = renderConsole({ ...report, records: many });
    expect(text).toContain("130 more failures");
    expect(text).toContain("  sloppy · many/119");
    expect(text).not.toContain("  sloppy · many/120\n");
    expect(text).toContain("  and 30 more");
  });
});

describe("console control characters", () => {
  const hostile = "affine/evil\u001b[2J\u001b]0;pwned\u0007\nResult: PASSED\u009b31m\u202e";
  const failure = report.records.find((record) => record.status === "failed")!;
  const text = renderConsole({
    ...report,
    records: [{ ...failure, caseId: hostile, reason: "worker said \u001b[5m" }],
    loadFailures: [{ file: "vectors/x\u001b[1m.msgpack", caseId: hostile, code: "E_FILE_FORMAT", section: "§14.1", message: "bad\u001b[0m" }],
  });

  it("escapes them in case IDs and messages", () => {
    expect(hasControlCharacters(text.replaceAll("\n", ""))).toBe(false);
    expect(text).toContain("affine/evil\\x1b[2J\\x1b]0;pwned\\x07\\nResult: PASSED\\x9b31m\\u202e");
    expect(text).toContain("vectors/x\\x1b[1m.msgpack");
  });

  it("lets no ID start a line", () => {
    expect(text.split("\n").filter((line) => line.startsWith("Result:"))).toEqual(["Result: FAILED (1 cases, 2 backends, 1 failures, 1 load failures) in " + report.seconds.toFixed(1) + " s."]);
  });

  it("shows the awkward ID of the shared report escaped", () => {
    expect(renderConsole(report)).toContain("affine/odd<&\"'>\\x01name");
    expect(renderConsole(report)).not.toContain("\u0001");
  });
});

describe("JSON report", () => {
  it("round-trips through the schema", () => {
    const parsed = parseJsonReport(renderJson(report));
    expect(parsed.records).toHaveLength(report.records.length);
    expect(parsed.ok).toBe(false);
    expect(parsed.loadFailures[0].code).toBe("E_FILE_FORMAT");
  });

  it("stores infinities as strings", () => {
    const text = renderJson({ ...report, summary: [{ ...report.summary[0], worstRatio: Infinity }] });
    expect(text).toContain('"worstRatio": "Infinity"');
    expect(parseJsonReport(text).summary[0].worstRatio).toBe(Infinity);
  });
});

describe("JUnit report", () => {
  const xml = renderJunit(report);

  it("escapes markup and control characters", () => {
    expect(escapeXml(`a<b>&"c'\u0001`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;\uFFFD");
    expect(xml).toContain('name="affine/odd&lt;&amp;&quot;&apos;&gt;\uFFFDname"');
    expect(xml).not.toContain("\u0001");
  });

  it("has one testsuite per backend and suite", () => {
    expect(xml).toContain('<testsuite name="reference.generated" tests="2" failures="0" errors="0" skipped="0"');
    expect(xml).toContain('<testsuite name="sloppy.generated" tests="2" failures="2" errors="0" skipped="0"');
    expect(xml).toContain('<testsuite name="load" tests="1" failures="0" errors="1"');
  });

  it("failure text has the diff and rerun", () => {
    expect(xml).toMatch(/<failure message="[^"]*outside the budget[^"]*" type="values">/);
    expect(xml).toContain(`Rerun: qmm-conformance run --backend sloppy --filter &apos;${plain.id}&apos;`);
  });

  it("tags balance", () => {
    const opened = xml.match(/<testcase\b[^>]*[^/]>/g)?.length ?? 0;
    const selfClosed = xml.match(/<testcase\b[^>]*\/>/g)?.length ?? 0;
    const closed = xml.match(/<\/testcase>/g)?.length ?? 0;
    expect(opened).toBe(closed);
    expect(opened + selfClosed).toBe(report.records.length + 1);
  });
});

describe("HTML report", () => {
  const html = renderHtml(report);

  it("is self-contained", () => {
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/i);
  });

  it("escapes case IDs", () => {
    expect(html).toContain("affine/odd&lt;&amp;&quot;&#39;&gt;");
    expect(html).not.toContain("odd<&");
  });

  it("shows control characters as escapes", () => {
    expect(html).toContain("&gt;\\x01name");
    const hostile = renderHtml({ ...report, loadFailures: [{ file: "a\u0000b\u202ec", code: "E_FILE_FORMAT", section: "§14.1", message: "m\u001b[2J" }] });
    expect(hostile).toContain("a\\x00b\\u202ec");
    expect(hasControlCharacters(hostile.replace(/\n/g, ""))).toBe(false);
  });

  it("lists failures and next steps", () => {
    expect(html).toContain("<h2>Failures (2)</h2>");
    expect(html).toContain("<h2>Next steps</h2>");
  });
});
