/**
 * The native backend's non-finite handling, wide-path fallbacks, error codes and its
 * unavailable path.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { tensorFromNumbers } from "../../../reference/tensor.ts";
import type { QmmInputs } from "../../../spec/types.ts";
import { createNativeBackend } from "../index.ts";
import { judge } from "./conformance-suite.ts";
import { randomCall } from "./random-case.ts";
import type { CaseSpec } from "./random-case.ts";

const AFFINE: CaseSpec = { mode: "affine", bits: 4, groupSize: 32, transpose: true, xDType: "float32", scalesDType: "float32", biasesDType: "float32", M: 3, K: 96, N: 10, xBatch: [], wBatch: [] };

function withFloat(tensor: QmmInputs["x"], index: number, value: number): QmmInputs["x"] {
  const values = Array.from(tensor.data as Float32Array);
  values[index] = value;
  return tensorFromNumbers("float32", tensor.shape, values);
}

describe("native non-finite inputs", () => {
  test("NaN and inf in x", async () => {
    const { inputs, params } = randomCall(AFFINE, 7);
    const x = withFloat(withFloat(inputs.x, 5, NaN), 100, Infinity);
    const verdict = await judge({ ...inputs, x }, params);
    expect(verdict.failed, verdict.worst).toBe(0);
  });

  test("inf scale and NaN bias", async () => {
    const { inputs, params } = randomCall({ ...AFFINE, transpose: false, K: 20, N: 64 }, 8);
    const scales = withFloat(inputs.scales, 3, -Infinity);
    const biases = withFloat(inputs.biases!, 10, NaN);
    const verdict = await judge({ ...inputs, scales, biases }, params);
    expect(verdict.failed, verdict.worst).toBe(0);
  });

  test("float16 output overflow", async () => {
    const { inputs, params } = randomCall({ ...AFFINE, xDType: "float16", scalesDType: "float16", biasesDType: "float16" }, 9);
    const scales = tensorFromNumbers("float16", inputs.scales.shape, Array.from({ length: inputs.scales.data.length }, () => 60000));
    const verdict = await judge({ ...inputs, scales }, params);
    expect(verdict.failed, verdict.worst).toBe(0);
  });
});

describe("native extreme mx scales", () => {
  test("E8M0 exponents beyond ±100", async () => {
    const { inputs, params } = randomCall({ ...AFFINE, mode: "mxfp8", bits: 8, groupSize: 32 }, 10);
    const bytes = Uint8Array.from(inputs.scales.data as Uint8Array);
    bytes[0] = 254;
    bytes[1] = 0;
    bytes[2] = 230;
    const verdict = await judge({ ...inputs, scales: { ...inputs.scales, data: bytes } }, params);
    expect(verdict.failed, verdict.worst).toBe(0);
  });
});

describe("native error codes", () => {
  const backend = createNativeBackend();

  test.each([
    ["bits 7", { bits: 7 }, "E_BITS_INVALID"],
    ["group size 16 in affine", { groupSize: 16 }, "E_GROUP_SIZE_INVALID"],
    ["unknown mode", { mode: "int4" }, "E_MODE_INVALID"],
  ] as const)("%s", async (_name, override, code) => {
    const { inputs, params } = randomCall(AFFINE, 11);
    const [outcome] = await backend.run([{ caseId: "error", inputs, params: { ...params, ...override } }]);
    expect(outcome.kind).toBe("error");
    expect(outcome.kind === "error" ? outcome.code : undefined).toBe(code);
  });

  test("K mismatch", async () => {
    const { inputs, params } = randomCall(AFFINE, 12);
    const x = tensorFromNumbers("float32", [3, 64], new Array(192).fill(1));
    const [outcome] = await backend.run([{ caseId: "error", inputs: { ...inputs, x }, params }]);
    expect(outcome.kind === "error" ? outcome.code : outcome.kind).toBe("E_K_MISMATCH");
  });

  test("reserved E8M0 scale byte", async () => {
    const { inputs, params } = randomCall({ ...AFFINE, mode: "mxfp4", bits: 4, groupSize: 32 }, 13);
    const bytes = Uint8Array.from(inputs.scales.data as Uint8Array);
    bytes[4] = 0xff;
    const [outcome] = await backend.run([{ caseId: "error", inputs: { ...inputs, scales: { ...inputs.scales, data: bytes } }, params }]);
    expect(outcome.kind === "error" ? outcome.code : outcome.kind).toBe("E_RESERVED_SCALE");
  });

  test("error then value in one batch", async () => {
    const good = randomCall(AFFINE, 14);
    const [bad, ok] = await backend.run([
      { caseId: "bad", inputs: good.inputs, params: { ...good.params, bits: 1 } },
      { caseId: "good", inputs: good.inputs, params: good.params },
    ]);
    expect(bad.kind).toBe("error");
    expect(ok.kind).toBe("ok");
  });
});

describe("native concurrency", () => {
  test("concurrent runs match sequential runs", async () => {
    const backend = createNativeBackend();
    const spec: CaseSpec = { ...AFFINE, M: 20, K: 512, N: 40 };
    const calls = [1, 2, 3, 4].map((seed) => ({ caseId: `concurrent-${seed}`, ...randomCall(spec, seed) }));

    const sequential = [];
    for (const call of calls) sequential.push((await backend.run([call]))[0]);
    const concurrent = await Promise.all(calls.map(async (call) => (await backend.run([call]))[0]));

    for (let i = 0; i < calls.length; i++) {
      const a = sequential[i];
      const b = concurrent[i];
      expect(a.kind).toBe("ok");
      expect(b.kind).toBe("ok");
      if (a.kind === "ok" && b.kind === "ok") expect(Array.from(b.y.data)).toEqual(Array.from(a.y.data));
    }
  });
});

describe("native availability", () => {
  test("probe reports the kernels", async () => {
    const probe = await createNativeBackend().probe();
    expect(probe.kind, probe.kind === "unavailable" ? probe.reason : "").toBe("available");
    if (probe.kind !== "available") return;
    expect(probe.variant.name).toBe("factored/f32-w32");
    expect(["avx2", "avx512"]).toContain(probe.details?.isa);
  });

  test("missing binary is unavailable", async () => {
    const path = join(tmpdir(), "qmm-no-such-dir", "build", "Release", "qmm_native.node");
    const backend = createNativeBackend({ addonPath: path });
    const probe = await backend.probe();
    expect(probe.kind).toBe("unavailable");
    expect(probe.kind === "unavailable" ? probe.reason : "").toContain(path);
    expect(probe.kind === "unavailable" ? probe.fix : "").toContain("build.mjs");

    const { inputs, params } = randomCall(AFFINE, 15);
    const [outcome] = await backend.run([{ caseId: "missing", inputs, params }]);
    expect(outcome.kind).toBe("unsupported");
  });

  test("build error text in reason", async () => {
    const root = mkdtempSync(join(tmpdir(), "qmm-native-"));
    mkdirSync(join(root, "build"));
    writeFileSync(join(root, "build", "BUILD_ERROR.txt"), "g++: error: unrecognized command-line option\n");
    const probe = await createNativeBackend({ addonPath: join(root, "build", "Release", "qmm_native.node") }).probe();
    expect(probe.kind).toBe("unavailable");
    expect(probe.kind === "unavailable" ? probe.reason : "").toContain("unrecognized command-line option");
  });

  test("corrupt binary is unavailable", async () => {
    const root = mkdtempSync(join(tmpdir(), "qmm-native-"));
    const path = join(root, "qmm_native.node");
    writeFileSync(path, "not an ELF file");
    const probe = await createNativeBackend({ addonPath: path }).probe();
    expect(probe.kind).toBe("unavailable");
    expect(probe.kind === "unavailable" ? probe.reason : "").toContain("failed to load");
  });
});
