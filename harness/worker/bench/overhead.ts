/**
 * Measures the per-case cost of the worker protocol for small cases: encoding, the pipe round trip,
 * decoding and validation. Three workers: the scripted Node fake (no computation at all), the MLX
 * worker on a tiny case, and the standard-library example worker on the same case.
 *
 *   node --import tsx harness/worker/bench/overhead.ts [REQUESTS]
 *
 * Prints the median and 95th percentile per request. For MLX it also prints the median time of the
 * same quantized_matmul called directly in Python, so the protocol's share can be read off.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { checkMlxEnvironment, VENV_PYTHON } from "../../../backends/mlx/environment.ts";
import { createMlxBackend } from "../../../backends/mlx/index.ts";
import type { Backend, BackendCall } from "../../backend.ts";
import { createWorkerBackend } from "../index.ts";

const REQUESTS = Number(process.argv[2] ?? 2000);
const FAKE = fileURLToPath(new URL("../test/fake-worker.mjs", import.meta.url));
const EXAMPLE = fileURLToPath(new URL("../../../backends/example-python/worker.py", import.meta.url));

/** Builds a tiny affine case: x 1×64 float32, w 8×64 4-bit, group size 64. */
function tinyCall(caseId: string): BackendCall {
  const scales = { dtype: "float32" as const, shape: [8, 1], data: new Float32Array(8).fill(0.01) };
  return {
    caseId,
    params: { mode: "affine", transpose: true, groupSize: 64, bits: 4 },
    inputs: {
      x: { dtype: "float32", shape: [1, 64], data: new Float32Array(64).fill(0.5) },
      w: { dtype: "uint32", shape: [8, 8], data: new Uint32Array(64).fill(0x76543210) },
      scales,
      biases: { ...scales, data: new Float32Array(8).fill(-0.02) },
    },
  };
}

async function measure(label: string, backend: Backend, caseId: string, requests: number): Promise<void> {
  const probe = await backend.probe();
  if (probe.kind !== "available") {
    console.log(`${label}: unavailable (${probe.reason})`);
    return;
  }

  const call = tinyCall(caseId);
  for (let warm = 0; warm < 50; warm++) await backend.run([call]);

  const samples: number[] = [];
  for (let index = 0; index < requests; index++) {
    const started = performance.now();
    const [outcome] = await backend.run([call]);
    samples.push(performance.now() - started);
    if (outcome.kind !== "ok") throw new Error(`${label}: ${outcome.kind}`);
  }
  await backend.close?.();

  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  const p95 = samples[Math.floor(samples.length * 0.95)];
  console.log(`${label}: median ${median.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms per case (${requests} requests)`);
}

function directMlxMedianMs(): number | undefined {
  if (checkMlxEnvironment().kind !== "ready") return undefined;
  const script = [
    "import mlx.core as mx, time",
    "x = mx.full((1, 64), 0.5); w = mx.full((8, 8), 0x76543210, dtype=mx.uint32)",
    "s = mx.full((8, 1), 0.01); b = mx.full((8, 1), -0.02)",
    "samples = []",
    "for i in range(2050):",
    "    t = time.perf_counter(); y = mx.quantized_matmul(x, w, s, b, group_size=64, bits=4); mx.eval(y); samples.append(time.perf_counter() - t)",
    "samples = sorted(samples[50:]); print(samples[len(samples) // 2] * 1000)",
  ].join("\n");
  return Number(execFileSync(VENV_PYTHON, ["-c", script], { encoding: "utf8" }).trim());
}

await measure("node fake worker (no computation)", createWorkerBackend(process.execPath, [FAKE], { timeoutSeconds: 30 }), "ok/bench", REQUESTS);
await measure("mlx worker, tiny affine case", createMlxBackend({ timeoutSeconds: 60 }), "bench", REQUESTS);
const direct = directMlxMedianMs();
if (direct !== undefined) console.log(`mlx called directly in Python, same case: median ${direct.toFixed(3)} ms`);
await measure("example python worker, tiny affine case", createWorkerBackend("python3", [EXAMPLE], { timeoutSeconds: 30 }), "bench", Math.min(REQUESTS, 500));
