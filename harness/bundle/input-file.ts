/**
 * A call stored in a safetensors file, the format of the `reference` and `diff` commands: tensors
 * x, w, scales and (affine) biases, and the parameters as `__metadata__` strings.
 */
import { fail } from "../../spec/errors.ts";
import type { QmmInputs, QmmParamsInput, Tensor } from "../../spec/types.ts";
import { paramsFromMetadata } from "../cli/commands/reference.ts";
import { readSafetensors } from "../io/safetensors.ts";

const TENSOR_NAMES = ["x", "w", "scales", "biases"] as const;

/** A call read from a file, with the metadata kept for writing it back. */
export interface CallFile {
  readonly inputs: QmmInputs;
  readonly params: QmmParamsInput;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Reads a call file. A tensor other than x, w, scales and biases, or a missing x, w or scales, is
 * E_PARAM_INVALID naming the file and the tensor.
 */
export async function readCallFile(path: string): Promise<CallFile> {
  const file = await readSafetensors(path);
  for (const name of file.tensors.keys()) {
    if (!(TENSOR_NAMES as readonly string[]).includes(name)) {
      fail("E_PARAM_INVALID", `${path} contains a tensor '${name}'; expected only x, w, scales and biases`, { file: path, tensor: name }, ["file", path, name]);
    }
  }
  for (const name of ["x", "w", "scales"] as const) {
    if (!file.tensors.has(name)) {
      fail("E_PARAM_INVALID", `${path} has no tensor '${name}'; x, w and scales are required`, { file: path, tensor: name }, ["file", path, name]);
    }
  }

  const tensors = file.tensors;
  const inputs = { x: tensors.get("x")!, w: tensors.get("w")!, scales: tensors.get("scales")!, biases: tensors.get("biases") ?? null };
  return { inputs, params: paramsFromMetadata(file.metadata), metadata: file.metadata };
}

/**
 * Reads a backend's saved output: the tensor `y`, or the only tensor of a file that has one.
 * Anything else is E_PARAM_INVALID naming the tensors found.
 */
export async function readResultFile(path: string): Promise<Tensor> {
  const file = await readSafetensors(path);
  const y = file.tensors.get("y");
  if (y !== undefined) return y;
  if (file.tensors.size === 1) return [...file.tensors.values()][0];

  const names = [...file.tensors.keys()];
  fail("E_PARAM_INVALID", `${path} has no tensor 'y' and ${names.length} tensors, so the output is ambiguous`, { file: path, tensors: names }, ["file", path]);
}
