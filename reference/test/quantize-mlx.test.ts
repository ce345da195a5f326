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
import { e4m3ToNumber, numberToE4m3 } from "../formats/e4m3.ts";
import { packCodes } from "../pack.ts";
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

  it("decodes reserved codes like mx.dequantize", () => {
    // Every byte value as an mxfp8 element, and every byte value as an nvfp4 and an mxfp4 scale.
    const everyByte = Array.from({ length: 256 }, (_, byte) => byte);
    const cases = [
      { mode: "mxfp8", w: packCodes(everyByte, 8, 8, 32), wShape: [8, 8], scales: Uint8Array.from(new Array<number>(8).fill(127)), scalesShape: [8, 1], columns: 32 },
      { mode: "nvfp4", w: packCodes(new Array<number>(256 * 16).fill(2), 4, 256, 16), wShape: [256, 2], scales: Uint8Array.from(everyByte), scalesShape: [256, 1], columns: 16 },
      { mode: "mxfp4", w: packCodes(new Array<number>(256 * 32).fill(2), 4, 256, 32), wShape: [256, 4], scales: Uint8Array.from(everyByte), scalesShape: [256, 1], columns: 32 },
    ];
    const results = runAdapter(
      python,
      cases.map(({ mode, w, wShape, scales, scalesShape }) => ({
        op: "dequantize",
        mode,
        w: new Uint8Array(w.buffer),
        wShape,
        scales,
        scalesShape,
        outDType: "float32",
      })),
    );

    cases.forEach(({ mode, w, wShape, scales, scalesShape, columns }, index) => {
      const reply = results[index];
      if (!("values" in reply)) throw new Error(`${mode}: MLX failed: ${"error" in reply ? reply.error : "no values"}`);
      const wTensor: Tensor = { dtype: "uint32", shape: wShape, data: w };
      const scalesTensor: Tensor = { dtype: "uint8", shape: scalesShape, data: scales };
      const mine = tensorToNumbers(dequantizeToTensor(wTensor, scalesTensor, null, { mode }, "float32", { allowReserved: true }));
      const theirs = tensorToNumbers(tensorFromBytes("float32", [wShape[0], columns], reply.values));
      const differing = mine.findIndex((value, position) => !(Object.is(value, theirs[position]) || (Number.isNaN(value) && Number.isNaN(theirs[position]))));
      expect(differing, `${mode}: element ${differing} is ${mine[differing]}, MLX ${theirs[differing]}`).toBe(-1);
    });
  });
});

describe.skipIf(environment.kind !== "ready")(suiteName.replace("quantize", "E4M3 codec"), () => {
  const python = environment.kind === "ready" ? environment.python : "";

  it("encodes like mx.to_fp8", () => {
    // Every float16 and bfloat16 pattern, and a fixed sample of float32 patterns.
    const random = makeRandom(99);
    const patterns = Uint16Array.from({ length: 65536 }, (_, bits) => bits);
    const float32Bits = Uint32Array.from({ length: 200000 }, () => Math.floor(random.uniform() * 2 ** 32));
    const inputs: Tensor[] = [
      { dtype: "float16", shape: [65536], data: patterns },
      { dtype: "bfloat16", shape: [65536], data: patterns },
      { dtype: "float32", shape: [float32Bits.length], data: new Float32Array(float32Bits.buffer) },
    ];
    const results = runAdapter(python, inputs.map((t) => ({ op: "to_fp8", dtype: t.dtype, shape: t.shape, data: tensorToBytes(t) })));

    inputs.forEach((input, index) => {
      const reply = results[index];
      if (!("values" in reply)) throw new Error(`to_fp8 on ${input.dtype} failed: ${"error" in reply ? reply.error : "no values"}`);
      const values = tensorToNumbers(input);
      const mismatches: string[] = [];
      for (let i = 0; i < values.length; i++) {
        // NaN inputs: MLX reads the sign bit of the NaN pattern, which tensorToNumbers does not keep.
        if (Number.isNaN(values[i])) continue;
        const mine = numberToE4m3(values[i]);
        if (mine !== reply.values[i] && mismatches.length < 5) mismatches.push(`${values[i]}: ours 0x${mine.toString(16)}, MLX 0x${reply.values[i].toString(16)}`);
      }
      expect(mismatches, `${input.dtype} inputs`).toEqual([]);
    });
  });

  it("decodes like mx.from_fp8 except the reserved codes", () => {
    const codes = Uint8Array.from({ length: 256 }, (_, code) => code);
    const [reply] = runAdapter(python, [{ op: "from_fp8", shape: [256], data: codes, outDType: "float32" }]);
    if (!("values" in reply)) throw new Error(`from_fp8 failed: ${"error" in reply ? reply.error : "no values"}`);
    const theirs = tensorToNumbers(tensorFromBytes("float32", [256], reply.values));

    for (let code = 0; code < 256; code++) {
      if ((code & 0x7f) === 0x7f) {
        // MLX 0.32.4 decodes 0x7F and 0xFF to NaN (OCP E4M3FN); e4m3ToNumber keeps ±480 by design.
        expect(theirs[code], `code 0x${code.toString(16)}`).toBeNaN();
        continue;
      }
      expect(Object.is(e4m3ToNumber(code), theirs[code]), `code 0x${code.toString(16)}: ours ${e4m3ToNumber(code)}, MLX ${theirs[code]}`).toBe(true);
    }
  });
});
