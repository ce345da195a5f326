/**
 * `qmm-conformance reference INPUT.safetensors --out OUTPUT.safetensors`: runs the exact reference
 * on the tensors of a safetensors file and writes the correctly rounded output `y`.
 */
import { parseArgs } from "node:util";
import { escapeControlCharacters, fail, formatIssue, QmmError } from "../../../spec/errors.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../../spec/types.ts";
import { checkOutputFile, outputWriteError } from "../../io/output-path.ts";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.ts";
import type { Command } from "../command.ts";

const TENSOR_NAMES = ["x", "w", "scales", "biases"] as const;

const HELP = `Usage: qmm-conformance reference INPUT.safetensors --out OUTPUT.safetensors

Computes y = quantized_matmul(x, w, scales, biases) with the exact reference: the exact sum
rounded once to the output dtype (SPEC.md §8), and writes y to OUTPUT.

INPUT holds the tensors x, w, scales and, in affine mode, biases (dtypes F32, F16, BF16 for
floats; U32 for w; U8 for fp-mode scales), and no other tensor. Its __metadata__ sets the
parameters, as strings:
  mode        affine, mxfp4, mxfp8 or nvfp4 (default affine)
  bits        integer; missing, "None" or "null" takes the mode's default
  group_size  integer; missing, "None" or "null" takes the mode's default
  transpose   true, false, 1 or 0, in any letter case (default true)

Options:
  -o, --out PATH  where to write the output file (tensor y in the output dtype, with the input's
                  __metadata__ copied); written atomically, so it never exists half-written.
                  It must not be INPUT itself, nor a link to it, nor a directory, and
                  its folder must exist
  -h, --help      show this text

Exit codes: 0 success; 2 invalid input or usage, with one line on stderr giving the error
code, the SPEC.md section and the offending values; 1 any other failure.
`;

/** The `reference` command. */
export const referenceCommand: Command = {
  name: "reference",
  summary: "compute the exact output for a safetensors input file",
  run: runReference,
};

async function runReference(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { out: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError((error as Error).message);
  }

  if (parsed.values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }

  const [input, ...extra] = parsed.positionals;
  if (input === undefined) return usageError("missing INPUT.safetensors");
  if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);

  const out = parsed.values.out;
  if (out === undefined) return usageError("missing --out OUTPUT.safetensors");

  try {
    await computeReference(input, out);
    return 0;
  } catch (error) {
    if (error instanceof QmmError) {
      // A value taken from the file (a header excerpt, a tensor name) may hold a line break, and the
      // contract is one line per error.
      process.stderr.write(`${oneLine(formatIssue(error.issue))}\n`);
      return 2;
    }
    process.stderr.write(`qmm-conformance reference: failed: ${oneLine((error as Error).message)}\n`);
    return 1;
  }
}

async function computeReference(input: string, out: string): Promise<void> {
  await checkOutputFile(out, "--out", { inputs: [input] });

  const file = await readSafetensors(input);
  const inputs = inputsFromTensors(file.tensors, input);
  const params = paramsFromMetadata(file.metadata);

  // quantizedMatmul validates the call first (SPEC.md §9.1), so invalid input never reaches the arithmetic.
  const { quantizedMatmul } = await import("../../../reference/matmul.ts");
  const result = quantizedMatmul(inputs, params);

  try {
    await writeSafetensors(out, { y: result.y }, file.metadata);
  } catch (error) {
    throw outputWriteError("--out", out, error);
  }
}

/** Picks x, w, scales and biases out of the file, rejecting any other tensor name. */
function inputsFromTensors(tensors: ReadonlyMap<string, Tensor>, fileName: string): QmmInputs {
  for (const name of tensors.keys()) {
    if (!(TENSOR_NAMES as readonly string[]).includes(name)) {
      fail("E_PARAM_INVALID", `${fileName} holds a tensor '${name}'; expected only x, w, scales and biases`, { file: fileName, tensor: name }, ["file", fileName, name]);
    }
  }

  for (const name of ["x", "w", "scales"] as const) {
    if (!tensors.has(name)) {
      fail("E_PARAM_INVALID", `${fileName} has no tensor '${name}'; x, w and scales are required`, { file: fileName, tensor: name }, ["file", fileName, name]);
    }
  }

  return { x: tensors.get("x")!, w: tensors.get("w")!, scales: tensors.get("scales")!, biases: tensors.get("biases") ?? null };
}

/** Reads mode, bits, group_size and transpose from string metadata; a missing key takes the default. */
export function paramsFromMetadata(metadata: Readonly<Record<string, string>>): QmmParamsInput {
  const params: { mode?: string; transpose?: boolean; groupSize?: number | null; bits?: number | null } = {};

  if (metadata.mode !== undefined) params.mode = metadata.mode;
  if (metadata.bits !== undefined) params.bits = parseOptionalInteger("bits", metadata.bits);
  if (metadata.group_size !== undefined) params.groupSize = parseOptionalInteger("group_size", metadata.group_size);
  if (metadata.transpose !== undefined) params.transpose = parseBoolean("transpose", metadata.transpose);

  return params;
}

function parseOptionalInteger(key: string, text: string): number | null {
  if (text === "None" || text === "null") return null;
  if (!/^-?[0-9]+$/.test(text)) {
    fail("E_PARAM_INVALID", `metadata ${key} must be an integer, "None" or "null", got '${text}'`, { key, value: text }, ["metadata", key]);
  }
  return Number(text);
}

function parseBoolean(key: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === "true" || lower === "1") return true;
  if (lower === "false" || lower === "0") return false;
  fail("E_PARAM_INVALID", `metadata ${key} must be true, false, 1 or 0, got '${text}'`, { key, value: text }, ["metadata", key]);
}

/** Escapes line breaks and every other control character, so an error is one line that cannot drive the terminal. */
function oneLine(text: string): string {
  return escapeControlCharacters(text);
}

function usageError(message: string): number {
  process.stderr.write(`qmm-conformance reference: ${message}. Run 'qmm-conformance reference --help' for usage.\n`);
  return 2;
}
