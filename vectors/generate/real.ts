/**
 * The `real` suite: weights of a trained model, quantized with the reference quantize, against
 * real activations of the same model. W (N×K) is used as is with transpose=true, and as Wᵀ
 * (K×N, quantized along N) with transpose=false. The source is vectors/real/minilm-l6-slices.safetensors,
 * derived from all-MiniLM-L6-v2 by vectors/real/extract_minilm.py (provenance in its metadata).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeSafetensors } from "../../harness/io/safetensors.ts";
import { tensorToNumbers } from "../../reference/tensor.ts";
import type { FloatDType, Mode, Tensor } from "../../spec/types.ts";
import type { GoldenCase } from "../case.ts";
import { paramsOf, valueCase } from "./build.ts";
import type { CaseConfig } from "./config.ts";
import { caseId, config, plainShape, shapeTags } from "./config.ts";
import { quantizeLogical } from "./quantized.ts";
import { xTensor } from "./values.ts";

/** Path of the committed source file of the real suite. */
export const REAL_SOURCE_PATH = fileURLToPath(new URL("../real/minilm-l6-slices.safetensors", import.meta.url));

/** The (weight, activation) pairs of the source file and the pattern name each gets in case IDs. */
const LAYERS = [
  { pattern: "minilm-l0-query", weight: "query.weight", input: "query.input" },
  { pattern: "minilm-l0-intermediate", weight: "intermediate.weight", input: "intermediate.input" },
  { pattern: "minilm-l0-output", weight: "output.weight", input: "output.input" },
] as const;

const QUANTIZATIONS: readonly [Mode, number, number][] = [
  ["affine", 4, 64],
  ["affine", 8, 32],
  ["mxfp4", 4, 32],
  ["mxfp8", 8, 32],
  ["nvfp4", 4, 16],
];

const DTYPES: readonly FloatDType[] = ["float32", "bfloat16"];

/** Quantizations also run with transpose=false on the transposed weight Wᵀ (K×N, quantized along N). */
const UNTRANSPOSED: readonly [Mode, number, number][] = [
  ["affine", 4, 64],
  ["nvfp4", 4, 16],
];

interface RealRecipe {
  readonly id: string;
  readonly cfg: CaseConfig;
  readonly layer: (typeof LAYERS)[number];
}

function realRecipes(tensors: ReadonlyMap<string, Tensor>): RealRecipe[] {
  const out: RealRecipe[] = [];
  for (const layer of LAYERS) {
    const [N, K] = tensors.get(layer.weight)!.shape;
    const [M] = tensors.get(layer.input)!.shape;
    for (const [mode, bits, groupSize] of QUANTIZATIONS) {
      for (const dtype of DTYPES) {
        const cfg = config(mode, bits, groupSize, dtype, true, plainShape(M, K, N));
        out.push({ id: caseId(cfg, layer.pattern), cfg, layer });
      }
    }
    for (const [mode, bits, groupSize] of UNTRANSPOSED) {
      for (const dtype of DTYPES) {
        const cfg = config(mode, bits, groupSize, dtype, false, plainShape(M, K, N));
        out.push({ id: caseId(cfg, layer.pattern), cfg, layer });
      }
    }
  }
  return out;
}

function readSource(): ReadonlyMap<string, Tensor> {
  const content = decodeSafetensors(readFileSync(REAL_SOURCE_PATH), REAL_SOURCE_PATH);
  for (const layer of LAYERS) {
    if (!content.tensors.has(layer.weight) || !content.tensors.has(layer.input)) {
      throw new Error(`${REAL_SOURCE_PATH} lacks ${layer.weight} or ${layer.input}; rebuild it with vectors/real/extract_minilm.py`);
    }
  }
  return content.tensors;
}

/** Builds the real suite. The weight is rounded to the case dtype, then quantized; x is the activation rounded to it. */
export function buildRealCases(filter?: (id: string) => boolean): GoldenCase[] {
  const tensors = readSource();

  return realRecipes(tensors)
    .filter((recipe) => filter === undefined || filter(recipe.id))
    .map(({ id, cfg, layer }) => {
      const weight = tensors.get(layer.weight)!;
      const values = cfg.transpose ? tensorToNumbers(weight) : transposed(tensorToNumbers(weight), weight.shape[0], weight.shape[1]);
      const weights = quantizeLogical(cfg, values);
      const x = xTensor(cfg, tensorToNumbers(tensors.get(layer.input)!));
      const inputs = weights.biases === undefined ? { x, w: weights.w, scales: weights.scales } : { x, ...weights };
      return valueCase(id, "real", [layer.pattern, "real-model", ...shapeTags(cfg)], paramsOf(cfg), inputs);
    });
}

/** Returns the transpose of a row-major rows×cols matrix. */
function transposed(values: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  }
  return out;
}

/** Lists the IDs of the real suite from the source file's shapes, without quantizing anything. */
export function realCaseIds(): string[] {
  return realRecipes(readSource()).map((recipe) => recipe.id);
}
