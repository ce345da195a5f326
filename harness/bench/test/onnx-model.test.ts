/** The protobuf writer and the MatMulNBits model, checked by running the model in ONNX Runtime. */
import { describe, expect, test } from "vitest";
import { buildMatMulNBitsModel } from "../onnx-model.ts";
import { encodeVarint, ProtoWriter } from "../protobuf.ts";

describe("protobuf writer", () => {
  test("varints", () => {
    // 300 is the worked example of the protobuf encoding guide: 0xAC 0x02.
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(0)]).toEqual([0]);
    expect([...encodeVarint(2 ** 35)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(() => encodeVarint(-1)).toThrow(RangeError);
  });

  test("fields and nesting", () => {
    const inner = new ProtoWriter().varint(1, 150);
    const bytes = new ProtoWriter().string(2, "ab").message(3, inner).finish();
    expect([...bytes]).toEqual([0x12, 2, 0x61, 0x62, 0x1a, 3, 0x08, 0x96, 0x01]);
  });
});

describe("MatMulNBits model", () => {
  test("runs in ONNX Runtime and dequantizes (q − zero point)·scale", async () => {
    const ort = await import("onnxruntime-node");
    const M = 2;
    const K = 128;
    const N = 3;
    const blockSize = 64;
    const blocks = K / blockSize;

    const codes = Array.from({ length: N * K }, (_, i) => (i * 7 + 3) % 16);
    const packed = new Uint8Array((N * K) / 2);
    for (let i = 0; i < N * K; i++) packed[i >> 1] |= codes[i] << ((i & 1) * 4);
    const scales = Float32Array.from({ length: N * blocks }, (_, i) => 0.5 + i * 0.25);
    const zeroPointValues = Array.from({ length: N * blocks }, (_, i) => (i * 5 + 1) % 16);
    const zeroPoints = new Uint8Array(N * Math.ceil(blocks / 2));
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < blocks; b++) zeroPoints[n * Math.ceil(blocks / 2) + (b >> 1)] |= zeroPointValues[n * blocks + b] << ((b & 1) * 4);
    }
    const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 13) % 11) - 5);

    const model = buildMatMulNBitsModel({ M, K, N, bits: 4, blockSize, accuracyLevel: 0, packedWeights: packed, scales, zeroPoints });
    const session = await ort.InferenceSession.create(model);
    const output = await session.run({ A: new ort.Tensor("float32", a, [M, K]) });
    const y = output.Y.data as Float32Array;
    await session.release();

    // Every product and partial sum here is a small multiple of 1/4, so float32 is exact.
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let expected = 0;
        for (let k = 0; k < K; k++) {
          const block = n * blocks + Math.floor(k / blockSize);
          expected += a[m * K + k] * (codes[n * K + k] - zeroPointValues[block]) * scales[block];
        }
        expect(y[m * N + n], `y[${m}, ${n}]`).toBe(expected);
      }
    }
  });
});
