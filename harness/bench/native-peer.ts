/**
 * The native backend timed through its addon directly: the call is validated and converted
 * once, untimed, so the figure is the kernel time plus the addon's call overhead.
 */
import { loadAddon } from "../../backends/native/addon.ts";
import type { NativeAddon } from "../../backends/native/addon.ts";
import { buildProblem } from "../../backends/native/problem.ts";
import { resolveCall } from "../../reference/validate.ts";
import type { BenchPeer } from "./peers.ts";
import { caseParams } from "./peers.ts";
import { weightBytes } from "./inputs.ts";

/** Creates the native peer; `addonPath` overrides where the addon is loaded from. */
export function nativePeer(addonPath?: string): BenchPeer & { readonly addon: () => NativeAddon | undefined } {
  let addon: NativeAddon | undefined;

  return {
    name: "native",
    description: "qmm-conformance native addon (validation excluded from the timing)",
    addon: () => addon,

    async setUp() {
      const load = loadAddon(addonPath);
      if (load.kind === "missing") return { kind: "unavailable", reason: `${load.reason} (fix: ${load.fix})` };
      addon = load.addon;
      const info = addon.info();
      return { kind: "available", version: info.isa, details: `${info.isa} kernels, ${info.threads} threads, CPU features ${info.cpuFeatures}` };
    },

    async prepare(c, inputs) {
      const target = addon;
      if (target === undefined) return { kind: "unsupported", reason: "the addon was not loaded" };

      const problem = buildProblem(inputs, resolveCall(inputs, caseParams(c)));
      return { kind: "ready", call: { weightBytes: weightBytes(inputs), run: () => target.run(problem) } };
    },

    async close() {},
  };
}
