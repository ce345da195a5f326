// Usage errors of the `vectors` command: one line on stderr and exit status 2, no stack trace.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { vectorsCommand } from "../vectors.ts";

let errors = "";

beforeAll(() => {
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    errors += String(chunk);
    return true;
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

async function run(args: string[]): Promise<number> {
  errors = "";
  return vectorsCommand.run(args);
}

describe("qmm-conformance vectors usage errors", () => {
  it("invalid list filter exits 2", async () => {
    expect(await run(["list", "--filter", "/[/"])).toBe(2);
    expect(errors).toMatch(/^qmm-conformance vectors: invalid --filter '\/\[\/': .*Unterminated character class/);
    expect(errors.trim().split("\n")).toHaveLength(1);
  });

  it("unknown generate file exits 2", async () => {
    expect(await run(["generate", "--file", "nope"])).toBe(2);
    expect(errors).toContain("qmm-conformance vectors: unknown vector file 'nope'; known files: generated-affine.msgpack");
    expect(errors.trim().split("\n")).toHaveLength(1);
  });
});
