/**
 * ONNX Runtime's MatMulNBits (com.microsoft contrib operator) on the CPU execution provider,
 * through onnxruntime-node. Only the affine 4-bit, block-64 cases have an equivalent: the same
 * packed codes and float32 scales, but a 4-bit zero point per block instead of a float bias
 * (ŵ = (q − zero_point)·scale), so the weight format and its byte count differ slightly.
 */
import { availableParallelism } from "node:os";
import type { BenchPeer } from "./peers.ts";
import { buildMatMulNBitsModel } from "./onnx-model.ts";

type OrtModule = typeof import("onnxruntime-node");

/** Creates an ORT peer; accuracy level 0 computes in float32, 4 quantizes A to int8 per block. */
export function ortPeer(accuracyLevel: 0 | 4): BenchPeer {
  let ort: OrtModule | undefined;
  const name = accuracyLevel === 0 ? "ort" : "ort-int8";

  return {
    name,
    description:
      accuracyLevel === 0
        ? "ONNX Runtime MatMulNBits, accuracy_level 0 (float32 compute)"
        : "ONNX Runtime MatMulNBits, accuracy_level 4 (A quantized to int8: lower accuracy)",

    async setUp() {
      try {
        ort = await import("onnxruntime-node");
      } catch (error) {
        return { kind: "unavailable", reason: `onnxruntime-node failed to load: ${(error as Error).message} (fix: npm install)` };
      }
      return { kind: "available", version: `onnxruntime-node ${ort.env.versions.node ?? "unknown"}` };
    },

    async prepare(c, inputs) {
      const runtime = ort;
      if (runtime === undefined) return { kind: "unsupported", reason: "onnxruntime-node was not loaded" };
      if (c.mode !== "affine" || c.bits !== 4 || c.groupSize !== 64) {
        return { kind: "unsupported", reason: "the bench runs MatMulNBits only for the affine 4-bit, block-64 format" };
      }

      const blocks = c.K / c.groupSize;
      const zeroPointBytes = Math.ceil(blocks / 2);
      const zeroPoints = new Uint8Array(c.N * zeroPointBytes);
      // Varied zero points, so that no constant-zero-point shortcut applies.
      for (let i = 0; i < zeroPoints.length; i++) zeroPoints[i] = (i * 37 + 0x58) & 0xff;

      const words = inputs.w.data as Uint32Array;
      const model = buildMatMulNBitsModel({
        M: c.M,
        K: c.K,
        N: c.N,
        bits: 4,
        blockSize: c.groupSize,
        accuracyLevel,
        packedWeights: new Uint8Array(words.buffer, words.byteOffset, words.byteLength),
        scales: inputs.scales.data as Float32Array,
        zeroPoints,
      });

      const threads = availableParallelism();
      // ORT's default session options apart from the thread count. Its worker threads spin for
      // a while after each run, so the bench times one peer at a time.
      const session = await runtime.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" });
      const feeds = { A: new runtime.Tensor("float32", inputs.x.data as Float32Array, [c.M, c.K]) };

      return {
        kind: "ready",
        call: {
          weightBytes: words.byteLength + inputs.scales.data.byteLength + zeroPoints.byteLength,
          note: "zero points instead of biases",
          async run() {
            await session.run(feeds);
          },
          async dispose() {
            await session.release();
          },
        },
      };
    },

    async close() {},
  };
}
