/**
 * The floor of a matrix-vector product: a streaming read of as many bytes as the case's weights,
 * by every thread of the native addon's pool, with the cache treatment of the case. It is a
 * reference row, not an implementation, so it takes no part in the "x fastest" ratios.
 */
import { loadAddon } from "../../backends/native/addon.ts";
import type { NativeAddon } from "../../backends/native/addon.ts";
import type { BenchPeer } from "./peers.ts";
import { weightBytes } from "./inputs.ts";

/** Creates the read peer; `addonPath` overrides where the addon is loaded from. */
export function readPeer(addonPath?: string): BenchPeer {
  let addon: NativeAddon | undefined;

  return {
    name: "read",
    description: "streaming read of the case's weight bytes by every native pool thread (M = 1 cases only)",

    async setUp() {
      const load = loadAddon(addonPath);
      if (load.kind === "missing") return { kind: "unavailable", reason: `${load.reason} (fix: ${load.fix})` };
      addon = load.addon;
      return { kind: "available", version: addon.info().isa };
    },

    async prepare(c, inputs) {
      const target = addon;
      if (target === undefined) return { kind: "unsupported", reason: "the addon was not loaded" };
      if (c.M !== 1) return { kind: "unsupported", reason: "only matrix-vector cases (M = 1) are bound by their weight traffic" };

      const bytes = weightBytes(inputs);
      const buffer = new Float32Array(Math.ceil(bytes / 4)).fill(1);
      return {
        kind: "ready",
        call: {
          weightBytes: bytes,
          reference: true,
          note: "reference: the weight bytes read once, no arithmetic",
          run: async () => {
            target.streamRead(buffer);
          },
        },
      };
    },

    async close() {},
  };
}
