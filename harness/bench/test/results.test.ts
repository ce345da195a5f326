/** The benchmark's derived figures and its table layout. */
import { describe, expect, test } from "vitest";
import { formatTable, rowFigures, sortRows } from "../results.ts";
import type { BenchRow } from "../results.ts";
import { median } from "../measure.ts";

function measured(peer: string, caseId: string, M: number, seconds: number, weightBytes: number, note?: string): BenchRow {
  return {
    kind: "measured",
    caseId,
    peer,
    M,
    K: 1000,
    N: 500,
    cache: M === 1 ? "cold" : "warm",
    timing: { median: seconds, min: seconds / 2, repeats: 5 },
    weightBytes,
    ...(note === undefined ? {} : { note }),
  };
}

describe("bench figures", () => {
  const fast = measured("native", "c1", 1, 0.001, 2e6);
  const slow = measured("ort", "c1", 1, 0.004, 1e6, "zero points instead of biases");
  const batched = measured("native", "c2", 64, 0.01, 2e6);
  const figures = rowFigures([fast, slow, batched], 4e9);

  test("GFLOP/s is 2·M·N·K per median", () => {
    expect(figures.get(fast)!.gflops).toBeCloseTo((2 * 1 * 500 * 1000) / 0.001 / 1e9, 12);
    expect(figures.get(batched)!.gflops).toBeCloseTo((2 * 64 * 500 * 1000) / 0.01 / 1e9, 12);
  });

  test("weight GB/s uses the peer's bytes", () => {
    expect(figures.get(fast)!.weightGBs).toBeCloseTo(2, 12);
    expect(figures.get(slow)!.weightGBs).toBeCloseTo(0.25, 12);
  });

  test("ratio to the fastest on the case", () => {
    expect(figures.get(fast)!.ratioToFastest).toBe(1);
    expect(figures.get(slow)!.ratioToFastest).toBe(4);
    expect(figures.get(batched)!.ratioToFastest).toBe(1);
  });

  test("reference rows stay out of the ratios", () => {
    const base = measured("read", "c1", 1, 0.0005, 2e6);
    const read: BenchRow = base.kind === "measured" ? { ...base, reference: true } : base;
    const withRead = rowFigures([fast, slow, read], 4e9);
    expect(withRead.get(fast)!.ratioToFastest).toBe(1);
    expect(withRead.get(slow)!.ratioToFastest).toBe(4);
    expect(withRead.get(read)!.bandwidthFraction).toBeCloseTo(1, 12);

    const line = formatTable([fast, read], 4e9).split("\n")[2];
    expect(line.split(/\s{2,}/)[7]).toBe("-");
  });

  test("bandwidth fraction only for M = 1", () => {
    expect(figures.get(fast)!.bandwidthFraction).toBeCloseTo(0.5, 12);
    expect(figures.get(batched)!.bandwidthFraction).toBeUndefined();
    expect(rowFigures([fast], undefined).get(fast)!.bandwidthFraction).toBeUndefined();
  });

  test("median of odd and even lists", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe("bench table", () => {
  const rows: BenchRow[] = [
    measured("ort", "affine/b4/g64/M1_K1000_N500", 1, 0.004, 1e6, "zero points instead of biases"),
    measured("native", "affine/b4/g64/M1_K1000_N500", 1, 0.001, 2e6),
    { kind: "skipped", caseId: "affine/b4/g64/M1_K1000_N500", peer: "mlx", reason: "unavailable: mlx is not installed" },
  ];
  const table = formatTable(rows, 4e9).split("\n");

  test("header and one line per row", () => {
    expect(table).toHaveLength(4);
    expect(table[0]).toMatch(/^case\s+backend\s+cache\s+median ms\s+min ms\s+GFLOP\/s\s+weight GB\/s\s+x fastest\s+of mem BW\s+note$/);
  });

  test("measured row cells", () => {
    const cells = table[1].split(/\s{2,}/);
    expect(cells).toEqual(["affine/b4/g64/M1_K1000_N500", "ort", "cold", "4.000", "2.000", "0.3", "0.3", "4.00", "6%", "zero points instead of biases"]);
  });

  test("skipped row keeps its reason", () => {
    expect(table[3]).toContain("mlx");
    expect(table[3]).toContain("unavailable: mlx is not installed");
  });

  test("numeric columns are right-aligned", () => {
    const medianEnd = table[0].indexOf("median ms") + "median ms".length;
    expect(table[1].slice(0, medianEnd).endsWith("4.000")).toBe(true);
    expect(table[2].slice(0, medianEnd).endsWith("1.000")).toBe(true);
  });

  test("rows sorted by case then peer", () => {
    const sorted = sortRows(rows, [{ id: "affine/b4/g64/M1_K1000_N500", mode: "affine", bits: 4, groupSize: 64, M: 1, K: 1000, N: 500, headline: true }], ["native", "ort", "mlx"]);
    expect(sorted.map((row) => row.peer)).toEqual(["native", "ort", "mlx"]);
  });
});

describe("bench table filter", () => {
  test("hides skipped rows the filter rejects", () => {
    const rows: BenchRow[] = [
      measured("native", "mxfp4/b4/g32/M1_K1000_N500", 1, 0.001, 2e6),
      { kind: "skipped", caseId: "mxfp4/b4/g32/M1_K1000_N500", peer: "ort", reason: "format not supported" },
    ];
    const table = formatTable(rows, undefined, () => false);
    expect(table.split("\n")).toHaveLength(2);
    expect(table).not.toContain("format not supported");
  });
});
