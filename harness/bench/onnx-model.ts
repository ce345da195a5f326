/**
 * Builds a one-node ONNX model that runs ONNX Runtime's MatMulNBits contrib operator
 * (com.microsoft domain): Y[M, N] = A[M, K] · dequantize(B)ᵀ with blockwise scales and zero points,
 * ŵ = (q − zero_point)·scale. Field numbers are those of onnx/onnx.proto (IR version 9).
 */
import { ProtoWriter } from "./protobuf.ts";

/** ONNX TensorProto.DataType values used here. */
const FLOAT = 1;
const UINT8 = 2;

/** AttributeProto.AttributeType.INT. */
const ATTRIBUTE_INT = 2;

/** The weights and shape of a MatMulNBits model. */
export interface MatMulNBitsSpec {
  /** Rows of A; the model's input shape is fixed to [M, K]. */
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly bits: number;
  readonly blockSize: number;
  /** 0 (the default, float32 compute) to 4 (int8 activations); see the MatMulNBits documentation. */
  readonly accuracyLevel: number;
  /** Packed codes, [N, K/blockSize, blockSize·bits/8] bytes, lowest bits first within a byte. */
  readonly packedWeights: Uint8Array;
  /** One float32 scale per block, N·K/blockSize of them, row by row. */
  readonly scales: Float32Array;
  /** Packed zero points, N rows of ceil((K/blockSize)·bits/8) bytes. */
  readonly zeroPoints: Uint8Array;
}

function tensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): ProtoWriter {
  const proto = new ProtoWriter();
  for (const dim of dims) proto.varint(1, dim);
  return proto.varint(2, dataType).string(8, name).bytes(9, raw);
}

function valueInfo(name: string, dims: readonly number[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of dims) shape.message(1, new ProtoWriter().varint(1, dim));
  const tensorType = new ProtoWriter().varint(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

function intAttribute(name: string, value: number): ProtoWriter {
  return new ProtoWriter().string(1, name).varint(20, ATTRIBUTE_INT).varint(3, value);
}

function bytesOf(array: Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Encodes the model as ONNX protobuf bytes, ready for InferenceSession.create. */
export function buildMatMulNBitsModel(spec: MatMulNBitsSpec): Uint8Array {
  const blocks = spec.K / spec.blockSize;
  const blobSize = (spec.blockSize * spec.bits) / 8;

  const node = new ProtoWriter();
  for (const input of ["A", "B", "scales", "zero_points"]) node.string(1, input);
  node
    .string(2, "Y")
    .string(3, "matmul_nbits")
    .string(4, "MatMulNBits")
    .string(7, "com.microsoft")
    .message(5, intAttribute("K", spec.K))
    .message(5, intAttribute("N", spec.N))
    .message(5, intAttribute("bits", spec.bits))
    .message(5, intAttribute("block_size", spec.blockSize))
    .message(5, intAttribute("accuracy_level", spec.accuracyLevel));

  const graph = new ProtoWriter()
    .message(1, node)
    .string(2, "qmm_conformance_bench")
    .message(5, tensor("B", UINT8, [spec.N, blocks, blobSize], spec.packedWeights))
    .message(5, tensor("scales", FLOAT, [spec.N * blocks], bytesOf(spec.scales)))
    .message(5, tensor("zero_points", UINT8, [spec.zeroPoints.length], spec.zeroPoints))
    .message(11, valueInfo("A", [spec.M, spec.K]))
    .message(12, valueInfo("Y", [spec.M, spec.N]));

  return new ProtoWriter()
    .varint(1, 9)
    .string(2, "qmm-conformance")
    .message(8, new ProtoWriter().string(1, "").varint(2, 21))
    .message(8, new ProtoWriter().string(1, "com.microsoft").varint(2, 1))
    .message(7, graph)
    .finish();
}
