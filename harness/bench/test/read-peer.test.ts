/** The streaming-read floor of the bench, against the real native addon. */
import { describe, expect, test } from "vitest";
import { loadAddon } from "../../../backends/native/addon.ts";
import { benchCases } from "../cases.ts";
import { benchInputs, weightBytes } from "../inputs.ts";
import { readPeer } from "../read-peer.ts";

const addonLoaded = loadAddon().kind === "loaded";

describe.runIf(addonLoaded)("bench read peer", () => {
  const [matrixVector, batched] = benchCases(true);

  test("reads the case's weight bytes", async () => {
    const peer = readPeer();
    expect((await peer.setUp()).kind).toBe("available");

    const inputs = benchInputs(matrixVector);
    const preparation = await peer.prepare(matrixVector, inputs);
    expect(preparation.kind).toBe("ready");
    if (preparation.kind !== "ready") return;
    expect(preparation.call.weightBytes).toBe(weightBytes(inputs));
    expect(preparation.call.reference).toBe(true);
    await expect(preparation.call.run()).resolves.toBeUndefined();
  });

  test("skips cases with M above 1", async () => {
    const peer = readPeer();
    await peer.setUp();
    const preparation = await peer.prepare(batched, benchInputs(batched));
    expect(preparation).toEqual({ kind: "unsupported", reason: expect.stringContaining("M = 1") });
  });

  test("streamRead sums every element", () => {
    const load = loadAddon();
    if (load.kind !== "loaded") return;
    for (const length of [0, 5, 4099, 1_000_003]) {
      const data = new Float32Array(length).fill(2);
      expect(load.addon.streamRead(data)).toBe(2 * length);
    }
    expect(() => load.addon.streamRead([1, 2] as unknown as Float32Array)).toThrow(/Float32Array/);
  });
});

describe.skipIf(addonLoaded)("bench read peer without the addon", () => {
  test("reports itself unavailable", async () => {
    expect((await readPeer().setUp()).kind).toBe("unavailable");
  });
});
