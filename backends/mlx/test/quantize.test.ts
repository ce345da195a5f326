/**
 * Cross-checks of the reference quantizer and dequantizer (SPEC.md §12, §4) against real MLX:
 * mx.quantize must equal the reference quantize bit for bit on real model weights, random data and
 * edge-case groups, and mx.dequantize must agree with the reference dequantize.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSafetensors } from "../../../harness/io/safetensors.ts";
import { floatValues } from "../../../harness/budget/values.ts";
import { dequantize } from "../../../reference/dequantize.ts";
import { quantize } from "../../../reference/quantize.ts";
import { roundToDType } from "../../../reference/formats/float.ts";
import { unpackCodes } from "../../../reference/pack.ts";
import { tensorFromNumbers, tensorToNumbers } from "../../../reference/tensor.ts";
import { MODES, MODE_RULES } from "../../../spec/types.ts";
import type { FloatDType, Mode, Tensor } from "../../../spec/types.ts";
import type { MlxBackend } from "../index.ts";
import { mlxQuantize, normalSource, SKIP_MLX, startMlx } from "./support.ts";

const MINILM = fileURLToPath(new URL("../../../vectors/real/minilm-l6-slices.safetensors", import.meta.url));
const DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

interface WeightSample {
  readonly name: string;
  readonly values: Float64Array;
  readonly rows: number;
  readonly columns: number;
}

/** Weight matrices to quantize: two MiniLM slices, random normals at three scales, and edge-case rows. */
async function weightSamples(): Promise<WeightSample[]> {
  const file = await readSafetensors(MINILM);
  const samples: WeightSample[] = [];
  for (const name of ["query.weight", "intermediate.weight"]) {
    const tensor = file.tensors.get(name)!;
    samples.push({ name: `minilm ${name}`, values: tensorToNumbers(tensor), rows: tensor.shape[0], columns: tensor.shape[1] });
  }

  for (const [seed, scale] of [[11, 1], [12, 1e-3], [13, 300]] as const) {
    const next = normalSource(seed);
    samples.push({ name: `normal×${scale}`, values: Float64Array.from({ length: 64 * 256 }, () => next() * scale), rows: 64, columns: 256 });
  }

  samples.push({ name: "edge rows", values: edgeRows(), rows: 8, columns: 256 });
  return samples;
}

/** Rows of 256: all zeros, a constant, all negative, all positive, tiny, a single spike, ties for fp4 (0.75·2^k), mixed signs. */
function edgeRows(): Float64Array {
  const next = normalSource(99);
  const rows = [
    () => 0,
    () => 0.3125,
    () => -Math.abs(next()) - 0.5,
    () => Math.abs(next()) + 0.5,
    () => next() * 1e-8,
    (column: number) => (column % 64 === 5 ? 7 : 0.01 * next()),
    (column: number) => [0.75, 1.75, 3.5, 0.25, -0.75, -1.75, 6, -6][column % 8],
    (column: number) => (column % 2 === 0 ? 1 : -1) * (1 + column / 256),
  ];
  const values = new Float64Array(8 * 256);
  rows.forEach((row, index) => {
    for (let column = 0; column < 256; column++) values[index * 256 + column] = row(column);
  });
  return values;
}

/** Describes the first element where two quantizations differ, as a short reproducer line. */
function firstDifference(expected: Tensor, actual: Tensor, perGroup: number): string | null {
  const a = expected.data;
  const b = actual.data;
  for (let index = 0; index < a.length; index++) {
    const same = a[index] === b[index] || (Number.isNaN(a[index]) && Number.isNaN(b[index]));
    if (!same) return `element ${index} (group ${Math.floor(index / perGroup)}): reference ${a[index]}, mlx ${b[index]}`;
  }
  return null;
}

function groupValues(sample: WeightSample, dtype: FloatDType, group: number, groupSize: number): string {
  const start = group * groupSize;
  return Array.from(sample.values.subarray(start, start + groupSize), (value) => roundToDType(value, dtype)).join(", ");
}

/** Quantizes every sample with MLX and the reference in `modes` and lists each difference with its group. */
async function quantizeDifferences(backend: MlxBackend, samples: readonly WeightSample[], modes: readonly Mode[]): Promise<{ compared: number; differences: string[] }> {
  const differences: string[] = [];
  let compared = 0;

  for (const sample of samples) {
    for (const dtype of DTYPES) {
      const w = tensorFromNumbers(dtype, [sample.rows, sample.columns], sample.values);
      for (const mode of modes) {
        const bitsList = mode === "affine" ? [2, 3, 4, 5, 6, 8] : [MODE_RULES[mode].defaultBits];
        for (const bits of bitsList) {
          const groupSize = mode === "affine" ? [32, 64, 128][bits % 3] : MODE_RULES[mode].defaultGroupSize;
          const label = `${sample.name} ${dtype} ${mode} b${bits} g${groupSize}`;
          const reference = quantize(w, { mode, bits, groupSize });
          const mlx = await mlxQuantize(backend, w, mode, groupSize, bits);
          compared++;

          const wordsPerGroup = (groupSize * bits) / 32;
          const scaleDiff = firstDifference(reference.scales, mlx.scales, 1);
          const biasDiff = reference.biases === null ? null : firstDifference(reference.biases, mlx.biases!, 1);
          const codeDiff = firstDifference(reference.w, mlx.w, wordsPerGroup);
          const first = scaleDiff ?? biasDiff ?? codeDiff;
          if (first === null) continue;

          const group = Number(/group (\d+)/.exec(first)![1]);
          const which = scaleDiff !== null ? "scales" : biasDiff !== null ? "biases" : "w";
          differences.push(`${label}: ${which} ${first}; group values [${groupValues(sample, dtype, group, groupSize)}]`);
        }
      }
    }
  }

  return { compared, differences };
}

describe.skipIf(SKIP_MLX)("mlx quantize and dequantize", () => {
  let backend: MlxBackend;
  let samples: WeightSample[];

  beforeAll(async () => {
    backend = await startMlx();
    samples = await weightSamples();
  });

  afterAll(async () => {
    await backend?.close?.();
  });

  it("quantize equals the reference bit for bit", async () => {
    const { compared, differences } = await quantizeDifferences(backend, samples, MODES);

    expect(compared).toBeGreaterThan(150);
    expect(differences).toEqual([]);
  });

  it("dequantize agrees with the reference", async () => {
    const problems: string[] = [];

    for (const sample of samples.slice(0, 4)) {
      for (const dtype of DTYPES) {
        const w = tensorFromNumbers(dtype, [sample.rows, sample.columns], sample.values);
        for (const mode of MODES) {
          const groupSize = MODE_RULES[mode].defaultGroupSize;
          const bits = MODE_RULES[mode].defaultBits;
          const label = `${sample.name} ${dtype} ${mode}`;
          const quantized = await mlxQuantize(backend, w, mode, groupSize, bits);
          const outDType: FloatDType = mode === "affine" ? dtype : "float32";
          const outcome = await backend.extension(
            "dequantize",
            { mode, group_size: groupSize, bits, dtype: outDType },
            quantized.biases === undefined ? { w: quantized.w, scales: quantized.scales } : { w: quantized.w, scales: quantized.scales, biases: quantized.biases },
          );
          if (outcome.kind !== "ok") {
            problems.push(`${label}: ${outcome.kind} ${"message" in outcome ? outcome.message : ""}`);
            continue;
          }

          const got = floatValues(outcome.y!);
          const exact = dequantize(quantized.w, quantized.scales, quantized.biases ?? null, { mode, groupSize, bits });
          const model = mode === "affine" ? twoRoundingModel(quantized, bits, groupSize, outDType, sample) : null;
          for (let index = 0; index < got.length; index++) {
            const exactValue = exact.hi[index] + exact.lo[index];
            const expected = model === null ? exactValue : model[index];
            if (got[index] !== expected) {
              problems.push(`${label} [${index}]: mlx ${got[index]}, expected ${expected} (exact ŵ ${exactValue})`);
              break;
            }
          }
        }
      }
    }

    expect(problems).toEqual([]);
  });
});

/**
 * MLX's affine dequantize on CPU: ŵ = round_T(round_T(s·q) + β) with T the scales dtype, from the
 * scales, biases and unpacked codes; each rounding is checked against the reference's exact ŵ in
 * the loop above by comparing the final values.
 */
function twoRoundingModel(quantized: { w: Tensor; scales: Tensor; biases?: Tensor }, bits: number, groupSize: number, dtype: FloatDType, sample: WeightSample): Float64Array {
  const codes = unpackCodes(quantized.w.data as Uint32Array, bits, sample.rows, sample.columns);
  const scales = floatValues(quantized.scales);
  const biases = floatValues(quantized.biases!);
  return Float64Array.from(codes, (code, index) => {
    const group = Math.floor(index / groupSize);
    return roundToDType(roundToDType(scales[group] * code, dtype) + biases[group], dtype);
  });
}
