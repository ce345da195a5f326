import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../../../spec/errors.ts";
import type { ErrorCode } from "../../../../spec/errors.ts";
import { readSafetensors } from "../../../io/safetensors.ts";

const BIN = fileURLToPath(new URL("../../../../bin/qmm-conformance.mjs", import.meta.url));
const WRITER = fileURLToPath(new URL("../../../io/test/write_safetensors.py", import.meta.url));

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "qmm-reference-cli-"));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function python(job: Record<string, unknown>): Promise<void> {
  await execa("python3", [WRITER], { input: JSON.stringify(job) });
}

function runCli(args: string[]) {
  return execa("node", [BIN, "reference", ...args], { reject: false });
}

/** Returns a deterministic matrix of integers in [0, bound), or of `allowed` entries, so cases are the same on every run. */
function codes(rows: number, columns: number, bound: number, seed: number, allowed?: readonly number[]): number[][] {
  // xorshift32: exact in 32-bit integer arithmetic, unlike a float LCG whose products pass 2^53.
  let state = seed;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) >>> 4;
  };
  return Array.from({ length: rows }, () =>
    Array.from({ length: columns }, () => (allowed === undefined ? next() % bound : allowed[next() % allowed.length])),
  );
}

function values(count: number, allowed: readonly number[], seed: number): number[] {
  return codes(1, count, allowed.length, seed, allowed)[0];
}

/** Splits `flat` into rows of `width` entries. */
function matrix(flat: readonly number[], width: number): number[][] {
  return Array.from({ length: flat.length / width }, (_, row) => flat.slice(row * width, (row + 1) * width));
}

/**
 * Returns `count` dyadic numbers m·2^e with |m| < 2^bits and e in [minExponent, maxExponent]: exact
 * in any float dtype with at least `bits` significant bits that covers the exponents, while their
 * products and sums are not, so the output has to be rounded.
 */
function dyadics(count: number, bits: number, minExponent: number, maxExponent: number, seed: number): number[] {
  const mantissas = codes(1, count, 2 ** (bits + 1) - 1, seed)[0].map((code) => code - (2 ** bits - 1));
  const exponents = codes(1, count, maxExponent - minExponent + 1, seed + 1)[0];
  return mantissas.map((mantissa, i) => mantissa * 2 ** (minExponent + exponents[i]));
}

// write_safetensors.py rounds each exact sum once to the output dtype, so y must match bit for bit.
const VALID_CASES: Record<string, Record<string, unknown>> = {
  "affine 3-bit transposed": {
    mode: "affine", bits: 3, group_size: 32, transpose: true,
    x: { dtype: "float32", shape: [2, 64], values: values(128, [-1, -0.5, 0, 0.5, 1, 2], 1) },
    codes: codes(3, 64, 8, 2),
    scales: { dtype: "float32", values: [[0.5, -0.25], [1, 0.125], [-2, 0.5]] },
    biases: { dtype: "float32", values: [[-1, 0.5], [2, 0], [0.25, -3]] },
  },
  "affine 5-bit untransposed rank-1 x": {
    mode: "affine", bits: 5, group_size: 32, transpose: false,
    x: { dtype: "float16", shape: [3], values: [1, -0.5, 2] },
    codes: codes(3, 32, 32, 3),
    scales: { dtype: "float16", values: [[0.125], [-0.25], [0.5]] },
    biases: { dtype: "float16", values: [[-1], [2], [0.5]] },
  },
  "affine 6-bit batched x mixed dtypes": {
    mode: "affine", bits: 6, group_size: 64, transpose: true,
    x: { dtype: "bfloat16", shape: [2, 1, 64], values: values(128, [-1, 0, 1, 0.5], 4) },
    codes: codes(2, 64, 64, 5),
    scales: { dtype: "float16", values: [[0.0625], [-0.125]] },
    biases: { dtype: "bfloat16", values: [[1], [-0.5]] },
  },
  "affine 2-bit group 128 untransposed": {
    mode: "affine", bits: 2, group_size: 128, transpose: false,
    x: { dtype: "float32", shape: [2, 2], values: [1, -2, 0.5, 3] },
    codes: codes(2, 128, 4, 6),
    scales: { dtype: "float32", values: [[1.5], [-0.75]] },
    biases: { dtype: "float32", values: [[-2], [0.25]] },
  },
  "affine 8-bit": {
    mode: "affine", bits: 8, group_size: 32, transpose: true,
    x: { dtype: "float32", shape: [1, 32], values: values(32, [1, -1, 0.25], 7) },
    codes: codes(2, 32, 256, 8),
    scales: { dtype: "float32", values: [[0.01171875], [-1]] },
    biases: { dtype: "float32", values: [[-1.5], [100]] },
  },
  mxfp4: {
    mode: "mxfp4", bits: 4, group_size: 32, transpose: true,
    x: { dtype: "float32", shape: [2, 64], values: values(128, [-1, 0.5, 1, 2], 9) },
    codes: codes(3, 64, 16, 10),
    scales: { dtype: "uint8", values: [[127, 126], [130, 125], [0, 3]] },
  },
  "mxfp8 bfloat16": {
    mode: "mxfp8", bits: 8, group_size: 32, transpose: true,
    x: { dtype: "bfloat16", shape: [1, 32], values: values(32, [1, -1, 2], 11) },
    codes: codes(2, 32, 0, 12, [0x38, 0x40, 0xb8, 0x00, 0x80]),
    scales: { dtype: "uint8", values: [[127], [125]] },
  },
  "nvfp4 float16 untransposed": {
    mode: "nvfp4", bits: 4, group_size: 16, transpose: false,
    x: { dtype: "float16", shape: [2, 2], values: [1, -1, 0.5, 2] },
    codes: codes(2, 32, 16, 13),
    scales: { dtype: "uint8", values: [[0x38, 0x30], [0x3c, 0xb8]] },
  },
  "float16 rounding overflow and subnormals": {
    mode: "affine", bits: 4, group_size: 64, transpose: true,
    x: { dtype: "float16", shape: [3, 64], values: [...dyadics(64, 10, -4, 4, 40), ...new Array(64).fill(512), ...dyadics(64, 4, -24, -24, 41)] },
    codes: codes(4, 64, 16, 42),
    scales: { dtype: "float16", values: [[0.0999755859375], [64], [-0.0003337860107421875], [1.5]] },
    biases: { dtype: "float16", values: [[-0.7001953125], [0], [0.125], [-11.25]] },
  },
  "bfloat16 rounding mxfp8": {
    mode: "mxfp8", bits: 8, group_size: 32, transpose: true,
    x: { dtype: "bfloat16", shape: [2, 64], values: dyadics(128, 7, -10, 10, 43) },
    codes: codes(3, 64, 0, 44, [...Array.from({ length: 0x7f }, (_, i) => i), ...Array.from({ length: 0x7f }, (_, i) => 0x80 + i)]),
    scales: { dtype: "uint8", values: [[127, 100], [140, 127], [0, 254]] },
  },
  "float32 rounding nvfp4": {
    mode: "nvfp4", bits: 4, group_size: 16, transpose: true,
    x: { dtype: "float32", shape: [2, 48], values: dyadics(96, 23, -30, 30, 45) },
    codes: codes(2, 48, 16, 46),
    scales: { dtype: "uint8", values: [[0x01, 0x7e, 0xb3], [0x38, 0x3f, 0x22]] },
  },
  "mixed affine rounding untransposed": {
    mode: "affine", bits: 3, group_size: 32, transpose: false,
    x: { dtype: "bfloat16", shape: [4, 5], values: dyadics(20, 7, -6, 6, 47) },
    codes: codes(5, 64, 8, 48),
    scales: { dtype: "float16", values: matrix(dyadics(10, 10, -12, -2, 49), 2) },
    biases: { dtype: "float32", values: matrix(dyadics(10, 23, -8, 2, 50), 2) },
  },
  "affine batches broadcast": {
    mode: "affine", bits: 4, group_size: 32, transpose: true,
    x: { dtype: "float32", shape: [2, 1, 2, 64], values: values(256, [-1, 0.5, 1, 2], 14) },
    codes: [0, 1, 2].map((matrix) => codes(2, 64, 16, 15 + matrix)),
    scales: { dtype: "float32", values: [[[0.5, 1], [-0.25, 2]], [[1, 1], [0.125, -1]], [[-0.5, 0.25], [4, 1]]] },
    biases: { dtype: "float32", values: [[[1, 0], [0.5, -2]], [[0, 0], [-1, 1]], [[2, -0.5], [0, 0.25]]] },
  },
  "mxfp4 batched untransposed": {
    mode: "mxfp4", bits: 4, group_size: 32, transpose: false,
    x: { dtype: "float32", shape: [2, 2, 3], values: [1, -1, 0.5, 2, 0, -2, 0.25, 1, -0.5, 4, 1, 1] },
    codes: [codes(3, 32, 16, 18)],
    scales: { dtype: "uint8", values: [[[127], [120], [130]]] },
  },
};

describe("reference command on valid files", () => {
  it.each(Object.keys(VALID_CASES))("matches the Python model: %s", async (name) => {
    const job = VALID_CASES[name];
    const input = join(folder, `${name}.in.safetensors`);
    const expected = join(folder, `${name}.expected.safetensors`);
    const output = join(folder, `${name}.out.safetensors`);
    const metadata = { mode: String(job.mode), bits: String(job.bits), group_size: String(job.group_size), transpose: String(job.transpose), note: "kept" };
    await python({ kind: "qmm", out: input, expected_out: expected, metadata, ...job });

    const result = await runCli([input, "--out", output]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);

    const actual = await readSafetensors(output);
    const reference = await readSafetensors(expected);
    expect(actual.metadata).toEqual(metadata);
    expect([...actual.tensors.keys()]).toEqual(["y"]);
    expect(actual.tensors.get("y")).toEqual(reference.tensors.get("y"));

    if (name === "float16 rounding overflow and subnormals") {
      const bits = [...(reference.tensors.get("y")!.data as Uint16Array)];
      expect(bits.filter((pattern) => (pattern & 0x7fff) === 0x7c00).length, "infinities").toBeGreaterThan(0);
      expect(bits.filter((pattern) => (pattern & 0x7c00) === 0 && (pattern & 0x3ff) !== 0).length, "subnormals").toBeGreaterThan(0);
    }
  });

  it("applies the non-finite rules element by element", async () => {
    // Rows of x: +inf at k = 0, −inf at k = 1, NaN at k = 2, all finite. Rows of W: finite with
    // ŵ = 0 at k = 0 and ŵ = −1 at k = 1, an infinite scale with q = 0 at k = 5 (so ŵ is NaN there),
    // and a −inf bias.
    const row = (special: number, value: string) =>
      Array.from({ length: 32 }, (_, k) => {
        if (k === special) return value;
        return k % 3 === 0 ? 1 : 0.5;
      });
    const x = [...row(0, "inf"), ...row(1, "-inf"), ...row(2, "nan"), ...row(-1, "")];
    const weightCodes = codes(3, 32, 16, 30).map((line, n) => line.map((code, k) => (n === 0 && k === 0 ? 4 : code)));
    weightCodes[0][1] = 0;
    weightCodes[1][5] = 0;
    const job = {
      mode: "affine", bits: 4, group_size: 32, transpose: true,
      x: { dtype: "float32", shape: [4, 32], values: x },
      codes: weightCodes,
      scales: { dtype: "float32", values: [[0.25], ["inf"], [1]] },
      biases: { dtype: "float32", values: [[-1], [0], ["-inf"]] },
    };
    const input = join(folder, "nonfinite.in.safetensors");
    const expected = join(folder, "nonfinite.expected.safetensors");
    const output = join(folder, "nonfinite.out.safetensors");
    await python({ kind: "qmm", out: input, expected_out: expected, metadata: { group_size: "32" }, ...job });

    const result = await runCli([input, "--out", output]);
    expect(result.exitCode).toBe(0);

    const actual = (await readSafetensors(output)).tensors.get("y")!.data as Float32Array;
    const reference = (await readSafetensors(expected)).tensors.get("y")!.data as Float32Array;
    expect([...reference].filter(Number.isNaN).length).toBeGreaterThan(0);
    expect([...reference].filter((value) => value === Infinity).length).toBeGreaterThan(0);
    expect([...reference].filter((value) => value === -Infinity).length).toBeGreaterThan(0);
    expect([...reference].filter(Number.isFinite).length).toBeGreaterThan(0);
    expect([...actual].map(String)).toEqual([...reference].map(String));
  });

  it("takes the defaults for missing and None metadata", async () => {
    const job = VALID_CASES["affine 3-bit transposed"];
    const defaults = {
      ...job, bits: 4, group_size: 64,
      codes: codes(3, 64, 16, 20),
      scales: { dtype: "float32", values: [[0.5], [1], [-2]] },
      biases: { dtype: "float32", values: [[-1], [2], [0.25]] },
    };
    const input = join(folder, "defaults.in.safetensors");
    const expected = join(folder, "defaults.expected.safetensors");
    const output = join(folder, "defaults.out.safetensors");
    await python({ kind: "qmm", out: input, expected_out: expected, metadata: { bits: "None", group_size: "null" }, ...defaults });

    const result = await runCli([input, "-o", output]);
    expect(result.exitCode).toBe(0);
    const actual = await readSafetensors(output);
    const reference = await readSafetensors(expected);
    expect(actual.tensors.get("y")).toEqual(reference.tensors.get("y"));
  });
});

interface InvalidCase {
  readonly code: ErrorCode;
  /** Text the single stderr line must contain: offending values. */
  readonly shows: readonly string[];
  readonly job: Record<string, unknown>;
}

const X64 = { name: "x", dtype: "F32", shape: [2, 64], values: new Array(128).fill(1) };
const W = { name: "w", dtype: "U32", shape: [3, 8], values: new Array(24).fill(0) };
const SCALES = { name: "scales", dtype: "F32", shape: [3, 1], values: [1, 1, 1] };
const BIASES = { name: "biases", dtype: "F32", shape: [3, 1], values: [0, 0, 0] };
const AFFINE = [X64, W, SCALES, BIASES];

const INVALID_CASES: Record<string, InvalidCase> = {
  "invalid mode": { code: "E_MODE_INVALID", shows: ["mode=int4"], job: { tensors: AFFINE, metadata: { mode: "int4" } } },
  "invalid transpose": { code: "E_PARAM_INVALID", shows: ["value=yes", "key=transpose"], job: { tensors: AFFINE, metadata: { transpose: "yes" } } },
  "non-integer bits": { code: "E_PARAM_INVALID", shows: ["value=four"], job: { tensors: AFFINE, metadata: { bits: "four" } } },
  "bits 0": { code: "E_BITS_INVALID", shows: ["bits=0", "allowed=[2,3,4,5,6,8]"], job: { tensors: AFFINE, metadata: { bits: "0" } } },
  "bits beyond 2^53": { code: "E_BITS_INVALID", shows: ["bits=18446744073709552000", "allowed=[2,3,4,5,6,8]"], job: { tensors: AFFINE, metadata: { bits: "18446744073709551616" } } },
  "group size 16": { code: "E_GROUP_SIZE_INVALID", shows: ["groupSize=16"], job: { tensors: AFFINE, metadata: { group_size: "16" } } },
  "missing biases": { code: "E_BIASES_REQUIRED", shows: ["mode=affine"], job: { tensors: [X64, W, SCALES] } },
  "float64 x": { code: "E_X_DTYPE", shows: ["xDType=float64"], job: { tensors: [{ ...X64, dtype: "F64" }, W, SCALES, BIASES] } },
  "w not uint32": { code: "E_W_DTYPE", shows: ["wDType=int32"], job: { tensors: [X64, { ...W, dtype: "I32" }, SCALES, BIASES] } },
  "scale rows": { code: "E_SCALES_ROWS", shows: ["wShape=[3,8]", "scalesShape=[2,1]"], job: { tensors: [X64, W, { ...SCALES, shape: [2, 1], values: [1, 1] }, { ...BIASES, shape: [2, 1], values: [0, 0] }] } },
  "K mismatch": { code: "E_K_MISMATCH", shows: ["xShape=[2,32]", "K=64"], job: { tensors: [{ ...X64, shape: [2, 32], values: new Array(64).fill(1) }, W, SCALES, BIASES] } },
  "empty x": { code: "E_EMPTY_DIM", shows: ["shape=[0,64]"], job: { tensors: [{ ...X64, shape: [0, 64], values: [] }, W, SCALES, BIASES] } },
  "reserved E8M0 scale": {
    code: "E_RESERVED_SCALE",
    shows: ["byte=255", "index=[1,0]"],
    job: { tensors: [{ ...X64, shape: [2, 32], values: new Array(64).fill(1) }, { ...W, shape: [3, 4], values: new Array(12).fill(0) }, { name: "scales", dtype: "U8", shape: [3, 1], values: [127, 255, 127] }], metadata: { mode: "mxfp4" } },
  },
  "unknown tensor": { code: "E_PARAM_INVALID", shows: ["tensor=bias"], job: { tensors: [X64, W, SCALES, { ...BIASES, name: "bias" }] } },
  "missing w": { code: "E_PARAM_INVALID", shows: ["tensor=w"], job: { tensors: [X64, SCALES, BIASES] } },
  "data length": { code: "E_DATA_LENGTH", shows: ["tensor=scales", "expectedBytes=12"], job: { tensors: [X64, W, { ...SCALES, values: [1, 1] }, BIASES] } },
  "truncated file": { code: "E_FILE_FORMAT", shows: ["fileBytes=4"], job: { tensors: AFFINE, corrupt: { truncate: 4 } } },
  "huge header": { code: "E_TOO_LARGE", shows: ["headerBytes=1000000000000"], job: { tensors: AFFINE, corrupt: { header_length: 1e12 } } },
};

describe("reference command on invalid files", () => {
  it.each(Object.keys(INVALID_CASES))("reports %s with exit code 2", async (name) => {
    const { code, shows, job } = INVALID_CASES[name];
    const sub = await mkdtemp(join(folder, "invalid-"));
    const input = join(sub, "in.safetensors");
    const output = join(sub, "out.safetensors");
    await python({ kind: "tensors", out: input, ...job });

    const result = await runCli([input, "--out", output]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe("");

    const lines = result.stderr.split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`${code} [SPEC ${ERROR_CODES[code].section}]`)).toBe(true);
    for (const text of shows) expect(lines[0]).toContain(text);

    expect(await readdir(sub)).toEqual(["in.safetensors"]);
  });

  it("reports a multi-line header on one line", async () => {
    const sub = await mkdtemp(join(folder, "newline-"));
    const input = join(sub, "in.safetensors");
    const header = Buffer.from("not\njson\n", "utf8");
    const bytes = Buffer.alloc(8 + header.length);
    bytes.writeBigUInt64LE(BigInt(header.length), 0);
    header.copy(bytes, 8);
    await writeFile(input, bytes);

    const result = await runCli([input, "--out", join(sub, "out.safetensors")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^E_FILE_FORMAT /);
  });

  it("keeps an existing output file", async () => {
    const sub = await mkdtemp(join(folder, "existing-"));
    const input = join(sub, "in.safetensors");
    const output = join(sub, "out.safetensors");
    await python({ kind: "tensors", out: input, tensors: AFFINE, metadata: { mode: "bogus" } });
    await writeFile(output, "previous");

    const result = await runCli([input, "--out", output]);
    expect(result.exitCode).toBe(2);
    expect(await readFile(output, "utf8")).toBe("previous");
  });

  it("rejects an output path that is the input", async () => {
    const sub = await mkdtemp(join(folder, "same-file-"));
    const input = join(sub, "in.safetensors");
    await python({ kind: "tensors", out: input, tensors: AFFINE });
    const original = await readFile(input);
    await symlink(input, join(sub, "symlink.safetensors"));
    await link(input, join(sub, "hardlink.safetensors"));
    const names = ["hardlink.safetensors", "in.safetensors", "symlink.safetensors"];

    const outputs = [input, `${sub}/./in.safetensors`, join(sub, "symlink.safetensors"), join(sub, "hardlink.safetensors")];
    for (const output of outputs) {
      const result = await runCli([input, "--out", output]);
      expect(result.exitCode, output).toBe(2);
      expect(result.stdout).toBe("");

      const lines = result.stderr.split("\n");
      expect(lines, output).toHaveLength(1);
      expect(lines[0]).toMatch(/^E_OUTPUT_PATH \[SPEC §14\.4\] at --out: /);
      expect(lines[0]).toContain(`path=${output}`);
      expect(lines[0]).toContain(`input=${input}`);
      expect(lines[0]).toMatch(/choose another output path/i);

      expect(await readFile(input)).toEqual(original);
      expect((await readdir(sub)).sort()).toEqual(names);
    }
  });

  it("rejects an output path that is a directory", async () => {
    const sub = await mkdtemp(join(folder, "directory-"));
    const input = join(sub, "in.safetensors");
    const output = join(sub, "out");
    await python({ kind: "tensors", out: input, tensors: AFFINE });
    await mkdir(output);

    const result = await runCli([input, "--out", output]);
    expect(result.exitCode).toBe(2);

    const lines = result.stderr.split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^E_OUTPUT_PATH \[SPEC §14\.4\] at --out: .*is a directory/);
    expect(lines[0]).toContain(`path=${output}`);
    expect(lines[0]).not.toContain("EISDIR");
    expect(await readdir(output)).toEqual([]);
    expect((await readdir(sub)).sort()).toEqual(["in.safetensors", "out"]);
  });

  it("rejects an output path in a missing folder", async () => {
    const sub = await mkdtemp(join(folder, "no-folder-"));
    const input = join(sub, "in.safetensors");
    const output = join(sub, "absent", "out.safetensors");
    await python({ kind: "tensors", out: input, tensors: AFFINE });

    const result = await runCli([input, "--out", output]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^E_OUTPUT_PATH \[SPEC §14\.4\] at --out: .*does not exist/);
    expect(result.stderr).toContain(`folder=${join(sub, "absent")}`);
    expect(await readdir(sub)).toEqual(["in.safetensors"]);
  });

  it("reports a missing input file", async () => {
    const result = await runCli([join(folder, "absent.safetensors"), "--out", join(folder, "never.safetensors")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^E_FILE_FORMAT \[SPEC §14\.1\].*reason=ENOENT\)$/);
  });
});

describe("reference command usage", () => {
  it("prints help", async () => {
    const result = await runCli(["--help"]);
    expect(result.exitCode).toBe(0);
    for (const key of ["--out", "mode", "bits", "group_size", "transpose", "Exit codes"]) expect(result.stdout).toContain(key);
  });

  it("rejects missing arguments", async () => {
    const noOut = await runCli([join(folder, "in.safetensors")]);
    expect(noOut.exitCode).toBe(2);
    expect(noOut.stderr.trim().split("\n")).toHaveLength(1);
    expect(noOut.stderr).toContain("missing --out");

    const noInput = await runCli(["--out", join(folder, "x.safetensors")]);
    expect(noInput.exitCode).toBe(2);
    expect(noInput.stderr).toContain("missing INPUT");
  });

  it("rejects unknown options", async () => {
    const result = await runCli(["in.safetensors", "--out", "o.safetensors", "--fast"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("--fast");
  });
});
