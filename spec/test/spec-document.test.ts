/**
 * Checks SPEC.md against the code: every section that errors cite exists, the error table lists
 * every code with its section, and the value tables agree with the reference's codecs.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { e2m1ToNumber } from "../../reference/formats/e2m1.ts";
import { e4m3ToNumber } from "../../reference/formats/e4m3.ts";
import { e8m0ToNumber } from "../../reference/formats/e8m0.ts";
import { packCodes } from "../../reference/pack.ts";
import { promoteFloat } from "../../reference/validate.ts";
import { ERROR_CODES } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { FLOAT_DTYPES, MODE_RULES, MODES } from "../types.ts";
import { VARIANTS } from "../variants.ts";

const SPEC = readFileSync(new URL("../SPEC.md", import.meta.url), "utf8");
const LINES = SPEC.split("\n");

/** Section numbers of every heading, e.g. "3" for "## 3. Encodings" and "3.4" for "### 3.4 E4M3". */
const HEADINGS = new Map<string, string>();
for (const line of LINES) {
  const match = /^#{2,4} (\d+(?:\.\d+)*)\.? (.+)$/.exec(line);
  if (match !== null) HEADINGS.set(match[1], match[2]);
}

/** Returns the lines of one section, from its heading to the next heading of the same or a higher level. */
function sectionLines(id: string): string[] {
  const start = LINES.findIndex((line) => new RegExp(`^(#{2,4}) ${id.replace(".", "\\.")}\\.? `).test(line));
  if (start < 0) throw new Error(`SPEC.md has no section ${id}`);
  const level = LINES[start].indexOf(" ");
  const rest = LINES.slice(start + 1);
  const end = rest.findIndex((line) => /^#{2,4} /.test(line) && line.indexOf(" ") <= level);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Returns the rows of the first Markdown table in `lines`, cells trimmed, header and rule rows dropped. */
function tableRows(lines: readonly string[], skip = 0): string[][] {
  const tables: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of lines) {
    if (!line.startsWith("|")) {
      current = undefined;
      continue;
    }
    if (current === undefined) {
      current = [];
      tables.push(current);
    }
    current.push(line.slice(1, -1).split("|").map((cell) => cell.trim()));
  }
  const table = tables[skip];
  if (table === undefined) throw new Error("table not found");
  return table.slice(2);
}

function unquote(cell: string): string {
  return cell.replaceAll("`", "");
}

describe("SPEC.md sections", () => {
  it("has every fixed section heading", () => {
    const fixed = [
      "1", "2", "2.1", "2.2", "2.3", "3", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "4", "5", "5.1", "5.2",
      "6", "6.1", "6.2", "6.3", "7", "7.1", "7.2", "7.3", "8", "8.1", "8.2", "8.3", "8.4", "9", "9.1", "9.2",
      "10", "11", "12", "13", "14", "14.1", "14.2", "14.3",
    ];
    for (const id of fixed) expect(HEADINGS.has(id), `section ${id}`).toBe(true);
  });

  it("has the section of every error code", () => {
    for (const [code, rule] of Object.entries(ERROR_CODES)) {
      expect(HEADINGS.has(rule.section.slice(1)), `${code} cites ${rule.section}`).toBe(true);
    }
  });

  it("cites only sections that exist", () => {
    const cited = new Set([...SPEC.matchAll(/§(\d+(?:\.\d+)*)/g)].map((match) => match[1]));
    for (const id of cited) expect(HEADINGS.has(id), `§${id} is cited`).toBe(true);
  });
});

describe("SPEC.md §9 tables", () => {
  const codeRows = tableRows(sectionLines("9.2"));

  it("lists every error code once in §9.2", () => {
    const listed = codeRows.map((row) => unquote(row[0]));
    expect([...listed].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("gives each code its section in §9.2", () => {
    for (const row of codeRows) {
      const code = unquote(row[0]) as ErrorCode;
      expect(row[1], code).toBe(ERROR_CODES[code].section);
      expect(row[2].length, `${code} condition`).toBeGreaterThan(0);
      expect(row[3].length, `${code} example`).toBeGreaterThan(0);
    }
  });

  it("orders the §9.1 steps 0 to 15", () => {
    const steps = tableRows(sectionLines("9.1"));
    expect(steps.map((row) => Number(row[0]))).toEqual(Array.from({ length: 16 }, (_, step) => step));
  });

  it("names every operation code in §9.1", () => {
    const named = new Set(tableRows(sectionLines("9.1")).flatMap((row) => [...row[2].matchAll(/`(E_[A-Z_]+)`/g)].map((match) => match[1])));
    // Codes of quantize (§12), the worker protocol (§13) and files (§14) belong to other steps.
    const external = (section: string) => /^§1[234]/.test(section);
    for (const [code, rule] of Object.entries(ERROR_CODES)) {
      if (!external(rule.section) || code === "E_DATA_LENGTH") expect(named.has(code), code).toBe(true);
    }
  });
});

describe("SPEC.md tables against the code", () => {
  it("states the mode rules of spec/types.ts in §2.2", () => {
    const rows = tableRows(sectionLines("2.2"));
    expect(rows.map((row) => unquote(row[0]))).toEqual([...MODES]);
    for (const row of rows) {
      const rule = MODE_RULES[unquote(row[0]) as (typeof MODES)[number]];
      expect(Number(row[3])).toBe(rule.defaultGroupSize);
      expect(Number(row[4])).toBe(rule.defaultBits);
      expect(row[5].split(", ").map(Number)).toEqual(rule.groupSizes);
      expect(row[6].split(", ").map(Number)).toEqual(rule.bits);
      expect(row[7]).toBe(rule.biases);
    }
  });

  it("states the E2M1 decoder in §3.3", () => {
    const table = sectionLines("3.3").filter((line) => line.startsWith("| value"))[0];
    const cells = table.slice(1, -1).split("|").map((cell) => cell.trim()).slice(1);
    const values = cells.map((cell) => {
      if (cell === "+0") return 0;
      if (cell === "−0") return -0;
      return Number(cell.replace("−", "-"));
    });
    expect(values).toHaveLength(16);
    values.forEach((value, code) => expect(Object.is(value, e2m1ToNumber(code)), `code ${code}`).toBe(true));
  });

  it("states the E4M3 decoder in §3.4", () => {
    const rows = tableRows(sectionLines("3.4"));
    expect(rows).toHaveLength(16);
    rows.forEach((row, exponent) => {
      for (let mantissa = 0; mantissa < 8; mantissa++) {
        const code = (exponent << 3) | mantissa;
        const cell = row[1 + mantissa];
        if (code === 0x7f) {
          expect(cell).toBe("reserved");
          continue;
        }
        expect(Number(cell), `code 0x${code.toString(16)}`).toBe(e4m3ToNumber(code));
        expect(-Number(cell)).toBe(e4m3ToNumber(code | 0x80));
      }
    });
  });

  it("states the E8M0 decoder in §3.5", () => {
    const rows = tableRows(sectionLines("3.5"));
    for (const [byte, cell] of rows) {
      const code = Number(byte);
      if (code === 0xff) {
        expect(cell).toContain("reserved");
        continue;
      }
      const exponent = /^2\^([−-]?\d+)/.exec(cell);
      const value = exponent !== null ? 2 ** Number(exponent[1].replace("−", "-")) : Number(cell);
      expect(value, byte).toBe(e8m0ToNumber(code));
    }
  });

  it("states the promotion of promoteFloat in §7.2", () => {
    const rows = tableRows(sectionLines("7.2"));
    for (const row of rows) {
      const a = row[0].replaceAll("*", "") as (typeof FLOAT_DTYPES)[number];
      FLOAT_DTYPES.forEach((b, column) => expect(row[1 + column], `${a} with ${b}`).toBe(promoteFloat(a, b)));
    }
  });

  it("lists every registered variant in §10", () => {
    const listed = tableRows(sectionLines("10")).map((row) => unquote(row[0]));
    expect([...listed].sort()).toEqual(Object.keys(VARIANTS).sort());
  });

  it("gives packing examples that pack.ts reproduces", () => {
    const hex = (words: Uint32Array) => [...words].map((word) => `0x${word.toString(16).toUpperCase().padStart(8, "0")}`);
    const text = sectionLines("5.1").join("\n");

    const four = hex(packCodes([1, 2, 3, 4, 5, 6, 7, 8], 4, 1, 8));
    expect(text).toContain(`word \`${four[0]}\``);

    const three = hex(packCodes(Array.from({ length: 32 }, (_, i) => [1, 2, 3, 4, 5, 6, 7, 0][i % 8]), 3, 1, 32));
    expect(text).toContain(three.join(", "));

    const five = hex(packCodes(Array.from({ length: 32 }, (_, i) => [5, 10, 15, 20, 25, 30, 31, 0][i % 8]), 5, 1, 32));
    expect(text.replace(/\s+/g, " ")).toContain(five.join(", "));
  });
});
