/**
 * `qmm-conformance run`: runs the golden vectors on one or more backends and reports the verdict
 * on the console and, on request, as JSON, JUnit XML and HTML files.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { Backend } from "../../backend.ts";
import { checkOutputFile, outputWriteError } from "../../io/output-path.ts";
import { BUILTIN_BACKEND_NAMES, DEFAULT_BACKENDS, resolveBackend } from "../../registry.ts";
import { renderConsole } from "../../report/console.ts";
import { renderHtml } from "../../report/html.ts";
import { renderJson } from "../../report/json.ts";
import { renderJunit } from "../../report/junit.ts";
import { createProgress } from "../../run/progress.ts";
import { probeBackend, runConformance } from "../../run/runner.ts";
import type { KnownDivergence, RunOptions } from "../../run/runner.ts";
import { compilePattern, inShard, parseShard } from "../../run/select.ts";
import type { Shard } from "../../run/select.ts";
import { countManifestCases, openCaseSource } from "../../run/source.ts";
import type { RunReport } from "../../run/records.ts";
import type { Command } from "../command.ts";
import { escapeControlCharacters, formatIssue, QmmError } from "../../../spec/errors.ts";
import type { SpecIssue } from "../../../spec/errors.ts";
import type { GoldenCase } from "../../../vectors/case.ts";

const HELP = `Usage: qmm-conformance run [OPTIONS]

Runs the golden vectors on backends and judges every output element against the error budget
of the numerics variant each backend declares (spec/NUMERICS.md).

Options:
  --backend NAME     a backend to run (repeatable): reference, js, native, mlx, or
                     'cmd:PATH [ARGS]' for a worker program (spec/PROTOCOL.md).
                     A backend named here that is unavailable fails the run.
                     Default: every one of js, native, mlx that is available
  --suite NAME       run only this suite (repeatable): generated, exact, errors, real
  --filter PATTERN   run only case IDs that match: a glob ('*' within a segment, '**' across
                     segments; a prefix such as affine/b4 selects everything below it)
                     or /REGEX/
  --shard I/N        run only shard I of N (1-based), split by a stable hash of the case ID
  --require NAME     fail the run if backend NAME is unavailable (repeatable)
  --vectors DIR      the vector folder (default: the vector store's own default)
  --batch N          cases sent to a backend per call (default 32)
  --timeout SECONDS  the maximum time one case may take on a backend, at most 86400
                     (default 120). A worker gets this per reply, plus up to
                     max(60, SECONDS) to restart after a crash or timeout
  --known FILE       a JSON file of extra known divergences per backend name:
                     {"NAME": [{"pattern": "CASE_GLOB", "reason": "why"}]}; they add to the
                     lists the backend modules export
  --json FILE        write the full JSON report (schema: runReportSchema in harness/report/json.ts)
  --junit FILE       write a JUnit XML report (one testsuite per backend and suite)
  --html FILE        write a self-contained HTML report. A report FILE must not be a
                     directory or the --known file; a missing folder is created
  --list             print the suite and ID of every selected case instead of running them
  -h, --help         show this text

Exit codes: 0 every case passed (or was unsupported, a known divergence or inconclusive); 1 a case failed,
crashed or timed out, a vector file failed to load, a backend named with --backend or
--require is unavailable, no case matched the selection, or a report could not be written;
2 invalid usage or a report path that cannot take a file (E_OUTPUT_PATH).
`;

/** The `run` command. */
export const runCommand: Command = {
  name: "run",
  summary: "run the conformance vectors on backends and report",
  run: runRun,
};

interface RunArguments {
  readonly backends: readonly string[];
  readonly suites: readonly string[];
  readonly filter?: string;
  readonly shard?: Shard;
  readonly required: readonly string[];
  readonly vectorsDir?: string;
  readonly batchSize: number;
  readonly timeoutSeconds: number;
  readonly knownFile?: string;
  readonly json?: string;
  readonly junit?: string;
  readonly html?: string;
  readonly list: boolean;
}

/** Parses the arguments of `run`, or returns a usage error message, or "help". */
export function parseRunArguments(argv: readonly string[]): RunArguments | "help" | { readonly error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        backend: { type: "string", multiple: true },
        suite: { type: "string", multiple: true },
        filter: { type: "string" },
        shard: { type: "string" },
        require: { type: "string", multiple: true },
        vectors: { type: "string" },
        batch: { type: "string" },
        timeout: { type: "string" },
        known: { type: "string" },
        json: { type: "string" },
        junit: { type: "string" },
        html: { type: "string" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    return { error: (error as Error).message };
  }

  const values = parsed.values;
  if (values.help === true) return "help";

  const batchSize = parsePositive(values.batch, "--batch", 32, true);
  if (typeof batchSize === "string") return { error: batchSize };
  const timeoutSeconds = parsePositive(values.timeout, "--timeout", 120, false);
  if (typeof timeoutSeconds === "string") return { error: timeoutSeconds };
  if (timeoutSeconds > MAX_TIMEOUT_SECONDS) return { error: `invalid --timeout '${values.timeout}': the maximum is ${MAX_TIMEOUT_SECONDS} seconds (one day)` };

  let shard: Shard | undefined;
  if (values.shard !== undefined) {
    const result = parseShard(values.shard);
    if (typeof result === "string") return { error: result };
    shard = result;
  }

  if (values.filter !== undefined) {
    try {
      compilePattern(values.filter);
    } catch (error) {
      return { error: `invalid --filter '${values.filter}': ${(error as Error).message}` };
    }
  }

  const required = values.require ?? [];
  const backends = values.backend ?? [];
  const unknown = [...backends, ...required].find((name) => !name.startsWith("cmd:") && !BUILTIN_BACKEND_NAMES.includes(name));
  if (unknown !== undefined) {
    return { error: `unknown backend '${unknown}': use one of ${[...BUILTIN_BACKEND_NAMES, "cmd:PATH [ARGS]"].join(", ")}` };
  }
  return {
    backends: [...new Set([...backends, ...(backends.length > 0 ? required : [])])],
    suites: values.suite ?? [],
    required,
    list: values.list === true,
    batchSize,
    timeoutSeconds,
    ...(values.filter === undefined ? {} : { filter: values.filter }),
    ...(shard === undefined ? {} : { shard }),
    ...(values.vectors === undefined ? {} : { vectorsDir: values.vectors }),
    ...(values.known === undefined ? {} : { knownFile: values.known }),
    ...(values.json === undefined ? {} : { json: values.json }),
    ...(values.junit === undefined ? {} : { junit: values.junit }),
    ...(values.html === undefined ? {} : { html: values.html }),
  };
}

/** The largest --timeout, in seconds; batch deadlines multiply it, and timers clamp at about 24.8 days. */
const MAX_TIMEOUT_SECONDS = 86_400;

function parsePositive(text: string | undefined, option: string, fallback: number, integer: boolean): number | string {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    return `invalid ${option} '${text}': expected a positive ${integer ? "integer" : "number"}`;
  }
  return value;
}

let brokenPipeHandled = false;

/** Ends the process quietly when stdout's reader goes away (`run --list | head`). */
function exitOnBrokenPipe(): void {
  if (brokenPipeHandled) return;
  brokenPipeHandled = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
}

async function runRun(argv: readonly string[]): Promise<number> {
  exitOnBrokenPipe();
  const parsed = parseRunArguments(argv);
  if (parsed === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if ("error" in parsed) {
    process.stderr.write(`qmm-conformance run: ${parsed.error}\nRun 'qmm-conformance run --help' for the options.\n`);
    return 2;
  }

  if (parsed.list) return listCases(parsed);

  const extraKnown = parsed.knownFile === undefined ? {} : await readKnownFile(parsed.knownFile);
  if (typeof extraKnown === "string") {
    process.stderr.write(`qmm-conformance run: ${extraKnown}\n`);
    return 2;
  }

  // A report path that cannot take a file is found before the run, not after it.
  const unwritable = await checkReportPaths(parsed);
  if (unwritable !== undefined) {
    process.stderr.write(`qmm-conformance run: ${formatIssue(unwritable)}\n`);
    return 2;
  }

  const { backends, knownDivergences } = await selectBackends(parsed);
  for (const [name, entries] of Object.entries(extraKnown)) knownDivergences[name] = [...(knownDivergences[name] ?? []), ...entries];
  const pattern = parsed.filter === undefined ? null : compilePattern(parsed.filter);
  const shard = parsed.shard;
  const selected = (caseId: string) => (pattern === null || pattern.matches(caseId)) && (shard === undefined || inShard(caseId, shard));
  const narrowed = pattern !== null || shard !== undefined;
  const expectedCases = narrowed ? undefined : await countManifestCases(parsed.vectorsDir, parsed.suites);

  const options: RunOptions = {
    suites: parsed.suites,
    // A backend named with --backend is one the user wants to test, so its absence fails the run.
    required: parsed.backends.length > 0 ? parsed.backends : parsed.required,
    batchSize: parsed.batchSize,
    timeoutSeconds: parsed.timeoutSeconds,
    knownDivergences,
    progress: createProgress(process.stderr),
    ...(parsed.filter === undefined ? {} : { filter: parsed.filter }),
    ...(parsed.shard === undefined ? {} : { shard: parsed.shard }),
    ...(parsed.vectorsDir === undefined ? {} : { vectorsDir: parsed.vectorsDir }),
    ...(expectedCases === undefined ? {} : { expectedCases }),
  };

  let report: RunReport;
  try {
    const source = openCaseSource({
      suites: parsed.suites,
      ...(narrowed ? { filter: selected } : {}),
      ...(parsed.vectorsDir === undefined ? {} : { vectorsDir: parsed.vectorsDir }),
    });
    report = await runConformance(backends, source, options);
  } finally {
    await Promise.allSettled(backends.map((backend) => backend.close?.()));
  }

  process.stdout.write(renderConsole(report));
  if (report.selection.cases === 0) process.stderr.write(`qmm-conformance run: no case matched the selection (${describeSelection(parsed)}); see 'run --list'\n`);
  const written = await writeReports(parsed, report);
  return report.ok && written ? 0 : 1;
}

/** Describes the --suite, --filter and --shard options of a run, for the message when nothing matched. */
function describeSelection(parsed: RunArguments): string {
  const parts: string[] = [];
  if (parsed.suites.length > 0) parts.push(`--suite ${parsed.suites.join(",")}`);
  if (parsed.filter !== undefined) parts.push(`--filter '${parsed.filter}'`);
  if (parsed.shard !== undefined) parts.push(`--shard ${parsed.shard.index}/${parsed.shard.count}`);
  return parts.length > 0 ? parts.join(" ") : "every suite";
}

/**
 * Resolves the named backends. With none named, resolves the defaults and keeps those that probe
 * available plus any required ones, so that a missing default backend is no failure.
 */
async function selectBackends(parsed: RunArguments): Promise<{ backends: Backend[]; knownDivergences: Record<string, readonly KnownDivergence[]> }> {
  const names = parsed.backends.length > 0 ? parsed.backends : [...new Set([...DEFAULT_BACKENDS, ...parsed.required])];
  const backends: Backend[] = [];
  const knownDivergences: Record<string, readonly KnownDivergence[]> = {};

  for (const name of names) {
    const registered = await resolveBackend(name, { timeoutSeconds: parsed.timeoutSeconds });
    if (parsed.backends.length === 0 && !parsed.required.includes(name)) {
      const probe = await probeBackend(registered.backend);
      if (probe.kind !== "available") {
        process.stderr.write(`qmm-conformance run: skipping backend ${name}: ${probe.reason}\n`);
        await registered.backend.close?.();
        continue;
      }
    }
    backends.push(registered.backend);
    knownDivergences[registered.backend.name] = registered.knownDivergences;
  }
  return { backends, knownDivergences };
}

/** Prints `SUITE CASE_ID` per selected case, and every load failure on stderr; exits 1 on a load failure. */
async function listCases(parsed: RunArguments): Promise<number> {
  const pattern = parsed.filter === undefined ? null : compilePattern(parsed.filter);
  const selected = (caseId: string) => (pattern === null || pattern.matches(caseId)) && (parsed.shard === undefined || inShard(caseId, parsed.shard));
  let loadFailures = 0;

  for await (const item of openCaseSource({ suites: parsed.suites, filter: selected, ...(parsed.vectorsDir === undefined ? {} : { vectorsDir: parsed.vectorsDir }) })) {
    if ("kind" in item && item.kind === "load-failure") {
      loadFailures++;
      process.stderr.write(`qmm-conformance run: ${escapeControlCharacters(item.file)}: ${formatIssue(item.issue)}\n`);
      continue;
    }
    const golden = item as GoldenCase;
    if (selected(golden.id)) process.stdout.write(`${escapeControlCharacters(`${golden.suite} ${golden.id}`)}\n`);
  }
  return loadFailures > 0 ? 1 : 0;
}

const knownFileSchema = z.record(z.string(), z.array(z.strictObject({ pattern: z.string().min(1), reason: z.string().min(1) })));

/** Reads a known-divergence file, or returns an error message naming the problem. */
async function readKnownFile(path: string): Promise<Record<string, KnownDivergence[]> | string> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    return `cannot read --known file ${path}: ${(error as Error).message}`;
  }

  const parsed = knownFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `invalid --known file ${path} at ${issue.path.join(".") || "top level"}: ${issue.message}. Expected {"NAME": [{"pattern": "...", "reason": "..."}]}`;
  }

  for (const entries of Object.values(parsed.data)) {
    for (const entry of entries) {
      try {
        compilePattern(entry.pattern);
      } catch (error) {
        return `invalid pattern '${entry.pattern}' in --known file ${path}: ${(error as Error).message}`;
      }
    }
  }
  return parsed.data;
}

/** Lists the report files of a run: option, path and renderer. */
function reportOutputs(parsed: RunArguments): [string, string | undefined, (report: RunReport) => string][] {
  return [
    ["--json", parsed.json, renderJson],
    ["--junit", parsed.junit, renderJunit],
    ["--html", parsed.html, renderHtml],
  ];
}

/** Checks every report path; returns the first problem, or undefined when each can take a file. */
async function checkReportPaths(parsed: RunArguments): Promise<SpecIssue | undefined> {
  const inputs = parsed.knownFile === undefined ? [] : [parsed.knownFile];

  for (const [option, path] of reportOutputs(parsed)) {
    if (path === undefined) continue;
    try {
      await checkOutputFile(path, option, { inputs, createsFolder: true });
    } catch (error) {
      if (error instanceof QmmError) return error.issue;
      throw error;
    }
  }
  return undefined;
}

/** Writes the requested report files; returns false (after a message) when one cannot be written. */
async function writeReports(parsed: RunArguments, report: RunReport): Promise<boolean> {
  let ok = true;
  for (const [option, path, render] of reportOutputs(parsed)) {
    if (path === undefined) continue;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, render(report));
    } catch (error) {
      process.stderr.write(`qmm-conformance run: ${formatIssue(outputWriteError(option, path, error).issue)}\n`);
      ok = false;
    }
  }
  return ok;
}
