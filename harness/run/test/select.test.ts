import { describe, expect, it } from "vitest";
import { compilePattern, inShard, parseShard, stableHash } from "../select.ts";

const ID = "affine/b4/g64/float16/t/M1_K4096_N11/random-normal";

describe("compilePattern", () => {
  it("exact ID matches", () => {
    expect(compilePattern(ID).matches(ID)).toBe(true);
    expect(compilePattern(ID).matches(`${ID}x`)).toBe(false);
  });

  it("prefix selects the subtree", () => {
    expect(compilePattern("affine/b4").matches(ID)).toBe(true);
    expect(compilePattern("affine/b").matches(ID)).toBe(false);
  });

  it("star stays within a segment", () => {
    expect(compilePattern("affine/*/g64").matches(ID)).toBe(true);
    expect(compilePattern("affine/*").matches(ID)).toBe(true);
    expect(compilePattern("*/random-normal").matches(ID)).toBe(false);
  });

  it("double star crosses segments", () => {
    expect(compilePattern("**/random-normal").matches(ID)).toBe(true);
    expect(compilePattern("affine/**/t/*").matches(ID)).toBe(true);
  });

  it("question mark is one character", () => {
    expect(compilePattern("affine/b?/g64").matches(ID)).toBe(true);
    expect(compilePattern("affine/b??/g64").matches(ID)).toBe(false);
  });

  it("regex syntax", () => {
    expect(compilePattern("/K4096_N1[01]/").matches(ID)).toBe(true);
    expect(compilePattern("/^mxfp4/").matches(ID)).toBe(false);
    expect(() => compilePattern("/[/")).toThrow(SyntaxError);
  });

  it("dots are literal", () => {
    expect(compilePattern("a.c").matches("abc")).toBe(false);
  });
});

describe("shards", () => {
  it("parseShard accepts i/n", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 });
  });

  it("parseShard rejects bad input", () => {
    expect(typeof parseShard("0/4")).toBe("string");
    expect(typeof parseShard("5/4")).toBe("string");
    expect(typeof parseShard("x")).toBe("string");
  });

  it("hash is FNV-1a", () => {
    expect(stableHash("")).toBe(0x811c9dc5);
    expect(stableHash("a")).toBe(0xe40c292c);
  });

  it("every case lands in one shard", () => {
    for (let i = 0; i < 200; i++) {
      const id = `case/${i}`;
      const owners = [1, 2, 3, 4].filter((index) => inShard(id, { index, count: 4 }));
      expect(owners).toHaveLength(1);
    }
  });
});
