import { describe, expect, it } from "vitest";
import { classifyStructure } from "../classify.ts";
import { neighbourIndices, positionOf } from "../locate.ts";
import { rerunCommand, shellQuote } from "../rerun.ts";

function structure(outShape: number[], failed: number[], got?: (index: number) => number) {
  const count = outShape.reduce((product, size) => product * size, 1);
  const exact = new Float64Array(count).fill(1);
  const values = Float64Array.from({ length: count }, (_, index) => (got ? got(index) : 2));
  return classifyStructure({ outShape, elementCount: count, failedIndices: failed, got: values, exact });
}

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i += step) out.push(i);
  return out;
}

describe("classifyStructure", () => {
  it("no failures, no pattern", () => {
    expect(structure([4, 16], [], (index) => (index === 3 ? NaN : 1))).toBeNull();
  });

  it("all elements", () => {
    expect(structure([4, 16], range(0, 64))?.name).toBe("all-elements");
  });

  it("trailing columns beyond 8", () => {
    // N = 11: columns 8, 9, 10 of every row fail.
    const failed = range(0, 4).flatMap((row) => [8, 9, 10].map((column) => row * 11 + column));
    const pattern = structure([4, 11], failed);
    expect(pattern?.name).toBe("trailing-columns-8");
    expect(pattern?.description).toContain("trailing 3 column(s) beyond a multiple of 8");
  });

  it("trailing columns beyond 64", () => {
    // N = 100: columns 64..99 fail, which is not a tail of 8 or 32.
    const failed = range(0, 2).flatMap((row) => range(64, 100).map((column) => row * 100 + column));
    expect(structure([2, 100], failed)?.name).toBe("trailing-columns-64");
  });

  it("NaN only", () => {
    expect(structure([2, 8], [3, 5], (index) => (index === 3 || index === 5 ? NaN : 1))?.name).toBe("nan-only");
  });

  it("rows beyond 2^15", () => {
    const M = 32770;
    const failed = [32768 * 2, 32768 * 2 + 1, 32769 * 2];
    expect(structure([M, 2], failed)?.name).toBe("rows-beyond-2^15");
  });

  it("single batch slice", () => {
    // Output [3, 2, 4]: only slice 1 fails.
    const pattern = structure([3, 2, 4], range(8, 16));
    expect(pattern?.name).toBe("batch-slices");
    expect(pattern?.description).toContain("only 1 of 3 batch slices");
  });

  it("scattered failures have no pattern", () => {
    expect(structure([4, 16], [3, 17, 40])).toBeNull();
  });
});

describe("locate", () => {
  it("position of a flat index", () => {
    expect(positionOf(23, [2, 3, 4])).toEqual([1, 2, 3]);
    expect(positionOf(0, [5])).toEqual([0]);
  });

  it("neighbours stay in the row", () => {
    expect(neighbourIndices(9, [2, 5], 3)).toEqual([6, 7, 8, 9]);
    expect(neighbourIndices(2, [2, 5], 1)).toEqual([1, 2, 3]);
  });
});

describe("rerunCommand", () => {
  it("quotes the case ID", () => {
    expect(rerunCommand("js", "affine/b4/x")).toBe("qmm-conformance run --backend js --filter 'affine/b4/x'");
    expect(rerunCommand("cmd:python3 w.py", "it's")).toBe(`qmm-conformance run --backend 'cmd:python3 w.py' --filter 'it'\\''s'`);
  });

  it("shellQuote leaves plain words", () => {
    expect(shellQuote("native")).toBe("native");
  });
});
