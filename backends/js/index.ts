/**
 * The JS backend: a plain TypeScript quantized_matmul (./kernel.ts) registered as a Backend. It
 * validates with the reference validation, so it reports the spec's error codes.
 */
import { QmmError } from "../../spec/errors.ts";
import { FLOAT_DTYPES, MODES } from "../../spec/types.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import type { Backend, BackendCall, CallOutcome } from "../../harness/backend.ts";
import type { KnownDivergence } from "../../harness/run/runner.ts";
import { jsQuantizedMatmul } from "./kernel.ts";

/**
 * The kernel's numerics: ŵ formed in float64 (s·q+β rounds once, fp-mode weights are exact),
 * each product rounded to float64, float64 accumulation in any order, one final rounding.
 */
export const JS_VARIANT: NumericsVariant = {
  name: "js/dequantize-dot-f64",
  form: "dequantize-dot",
  accumulator: "float64",
  weightRounding: "once",
  weightDType: "float64",
  productRounding: true,
  nonFiniteClassFree: false,
};

/** Cases the JS backend is known to get wrong, with the reason for each. It must stay empty. */
export const knownDivergences: readonly KnownDivergence[] = [];

function runOne(call: BackendCall): CallOutcome {
  const started = performance.now();
  try {
    const y = jsQuantizedMatmul(call.inputs, call.params);
    return { kind: "ok", y, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof QmmError) return { kind: "error", code: error.code, message: error.message };
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { kind: "error", code: "E_BACKEND_INTERNAL", message };
  }
}

/** The registered JS backend. */
export const jsBackend: Backend = {
  name: "js",
  probe: async () => ({
    kind: "available",
    version: "1",
    variant: JS_VARIANT,
    capabilities: {
      modes: MODES,
      dtypes: FLOAT_DTYPES,
      transpose: [true, false],
      batchedWeights: true,
      reportsErrors: true,
    },
    details: { implementation: "TypeScript, float64 dequantize and accumulate", node: process.version },
  }),
  run: async (calls) => calls.map(runOne),
};
