/**
 * Shared set-up of the MLX tests: the backend (or the reason it cannot run), seeded random data,
 * and MLX-quantized weights obtained through the worker's `quantize` extension.
 */
import { tensorFromNumbers } from "../../../reference/tensor.ts";
import type { FloatDType, Mode, Tensor } from "../../../spec/types.ts";
import { checkMlxEnvironment, SETUP_COMMAND } from "../environment.ts";
import { createMlxBackend } from "../index.ts";
import type { MlxBackend } from "../index.ts";

/**
 * Starts the MLX backend for a test file. Throws when MLX is not set up, because CI installs it
 * from the project's own files and a silent skip would hide that. Set QMM_SKIP_MLX_TESTS=1 to skip
 * on a machine without the Python package index.
 */
export async function startMlx(): Promise<MlxBackend> {
  const environment = checkMlxEnvironment();
  if (environment.kind === "missing") throw new Error(`${environment.reason}. Run '${SETUP_COMMAND}' (or set QMM_SKIP_MLX_TESTS=1).`);

  const backend = createMlxBackend({ timeoutSeconds: 120 });
  const probe = await backend.probe();
  if (probe.kind === "unavailable") throw new Error(`the MLX backend is unavailable: ${probe.reason}`);
  return backend;
}

/** Whether the MLX tests are skipped on purpose. */
export const SKIP_MLX = process.env.QMM_SKIP_MLX_TESTS === "1";

/** A seeded generator of floats with an approximately normal distribution (mulberry32 + Box–Muller). */
export function normalSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Builds a tensor of `dtype` with normal values times `scale`. */
export function randomTensor(dtype: FloatDType, shape: readonly number[], next: () => number, scale = 1): Tensor {
  const count = shape.reduce((product, size) => product * size, 1);
  return tensorFromNumbers(dtype, shape, Float64Array.from({ length: count }, () => next() * scale));
}

/** The packed weight, scales and biases MLX's quantize produces for `w`. */
export interface QuantizedWeight {
  readonly w: Tensor;
  readonly scales: Tensor;
  readonly biases?: Tensor;
}

/** Quantizes `w` with mx.quantize through the worker. */
export async function mlxQuantize(backend: MlxBackend, w: Tensor, mode: Mode, groupSize: number, bits: number): Promise<QuantizedWeight> {
  const outcome = await backend.extension("quantize", { mode, group_size: groupSize, bits }, { w });
  if (outcome.kind !== "ok") throw new Error(`mx.quantize failed: ${outcome.message}`);
  return { w: outcome.tensors.w, scales: outcome.tensors.scales, biases: outcome.tensors.biases };
}
