// The `run` command in-process, on the repository's vector store (errors suite: 42 small cases).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildErrorCases } from "../../../../vectors/generate/errors.ts";
import { generateVectors } from "../../../../vectors/store/generate.ts";
import { parseJsonReport } from "../../../report/json.ts";
import { parseRunArguments, runCommand } from "../run.ts";

let output = "";
let errors = "";
let folder = "";

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "qmm-run-"));
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    errors += String(chunk);
    return true;
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await rm(folder, { recursive: true, force: true });
});

async function run(args: string[]): Promise<number> {
  output = "";
  errors = "";
  return runCommand.run(args);
}

describe("parseRunArguments", () => {
  it("repeatable options", () => {
    const parsed = parseRunArguments(["--backend", "js", "--backend", "reference", "--suite", "errors", "--shard", "2/3"]);
    expect(parsed).toMatchObject({ backends: ["js", "reference"], suites: ["errors"], shard: { index: 2, count: 3 }, batchSize: 32, timeoutSeconds: 120 });
  });

  it("required backends join the named ones", () => {
    expect(parseRunArguments(["--backend", "js", "--require", "native"])).toMatchObject({ backends: ["js", "native"], required: ["native"] });
  });

  it("invalid values are usage errors", () => {
    expect(parseRunArguments(["--batch", "0"])).toHaveProperty("error");
    expect(parseRunArguments(["--batch", "2.5"])).toHaveProperty("error");
    expect(parseRunArguments(["--timeout", "-1"])).toHaveProperty("error");
    expect(parseRunArguments(["--timeout", "86401"])).toEqual({ error: "invalid --timeout '86401': the maximum is 86400 seconds (one day)" });
    expect(parseRunArguments(["--timeout", "86400"])).toMatchObject({ timeoutSeconds: 86_400 });
    expect(parseRunArguments(["--shard", "4/3"])).toHaveProperty("error");
    expect(parseRunArguments(["--filter", "/[/"])).toHaveProperty("error");
    expect(parseRunArguments(["stray"])).toHaveProperty("error");
  });
});

describe("qmm-conformance run", () => {
  it("help exits 0", async () => {
    expect(await run(["--help"])).toBe(0);
    expect(output).toContain("Usage: qmm-conformance run");
  });

  it("usage error exits 2", async () => {
    expect(await run(["--shard", "x"])).toBe(2);
    expect(errors).toContain("invalid shard 'x'");
  });

  it("reference passes the errors suite", async () => {
    const json = join(folder, "report.json");
    const junit = join(folder, "nested", "report.xml");
    const html = join(folder, "report.html");
    const code = await run(["--backend", "reference", "--suite", "errors", "--json", json, "--junit", junit, "--html", html]);
    expect(output).toContain("Result: PASSED");
    expect(code).toBe(0);

    const report = parseJsonReport(await readFile(json, "utf8"));
    expect(report.records.length).toBeGreaterThan(0);
    expect(report.records.every((record) => record.status === "passed")).toBe(true);
    expect(await readFile(junit, "utf8")).toContain('<testsuite name="reference.errors"');
    expect(await readFile(html, "utf8")).toContain("qmm-conformance: passed");
  });

  it("filter narrows the run", async () => {
    const json = join(folder, "filtered.json");
    expect(await run(["--backend", "reference", "--suite", "errors", "--filter", "/bits/", "--json", json])).toBe(0);
    const report = parseJsonReport(await readFile(json, "utf8"));
    expect(report.records.length).toBeGreaterThan(0);
    expect(report.records.every((record) => record.caseId.includes("bits"))).toBe(true);
  });

  it("unknown backend name exits 2", async () => {
    expect(await run(["--backend", "no-such-backend", "--suite", "errors"])).toBe(2);
    expect(errors).toContain("unknown backend 'no-such-backend': use one of reference, js, native, mlx, cmd:PATH [ARGS]");

    expect(await run(["--backend", "reference", "--suite", "errors", "--require", "no-such-backend"])).toBe(2);
    expect(errors).toContain("unknown backend 'no-such-backend'");
  });

  it("unavailable named backend exits 1", async () => {
    expect(await run(["--backend", "cmd:/nonexistent/worker", "--suite", "errors"])).toBe(1);
    expect(output).toContain("cmd:/nonexistent/worker: unavailable (required): the worker failed during the handshake: worker program not found: /nonexistent/worker (spawn ENOENT)");
  });

  it("empty selection exits 1", async () => {
    expect(await run(["--backend", "reference", "--suite", "errors", "--filter", "does/not/exist"])).toBe(1);
    expect(errors).toContain("no case matched the selection (--suite errors --filter 'does/not/exist')");
  });

  it("known file marks cases", async () => {
    const known = join(folder, "known.json");
    await writeFile(known, JSON.stringify({ reference: [{ pattern: "/bits/", reason: "stale entry for the test" }] }));
    const json = join(folder, "known-report.json");
    expect(await run(["--backend", "reference", "--suite", "errors", "--known", known, "--json", json])).toBe(0);
    const report = parseJsonReport(await readFile(json, "utf8"));
    const listed = report.records.filter((record) => record.caseId.includes("bits"));
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((record) => record.status === "unexpected-pass")).toBe(true);
    expect(output).toContain("Unexpected passes:");
  });

  it("invalid known file exits 2", async () => {
    const known = join(folder, "bad-known.json");
    await writeFile(known, JSON.stringify({ reference: [{ pattern: "x" }] }));
    expect(await run(["--backend", "reference", "--known", known])).toBe(2);
    expect(errors).toContain("invalid --known file");
  });

  it("list prints selected IDs", async () => {
    expect(await run(["--suite", "errors", "--filter", "/bits/", "--list"])).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => /^errors \S*bits\S*$/.test(line))).toBe(true);
  });

  it("missing vector folder exits 1", async () => {
    expect(await run(["--backend", "reference", "--vectors", join(folder, "absent")])).toBe(1);
    expect(output).toContain("Load failures:");
  });

  it("report path that is a directory exits 2 before the run", async () => {
    const directory = join(folder, "report-directory");
    await mkdir(directory);

    expect(await run(["--backend", "reference", "--suite", "errors", "--json", directory])).toBe(2);
    expect(output).toBe("");
    expect(errors).toMatch(/^qmm-conformance run: E_OUTPUT_PATH \[SPEC §14\.4\] at --json: .*is a directory/);
    expect(errors).not.toContain("EISDIR");
    expect(await readdir(directory)).toEqual([]);
  });

  it("truncated vector file runs its intact cases", async () => {
    const vectors = join(folder, "truncated-vectors");
    await generateVectors({ dir: vectors, files: ["errors.msgpack"] });
    const cached = join(vectors, ".cache", "errors.msgpack");
    const bytes = await readFile(cached);
    await writeFile(cached, bytes.subarray(0, bytes.length - 10));
    const json = join(folder, "truncated.json");

    expect(await run(["--backend", "reference", "--vectors", vectors, "--json", json])).toBe(1);
    const report = parseJsonReport(await readFile(json, "utf8"));
    expect(report.records).toHaveLength(buildErrorCases().length - 1);
    expect(report.records.every((record) => record.status === "passed")).toBe(true);
    expect(report.loadFailures.map((failure) => failure.code)).toEqual(["E_FILE_FORMAT", "E_HASH_MISMATCH"]);
    expect(output).toMatch(/E_HASH_MISMATCH \[SPEC §14\.3\] at file: .* 1 are missing\. Run 'qmm-conformance vectors generate'/);
  });
});
