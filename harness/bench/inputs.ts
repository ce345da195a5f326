/**
 * Random inputs for a benchmark case, generated straight into typed arrays (a 8192×8192 weight
 * is 16 Mi words, too many for per-element helpers). Every bit pattern of an affine or fp4 code
 * is valid; mxfp8 element bytes and scale bytes avoid the reserved codes of SPEC.md §3.6.
 */
import type { QmmInputs } from "../../spec/types.ts";
import type { BenchCase } from "./cases.ts";

/** A xorshift32 generator: fast, deterministic, good enough for benchmark data. */
class Bits {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Draws a uniform value in [0, 1). */
  uniform(): number {
    return this.next() / 4294967296;
  }
}

/** Replaces any byte whose low 7 bits are all ones (E4M3 0x7F or 0xFF) with the next lower code. */
function clearReservedE4M3(word: number): number {
  let out = word;
  for (let shift = 0; shift < 32; shift += 8) {
    if (((out >>> shift) & 0x7f) === 0x7f) out -= 1 << shift;
  }
  return out >>> 0;
}

/** Builds x (M×K), w, scales and, for affine, biases for one case. */
export function benchInputs(c: BenchCase, seed = 1): QmmInputs {
  const bits = new Bits(seed);
  const groups = c.K / c.groupSize;

  const x = new Float32Array(c.M * c.K);
  for (let i = 0; i < x.length; i++) x[i] = bits.uniform() + bits.uniform() + bits.uniform() - 1.5;

  const words = new Uint32Array((c.N * c.K * c.bits) / 32);
  for (let i = 0; i < words.length; i++) {
    const word = bits.next();
    words[i] = c.mode === "mxfp8" ? clearReservedE4M3(word) : word;
  }

  const base = {
    x: { dtype: "float32" as const, shape: [c.M, c.K], data: x },
    w: { dtype: "uint32" as const, shape: [c.N, (c.K * c.bits) / 32], data: words },
  };

  if (c.mode === "affine") {
    const scales = new Float32Array(c.N * groups);
    const biases = new Float32Array(c.N * groups);
    for (let i = 0; i < scales.length; i++) {
      scales[i] = (0.01 + 0.05 * bits.uniform()) * (bits.uniform() < 0.5 ? -1 : 1);
      biases[i] = -scales[i] * 2 ** (c.bits - 1);
    }
    return {
      ...base,
      scales: { dtype: "float32", shape: [c.N, groups], data: scales },
      biases: { dtype: "float32", shape: [c.N, groups], data: biases },
    };
  }

  // E8M0 scales within 2^±4 of 1; nvfp4 E4M3 scales between 0.25 and 2 (bytes 0x28 to 0x40).
  const scales = new Uint8Array(c.N * groups);
  for (let i = 0; i < scales.length; i++) {
    scales[i] = c.mode === "nvfp4" ? 0x28 + (bits.next() % 25) : 123 + (bits.next() % 9);
  }
  return { ...base, scales: { dtype: "uint8", shape: [c.N, groups], data: scales } };
}

/** Bytes of weight data one call reads: packed codes, scales and biases. */
export function weightBytes(inputs: QmmInputs): number {
  return inputs.w.data.byteLength + inputs.scales.data.byteLength + (inputs.biases?.data.byteLength ?? 0);
}
