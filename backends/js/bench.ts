/**
 * Benchmark of the JS backend: GFLOP/s (2·M·N·K per call) of x (M×4096, float32) against a
 * 4096×4096 affine 4-bit, group-64 weight with float32 scales and biases, for M = 1 and M = 64.
 * Each shape repeats until at least one second has passed; the best of three such runs is shown.
 *
 *   node --import tsx backends/js/bench.ts
 */
import { packCodes } from "../../reference/pack.ts";
import { tensorFromNumbers } from "../../reference/tensor.ts";
import type { QmmInputs, QmmParamsInput } from "../../spec/types.ts";
import { Random } from "../../vectors/generate/random.ts";
import { jsQuantizedMatmul } from "./kernel.ts";

const N = 4096;
const K = 4096;
const BITS = 4;
const GROUP_SIZE = 64;

function weights(rng: Random): Omit<QmmInputs, "x"> {
  const codes = Array.from({ length: N * K }, () => rng.integer(2 ** BITS));
  const groups = N * (K / GROUP_SIZE);
  return {
    w: { dtype: "uint32", shape: [N, (K * BITS) / 32], data: packCodes(codes, BITS, N, K) },
    scales: tensorFromNumbers("float32", [N, K / GROUP_SIZE], Array.from({ length: groups }, () => rng.normal() * 0.01)),
    biases: tensorFromNumbers("float32", [N, K / GROUP_SIZE], Array.from({ length: groups }, () => rng.normal() * 0.05)),
  };
}

function secondsPerCall(inputs: QmmInputs, params: QmmParamsInput): number {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < 1000) {
      jsQuantizedMatmul(inputs, params);
      calls++;
      elapsed = performance.now() - started;
    }
    best = Math.min(best, elapsed / 1000 / calls);
  }
  return best;
}

const rng = new Random("backends/js/bench");
const weight = weights(rng);
const params: QmmParamsInput = { mode: "affine", transpose: true, groupSize: GROUP_SIZE, bits: BITS };

console.log(`JS backend, affine 4-bit g64, w ${N}x${K}, float32; node ${process.version}, ${process.arch}`);
for (const M of [1, 64]) {
  const x = tensorFromNumbers("float32", [M, K], Array.from({ length: M * K }, () => rng.normal()));
  const seconds = secondsPerCall({ x, ...weight }, params);
  const gflops = (2 * M * N * K) / seconds / 1e9;
  console.log(`M=${String(M).padStart(2)}  ${(seconds * 1000).toFixed(1).padStart(8)} ms/call  ${gflops.toFixed(2).padStart(6)} GFLOP/s`);
}
