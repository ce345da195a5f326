/**
 * The exact reference as a backend (variant `exact`): a self-check of the harness and the golden
 * vectors, since the reference must reproduce every stored y bit for bit and every error code.
 */
import { readFileSync } from "node:fs";
import { QmmError } from "../spec/errors.ts";
import { FLOAT_DTYPES, MODES } from "../spec/types.ts";
import { VARIANTS } from "../spec/variants.ts";
import { quantizedMatmul } from "../reference/matmul.ts";
import type { Backend, CallOutcome } from "./backend.ts";

function packageVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  return String((JSON.parse(text) as { version?: unknown }).version ?? "unknown");
}

/** The exact reference of reference/matmul.ts, run in this process. */
export const referenceBackend: Backend = {
  name: "reference",

  async probe() {
    return {
      kind: "available",
      version: `qmm-conformance ${packageVersion()}`,
      variant: VARIANTS.exact,
      capabilities: { modes: MODES, dtypes: FLOAT_DTYPES, transpose: [true, false], batchedWeights: true, reportsErrors: true },
    };
  },

  async run(calls) {
    return calls.map((call): CallOutcome => {
      const started = performance.now();
      try {
        const result = quantizedMatmul(call.inputs, call.params);
        return { kind: "ok", y: result.y, seconds: (performance.now() - started) / 1000 };
      } catch (error) {
        if (error instanceof QmmError) return { kind: "error", code: error.code, message: error.message };
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return { kind: "crashed", message, stderrTail: error instanceof Error ? (error.stack ?? "") : "" };
      }
    });
  },
};
