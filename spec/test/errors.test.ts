import { describe, expect, it } from "vitest";
import { escapeControlCharacters, formatIssue, hasControlCharacters, specIssue } from "../errors.ts";

describe("escapeControlCharacters", () => {
  it("shows each control character as an escape", () => {
    const cases: [string, string][] = [
      ["\u0000", "\\x00"],
      ["\u001b[2J", "\\x1b[2J"],
      ["\n", "\\n"],
      ["\r", "\\r"],
      ["\t", "\\t"],
      ["\u007f", "\\x7f"],
      ["\u009b", "\\x9b"],
      ["\u202e", "\\u202e"],
      ["\u2066", "\\u2066"],
      ["\u200f", "\\u200f"],
    ];
    for (const [text, shown] of cases) expect(escapeControlCharacters(text), JSON.stringify(text)).toBe(shown);
  });

  it("keeps printable text", () => {
    const text = `affine/b4/g64/float16/t/M1_K4096_N11/random-normal "quoted" \\ é × 漢 😀`;
    expect(escapeControlCharacters(text)).toBe(text);
    expect(hasControlCharacters(text)).toBe(false);
  });

  it("keeps the characters it is told to keep", () => {
    expect(escapeControlCharacters("a\nb\u001bc\td", "\n\t")).toBe("a\nb\\x1bc\td");
  });

  it("detects control characters", () => {
    expect(hasControlCharacters("a\u001bb")).toBe(true);
    expect(hasControlCharacters("a\u202eb")).toBe(true);
    // A global regular expression keeps its position between calls; the check must not.
    expect(hasControlCharacters("\u0007")).toBe(true);
    expect(hasControlCharacters("\u0007")).toBe(true);
  });
});

describe("formatIssue", () => {
  it("renders one line without control characters", () => {
    const issue = specIssue("E_FILE_FORMAT", "bad name\nsecond line", { tensor: "x\u001b]0;title\u0007\n" }, ["file", "in\u001b[2J.safetensors"]);
    const line = formatIssue(issue);
    expect(line.split("\n")).toHaveLength(1);
    expect(hasControlCharacters(line)).toBe(false);
    expect(line).toBe("E_FILE_FORMAT [SPEC §14.1] at file.in\\x1b[2J.safetensors: bad name\\nsecond line (tensor=x\\x1b]0;title\\x07\\n)");
  });
});
