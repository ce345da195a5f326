/**
 * `qmm-conformance diff INPUT.safetensors (--backend NAME | --against RESULT.safetensors)`: shows
 * where and by how much a backend's output for the user's own tensors differs from the exact
 * result, judged with the budget of a numerics variant, and can export the case as a bundle.
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { escapeControlCharacters, formatIssue, QmmError } from "../../../spec/errors.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../../spec/types.ts";
import { VARIANTS, variantByName } from "../../../spec/variants.ts";
import type { NumericsVariant } from "../../../spec/variants.ts";
import type { CallOutcome } from "../../backend.ts";
import { diffCall, planCallBudget } from "../../bundle/diff-call.ts";
import type { CallDiff } from "../../bundle/diff-call.ts";
import { readCallFile, readResultFile } from "../../bundle/input-file.ts";
import { writeBundle } from "../../bundle/write.ts";
import { checkEmptyFolder, outputWriteError } from "../../io/output-path.ts";
import type { BundleContent } from "../../bundle/write.ts";
import { formatNumber, renderFailure } from "../../diagnose/render.ts";
import { resolveBackend } from "../../registry.ts";
import type { Command } from "../command.ts";

/** The variant `--against` uses when neither the backend nor `--variant` names one. */
const DEFAULT_AGAINST_VARIANT = "sequential/compute";

const HELP = `Usage: qmm-conformance diff INPUT.safetensors --backend NAME [options]
       qmm-conformance diff INPUT.safetensors --against RESULT.safetensors [options]

Computes the exact result for the tensors in INPUT (the format of 'qmm-conformance reference':
x, w, scales, biases; __metadata__ mode, bits, group_size, transpose) and compares it, element by
element, with a backend's output. Prints the worst element with its neighbours, the first
elements outside the budget, and the pattern they form.

Options:
  -b, --backend NAME    run the input on a backend: reference, js, native, mlx or cmd:PATH [ARGS]
  -a, --against PATH    compare with the tensor 'y' (or the only tensor) of a saved output file
      --variant NAME    judge with this numerics variant (${Object.keys(VARIANTS).join(", ")});
                        default: the backend's declared variant, or ${DEFAULT_AGAINST_VARIANT} with --against
      --bundle DIR      write a self-contained bundle of the case to DIR: input, exact output and
                        budgets, the output under test, README and an MLX reproduction script.
                        DIR must be empty or missing (it is created)
      --timeout SEC     seconds a worker backend may take before it is killed (default 120)
  -h, --help            show this text

Exit codes: 0 every element within the budget; 1 elements outside it, a shape or dtype
mismatch, or a backend that failed; 2 invalid input or usage.
`;

/** The `diff` command. */
export const diffCommand: Command = {
  name: "diff",
  summary: "compare a backend's output for your own tensors with the exact result",
  run: runDiff,
};

interface DiffOptions {
  readonly input: string;
  readonly backend?: string;
  readonly against?: string;
  readonly variant?: string;
  readonly bundle?: string;
  readonly timeoutSeconds: number;
}

async function runDiff(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  if (typeof options === "number") return options;

  try {
    return await diff(options);
  } catch (error) {
    if (error instanceof QmmError) {
      process.stderr.write(`${formatIssue(error.issue)}\n`);
      return 2;
    }
    process.stderr.write(`qmm-conformance diff: failed: ${escapeControlCharacters((error as Error).message)}\n`);
    return 1;
  }
}

function parseOptions(argv: readonly string[]): DiffOptions | number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        backend: { type: "string", short: "b" },
        against: { type: "string", short: "a" },
        variant: { type: "string" },
        bundle: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError((error as Error).message);
  }

  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }

  const [input, ...extra] = positionals;
  if (input === undefined) return usageError("missing INPUT.safetensors");
  if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
  if ((values.backend === undefined) === (values.against === undefined)) return usageError("give exactly one of --backend NAME and --against RESULT.safetensors");
  if (values.variant !== undefined && variantByName(values.variant) === undefined) {
    return usageError(`unknown variant '${values.variant}'; known variants: ${Object.keys(VARIANTS).join(", ")}`);
  }

  const timeoutSeconds = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) return usageError(`--timeout must be a positive number of seconds, got '${values.timeout}'`);

  return { input, backend: values.backend, against: values.against, variant: values.variant, bundle: values.bundle, timeoutSeconds };
}

async function diff(options: DiffOptions): Promise<number> {
  // The folder is checked again when the bundle is written; checking it first avoids running a
  // backend for a bundle that cannot be written.
  if (options.bundle !== undefined) await checkEmptyFolder(options.bundle, "--bundle");

  const call = await readCallFile(options.input);
  const caseId = `diff/${basename(options.input)}`;

  const { quantizedMatmul } = await import("../../../reference/matmul.ts");
  let exact;
  try {
    exact = quantizedMatmul(call.inputs, call.params);
  } catch (error) {
    if (!(error instanceof QmmError)) throw error;
    process.stdout.write(`The input is invalid, so there is no exact result:\n  ${formatIssue(error.issue)}\n`);
    if (options.backend !== undefined) {
      const produced = await runOnBackend(options.backend, caseId, call.inputs, call.params, options.timeoutSeconds);
      if (typeof produced !== "number") process.stdout.write(`Backend ${options.backend} returned: ${describeOutcome(produced.outcome)}\n`);
    }
    return 2;
  }

  let got: Tensor | undefined;
  let declared: NumericsVariant | undefined;
  let failedOutcome: string | undefined;
  let source: string;
  if (options.backend !== undefined) {
    const produced = await runOnBackend(options.backend, caseId, call.inputs, call.params, options.timeoutSeconds);
    if (typeof produced === "number") return produced;
    declared = produced.variant;
    source = `backend ${options.backend}`;
    if (produced.outcome.kind === "ok") got = produced.outcome.y;
    else failedOutcome = describeOutcome(produced.outcome);
  } else {
    got = await readResultFile(options.against!);
    source = `file ${options.against}`;
  }

  const variant = options.variant !== undefined ? variantByName(options.variant)! : (declared ?? variantByName(DEFAULT_AGAINST_VARIANT)!);
  const bundle = { caseId, inputs: call.inputs, metadata: call.metadata, source, variant, exact };

  if (got === undefined) {
    process.stdout.write(`Backend ${options.backend} did not produce an output: ${failedOutcome}\n`);
    await writeBundleIfAsked(options, bundle, { outcome: failedOutcome });
    return 1;
  }

  const result = diffCall(caseId, call.inputs, call.params, exact, got, variant);
  process.stdout.write(renderDiff(options, source, variant, result));
  if (result.kind === "unmodelled") return 2;

  if (result.kind === "mismatch") {
    await writeBundleIfAsked(options, bundle, { got, outcome: `the output ${result.what} is ${result.actual}, expected ${result.expected}` });
    return 1;
  }

  await writeBundleIfAsked(options, bundle, { got, diff: result });
  return result.comparison.failedIndices.length === 0 ? 0 : 1;
}

/** Writes the case bundle when --bundle was given and the variant has a budget model. */
async function writeBundleIfAsked(
  options: DiffOptions,
  base: Omit<BundleContent, "plan" | "got" | "diff" | "outcome">,
  result: Pick<BundleContent, "got" | "diff" | "outcome">,
): Promise<void> {
  if (options.bundle === undefined) return;

  const plan = result.diff?.plan ?? planCallBudget(base.inputs, paramsOf(base), base.exact, base.variant);
  if (plan.kind === "unmodelled") {
    process.stdout.write(`No bundle written: variant ${base.variant.name} has no budget model (${plan.reason}).\n`);
    return;
  }

  let files: string[];
  try {
    files = await writeBundle(options.bundle, { ...base, ...result, plan });
  } catch (error) {
    throw outputWriteError("--bundle", options.bundle, error);
  }
  process.stdout.write(`\nBundle written to ${options.bundle}: ${files.join(", ")}\n`);
}

function paramsOf(base: Pick<BundleContent, "exact">): QmmParamsInput {
  return base.exact.call.params;
}

/** Runs the call on a backend; returns an exit code when the backend cannot run. */
async function runOnBackend(
  name: string,
  caseId: string,
  inputs: QmmInputs,
  params: QmmParamsInput,
  timeoutSeconds: number,
): Promise<{ outcome: CallOutcome; variant: NumericsVariant } | number> {
  const { backend } = await resolveBackend(name, { timeoutSeconds });
  try {
    const probe = await backend.probe();
    if (probe.kind === "unavailable") {
      const fix = probe.fix === undefined ? "" : `\n  To fix: ${probe.fix}`;
      process.stderr.write(`qmm-conformance diff: backend ${name} is unavailable: ${probe.reason}${fix}\n`);
      return 2;
    }

    const [outcome] = await backend.run([{ caseId, inputs, params }]);
    return { outcome, variant: probe.variant };
  } finally {
    await backend.close?.();
  }
}

function describeOutcome(outcome: CallOutcome): string {
  switch (outcome.kind) {
    case "ok":
      return `an output of dtype ${outcome.y.dtype} and shape [${outcome.y.shape.join(", ")}]`;
    case "error":
      return `error ${outcome.code}: ${outcome.message}`;
    case "unsupported":
      return `unsupported: ${outcome.reason}`;
    case "crashed":
      return `crashed: ${outcome.message}${outcome.stderrTail === "" ? "" : `\n  stderr (last lines):\n${indent(outcome.stderrTail)}`}`;
    case "timeout":
      return `timed out after ${outcome.seconds} s${outcome.stderrTail === "" ? "" : `\n  stderr (last lines):\n${indent(outcome.stderrTail)}`}`;
  }
}

function renderDiff(options: DiffOptions, source: string, variant: NumericsVariant, result: CallDiff): string {
  const { call } = result.exact;
  const lines = [
    `Input:   ${options.input} (mode ${call.params.mode}, bits ${call.params.bits}, group_size ${call.params.groupSize}, transpose ${call.params.transpose})`,
    `Output:  ${call.outDType} [${result.exact.y.shape.join(", ")}], M ${call.M}, K ${call.K}, N ${call.N}`,
    `Compared ${source} with the exact result, budget of variant ${variant.name}.`,
  ];

  if (result.kind === "unmodelled") {
    lines.push(`The variant has no budget model: ${result.reason}`, "Hint: pass --variant with a registered variant.");
    return `${lines.join("\n")}\n`;
  }
  if (result.kind === "mismatch") {
    lines.push(`The output ${result.what} differs: expected ${result.expected}, got ${result.actual}.`);
    return `${lines.join("\n")}\n`;
  }

  const { comparison } = result;
  const worst = comparison.worst;
  const worstText = worst === null ? "" : ` Worst error/budget ${formatNumber(worst.ratio)} at flat index ${worst.index} (${Number.isNaN(worst.errorUlps) ? "non-finite" : `${worst.errorUlps.toPrecision(3)} ulp`}).`;
  if (comparison.failedIndices.length === 0 && comparison.vacuousCount > 0) {
    lines.push(
      `INCONCLUSIVE: all ${comparison.elementCount} elements are within the budget, but ${comparison.vacuousCount} of them have a budget of at least Σ|x·ŵ|, where an output of 0 would pass too: the variant is too loose to judge them (spec/NUMERICS.md §2).${worstText}`,
    );
    lines.push(renderFailure({ ...result.located, pattern: null }, false).split("\n").slice(1).join("\n"));
  } else if (comparison.failedIndices.length === 0) {
    lines.push(`PASS: all ${comparison.elementCount} elements are within the budget.${worstText}`);
    // Without failures there is no pattern to name; the table of the worst element still helps.
    lines.push(renderFailure({ ...result.located, pattern: null }, false).split("\n").slice(1).join("\n"));
  } else {
    lines.push(`FAIL:${worstText}`, renderFailure(result.located));
    if (options.bundle === undefined) lines.push(`Hint: add --bundle DIR to export this case with an MLX reproduction script.`);
  }
  return `${lines.join("\n")}\n`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}

function usageError(message: string): number {
  process.stderr.write(`qmm-conformance diff: ${message}. Run 'qmm-conformance diff --help' for usage.\n`);
  return 2;
}
