/**
 * The diff command end to end, on files MLX wrote itself with mx.save_safetensors, including the
 * exported bundle and its MLX reproduction script.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VENV_PYTHON } from "../../../../backends/mlx/environment.ts";
import { SKIP_MLX } from "../../../../backends/mlx/test/support.ts";

const CLI = fileURLToPath(new URL("../../../../bin/qmm-conformance.mjs", import.meta.url));
const WRITER = fileURLToPath(new URL("../../../io/test/write_safetensors.py", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
let dir: string;

/** Writes, with MLX: an affine float16 input, MLX's own output, a wrong-shape output and an int32-x input. */
const MLX_WRITER = `
import sys
import mlx.core as mx
out = sys.argv[1]
mx.random.seed(3)
w = mx.random.normal((64, 256)).astype(mx.float16)
wq, s, b = mx.quantize(w, group_size=64, bits=4)
x = mx.random.normal((4, 256)).astype(mx.float16)
meta = {"mode": "affine", "bits": "4", "group_size": "64", "transpose": "true"}
mx.save_safetensors(out + "/input.safetensors", {"x": x, "w": wq, "scales": s, "biases": b}, metadata=meta)
y = mx.quantized_matmul(x, wq, s, b, group_size=64, bits=4)
mx.save_safetensors(out + "/mlx_y.safetensors", {"y": y}, metadata={"source": "mlx"})
mx.save_safetensors(out + "/short_y.safetensors", {"y": y[:, :32]}, metadata={"source": "mlx"})
mx.save_safetensors(out + "/int_x.safetensors", {"x": x.astype(mx.int32), "w": wq, "scales": s, "biases": b}, metadata=meta)
mx.save_safetensors(out + "/mlx_y_no_metadata.safetensors", {"y": y})
`;

function cli(...args: string[]) {
  return execa(process.execPath, [CLI, "diff", ...args], { reject: false, cwd: ROOT });
}

describe.skipIf(SKIP_MLX)("diff command", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "qmm-diff-"));
    await execa(VENV_PYTHON, ["-c", MLX_WRITER, dir]);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes mlx within its own budget", async () => {
    const result = await cli(join(dir, "input.safetensors"), "--backend", "mlx");

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("budget of variant mlx-cpu");
    expect(result.stdout).toContain("PASS: all 256 elements");
  });

  it("fails a saved mlx output under the exact variant", async () => {
    const bundle = join(dir, "bundle");
    const result = await cli(join(dir, "input.safetensors"), "--against", join(dir, "mlx_y.safetensors"), "--variant", "exact", "--bundle", bundle);

    expect(result.exitCode).toBe(1);
    const failed = /(\d+) of 256 output elements are outside the budget of variant exact/.exec(result.stdout);
    expect(failed).not.toBeNull();
    expect(result.stdout).toContain("bit-mismatch");
    expect(result.stdout).toContain(`Bundle written to ${bundle}`);

    const budget = JSON.parse(readFileSync(join(bundle, "budget.json"), "utf8"));
    expect(budget.failedCount).toBe(Number(failed![1]));
    expect(readFileSync(join(bundle, "README.md"), "utf8")).toContain("python3 reproduce_mlx.py");

    const reproduced = await execa(VENV_PYTHON, [join(bundle, "reproduce_mlx.py")], { reject: false });
    expect(reproduced.exitCode).toBe(1);
    expect(reproduced.stdout).toContain(`${failed![1]} of 256 elements outside the budget`);
  });

  it("bundles a passing case that reproduces", async () => {
    const bundle = join(dir, "bundle-pass");
    const result = await cli(join(dir, "input.safetensors"), "--against", join(dir, "mlx_y.safetensors"), "--variant", "mlx-cpu", "--bundle", bundle);
    const reproduced = await execa(VENV_PYTHON, [join(bundle, "reproduce_mlx.py")], { reject: false });

    expect(result.exitCode).toBe(0);
    expect(reproduced.exitCode).toBe(0);
    expect(reproduced.stdout).toContain("0 of 256 elements outside the budget");
  });

  it("reads an mlx output without metadata", async () => {
    const result = await cli(join(dir, "input.safetensors"), "--against", join(dir, "mlx_y_no_metadata.safetensors"), "--variant", "mlx-cpu");

    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });

  it("bundles a case the backend rejected", async () => {
    const bundle = join(dir, "bundle-error");
    const fake = "cmd:node harness/worker/test/fake-worker.mjs --variant mlx-cpu";
    const result = await cli(join(dir, "input.safetensors"), "--backend", fake, "--bundle", bundle);

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("did not produce an output: error E_UNSUPPORTED");
    expect(readFileSync(join(bundle, "README.md"), "utf8")).toContain("The backend produced no comparable output: error E_UNSUPPORTED");
    expect(() => readFileSync(join(bundle, "got.safetensors"))).toThrow();

    const reproduced = await execa(VENV_PYTHON, [join(bundle, "reproduce_mlx.py")], { reject: false });
    expect(reproduced.exitCode).toBe(0);
  });

  it("reports a shape mismatch", async () => {
    const result = await cli(join(dir, "input.safetensors"), "--against", join(dir, "short_y.safetensors"));

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("The output shape differs: expected [4, 64]");
  });

  it("uses sequential/compute by default with --against", async () => {
    const result = await cli(join(dir, "input.safetensors"), "--against", join(dir, "mlx_y.safetensors"));

    expect(result.stdout).toContain("budget of variant sequential/compute");
  });

  it("rejects invalid input with its code", async () => {
    const result = await cli(join(dir, "int_x.safetensors"), "--backend", "mlx");

    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain("E_X_DTYPE");
    expect(result.stdout).toContain("Backend mlx returned: an output of dtype float16");
  });

  it("runs a cmd: worker backend", async () => {
    const result = await cli(join(dir, "input.safetensors"), "--backend", "cmd:python3 backends/example-python/worker.py");

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("budget of variant dequantize-dot/f64");
  });

  it("rejects contradictory options", async () => {
    const both = await cli(join(dir, "input.safetensors"), "--backend", "mlx", "--against", join(dir, "mlx_y.safetensors"));
    const unknownVariant = await cli(join(dir, "input.safetensors"), "--backend", "mlx", "--variant", "fast");

    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain("exactly one of --backend NAME and --against");
    expect(unknownVariant.exitCode).toBe(2);
    expect(unknownVariant.stderr).toContain("unknown variant 'fast'");
  });
});

describe("diff --bundle folder", () => {
  let folder: string;
  let input: string;
  const bundleFiles = ["README.md", "budget.json", "expected.safetensors", "got.safetensors", "input.safetensors", "reproduce_mlx.py"];

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "qmm-diff-bundle-"));
    input = join(folder, "input.safetensors");
    const tensors = [
      { name: "x", dtype: "F32", shape: [2, 64], values: new Array(128).fill(1) },
      { name: "w", dtype: "U32", shape: [3, 8], values: new Array(24).fill(0x76543210) },
      { name: "scales", dtype: "F32", shape: [3, 1], values: [0.5, 1, -2] },
      { name: "biases", dtype: "F32", shape: [3, 1], values: [0, 1, 0.25] },
    ];
    await execa("python3", [WRITER], { input: JSON.stringify({ kind: "tensors", out: input, tensors }) });
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it("rejects a non-empty folder", async () => {
    const bundle = join(folder, "used");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "notes.txt"), "keep me");

    const result = await cli(input, "--backend", "reference", "--bundle", bundle);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe("");

    const lines = result.stderr.split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^E_OUTPUT_PATH \[SPEC §14\.4\] at --bundle: /);
    expect(lines[0]).toContain(`path=${bundle}`);
    expect(lines[0]).toContain("entries=[notes.txt]");
    expect(lines[0]).toContain("Choose an empty or new folder (");
    expect(readdirSync(bundle)).toEqual(["notes.txt"]);
    expect(readFileSync(join(bundle, "notes.txt"), "utf8")).toBe("keep me");
  });

  it("rejects the input's own folder", async () => {
    const result = await cli(input, "--backend", "reference", "--bundle", folder);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^E_OUTPUT_PATH /);
    expect(readdirSync(folder).sort()).toEqual(["input.safetensors", "used"]);
  });

  it("rejects a file in place of a folder", async () => {
    const result = await cli(input, "--backend", "reference", "--bundle", input);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^E_OUTPUT_PATH .*is a file, not a folder/);
  });

  it("writes into an empty folder", async () => {
    const bundle = join(folder, "empty");
    mkdirSync(bundle);

    const result = await cli(input, "--backend", "reference", "--bundle", bundle);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(readdirSync(bundle).sort()).toEqual(bundleFiles);
  });

  it("creates a missing folder", async () => {
    const bundle = join(folder, "new", "bundle");

    const result = await cli(input, "--backend", "reference", "--bundle", bundle);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(readdirSync(bundle).sort()).toEqual(bundleFiles);
  });
});
