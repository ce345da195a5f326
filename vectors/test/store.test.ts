import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Encoder } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GoldenCase, LoadFailure } from "../case.ts";
import { buildErrorCases } from "../generate/errors.ts";
import { buildRecipe } from "../generate/build.ts";
import { exactRecipes, generatedRecipes } from "../generate/recipes.ts";
import { isLoadFailure, loadSuites } from "../load.ts";
import { encodeCase } from "../store/codec.ts";
import { encodeVectorFile, readVectorFile, sha256Hex } from "../store/file.ts";
import { generateVectors, verifyVectors } from "../store/generate.ts";
import { readManifest, formatManifest } from "../store/manifest.ts";
import { vectorsCommand } from "../../harness/cli/commands/vectors.ts";

let dir: string;
let cases: GoldenCase[];

async function collect(items: AsyncIterable<GoldenCase | LoadFailure>): Promise<{ cases: GoldenCase[]; failures: LoadFailure[] }> {
  const out = { cases: [] as GoldenCase[], failures: [] as LoadFailure[] };
  for await (const item of items) {
    if (isLoadFailure(item)) out.failures.push(item);
    else out.cases.push(item);
  }
  return out;
}

/** Writes a file of header + the given raw records (already MessagePack-encodable objects). */
async function writeRecords(name: string, records: unknown[], caseCount = records.length): Promise<string> {
  const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true });
  const parts = [encoder.encode({ format: "qmm-conformance-vectors", version: 1, suite: "generated", name, caseCount }), ...records.map((record) => encoder.encode(record))];
  const path = join(dir, name);
  await writeFile(path, Buffer.concat(parts.map((part) => Buffer.from(part))));
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "qmm-vectors-"));
  const recipes = generatedRecipes().filter((r) => r.id.includes("/M3_K256_N7/")).slice(0, 3);
  cases = recipes.map(buildRecipe);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("vector file round trip", () => {
  it("reads back every case bit for bit", async () => {
    const path = join(dir, "round-trip.msgpack");
    await writeFile(path, encodeVectorFile("generated", "round-trip.msgpack", cases));
    const { cases: loaded, failures } = await collect(readVectorFile(path));

    expect(failures).toEqual([]);
    expect(loaded.map((c) => c.id)).toEqual(cases.map((c) => c.id));
    const sorted = new Encoder({ sortKeys: true });
    for (const [index, golden] of loaded.entries()) {
      expect(Buffer.from(sorted.encode(encodeCase(golden))).equals(Buffer.from(sorted.encode(encodeCase(cases[index]))))).toBe(true);
    }
  });

  it("skips cases the filter rejects", async () => {
    const path = join(dir, "filtered.msgpack");
    await writeFile(path, encodeVectorFile("generated", "filtered.msgpack", cases));
    const { cases: loaded } = await collect(readVectorFile(path, { filter: (id) => id === cases[1].id }));
    expect(loaded.map((c) => c.id)).toEqual([cases[1].id]);
  });
});

describe("vector file bad input", () => {
  it("reports a truncated file and keeps earlier cases", async () => {
    const bytes = encodeVectorFile("generated", "truncated.msgpack", cases);
    const path = join(dir, "truncated.msgpack");
    await writeFile(path, bytes.subarray(0, bytes.length - 100));
    const { cases: loaded, failures } = await collect(readVectorFile(path));

    expect(loaded.map((c) => c.id)).toEqual(cases.slice(0, 2).map((c) => c.id));
    expect(failures).toHaveLength(1);
    expect(failures[0].issue.code).toBe("E_FILE_FORMAT");
    expect(failures[0].file).toBe(path);
    expect(failures[0].issue.message).toContain("truncated");
  });

  it("reports a corrupted header", async () => {
    const bytes = encodeVectorFile("generated", "corrupt.msgpack", cases).slice();
    bytes[0] = 0xc1;
    const path = join(dir, "corrupt.msgpack");
    await writeFile(path, bytes);
    const { cases: loaded, failures } = await collect(readVectorFile(path));

    expect(loaded).toEqual([]);
    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT"]);
  });

  it("reports a hash mismatch with both hashes", async () => {
    const bytes = encodeVectorFile("generated", "hashed.msgpack", cases);
    const path = join(dir, "hashed.msgpack");
    await writeFile(path, bytes);
    const wrong = "0".repeat(64);
    const { cases: loaded, failures } = await collect(readVectorFile(path, { sha256: wrong }));

    expect(loaded).toEqual([]);
    expect(failures).toHaveLength(1);
    expect(failures[0].issue.code).toBe("E_HASH_MISMATCH");
    expect(failures[0].issue.values.expected).toBe(wrong);
    expect(failures[0].issue.values.actual).toBe(sha256Hex(bytes));
  });

  it("reports data that contradicts its shape, naming case and field", async () => {
    const bad = encodeCase(cases[1]);
    bad.inputs.scales = { ...bad.inputs.scales, data: bad.inputs.scales.data.subarray(0, bad.inputs.scales.data.length - 2) };
    const path = await writeRecords("length.msgpack", [encodeCase(cases[0]), bad, encodeCase(cases[2])]);
    const { cases: loaded, failures } = await collect(readVectorFile(path));

    expect(loaded.map((c) => c.id)).toEqual([cases[0].id, cases[2].id]);
    expect(failures).toHaveLength(1);
    expect(failures[0].issue.code).toBe("E_DATA_LENGTH");
    expect(failures[0].caseId).toBe(cases[1].id);
    expect(failures[0].issue.path).toEqual(["cases", cases[1].id, "inputs", "scales", "data"]);
  });

  it("rejects a declared size over the limit before allocating", async () => {
    const bad = encodeCase(cases[0]);
    bad.inputs.x = { ...bad.inputs.x, shape: [2 ** 24, 2 ** 24] };
    const path = await writeRecords("huge.msgpack", [bad]);
    const { failures } = await collect(readVectorFile(path));

    expect(failures).toHaveLength(1);
    expect(failures[0].issue.code).toBe("E_TOO_LARGE");
    expect(failures[0].issue.path).toEqual(["cases", cases[0].id, "inputs", "x", "shape"]);
  });

  it("rejects a bin length over the limit", async () => {
    const path = join(dir, "bin-limit.msgpack");
    await writeFile(path, encodeVectorFile("generated", "bin-limit.msgpack", cases));
    const { failures } = await collect(readVectorFile(path, { limits: { maxFileBytes: 2 ** 30, maxTensorBytes: 64, maxRank: 8 } }));

    expect(failures).toHaveLength(1);
    expect(failures[0].issue.code).toBe("E_TOO_LARGE");
  });

  it("rejects a file over the size limit", async () => {
    const path = join(dir, "file-limit.msgpack");
    await writeFile(path, encodeVectorFile("generated", "file-limit.msgpack", cases));
    const { failures } = await collect(readVectorFile(path, { limits: { maxFileBytes: 1000, maxTensorBytes: 2 ** 29, maxRank: 8 } }));

    expect(failures.map((f) => f.issue.code)).toEqual(["E_TOO_LARGE"]);
  });

  it("rejects an expected y that contradicts the inputs", async () => {
    const bad = encodeCase(cases[0]);
    if (bad.expected.kind !== "value") throw new Error("value case expected");
    bad.expected.y = { ...bad.expected.y, shape: [bad.expected.y.shape[1], bad.expected.y.shape[0]] };
    const path = await writeRecords("contradiction.msgpack", [bad]);
    const { failures } = await collect(readVectorFile(path));

    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT"]);
    expect(failures[0].caseId).toBe(cases[0].id);
  });

  it("reports a record with a missing field", async () => {
    const bad = { ...encodeCase(cases[0]) } as Record<string, unknown>;
    delete bad.inputs;
    const path = await writeRecords("missing-field.msgpack", [bad, encodeCase(cases[1])]);
    const { cases: loaded, failures } = await collect(readVectorFile(path));

    expect(loaded.map((c) => c.id)).toEqual([cases[1].id]);
    expect(failures[0].issue.code).toBe("E_FILE_FORMAT");
    expect(failures[0].caseId).toBe(cases[0].id);
    expect(failures[0].issue.path).toContain("inputs");
  });

  it("rejects a case ID with control characters", async () => {
    const hostile = { ...encodeCase(cases[0]), id: "affine/\u001b[2J\u001b]0;x\u0007" };
    const path = await writeRecords("control-id.msgpack", [hostile, encodeCase(cases[1])]);
    const { cases: loaded, failures } = await collect(readVectorFile(path, { filter: (id) => id === cases[1].id }));

    expect(loaded.map((c) => c.id)).toEqual([cases[1].id]);
    expect(failures).toHaveLength(1);
    expect(failures[0].issue.code).toBe("E_FILE_FORMAT");
    expect(failures[0].caseId).toBe("affine/\\x1b[2J\\x1b]0;x\\x07");
    expect(failures[0].issue.path).toEqual(["cases", 0, "id"]);
    expect(failures[0].issue.values.id).toBe("affine/\\x1b[2J\\x1b]0;x\\x07");
  });

  it("reports a case count that differs from the header", async () => {
    const path = await writeRecords("count.msgpack", [encodeCase(cases[0])], 2);
    const { cases: loaded, failures } = await collect(readVectorFile(path));

    expect(loaded).toHaveLength(1);
    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT"]);
    expect(failures[0].issue.path).toEqual(["header", "caseCount"]);
  });

  it("reports a missing file", async () => {
    const { failures } = await collect(readVectorFile(join(dir, "absent.msgpack")));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT"]);
  });
});

describe("loadSuites", () => {
  let vectorsDir: string;

  beforeAll(async () => {
    vectorsDir = join(dir, "suite");
    await mkdir(vectorsDir, { recursive: true });
    await generateVectors({ dir: vectorsDir, files: ["errors.msgpack", "exact-mxfp8.msgpack"] });
  });

  it("loads the generated files of a folder", async () => {
    const { cases: loaded, failures } = await collect(loadSuites({ dir: vectorsDir }));
    expect(failures).toEqual([]);
    expect(loaded.filter((c) => c.suite === "errors")).toHaveLength(buildErrorCases().length);
    expect(loaded.filter((c) => c.suite === "exact").every((c) => c.exactTier === true)).toBe(true);
  });

  it("selects suites and filters IDs", async () => {
    const { cases: loaded } = await collect(loadSuites({ dir: vectorsDir, suites: ["errors"], filter: (id) => id.includes("E_RANK") }));
    expect(loaded.length).toBe(3);
    expect(loaded.every((c) => c.id.startsWith("errors/E_RANK/"))).toBe(true);
  });

  it("reports an unknown suite and goes on", async () => {
    const { cases: loaded, failures } = await collect(loadSuites({ dir: vectorsDir, suites: ["errors", "nonexistent"] }));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_PARAM_INVALID"]);
    expect(loaded.length).toBeGreaterThan(0);
  });

  it("reports a missing manifest", async () => {
    const { failures } = await collect(loadSuites({ dir: join(dir, "no-such-folder") }));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT"]);
  });

  it("rebuilds a missing cache file", async () => {
    const rebuilt = join(dir, "rebuilt");
    await generateVectors({ dir: rebuilt, files: ["errors.msgpack"] });
    await rm(join(rebuilt, ".cache", "errors.msgpack"));

    const regenerated: string[] = [];
    const { cases: loaded, failures } = await collect(loadSuites({ dir: rebuilt, regenerate: true, onRegenerate: (file) => regenerated.push(file) }));
    expect(failures).toEqual([]);
    expect(loaded).toHaveLength(buildErrorCases().length);
    expect(regenerated).toEqual([join(rebuilt, ".cache", "errors.msgpack")]);
  });

  it("reports a missing cache file when rebuilding is off", async () => {
    const missing = join(dir, "missing");
    await generateVectors({ dir: missing, files: ["errors.msgpack"] });
    await rm(join(missing, ".cache", "errors.msgpack"));

    const { failures } = await collect(loadSuites({ dir: missing }));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT"]);
    expect(failures[0].issue.message).toContain("vectors generate");
  });

  it("keeps other manifest entries when one file is rebuilt", async () => {
    const partial = join(dir, "partial");
    await generateVectors({ dir: partial, files: ["errors.msgpack", "exact-mxfp8.msgpack"] });
    await generateVectors({ dir: partial, files: ["exact-mxfp8.msgpack"] });
    const manifest = await readManifest(partial);
    expect(manifest.files.map((f) => f.name)).toEqual(["exact-mxfp8.msgpack", "errors.msgpack"]);
  });

  it("keeps the intact cases of a truncated file", async () => {
    const truncated = join(dir, "truncated-suite");
    await generateVectors({ dir: truncated, files: ["errors.msgpack"] });
    const path = join(truncated, ".cache", "errors.msgpack");
    const intact = await collect(readVectorFile(path));
    const bytes = await readFile(path);
    // Every record contains an ID and tensors, so the last 10 bytes lie inside the last record.
    await writeFile(path, bytes.subarray(0, bytes.length - 10));

    const { cases: loaded, failures } = await collect(loadSuites({ dir: truncated }));
    expect(loaded.map((c) => c.id)).toEqual(intact.cases.slice(0, -1).map((c) => c.id));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_FILE_FORMAT", "E_HASH_MISMATCH"]);
    expect(failures[0].issue.message).toContain("truncated");

    const mismatch = failures[1].issue;
    expect(mismatch.path).toEqual(["file"]);
    expect(mismatch.values.kept).toBe(intact.cases.length - 1);
    expect(mismatch.values.missing).toBe(1);
    expect(mismatch.values.rejected).toBe(0);
    expect(mismatch.message).toMatch(/Run 'qmm-conformance vectors generate' to rebuild it$/);
  });

  it("rejects an altered case and keeps the others", async () => {
    const edited = join(dir, "edited-case");
    await generateVectors({ dir: edited, files: ["errors.msgpack"] });
    const path = join(edited, ".cache", "errors.msgpack");
    const intact = (await collect(readVectorFile(path))).cases;
    const victim = intact[1];
    const x = victim.inputs.x;
    const changedX = { ...x, data: x.data.slice() };
    changedX.data[0] = changedX.data[0] === 0 ? 1 : 0;
    await writeFile(path, encodeVectorFile("errors", "errors.msgpack", intact.map((c) => (c === victim ? { ...c, inputs: { ...c.inputs, x: changedX } } : c))));

    const { cases: loaded, failures } = await collect(loadSuites({ dir: edited }));
    expect(loaded.map((c) => c.id)).toEqual(intact.filter((c) => c !== victim).map((c) => c.id));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_HASH_MISMATCH", "E_HASH_MISMATCH"]);
    expect(failures[0].caseId).toBe(victim.id);
    expect(failures[0].issue.values.parts).toEqual(["inputs"]);
    expect(failures[1].issue.values.rejected).toBe(1);
  });

  it("rejects a case whose tags were altered", async () => {
    const tagged = join(dir, "edited-tags");
    await generateVectors({ dir: tagged, files: ["errors.msgpack"] });
    const path = join(tagged, ".cache", "errors.msgpack");
    const intact = (await collect(readVectorFile(path))).cases;
    await writeFile(path, encodeVectorFile("errors", "errors.msgpack", intact.map((c, index) => (index === 0 ? { ...c, tags: [...c.tags, "forged"] } : c))));

    const { cases: loaded, failures } = await collect(loadSuites({ dir: tagged }));
    expect(loaded).toHaveLength(intact.length - 1);
    expect(failures[0].caseId).toBe(intact[0].id);
    expect(failures[0].issue.values.parts).toEqual(["id/suite/tags"]);
  });

  it("rejects a case the manifest does not list", async () => {
    const unlisted = join(dir, "unlisted-case");
    await generateVectors({ dir: unlisted, files: ["errors.msgpack"] });
    const path = join(unlisted, ".cache", "errors.msgpack");
    const intact = (await collect(readVectorFile(path))).cases;
    // "constructor" is an inherited property of every object, so a plain lookup would find it.
    await writeFile(path, encodeVectorFile("errors", "errors.msgpack", [...intact, { ...intact[0], id: "constructor" }]));

    const { cases: loaded, failures } = await collect(loadSuites({ dir: unlisted }));
    expect(loaded.map((c) => c.id)).toEqual(intact.map((c) => c.id));
    expect(failures.map((f) => f.caseId)).toEqual(["constructor", undefined]);
    expect(failures[0].issue.values.listed).toBe(false);
  });

  it("rejects the whole file when the manifest has no case digests", async () => {
    const bare = join(dir, "no-digests");
    await generateVectors({ dir: bare, files: ["errors.msgpack"] });
    const manifest = await readManifest(bare);
    await writeFile(join(bare, "manifest.json"), formatManifest({ ...manifest, files: manifest.files.map(({ caseDigests: _, ...entry }) => entry) }));
    const path = join(bare, ".cache", "errors.msgpack");
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 10));

    const { cases: loaded, failures } = await collect(loadSuites({ dir: bare }));
    expect(loaded).toEqual([]);
    expect(failures.map((f) => f.issue.code)).toEqual(["E_HASH_MISMATCH"]);
    expect(failures[0].issue.message).toContain("no case digests");
  });

  it("reports an altered file and loads the others", async () => {
    const altered = join(dir, "altered");
    await generateVectors({ dir: altered, files: ["errors.msgpack", "exact-mxfp8.msgpack"] });
    const path = join(altered, ".cache", "errors.msgpack");
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(path, bytes);

    const { cases: loaded, failures } = await collect(loadSuites({ dir: altered }));
    expect(failures.map((f) => f.issue.code)).toEqual(["E_HASH_MISMATCH", "E_HASH_MISMATCH"]);
    expect(failures.map((f) => f.file)).toEqual([path, path]);
    expect(failures[1].issue.values.actual).toBe(sha256Hex(bytes));
    expect(loaded.filter((c) => c.suite === "exact").length).toBe(exactRecipes().filter((r) => r.cfg.mode === "mxfp8").length);
    expect(loaded.filter((c) => c.suite === "errors").length).toBe(buildErrorCases().length - 1);
    expect(loaded.map((c) => c.id)).not.toContain(failures[0].caseId);
  });
});

describe("vectors verify", () => {
  let verifyDir: string;

  beforeAll(async () => {
    verifyDir = join(dir, "verify");
    await generateVectors({ dir: verifyDir, files: ["errors.msgpack"] });
  });

  it("passes on fresh data", async () => {
    expect(await verifyVectors({ dir: verifyDir })).toEqual([]);
  });

  it("detects a changed byte in a cached file", async () => {
    const path = join(verifyDir, ".cache", "errors.msgpack");
    const original = await readFile(path);
    const changed = Buffer.from(original);
    changed[Math.floor(changed.length / 2)] ^= 0x40;
    await writeFile(path, changed);

    const problems = await verifyVectors({ dir: verifyDir });
    await writeFile(path, original);

    expect(problems).toHaveLength(1);
    expect(problems[0].kind).toBe("altered-cache");
    expect(problems[0].file).toBe(".cache/errors.msgpack");
    expect(problems[0].actual).toBe(sha256Hex(changed));
  });

  it("detects a manifest hash that regenerated data does not match", async () => {
    const manifest = await readManifest(verifyDir);
    const edited = { ...manifest, files: manifest.files.map((f) => ({ ...f, sha256: "f".repeat(64) })) };
    const path = join(verifyDir, "manifest.json");
    const original = await readFile(path, "utf8");
    await writeFile(path, formatManifest(edited));

    const problems = await verifyVectors({ dir: verifyDir });
    const exitCode = await vectorsCommand.run(["verify", "--dir", verifyDir]);
    await writeFile(path, original);

    expect(problems.map((p) => p.kind)).toContain("changed-data");
    expect(problems.find((p) => p.kind === "changed-data")?.file).toBe("errors.msgpack");
    expect(exitCode).toBe(1);
  });

  it("names the changed case and part", async () => {
    const manifest = await readManifest(verifyDir);
    const entry = manifest.files[0];
    const [id, digest] = Object.entries(entry.caseDigests!)[0];
    const edited = { ...manifest, files: [{ ...entry, sha256: "e".repeat(64), caseDigests: { ...entry.caseDigests!, [id]: [digest[0], "0".repeat(16), digest[2]] as [string, string, string] } }] };
    const path = join(verifyDir, "manifest.json");
    const original = await readFile(path, "utf8");
    await writeFile(path, formatManifest(edited));

    const problems = await verifyVectors({ dir: verifyDir });
    await writeFile(path, original);

    const changed = problems.find((p) => p.kind === "changed-data");
    expect(changed?.cases).toEqual([{ id, parts: ["y"] }]);
  });

  it("detects a stale generator source", async () => {
    const manifest = await readManifest(verifyDir);
    const [first] = Object.keys(manifest.generator.sources);
    const edited = { ...manifest, generator: { ...manifest.generator, sources: { ...manifest.generator.sources, [first]: "0".repeat(64) } } };
    const path = join(verifyDir, "manifest.json");
    const original = await readFile(path, "utf8");
    await writeFile(path, formatManifest(edited));

    const problems = await verifyVectors({ dir: verifyDir });
    await writeFile(path, original);

    expect(problems.map((p) => `${p.kind} ${p.file}`)).toEqual([`stale-sources ${first}`]);
  });
});
