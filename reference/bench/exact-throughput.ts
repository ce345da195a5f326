/**
 * Benchmark of the exact reference: exact multiply-accumulates per second for x (M × 4096) against
 * w (4096 × 4096, affine 4-bit, group 64, float32), the size golden vectors and diffs run at.
 * Run with `npm run bench:reference`. Prints one line per case; the median of several runs counts.
 */
import { quantizedMatmul } from "../matmul.ts";
import { quantize } from "../quantize.ts";
import { tensorFromNumbers } from "../tensor.ts";
import type { QmmParamsInput } from "../../spec/types.ts";

interface BenchCase {
  readonly label: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly params: QmmParamsInput;
  readonly repeats: number;
}

const CASES: readonly BenchCase[] = [
  { label: "affine b4 g64 float32 transpose=true", M: 1, K: 4096, N: 4096, params: { mode: "affine", bits: 4, groupSize: 64, transpose: true }, repeats: 5 },
  { label: "affine b4 g64 float32 transpose=true", M: 8, K: 4096, N: 4096, params: { mode: "affine", bits: 4, groupSize: 64, transpose: true }, repeats: 3 },
  { label: "mxfp4 float32 transpose=true", M: 1, K: 4096, N: 4096, params: { mode: "mxfp4", transpose: true }, repeats: 3 },
  { label: "affine b4 g64 float32 transpose=false", M: 1, K: 1024, N: 4096, params: { mode: "affine", bits: 4, groupSize: 64, transpose: false }, repeats: 3 },
];

/** Returns a fixed pseudo-random normal sequence (xorshift32 and Box-Muller), so every run measures the same data. */
function normals(count: number, seed: number): Float64Array {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return values;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

for (const benchCase of CASES) {
  const { M, K, N, params } = benchCase;
  const weightShape = params.transpose ? [N, K] : [K, N];
  const weights = quantize(tensorFromNumbers("float32", weightShape, normals(N * K, 7)), params);
  const x = tensorFromNumbers("float32", [M, K], normals(M * K, 11));
  const inputs = { x, w: weights.w, scales: weights.scales, biases: weights.biases };

  const seconds: number[] = [];
  for (let run = 0; run < benchCase.repeats; run++) {
    const start = process.hrtime.bigint();
    quantizedMatmul(inputs, params);
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }

  const time = median(seconds);
  const macs = M * K * N;
  console.log(`exact reference  ${benchCase.label}  M=${M} K=${K} N=${N}: median ${(time * 1000).toFixed(1)} ms, ${(macs / time / 1e6).toFixed(1)} M exact MAC/s`);
}
