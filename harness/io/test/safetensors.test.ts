import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, QmmError } from "../../../spec/errors.ts";
import type { ErrorCode, SpecIssue } from "../../../spec/errors.ts";
import type { Tensor } from "../../../spec/types.ts";
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from "../safetensors.ts";

const WRITER = fileURLToPath(new URL("./write_safetensors.py", import.meta.url));

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "qmm-safetensors-"));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Runs the Python writer on one job and returns the path it wrote. */
async function writeWithPython(name: string, job: Record<string, unknown>): Promise<string> {
  const out = join(folder, name);
  await execa("python3", [WRITER], { input: JSON.stringify({ kind: "tensors", out, ...job }) });
  return out;
}

async function readIssue(path: string, limits = {}): Promise<SpecIssue> {
  try {
    await readSafetensors(path, limits);
  } catch (error) {
    if (error instanceof QmmError) return error.issue;
    throw error;
  }
  throw new Error(`${path} was accepted`);
}

function expectIssue(issue: SpecIssue, code: ErrorCode, file: string): void {
  expect(issue.code).toBe(code);
  expect(issue.section).toBe(ERROR_CODES[code].section);
  expect(issue.values.file).toBe(file);
}

const SMALL = { tensors: [{ name: "a", dtype: "F32", shape: [2], values: [1, 2] }, { name: "b", dtype: "U8", shape: [3], values: [1, 2, 3] }] };

describe("readSafetensors on files written by Python", () => {
  it("decodes every supported dtype bit for bit", async () => {
    const path = await writeWithPython("dtypes.safetensors", {
      metadata: { mode: "affine", bits: "4" },
      tensors: [
        { name: "f32", dtype: "F32", shape: [2, 2], values: [1.5, -2, 0.1, 3.4e38] },
        { name: "f16", dtype: "F16", shape: [3], values: [0.5, -65504, 5.960464477539063e-8] },
        { name: "bf16", dtype: "BF16", shape: [2], values: [1, -3.0517578125e-5] },
        { name: "u32", dtype: "U32", shape: [2], values: [0xdeadbeef, 7] },
        { name: "u8", dtype: "U8", shape: [1, 3], values: [0, 127, 255] },
        { name: "f64", dtype: "F64", shape: [1], values: [0.1] },
        { name: "i32", dtype: "I32", shape: [2], values: [-1, 2147483647] },
      ],
    });
    const { tensors, metadata } = await readSafetensors(path);

    expect(metadata).toEqual({ mode: "affine", bits: "4" });
    expect(tensors.get("f32")).toEqual({ dtype: "float32", shape: [2, 2], data: new Float32Array([1.5, -2, 0.1, 3.4e38]) });
    expect([...(tensors.get("f16")!.data as Uint16Array)]).toEqual([0x3800, 0xfbff, 0x0001]);
    expect(tensors.get("f16")!.dtype).toBe("float16");
    expect([...(tensors.get("bf16")!.data as Uint16Array)]).toEqual([0x3f80, 0xb800]);
    expect(tensors.get("bf16")!.dtype).toBe("bfloat16");
    expect([...(tensors.get("u32")!.data as Uint32Array)]).toEqual([0xdeadbeef, 7]);
    expect(tensors.get("u8")).toEqual({ dtype: "uint8", shape: [1, 3], data: new Uint8Array([0, 127, 255]) });
    expect(tensors.get("f64")!.data).toEqual(new Float64Array([0.1]));
    expect(tensors.get("i32")!.data).toEqual(new Int32Array([-1, 2147483647]));
  });

  it("reads an unpadded header at an odd offset", async () => {
    const path = await writeWithPython("odd.safetensors", { tensors: [{ name: "abcd", dtype: "F32", shape: [1], values: [2.5] }] });
    const bytes = await readFile(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 4).not.toBe(0);
    const { tensors } = await readSafetensors(path);
    expect(tensors.get("abcd")!.data).toEqual(new Float32Array([2.5]));
  });

  it("reads a zero-size tensor", async () => {
    const path = await writeWithPython("empty.safetensors", { tensors: [{ name: "e", dtype: "F16", shape: [0, 4], values: [] }] });
    const { tensors } = await readSafetensors(path);
    expect(tensors.get("e")).toEqual({ dtype: "float16", shape: [0, 4], data: new Uint16Array(0) });
  });
});

describe("readSafetensors on malformed files", () => {
  it("rejects a file shorter than 8 bytes", async () => {
    const path = await writeWithPython("short.safetensors", { ...SMALL, corrupt: { truncate: 5 } });
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.path).toEqual(["file", path, "header_length"]);
    expect(issue.values.fileBytes).toBe(5);
  });

  it("rejects a header length beyond the file", async () => {
    const path = await writeWithPython("beyond.safetensors", { ...SMALL, corrupt: { header_length: 5000 } });
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.values.headerBytes).toBe(5000);
  });

  it("rejects a header larger than the limit", async () => {
    const path = await writeWithPython("huge.safetensors", { ...SMALL, corrupt: { header_length: 2 ** 40 } });
    const issue = await readIssue(path);
    expect(issue.code).toBe("E_TOO_LARGE");
    expect(issue.section).toBe(ERROR_CODES.E_TOO_LARGE.section);
    expect(issue.values.headerBytes).toBe(2 ** 40);

    const small = await writeWithPython("limit.safetensors", SMALL);
    const limited = await readIssue(small, { maxHeaderBytes: 16 });
    expect(limited.code).toBe("E_TOO_LARGE");
    expect(limited.values.maxHeaderBytes).toBe(16);
  });

  it("rejects a truncated data buffer", async () => {
    const full = await readFile(await writeWithPython("full.safetensors", SMALL));
    const path = await writeWithPython("truncated.safetensors", { ...SMALL, corrupt: { truncate: full.length - 1 } });
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.path).toEqual(["file", path, "b", "data_offsets"]);
    expect(issue.values.end).toBe(11);
  });

  it("rejects trailing bytes", async () => {
    const path = await writeWithPython("trailing.safetensors", { ...SMALL, corrupt: { append: 3 } });
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.values.dataBytes).toBe(14);
    expect(issue.values.coveredBytes).toBe(11);
  });

  it("rejects overlapping offsets", async () => {
    const tensors = [{ name: "a", dtype: "F32", shape: [2], values: [1, 2] }, { name: "b", dtype: "F32", shape: [1], values: [3] }];
    const path = await writeWithPython("overlap.safetensors", { tensors, corrupt: { data_offsets: { b: [4, 8] } } });
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.values).toMatchObject({ tensor: "b", begin: 4, previousEnd: 8 });
  });

  it("rejects a hole between tensors", async () => {
    const tensors = [{ name: "a", dtype: "U8", shape: [2], values: [1, 2] }, { name: "b", dtype: "U8", shape: [2], values: [3, 4] }];
    const path = await writeWithPython("hole.safetensors", { tensors, corrupt: { data_offsets: { a: [0, 2], b: [3, 5] }, append: 1 } });
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.values).toMatchObject({ tensor: "b", begin: 3, previousEnd: 2 });
  });

  it("rejects offsets that disagree with the shape", async () => {
    const tensors = [{ name: "a", dtype: "F32", shape: [3], values: [1, 2] }];
    const path = await writeWithPython("length.safetensors", { tensors });
    const issue = await readIssue(path);
    expectIssue(issue, "E_DATA_LENGTH", path);
    expect(issue.values).toMatchObject({ tensor: "a", shape: [3], dtype: "F32", dataBytes: 8, expectedBytes: 12 });
  });

  it("rejects reversed and fractional offsets", async () => {
    for (const [name, offsets] of [["reversed", [8, 0]], ["fraction", [0, 7.5]], ["short", [0]]] as const) {
      const path = await writeWithPython(`${name}.safetensors`, { tensors: [{ name: "a", dtype: "F32", shape: [2], values: [1, 2] }], corrupt: { data_offsets: { a: offsets } } });
      const issue = await readIssue(path);
      expectIssue(issue, "E_FILE_FORMAT", path);
      expect(issue.path).toEqual(["file", path, "a", "data_offsets"]);
    }
  });

  it("rejects unsupported dtypes and bad shapes", async () => {
    const dtype = await writeWithPython("i8.safetensors", { tensors: [{ name: "a", dtype: "I8", shape: [2], hex: "0102" }] });
    const dtypeIssue = await readIssue(dtype);
    expectIssue(dtypeIssue, "E_FILE_FORMAT", dtype);
    expect(dtypeIssue.values.dtype).toBe("I8");

    const shape = await writeWithPython("shape.safetensors", { tensors: [{ name: "a", dtype: "U8", shape: [-1], hex: "" }] });
    const shapeIssue = await readIssue(shape);
    expectIssue(shapeIssue, "E_FILE_FORMAT", shape);
    expect(shapeIssue.path).toEqual(["file", shape, "a", "shape"]);
  });

  it("rejects non-string metadata", async () => {
    const path = join(folder, "metadata.safetensors");
    await writeFile(path, rawFile('{"__metadata__":{"bits":4}}'));
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.values.key).toBe("bits");
  });

  it("reads a null metadata as empty", async () => {
    // mx.save_safetensors writes this when it is given no metadata.
    const path = join(folder, "null-metadata.safetensors");
    await writeFile(path, rawFile('{"__metadata__":null}'));
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({});
    expect(Object.keys(tensors)).toEqual([]);
  });

  it("rejects a tensor named twice", async () => {
    const entry = '{"dtype":"U8","shape":[0],"data_offsets":[0,0]}';
    for (const [name, header] of [["plain", `{"x":${entry},"x":${entry}}`], ["escaped", `{"x":${entry},"\\u0078":${entry}}`]]) {
      const path = join(folder, `duplicate-${name}.safetensors`);
      await writeFile(path, rawFile(header));
      const issue = await readIssue(path);
      expectIssue(issue, "E_FILE_FORMAT", path);
      expect(issue.path, name).toEqual(["file", path, "header", "x"]);
      expect(issue.values.key, name).toBe("x");
      expect(issue.message, name).toMatch(/tensor x .*twice.*Write the file again/);
    }
  });

  it("rejects a field or metadata key given twice", async () => {
    const cases = [
      ["field", '{"x":{"dtype":"U8","dtype":"F32","shape":[0],"data_offsets":[0,0]}}', ["header", "x", "dtype"]],
      ["metadata", '{"__metadata__":{"bits":"4","bits":"8"}}', ["header", "__metadata__", "bits"]],
    ] as const;
    for (const [name, header, field] of cases) {
      const path = join(folder, `duplicate-${name}.safetensors`);
      await writeFile(path, rawFile(header));
      const issue = await readIssue(path);
      expectIssue(issue, "E_FILE_FORMAT", path);
      expect(issue.path, name).toEqual(["file", path, ...field]);
    }
  });

  it("rejects headers that are not a JSON object", async () => {
    for (const [name, header] of [["array", "[1,2]"], ["text", "not json"], ["null", "null"]]) {
      const path = join(folder, `${name}.safetensors`);
      await writeFile(path, rawFile(header));
      const issue = await readIssue(path);
      expectIssue(issue, "E_FILE_FORMAT", path);
      expect(issue.path).toEqual(["file", path, "header"]);
    }
  });

  it("rejects a header that is not UTF-8", async () => {
    const path = join(folder, "latin1.safetensors");
    const header = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
    const bytes = Buffer.alloc(8 + header.length);
    bytes.writeBigUInt64LE(BigInt(header.length), 0);
    header.copy(bytes, 8);
    await writeFile(path, bytes);
    expectIssue(await readIssue(path), "E_FILE_FORMAT", path);
  });

  it("rejects a missing file", async () => {
    const path = join(folder, "absent.safetensors");
    const issue = await readIssue(path);
    expectIssue(issue, "E_FILE_FORMAT", path);
    expect(issue.values.reason).toBe("ENOENT");
  });
});

/** Builds a file with the given header text and no data bytes. */
function rawFile(header: string): Buffer {
  const text = Buffer.from(header, "utf8");
  const bytes = Buffer.alloc(8 + text.length);
  bytes.writeBigUInt64LE(BigInt(text.length), 0);
  text.copy(bytes, 8);
  return bytes;
}

describe("encodeSafetensors", () => {
  const tensors: Record<string, Tensor> = {
    x: { dtype: "bfloat16", shape: [2, 1], data: new Uint16Array([0x3f80, 0xc000]) },
    w: { dtype: "uint32", shape: [1], data: new Uint32Array([0x12345678]) },
    scales: { dtype: "uint8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    f32: { dtype: "float32", shape: [], data: new Float32Array([-0]) },
  };

  it("round-trips tensors and metadata", () => {
    const bytes = encodeSafetensors(tensors, { mode: "mxfp4" });
    const decoded = decodeSafetensors(bytes, "memory");
    expect(decoded.metadata).toEqual({ mode: "mxfp4" });
    expect([...decoded.tensors.keys()]).toEqual(["x", "w", "scales", "f32"]);
    for (const [name, tensor] of Object.entries(tensors)) expect(decoded.tensors.get(name)).toEqual(tensor);
    expect(Object.is((decoded.tensors.get("f32")!.data as Float32Array)[0], -0)).toBe(true);
  });

  it("aligns the data buffer to 8 bytes", () => {
    const bytes = encodeSafetensors(tensors);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
  });

  it("writes little-endian words", () => {
    const bytes = encodeSafetensors({ w: tensors.w });
    expect([...bytes.subarray(bytes.length - 4)]).toEqual([0x78, 0x56, 0x34, 0x12]);
  });

  it("rejects a malformed tensor", () => {
    const bad: Tensor = { dtype: "float16", shape: [3], data: new Uint16Array(2) };
    expect(() => encodeSafetensors({ bad })).toThrow(/E_DATA_LENGTH/);
  });

  it("rejects the reserved metadata name", () => {
    expect(() => encodeSafetensors({ __metadata__: tensors.w })).toThrow(/E_PARAM_INVALID/);
  });
});

describe("writeSafetensors", () => {
  it("writes a file the Python-side layout reads back", async () => {
    const path = join(folder, "written.safetensors");
    await writeSafetensors(path, { y: { dtype: "float32", shape: [2], data: new Float32Array([1, -1]) } }, { k: "v" });
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({ k: "v" });
    expect(tensors.get("y")!.data).toEqual(new Float32Array([1, -1]));
  });

  it("leaves no file when encoding fails", async () => {
    const sub = await mkdtemp(join(folder, "atomic-"));
    const path = join(sub, "out.safetensors");
    const bad: Tensor = { dtype: "float32", shape: [4], data: new Float32Array(1) };
    await expect(writeSafetensors(path, { bad })).rejects.toThrow(/E_DATA_LENGTH/);
    expect(await readdir(sub)).toEqual([]);
  });

  it("keeps the old file when a write fails", async () => {
    const sub = await mkdtemp(join(folder, "keep-"));
    const path = join(sub, "out.safetensors");
    await writeFile(path, "old");
    const bad: Tensor = { dtype: "uint8", shape: [2], data: new Uint8Array(3) };
    await expect(writeSafetensors(path, { bad })).rejects.toThrow(QmmError);
    expect(await readFile(path, "utf8")).toBe("old");
    expect(await readdir(sub)).toEqual(["out.safetensors"]);
  });

  it("leaves no temporary file behind", async () => {
    const sub = await mkdtemp(join(folder, "clean-"));
    await writeSafetensors(join(sub, "a.safetensors"), { y: { dtype: "uint8", shape: [1], data: new Uint8Array([9]) } });
    expect(await readdir(sub)).toEqual(["a.safetensors"]);
  });

  it("fails cleanly in a missing folder", async () => {
    const path = join(folder, "no-such-folder", "out.safetensors");
    await expect(writeSafetensors(path, { y: { dtype: "uint8", shape: [1], data: new Uint8Array([9]) } })).rejects.toThrow(/ENOENT/);
  });
});
