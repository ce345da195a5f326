/**
 * The MLX backend: real `mlx.core.quantized_matmul` from the pinned pip package, run by
 * backends/mlx/worker.py over the worker protocol. The Python environment is the project's
 * `.venv`, created by `npm install` (postinstall) or `npm run setup:mlx`.
 */
import type { Backend, BackendProbe } from "../../harness/backend.ts";
import { createWorkerBackend } from "../../harness/worker/index.ts";
import type { WorkerBackend } from "../../harness/worker/index.ts";
import { checkMlxEnvironment, MLX_WORKER, PROJECT_ROOT, SETUP_COMMAND, VENV_PYTHON } from "./environment.ts";

export { knownDivergences, MLX_DIVERGENCES } from "./divergences.ts";
export type { MlxDivergence } from "./divergences.ts";

/** Options of {@link createMlxBackend}. */
export interface MlxBackendOptions {
  /** Seconds per case (and for the handshake, which imports MLX) before the worker is killed. */
  readonly timeoutSeconds?: number;
}

/** An MLX backend that also handles the quantize and dequantize extension requests. */
export type MlxBackend = WorkerBackend;

/**
 * Creates an MLX backend. Its probe reports it unavailable, with the reason and the set-up
 * command, when the virtual environment is missing or older than requirements.txt.
 */
export function createMlxBackend(options: MlxBackendOptions = {}): MlxBackend {
  const worker = createWorkerBackend(VENV_PYTHON, [MLX_WORKER], {
    timeoutSeconds: options.timeoutSeconds ?? 120,
    name: "mlx",
    cwd: PROJECT_ROOT,
    // One MLX CPU stream needs no thread pool of its own; keep BLAS from starting one per core.
    env: { OPENBLAS_NUM_THREADS: "1", PYTHONUNBUFFERED: "1" },
  });

  return {
    ...worker,
    name: "mlx",

    get pid() {
      return worker.pid;
    },

    async probe(): Promise<BackendProbe> {
      const environment = checkMlxEnvironment();
      if (environment.kind === "missing") {
        return { kind: "unavailable", reason: `${environment.reason}, so MLX cannot run`, fix: SETUP_COMMAND };
      }

      const probe = await worker.probe();
      if (probe.kind === "unavailable") return { ...probe, fix: SETUP_COMMAND };
      return probe;
    },
  };
}

/** The registered MLX backend. No process starts until it is probed or run. */
export const mlxBackend: Backend = createMlxBackend();
