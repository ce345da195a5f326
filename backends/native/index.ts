/**
 * The native backend: a C++ Node-API addon with AVX2 and AVX-512 kernels chosen at run time,
 * a thread pool, and weights decoded in registers. Inputs are validated here with the
 * reference's resolveCall, so the backend reports the spec's error codes without a second copy
 * of the checks in C++. The addon computes on a worker thread.
 */
import { readFileSync } from "node:fs";
import { QmmError } from "../../spec/errors.ts";
import { FLOAT_DTYPES, MODES } from "../../spec/types.ts";
import { VARIANTS } from "../../spec/variants.ts";
import { resolveCall } from "../../reference/validate.ts";
import type { Backend, BackendCall, BackendProbe, CallOutcome } from "../../harness/backend.ts";
import { DEFAULT_ADDON_PATH, loadAddon } from "./addon.ts";
import type { NativeAddon } from "./addon.ts";
import { buildProblem } from "./problem.ts";

/** The numerics variant every path of the addon stays within (see src/kernels.inc). */
export const NATIVE_VARIANT = VARIANTS["factored/f32-w32"];

/** Options of {@link createNativeBackend}. */
export interface NativeBackendOptions {
  /** Path of the compiled addon; tests point it elsewhere to exercise the unavailable path. */
  readonly addonPath?: string;
}

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;

/** Creates the native backend record. Loading the addon is deferred to the first probe or run. */
export function createNativeBackend(options: NativeBackendOptions = {}): Backend {
  const addonPath = options.addonPath ?? DEFAULT_ADDON_PATH;

  return {
    name: "native",

    async probe(): Promise<BackendProbe> {
      const load = loadAddon(addonPath);
      if (load.kind === "missing") return { kind: "unavailable", reason: load.reason, fix: load.fix };

      const info = load.addon.info();
      return {
        kind: "available",
        version: `${PACKAGE_VERSION} (${info.isa})`,
        variant: NATIVE_VARIANT,
        capabilities: {
          modes: MODES,
          dtypes: FLOAT_DTYPES,
          transpose: [true, false],
          batchedWeights: true,
          reportsErrors: true,
        },
        details: { isa: info.isa, cpuFeatures: info.cpuFeatures, threads: String(info.threads) },
      };
    },

    async run(calls: readonly BackendCall[]): Promise<CallOutcome[]> {
      const load = loadAddon(addonPath);
      if (load.kind === "missing") {
        return calls.map(() => ({ kind: "unsupported", reason: load.reason }));
      }

      const outcomes: CallOutcome[] = [];
      for (const call of calls) outcomes.push(await runOne(load.addon, call));
      return outcomes;
    },
  };
}

/** Runs one call: validation errors become error outcomes, an addon failure an internal error. */
async function runOne(addon: NativeAddon, call: BackendCall): Promise<CallOutcome> {
  let resolved;
  try {
    resolved = resolveCall(call.inputs, call.params);
  } catch (error) {
    if (error instanceof QmmError) return { kind: "error", code: error.code, message: error.message };
    throw error;
  }

  const problem = buildProblem(call.inputs, resolved);
  const start = process.hrtime.bigint();
  try {
    await addon.run(problem);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: "error", code: "E_BACKEND_INTERNAL", message: `the native addon failed: ${message}` };
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;

  return { kind: "ok", y: { dtype: resolved.outDType, shape: resolved.outShape, data: problem.y }, seconds };
}

/** The native backend at its default addon path. */
export const nativeBackend: Backend = createNativeBackend();
