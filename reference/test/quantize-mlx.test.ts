/**
 * Cross-check of quantize and fp-mode dequantize against real MLX (mlx[cpu] from pip, the version
 * pinned in backends/mlx/requirements.txt). Skipped with the reason when the project's MLX
 * environment is not set up; `npm run setup:mlx` creates it.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { checkMlxEnvironment } from "../../backends/mlx/environment.ts";
import { QmmError } from "../../spec/errors.ts";
import type { FloatDType, Tensor } from "../../spec/types.ts";
import { dequantizeToTensor } from "../dequantize.ts";
import { quantize } from "../quantize.ts";
import { tensorFromBytes, tensorFromNumbers, tensorToBytes, tensorToNumbers } from "../tensor.ts";

const ADAPTER = fileURLToPath(new URL("./mlx/quantize_adapter.py", import.meta.url));
const environment = checkMlxEnvironment();
const ROWS = 16;
const COLUMNS = 256;

/** Returns a seeded xorshift32 stream, so every run checks the same matrices. */
function makeRandom(seed: number): { uniform(): number; normal(): number } {
  let state = seed >>> 0 || 1;
  const uniform = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 2 ** 32;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** Value patterns that reach the corners of the algorithms: ties, constant groups, subnormals, huge and tiny scales. */
const DISTRIBUTIONS: Record<string, (index: number, random: ReturnType<typeof makeRandom>) => number> = {
  normal: (_, random) => random.normal(),
  negative: (_, random) => -Math.abs(random.normal()) - 0.1,
  ties: (_, random) => Math.floor(random.uniform() * 33 - 16) / 8,
  wide: (_, random) => (random.uniform() < 0.5 ? -1 : 1) * Math.exp((random.uniform() - 0.5) * 20),
  constant: (index) => {
    const group = Math.floor(index / 16);
    return [0, 0.5, -0.5, 1e-8, -3e-8, 5e-8, 65504, -65504][group % 8] * (group % 3 === 0 ? 1 : 0.999);
  },
  subnormal: (_, random) => random.normal() * 2 ** -20,
  scales: (index, random) => random.normal() * 2 ** ((Math.floor(index / 16) % 20) * 6 - 60),
  tinyFloat32: (index, random) => random.normal() * 2 ** (-100 - (Math.floor(index / 32) % 40)),
  oneHuge: (index, random) => (index % 16 === 0 ? 1e30 : random.normal()),
};

const PARAMS: { mode: string; groupSize: number; bits: number }[] = [
  ...[32, 64, 128].flatMap((groupSize) => [2, 3, 4, 5, 6, 8].map((bits) => ({ mode: "affine", groupSize, bits }))),
  { mode: "mxfp4", groupSize: 32, bits: 4 },
  { mode: "mxfp8", groupSize: 32, bits: 8 },
  { mode: "nvfp4", groupSize: 16, bits: 4 },
];

const DTYPES: readonly FloatDType[] = ["float32", "float16", "bfloat16"];

interface QuantizeCase {
  readonly label: string;
  readonly w: Tensor;
  readonly params: { mode: string; groupSize: number; bits: number };
}

type AdapterResult = { w: Uint8Array; scales: Uint8Array; biases: Uint8Array | null } | { values: Uint8Array } | { error: string };

function buildCases(): QuantizeCase[] {
  const cases: QuantizeCase[] = [];
  let seed = 1;

  for (const dtype of DTYPES) {
    for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
      const random = makeRandom(seed++);
      const values = Array.from({ length: ROWS * COLUMNS }, (_, index) => draw(index, random));
      const w = tensorFromNumbers(dtype, [ROWS, COLUMNS], values);
      for (const params of PARAMS) cases.push({ label: `${dtype} ${name} ${params.mode} g${params.groupSize} b${params.bits}`, w, params });
    }
  }

  return cases;
}

function runAdapter(python: string, requests: unknown[]): AdapterResult[] {
  const child = spawnSync(python, [ADAPTER], { input: encode(requests), maxBuffer: 1 << 30 });
  if (child.status !== 0) throw new Error(`MLX adapter failed (status ${child.status}): ${child.stderr.toString()}`);
  return decode(child.stdout) as AdapterResult[];
}

function hexDiff(mine: Uint8Array, theirs: Uint8Array): string {
  const index = mine.findIndex((byte, position) => byte !== theirs[position]);
  return `lengths ${mine.length}/${theirs.length}, first difference at byte ${index}`;
}

const suiteName = environment.kind === "ready" ? "quantize against MLX" : `quantize against MLX (skipped: ${environment.reason})`;

describe.skipIf(environment.kind !== "ready")(suiteName, () => {
  const python = environment.kind === "ready" ? environment.python : "";

  it("matches mx.quantize byte for byte", () => {
    const cases = buildCases();
    const requests = cases.map(({ w, params }) => ({ op: "quantize", dtype: w.dtype, shape: w.shape, data: tensorToBytes(w), ...params }));
    const results = runAdapter(python, requests);
    const mismatches: string[] = [];
    let compared = 0;

    cases.forEach(({ label, w, params }, index) => {
      const theirs = results[index];
      const finite = tensorToNumbers(w).every(Number.isFinite);

      if ("error" in theirs) {
        mismatches.push(`${label}: MLX failed: ${theirs.error}`);
        return;
      }
      if (!("w" in theirs)) throw new Error(`${label}: unexpected adapter reply`);

      // Non-finite input: affine and the mx modes reject it (MLX's result there is undefined).
      if (!finite && params.mode !== "nvfp4") {
        expect(() => quantize(w, params), label).toThrow(QmmError);
        return;
      }

      const mine = quantize(w, params);
      const pairs: [string, Uint8Array | null, Uint8Array | null][] = [
        ["w", tensorToBytes(mine.w), theirs.w],
        ["scales", tensorToBytes(mine.scales), theirs.scales],
        ["biases", mine.biases ? tensorToBytes(mine.biases) : null, theirs.biases],
      ];
      for (const [part, ours, reference] of pairs) {
        if (ours === null && reference === null) continue;
        compared++;
        if (ours === null || reference === null) {
          mismatches.push(`${label} ${part}: only one side has this tensor`);
        } else if (Buffer.compare(Buffer.from(ours), Buffer.from(reference)) !== 0) {
          mismatches.push(`${label} ${part}: ${hexDiff(ours, reference)}`);
        }
      }
    });

    expect(mismatches, `${mismatches.length} tensors differ from MLX; each entry names dtype, values, mode and tensor. Check that .venv has the MLX release pinned in backends/mlx/requirements.txt`).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
  });

  it("matches mx.dequantize in the fp modes", () => {
    // E8M0 and E4M3 scales times E2M1 or E4M3 elements round once in MLX, so a correctly rounded
    // dequantizeToTensor must agree exactly. NaN compares equal to NaN here, whatever its sign and
    // payload bits.
    const cases = buildCases().filter(({ params }) => params.mode !== "affine");
    const quantized = cases
      .filter(({ w, params }) => params.mode === "nvfp4" || tensorToNumbers(w).every(Number.isFinite))
      .map(({ label, w, params }) => ({ label, params, result: quantize(w, params) }));
    const outDTypes: FloatDType[] = ["float32", "bfloat16"];
    const requests = quantized.flatMap(({ params, result }) =>
      outDTypes.map((outDType) => ({
        op: "dequantize",
        mode: params.mode,
        w: tensorToBytes(result.w),
        wShape: result.w.shape,
        scales: tensorToBytes(result.scales),
        scalesShape: result.scales.shape,
        outDType,
      })),
    );
    const results = runAdapter(python, requests);
    const mismatches: string[] = [];

    quantized.forEach(({ label, params, result }, caseIndex) => {
      outDTypes.forEach((outDType, dtypeIndex) => {
        const theirs = results[caseIndex * outDTypes.length + dtypeIndex];
        if (!("values" in theirs)) {
          mismatches.push(`${label} → ${outDType}: MLX failed: ${"error" in theirs ? theirs.error : "no values"}`);
          return;
        }
        const mine = tensorToNumbers(dequantizeToTensor(result.w, result.scales, null, params, outDType, { allowReserved: true }));
        const reference = tensorToNumbers(tensorFromBytes(outDType, [...result.w.shape.slice(0, -1), COLUMNS], theirs.values));
        const index = mine.findIndex((value, position) => !(value === reference[position] || (Number.isNaN(value) && Number.isNaN(reference[position]))));
        if (index >= 0) mismatches.push(`${label} → ${outDType}: element ${index} is ${mine[index]}, MLX ${reference[index]}`);
      });
    });

    expect(mismatches, `${mismatches.length} dequantized tensors differ from MLX`).toEqual([]);
    expect(quantized.length).toBeGreaterThan(50);
  });
});
