import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderCase, vectorsCommand } from "../../harness/cli/commands/vectors.ts";
import { hasControlCharacters } from "../../spec/errors.ts";
import { paramsFromMetadata } from "../../harness/cli/commands/reference.ts";
import { readSafetensors } from "../../harness/io/safetensors.ts";
import { quantizedMatmul } from "../../reference/matmul.ts";
import { buildRecipe } from "../generate/build.ts";
import { generatedRecipes } from "../generate/recipes.ts";
import { generateVectors } from "../store/generate.ts";

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

  it("shows a case and exports it for the reference command", async () => {
    const id = "mxfp4/b4/g32/float32/t/M2_K128_N9/defaults-null";
    const dir = await mkdtemp(join(tmpdir(), "qmm-vectors-show-"));
    const file = join(dir, "case.safetensors");
    try {
      await generateVectors({ dir, files: ["generated-mxfp4.msgpack"] });
      const shown = await run(["show", id, "--dir", dir, "--elements", "3", "--export", file]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(`id        ${id}`);
      expect(shown.stdout).toContain("... 15 more");

      const golden = buildRecipe(generatedRecipes().find((r) => r.id === id)!);
      const exported = await readSafetensors(file);
      expect([...exported.tensors.keys()].sort()).toEqual(["scales", "w", "x"]);
      expect(exported.metadata.case_id).toBe(id);

      const params = paramsFromMetadata(exported.metadata);
      const inputs = { x: exported.tensors.get("x")!, w: exported.tensors.get("w")!, scales: exported.tensors.get("scales")! };
      const y = quantizedMatmul(inputs, params).y;
      expect(golden.expected.kind).toBe("value");
      if (golden.expected.kind === "value") expect(Array.from(y.data as Float32Array)).toEqual(Array.from(golden.expected.y.data as Float32Array));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects an export path that is a directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "qmm-vectors-export-"));
    try {
      await generateVectors({ dir, files: ["errors.msgpack"] });
      const shown = await run(["show", "errors/E_RANK/w-rank1", "--dir", dir, "--export", dir]);
      expect(shown.code).toBe(2);
      expect(shown.stdout).toBe("");
      expect(shown.stderr).toMatch(/^qmm-conformance vectors: E_OUTPUT_PATH \[SPEC §14\.4\] at --export: .*is a directory/);
      expect(shown.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("escapes control characters of a shown case", () => {
    const golden = buildRecipe(generatedRecipes()[0]);
    const text = renderCase({ ...golden, id: "a\u001b[2Jb", tags: ["t\u001b]0;x\u0007"], params: { ...golden.params, mode: "affine\u009b" } }, 2);

    expect(hasControlCharacters(text.replaceAll("\n", ""))).toBe(false);
    expect(text).toContain("id        a\\x1b[2Jb");
    expect(text).toContain("t\\x1b]0;x\\x07");
    expect(text).toContain("affine\\x9b");
  });

  it("reports an unknown case ID", async () => {
    const { code, stderr } = await run(["show", "affine/no/such/case", "--dir", join(tmpdir(), "qmm-no-vectors-here")]);
    expect(code).toBe(1);
    expect(stderr).toContain("no case 'affine/no/such/case'");
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
