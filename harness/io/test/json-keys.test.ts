import { describe, expect, it } from "vitest";
import { findDuplicateKey } from "../json-keys.ts";

/** Builds a JSON object text from [key, value text] pairs, keys encoded by JSON.stringify. */
function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

describe("findDuplicateKey", () => {
  it("accepts distinct keys", () => {
    expect(findDuplicateKey('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{},"__metadata__":{"a":"1"}}')).toBeUndefined();
    expect(findDuplicateKey("{}")).toBeUndefined();
    expect(findDuplicateKey(' \t\n\r{ "a" : 1 , "b" : [ 1 , 2 ] } ')).toBeUndefined();
  });

  it("finds a repeated top-level key", () => {
    expect(findDuplicateKey('{"x":1,"w":2,"x":3}')).toEqual({ key: "x", path: [] });
  });

  it("compares keys after unescaping", () => {
    expect(findDuplicateKey('{"x":1,"\\u0078":2}')).toEqual({ key: "x", path: [] });
    expect(findDuplicateKey('{"a/b":1,"a\\/b":2}')).toEqual({ key: "a/b", path: [] });
  });

  it("handles escaped quotes and backslashes in keys", () => {
    const quote = 'a"b';
    const backslash = "a\\";
    const both = 'a\\"';
    expect(findDuplicateKey(objectText([[quote, "1"], [backslash, "2"], [both, "3"], ["a", "4"]]))).toBeUndefined();
    expect(findDuplicateKey(objectText([[quote, "1"], [backslash, "2"], [quote, "3"]]))).toEqual({ key: quote, path: [] });
    expect(findDuplicateKey(objectText([[backslash, "1"], [both, "2"], [backslash, "3"]]))).toEqual({ key: backslash, path: [] });
    expect(findDuplicateKey('{"a\\"b":1,"a\\u0022b":2}')).toEqual({ key: quote, path: [] });
  });

  it("ignores key-like text inside strings", () => {
    const value = JSON.stringify('","x":{"y":1},"');
    expect(findDuplicateKey(`{"x":${value},"y":2}`)).toBeUndefined();
    expect(findDuplicateKey('{"x":"{","y":"}","z":"[","w":"]"}')).toBeUndefined();
    expect(findDuplicateKey('{"x":"a\\\\","y":"\\\\","x2":"\\"x\\":"}')).toBeUndefined();
  });

  it("finds a repeated key in a nested object", () => {
    expect(findDuplicateKey('{"x":{"dtype":"F32","shape":[1],"dtype":"F16"}}')).toEqual({ key: "dtype", path: ["x"] });
    expect(findDuplicateKey('{"__metadata__":{"bits":"4","bits":"8"}}')).toEqual({ key: "bits", path: ["__metadata__"] });
    expect(findDuplicateKey('{"a":[0,{"k":1},{"k":1,"k":2}]}')).toEqual({ key: "k", path: ["a", 2] });
  });

  it("allows the same key in different objects", () => {
    expect(findDuplicateKey('{"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}]}')).toBeUndefined();
  });

  it("accepts literals and numbers as values", () => {
    expect(findDuplicateKey('{"a":true,"b":false,"c":null,"d":-1.5e+3,"e":0}')).toBeUndefined();
    expect(findDuplicateKey('{"a":true,"b":null,"a":1e-7}')).toEqual({ key: "a", path: [] });
  });

  it("scans deep nesting without recursion", () => {
    const depth = 200_000;
    const text = `{"a":${"[".repeat(depth)}${"]".repeat(depth)},"a":1}`;
    expect(() => JSON.parse(text)).not.toThrow();
    expect(findDuplicateKey(text)).toEqual({ key: "a", path: [] });
  });
});
