/**
 * An independent oracle for QuantizedMatmul, for tests only: it decodes every input from its bit
 * fields with BigInt arithmetic, forms each term x_k·ŵ_k as an exact rational, sums, and rounds once.
 * It shares no code with reference/ (no decoders, no unpacking, no accumulator).
 */
import { ORACLE_FORMATS, SCALE, exactOfScaled, multiplyExact, roundExact } from "./rational-oracle.ts";
import type { FloatDType, QmmInputs, Tensor } from "../../spec/types.ts";

/** Parameters the oracle needs, already resolved (defaults applied by the test). */
export interface OracleParams {
  readonly mode: "affine" | "mxfp4" | "mxfp8" | "nvfp4";
  readonly transpose: boolean;
  readonly groupSize: number;
  readonly bits: number;
}

/** Returns the exact value of a float tensor element from its bits, or null for NaN and infinities. */
export function exactFloat(tensor: Tensor, index: number): bigint | null {
  if (tensor.dtype === "float32") {
    const bits = new Uint32Array((tensor.data as Float32Array).buffer, (tensor.data as Float32Array).byteOffset)[index];
    return decodeBinary(BigInt(bits), 8, 23);
  }
  const bits = BigInt((tensor.data as Uint16Array)[index]);
  return tensor.dtype === "float16" ? decodeBinary(bits, 5, 10) : decodeBinary(bits, 8, 7);
}

/** Decodes an IEEE-style binary pattern with the given field widths. */
function decodeBinary(bits: bigint, exponentBits: number, fractionBits: number): bigint | null {
  const fractionMask = (1n << BigInt(fractionBits)) - 1n;
  const exponentMask = (1n << BigInt(exponentBits)) - 1n;
  const sign = (bits >> BigInt(exponentBits + fractionBits)) & 1n;
  const exponentField = Number((bits >> BigInt(fractionBits)) & exponentMask);
  const fraction = bits & fractionMask;
  if (exponentField === Number(exponentMask)) return null;

  const bias = 2 ** (exponentBits - 1) - 1;
  const significand = exponentField === 0 ? fraction : fraction | (1n << BigInt(fractionBits));
  const exponent = (exponentField === 0 ? 1 : exponentField) - bias - fractionBits;
  const magnitude = exactOfScaled(significand, exponent);
  return sign === 1n ? -magnitude : magnitude;
}

/** E2M1 from its fields: sign bit 3, exponent bits 2..1, mantissa bit 0, exponent bias 1. */
function exactE2m1(code: number): bigint {
  const sign = (code >> 3) & 1;
  const exponent = (code >> 1) & 3;
  const mantissa = code & 1;
  const magnitude = exponent === 0 ? exactOfScaled(BigInt(mantissa), -1) : exactOfScaled(BigInt(2 + mantissa), exponent - 2);
  return sign ? -magnitude : magnitude;
}

/** E4M3 as MLX decodes it: no NaN, subnormals m·2^-9. */
function exactE4m3(byte: number): bigint {
  const sign = (byte >> 7) & 1;
  const exponent = (byte >> 3) & 15;
  const mantissa = byte & 7;
  const magnitude = exponent === 0 ? exactOfScaled(BigInt(mantissa), -9) : exactOfScaled(BigInt(8 + mantissa), exponent - 10);
  return sign ? -magnitude : magnitude;
}

/** Returns the b-bit code at position `index` of a row stored as a little-endian bit stream in uint32 words. */
function codeAt(words: Uint32Array, rowStartWord: number, wordsPerRow: number, index: number, bits: number): number {
  let stream = 0n;
  for (let j = wordsPerRow - 1; j >= 0; j--) stream = (stream << 32n) | BigInt(words[rowStartWord + j]);
  return Number((stream >> BigInt(index * bits)) & ((1n << BigInt(bits)) - 1n));
}

/** Packs codes of one matrix (rows × cols) into uint32 words as the spec's bit stream, independently of reference/pack.ts. */
export function packForOracle(codes: readonly number[], bits: number, rows: number, cols: number): Uint32Array {
  const wordsPerRow = (cols * bits) / 32;
  const words = new Uint32Array(rows * wordsPerRow);
  for (let r = 0; r < rows; r++) {
    let stream = 0n;
    for (let c = cols - 1; c >= 0; c--) stream = (stream << BigInt(bits)) | BigInt(codes[r * cols + c]);
    for (let j = 0; j < wordsPerRow; j++) words[r * wordsPerRow + j] = Number((stream >> BigInt(32 * j)) & 0xffffffffn);
  }
  return words;
}

/** The oracle's result: per output element the correctly rounded value in the output dtype and in float64. */
export interface OracleResult {
  readonly y: number[];
  readonly exact: number[];
}

/**
 * Computes the op for finite inputs with 2-D or 3-D (same-batch) w and x of rank 1 to 3 whose batch
 * equals w's or is absent. The tests keep to these shapes; broadcasting is tested separately.
 */
export function oracleQuantizedMatmul(inputs: QmmInputs, params: OracleParams, outDType: FloatDType): OracleResult {
  const { x, w, scales, biases } = inputs;
  const K = x.shape[x.shape.length - 1];
  const M = x.shape.length === 1 ? 1 : x.shape[x.shape.length - 2];
  const wRows = w.shape[w.shape.length - 2];
  const wordsPerRow = w.shape[w.shape.length - 1];
  const wCols = (wordsPerRow * 32) / params.bits;
  const N = params.transpose ? wRows : wCols;
  const groupsPerRow = wCols / params.groupSize;
  const wBatch = w.shape.length === 3 ? w.shape[0] : 1;
  const xBatch = x.shape.length === 3 ? x.shape[0] : 1;
  const batch = Math.max(wBatch, xBatch);
  const words = w.data as Uint32Array;

  const weight = (b: number, k: number, n: number): bigint => {
    const r = params.transpose ? n : k;
    const c = params.transpose ? k : n;
    const wb = wBatch === 1 ? 0 : b;
    const code = codeAt(words, (wb * wRows + r) * wordsPerRow, wordsPerRow, c, params.bits);
    const scaleIndex = (wb * wRows + r) * groupsPerRow + Math.floor(c / params.groupSize);
    if (params.mode === "affine") {
      const s = exactFloat(scales, scaleIndex);
      const beta = exactFloat(biases as Tensor, scaleIndex);
      if (s === null || beta === null) throw new Error("oracle: non-finite scale or bias");
      return s * BigInt(code) + beta;
    }
    const byte = (scales.data as Uint8Array)[scaleIndex];
    const scale = params.mode === "nvfp4" ? exactE4m3(byte) : exactOfScaled(1n, byte - 127);
    const value = params.mode === "mxfp8" ? exactE4m3(code) : exactE2m1(code);
    return multiplyExact(scale, value);
  };

  const y: number[] = [];
  const exact: number[] = [];
  for (let b = 0; b < batch; b++) {
    const xb = xBatch === 1 ? 0 : b;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0n;
        for (let k = 0; k < K; k++) {
          const xValue = exactFloat(x, (xb * M + m) * K + k);
          if (xValue === null) throw new Error("oracle: non-finite x");
          sum += multiplyExact(xValue, weight(b, k, n));
        }
        y.push(roundExact(sum, ORACLE_FORMATS[outDType]));
        exact.push(roundExact(sum, ORACLE_FORMATS.float64));
      }
    }
  }
  return { y, exact };
}

export { SCALE };
