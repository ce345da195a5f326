/**
 * `qmm-conformance vectors generate|verify|coverage|list|show`: maintains the golden vectors
 * (spec/FILES.md §14), shows what they cover, and prints or exports one case.
 */
import { parseArgs } from "node:util";
import { QmmError, escapeControlCharacters, formatIssue } from "../../../spec/errors.ts";
import { FLOAT_DTYPES, MODES, MODE_RULES } from "../../../spec/types.ts";
import { coverageReport } from "../../../vectors/generate/coverage.ts";
import type { CoverageReport, CoverageRow } from "../../../vectors/generate/coverage.ts";
import { VECTOR_FILES } from "../../../vectors/generate/files.ts";
import { generateVectors, verifyVectors } from "../../../vectors/store/generate.ts";
import { compilePattern } from "../../run/select.ts";
import { checkOutputFile, outputWriteError } from "../../io/output-path.ts";
import { writeSafetensors } from "../../io/safetensors.ts";
import { tensorToNumbers } from "../../../reference/tensor.ts";
import type { Tensor } from "../../../spec/types.ts";
import type { GoldenCase } from "../../../vectors/case.ts";
import { isLoadFailure, loadSuites } from "../../../vectors/load.ts";
import type { Command } from "../command.ts";

const HELP = `Usage: qmm-conformance vectors SUBCOMMAND [OPTIONS]

Subcommands:
  generate [--file NAME]...  rebuild the vector files (all, or each NAME) into vectors/.cache/
                             and rewrite vectors/manifest.json with their SHA-256 and the
                             generator's; entries of files not rebuilt are kept
  verify                     rebuild every file in memory and compare with the manifest;
                             exit 1 when a generator source, a regenerated file or a cached
                             file differs, naming the file and both hashes
  coverage [--json]          print the coverage tables (mode × bits × group × dtype ×
                             transpose, shape classes, value patterns, error codes) with gaps
                             marked; exit 1 when there is a gap
  list [--filter PATTERN] [--suite NAME]
                             print the case IDs, without building data. PATTERN is a glob over
                             the '/'-separated ID ('*' one segment, '**' any) or /regex/
  show ID [--elements N] [--export FILE]
                             print one case: parameters, input tensors, and the first N
                             (default 8) expected outputs with their exact value and condition
                             data. --export writes x, w, scales, biases and the parameters as
                             a safetensors file that 'qmm-conformance reference' reads

Options:
  --dir PATH   vectors folder holding manifest.json and .cache/ (default: the repository's vectors/)
  -h, --help   show this text
`;

/** The `vectors` command. */
export const vectorsCommand: Command = {
  name: "vectors",
  summary: "generate, verify, list, show and report the coverage of the golden vectors",
  run: runVectors,
};

async function runVectors(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        dir: { type: "string" },
        file: { type: "string", multiple: true },
        filter: { type: "string" },
        suite: { type: "string", multiple: true },
        json: { type: "boolean" },
        elements: { type: "string" },
        export: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError((error as Error).message);
  }

  const [subcommand, ...extra] = parsed.positionals;
  if (parsed.values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (subcommand === "show") {
    if (extra.length !== 1) return usageError("show needs exactly one case ID");
    const elements = parsed.values.elements === undefined ? 8 : Number(parsed.values.elements);
    if (!Number.isInteger(elements) || elements < 0) return usageError(`--elements must be a non-negative integer, got '${parsed.values.elements}'`);
    return show(extra[0], parsed.values.dir, elements, parsed.values.export);
  }
  if (extra.length > 0) return usageError(`unexpected arguments: ${extra.join(" ")}`);

  const dir = parsed.values.dir;
  const names = new Set(VECTOR_FILES.map((file) => file.name));
  const unknownFile = (parsed.values.file ?? []).find((name) => !names.has(name));
  if (unknownFile !== undefined) return usageError(`unknown vector file '${unknownFile}'; known files: ${[...names].join(", ")}`);
  if (parsed.values.filter !== undefined) {
    try {
      compilePattern(parsed.values.filter);
    } catch (error) {
      return usageError(`invalid --filter '${parsed.values.filter}': ${(error as Error).message}`);
    }
  }

  try {
    switch (subcommand) {
      case "generate":
        return await generate(dir, parsed.values.file);
      case "verify":
        return await verify(dir);
      case "coverage":
        return coverage(parsed.values.json === true);
      case "list":
        return list(parsed.values.filter, parsed.values.suite);
      case undefined:
        return usageError("missing SUBCOMMAND");
      default:
        return usageError(`unknown subcommand '${subcommand}'`);
    }
  } catch (error) {
    if (error instanceof QmmError) {
      process.stderr.write(`qmm-conformance vectors: ${formatIssue(error.issue)}\n`);
      return 1;
    }
    throw error;
  }
}

function usageError(message: string): number {
  process.stderr.write(`qmm-conformance vectors: ${message}. Run 'qmm-conformance vectors --help' for usage.\n`);
  return 2;
}

async function generate(dir: string | undefined, files: string[] | undefined): Promise<number> {
  const started = performance.now();
  const manifest = await generateVectors({
    ...(dir === undefined ? {} : { dir }),
    ...(files === undefined ? {} : { files }),
    onFile: ({ entry, seconds }) => {
      process.stdout.write(`${entry.name.padEnd(26)} ${String(entry.cases).padStart(4)} cases ${formatBytes(entry.bytes).padStart(9)} ${seconds.toFixed(2).padStart(6)} s  ${entry.sha256}\n`);
    },
  });

  const cases = manifest.files.reduce((sum, entry) => sum + entry.cases, 0);
  const bytes = manifest.files.reduce((sum, entry) => sum + entry.bytes, 0);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${manifest.files.length} files, ${cases} cases, ${formatBytes(bytes)} in ${seconds.toFixed(1)} s; manifest written (generator ${manifest.generator.sha256})\n`);
  return 0;
}

async function verify(dir: string | undefined): Promise<number> {
  const problems = await verifyVectors({
    ...(dir === undefined ? {} : { dir }),
    onFile: (name, seconds) => process.stdout.write(`regenerated ${name} in ${seconds.toFixed(2)} s\n`),
  });

  if (problems.length === 0) {
    process.stdout.write("OK: every generator source, regenerated file and cached file matches the manifest\n");
    return 0;
  }

  for (const problem of problems) {
    const hashes = problem.expected === undefined && problem.actual === undefined ? "" : ` (manifest ${problem.expected ?? "none"}, actual ${problem.actual ?? "none"})`;
    process.stdout.write(`${problem.kind.toUpperCase()} ${problem.file}: ${problem.detail}${hashes}\n`);
    const changes = problem.cases ?? [];
    for (const change of changes.slice(0, 20)) process.stdout.write(`  ${change.id}: ${change.parts.join(", ")}\n`);
    if (changes.length > 20) process.stdout.write(`  ... and ${changes.length - 20} more\n`);
  }
  process.stdout.write(`${problems.length} problem(s). If the change is intended, run 'qmm-conformance vectors generate' and commit vectors/manifest.json.\n`);
  return 1;
}

function coverage(json: boolean): number {
  const report = coverageReport();
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.gaps === 0 ? 0 : 1;
  }

  process.stdout.write(renderCoverage(report));
  return report.gaps === 0 ? 0 : 1;
}

/** Renders the coverage report as plain-text tables, with `GAP` where a required item has no case. */
export function renderCoverage(report: CoverageReport): string {
  const lines: string[] = [];
  const counts = Object.entries(report.caseCounts).map(([suite, n]) => `${suite} ${n}`);
  lines.push(`Cases: ${counts.join(", ")}`, "");

  const columns = FLOAT_DTYPES.flatMap((dtype) => [`${dtype}/t`, `${dtype}/n`]);
  lines.push("Configurations (generated + exact suites): cases per dtype/transpose", `${"mode/bits/group".padEnd(18)}${columns.map((c) => c.padStart(11)).join("")}`);
  const byKey = new Map(report.configs.map((row) => [row.key, row]));
  for (const mode of MODES) {
    for (const bits of MODE_RULES[mode].bits) {
      for (const groupSize of MODE_RULES[mode].groupSizes) {
        const cells = FLOAT_DTYPES.flatMap((dtype) => [true, false].map((t) => byKey.get(`${mode}/b${bits}/g${groupSize}/${dtype}/${t ? "t" : "n"}`)!));
        lines.push(`${`${mode}/b${bits}/g${groupSize}`.padEnd(18)}${cells.map((row) => (row.gap ? "GAP" : String(row.count)).padStart(11)).join("")}`);
      }
    }
  }

  lines.push("", "Shape classes", ...rows(report.shapeClasses));
  lines.push("", "Value patterns × mode (n/a: the pattern does not apply)", ...rows(report.patterns, true));
  lines.push("", "Error codes (errors suite)", ...rows(report.errorCodes));
  lines.push("", report.gaps === 0 ? "No gaps." : `${report.gaps} gap(s): add cases in vectors/generate/recipes.ts or errors.ts.`, "");
  return lines.join("\n");
}

function rows(list: readonly CoverageRow[], zeroIsNotApplicable = false): string[] {
  const width = Math.max(...list.map((row) => row.key.length));
  return list.map((row) => `  ${row.key.padEnd(width)}  ${row.gap ? "GAP" : row.count === 0 && zeroIsNotApplicable ? "n/a" : String(row.count)}`);
}

function list(filter: string | undefined, suites: string[] | undefined): number {
  const pattern = filter === undefined ? undefined : compilePattern(filter);
  const known = new Set(VECTOR_FILES.map((file) => file.suite));
  for (const suite of suites ?? []) {
    if (!known.has(suite)) return usageError(`unknown suite '${suite}'; known suites: ${[...known].join(", ")}`);
  }

  let listed = 0;
  for (const file of VECTOR_FILES) {
    if (suites !== undefined && !suites.includes(file.suite)) continue;
    for (const id of file.ids()) {
      if (pattern !== undefined && !pattern.matches(id)) continue;
      process.stdout.write(`${file.suite.padEnd(10)} ${id}\n`);
      listed++;
    }
  }
  process.stderr.write(`${listed} case(s)\n`);
  return 0;
}

async function show(id: string, dir: string | undefined, elements: number, exportPath: string | undefined): Promise<number> {
  if (exportPath !== undefined) {
    try {
      await checkOutputFile(exportPath, "--export");
    } catch (error) {
      if (!(error instanceof QmmError)) throw error;
      process.stderr.write(`qmm-conformance vectors: ${formatIssue(error.issue)}\n`);
      return 2;
    }
  }

  let found: GoldenCase | undefined;
  for await (const item of loadSuites({ ...(dir === undefined ? {} : { dir }), filter: (candidate) => candidate === id })) {
    if (isLoadFailure(item)) {
      process.stderr.write(`qmm-conformance vectors: ${formatIssue(item.issue)}\n`);
      continue;
    }
    found = item;
  }
  if (found === undefined) {
    process.stderr.write(`qmm-conformance vectors: no case '${escapeControlCharacters(id)}'. Run 'qmm-conformance vectors list --filter PATTERN' to find IDs.\n`);
    return 1;
  }

  process.stdout.write(renderCase(found, elements));
  if (exportPath !== undefined) {
    try {
      await writeSafetensors(exportPath, tensorsOf(found), metadataOf(found));
    } catch (error) {
      process.stderr.write(`qmm-conformance vectors: ${formatIssue(outputWriteError("--export", exportPath, error).issue)}\n`);
      return 1;
    }
    process.stdout.write(`wrote ${exportPath}\n`);
  }
  return 0;
}

/**
 * Renders a case as text: parameters, tensors with their first values, and the expectation. The
 * ID, suite, tags and parameters come from the file, so their control characters are escaped.
 */
export function renderCase(golden: GoldenCase, elements: number): string {
  const lines = [
    `id        ${escapeControlCharacters(golden.id)}`,
    `suite     ${escapeControlCharacters(golden.suite)}${golden.exactTier === true ? " (exact tier: bit equality required)" : ""}`,
    `tags      ${escapeControlCharacters(golden.tags.join(", "))}`,
    `params    ${escapeControlCharacters(JSON.stringify(golden.params))}`,
  ];

  for (const [name, tensor] of Object.entries(tensorsOf(golden))) {
    lines.push(`${name.padEnd(9)} ${tensor.dtype} [${tensor.shape.join(",")}]  ${firstValues(tensor, elements)}`);
  }

  const expected = golden.expected;
  if (expected.kind === "error") {
    lines.push(`expected  error ${expected.code}`, "");
    return lines.join("\n");
  }

  const y = tensorToNumbers(expected.y);
  const condition = expected.condition;
  lines.push(`expected  y ${expected.y.dtype} [${expected.y.shape.join(",")}], K ${condition.reductionLength}, ${condition.groupCount} groups along K`);
  lines.push(`  ${"index".padStart(7)}  ${"y".padStart(24)}  ${"exact (float64)".padStart(24)}  ${"absSum".padStart(12)}  ${"dequantAbsSum".padStart(13)}  ${"xAbsSum".padStart(12)}`);
  for (let index = 0; index < Math.min(elements, y.length); index++) {
    const cells = [y[index], expected.exact[index]].map((v) => String(v).padStart(24));
    const sums = [condition.absSum[index], condition.dequantAbsSum[index], condition.xAbsSum[index]].map((v) => v.toPrecision(6).padStart(12));
    lines.push(`  ${String(index).padStart(7)}  ${cells.join("  ")}  ${sums[0]}  ${sums[1].padStart(13)}  ${sums[2]}`);
  }
  if (y.length > elements) lines.push(`  ... ${y.length - elements} more`);
  lines.push("");
  return lines.join("\n");
}

function tensorsOf(golden: GoldenCase): Record<string, Tensor> {
  const { x, w, scales, biases } = golden.inputs;
  return biases === undefined || biases === null ? { x, w, scales } : { x, w, scales, biases };
}

function firstValues(tensor: Tensor, count: number): string {
  const shown = Array.from(tensor.data.subarray(0, count) as ArrayLike<number>, (value) => (tensor.dtype === "uint32" ? `0x${value.toString(16).padStart(8, "0")}` : String(value)));
  const values = tensor.dtype === "float16" || tensor.dtype === "bfloat16" ? Array.from(tensorToNumbers({ ...tensor, shape: [shown.length], data: tensor.data.subarray(0, count) }), String) : shown;
  return `${values.join(" ")}${tensor.data.length > count ? " ..." : ""}`;
}

/** The parameters as the string metadata 'qmm-conformance reference' reads, plus the case ID. */
function metadataOf(golden: GoldenCase): Record<string, string> {
  const params = golden.params as Record<string, unknown>;
  const metadata: Record<string, string> = { case_id: golden.id };
  if (params.mode !== undefined) metadata.mode = String(params.mode);
  if (params.bits !== undefined) metadata.bits = params.bits === null ? "None" : String(params.bits);
  if (params.groupSize !== undefined) metadata.group_size = params.groupSize === null ? "None" : String(params.groupSize);
  if (params.transpose !== undefined) metadata.transpose = String(params.transpose);
  return metadata;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}
