import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { vectorsCommand } from "../../harness/cli/commands/vectors.ts";

/** Runs `qmm-conformance vectors ARGS` and returns its exit code and what it wrote. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });

  const code = await vectorsCommand.run(args);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("vectors command", () => {
  it("prints coverage without gaps", async () => {
    const { code, stdout } = await run(["coverage"]);
    expect(code).toBe(0);
    expect(stdout).toContain("No gaps.");
    expect(stdout).toContain("nvfp4/b4/g16");
    expect(stdout).not.toContain("GAP");
  });

  it("lists IDs matching a filter", async () => {
    const { code, stdout, stderr } = await run(["list", "--filter", "errors/E_RESERVED_SCALE"]);
    const ids = stdout.trim().split("\n").map((line) => line.split(/\s+/)[1]);
    expect(code).toBe(0);
    expect(ids).toEqual(["errors/E_RESERVED_SCALE/e8m0-0xFF", "errors/E_RESERVED_SCALE/nvfp4-e4m3-0x7F", "errors/E_RESERVED_SCALE/nvfp4-e4m3-0xFF"]);
    expect(stderr).toContain("3 case(s)");
  });

  it("rejects an unknown subcommand", async () => {
    const { code, stderr } = await run(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown subcommand 'frobnicate'");
  });

  it("generates and verifies a folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "qmm-vectors-cli-"));
    try {
      const generated = await run(["generate", "--dir", dir, "--file", "errors.msgpack"]);
      expect(generated.code).toBe(0);
      expect(generated.stdout).toContain("errors.msgpack");
      expect(existsSync(join(dir, "manifest.json"))).toBe(true);
      expect(existsSync(join(dir, ".cache", "errors.msgpack"))).toBe(true);

      const verified = await run(["verify", "--dir", dir]);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain("OK");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
