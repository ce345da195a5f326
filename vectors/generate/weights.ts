/**
 * Quantized weights built directly from codes and power-of-two scales, for the patterns that need
 * exact control over ŵ (ties, overflow, subnormal results, extreme scales, the exact tier). Every
 * dequantized weight is sign·2^e·level, so its value is known exactly as a float64.
 */
import { E2M1_VALUES } from "../../reference/formats/e2m1.ts";
import { E4M3_VALUES, e4m3ToNumber, numberToE4m3 } from "../../reference/formats/e4m3.ts";
import { powerOfTwo, roundToDType } from "../../reference/formats/float.ts";
import { packCodes, packedWordsPerRow } from "../../reference/pack.ts";
import { tensorFromNumbers } from "../../reference/tensor.ts";
import type { Tensor } from "../../spec/types.ts";
import type { CaseConfig } from "./config.ts";
import { logicalWeightShape, weightMatrixCount } from "./config.ts";

/** The packed weight tensors of a case. */
export interface WeightTensors {
  readonly w: Tensor;
  readonly scales: Tensor;
  readonly biases?: Tensor;
}

/** The choice of each group's scale and each element's level for {@link buildDirectWeights}. */
export interface DirectWeightSpec {
  /** Base-2 exponent of the scale of group g of row r in matrix b. */
  scaleExponent(b: number, r: number, g: number): number;
  /** Sign of that scale: negative scales exist in affine and nvfp4 only. */
  scaleSign?(b: number, r: number, g: number): 1 | -1;
  /** nvfp4 only: the E4M3 scale byte itself, for scales that are not powers of two (448, ±0). Overrides the exponent and sign. */
  nvfp4ScaleByte?(b: number, r: number, g: number): number;
  /** The element value of (b, r, c), taken from {@link elementLevels}. */
  level(b: number, r: number, c: number): number;
  /** Affine zero point z: β = −s·z and code q = level + z. Defaults to 2^(bits−1). */
  readonly zeroPoint?: number;
}

/** Direct weights: the tensors and the exact dequantized logical weight (batch × rows × cols). */
export interface DirectWeights extends WeightTensors {
  readonly values: Float64Array;
}

/**
 * Returns the element values a mode can encode exactly: affine integer levels q − z in
 * [−z, 2^bits − 1 − z], E2M1 values, or every E4M3 value except the reserved codes 0x7F and 0xFF.
 */
export function elementLevels(cfg: CaseConfig, zeroPoint = 2 ** (cfg.bits - 1)): number[] {
  if (cfg.mode === "affine") {
    return Array.from({ length: 2 ** cfg.bits }, (_, q) => q - zeroPoint);
  }
  if (cfg.mode === "mxfp8") {
    return Array.from(E4M3_VALUES).filter((_, byte) => (byte & 0x7f) !== 0x7f);
  }
  return [...E2M1_VALUES];
}

/**
 * Builds packed weights from per-group scale exponents and per-element levels. Throws when a
 * requested scale or bias is not exactly representable in its storage format, so a pattern can
 * never silently round what it meant to control.
 */
export function buildDirectWeights(cfg: CaseConfig, spec: DirectWeightSpec): DirectWeights {
  const { rows, cols } = logicalWeightShape(cfg);
  const matrices = weightMatrixCount(cfg.shape);
  const groups = cols / cfg.groupSize;
  const zeroPoint = spec.zeroPoint ?? 2 ** (cfg.bits - 1);

  const codes = new Uint8Array(matrices * rows * cols);
  const scaleValues = new Float64Array(matrices * rows * groups);
  const scaleBytes = new Uint8Array(matrices * rows * groups);
  const biasValues = new Float64Array(matrices * rows * groups);
  const values = new Float64Array(matrices * rows * cols);

  for (let b = 0; b < matrices; b++) {
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        const scaleIndex = (b * rows + r) * groups + g;
        const exponent = spec.scaleExponent(b, r, g);
        const sign = spec.scaleSign?.(b, r, g) ?? 1;
        const byte = cfg.mode === "nvfp4" ? spec.nvfp4ScaleByte?.(b, r, g) : undefined;
        if (byte !== undefined && (byte & 0x7f) === 0x7f) throw new Error(`nvfp4 scale byte 0x${byte.toString(16)} is reserved`);

        const scale = byte === undefined ? sign * powerOfTwo(exponent) : e4m3ToNumber(byte);
        scaleValues[scaleIndex] = scale;
        scaleBytes[scaleIndex] = byte ?? encodeScale(cfg, exponent, sign);
        biasValues[scaleIndex] = -scale * zeroPoint;

        for (let c = g * cfg.groupSize; c < (g + 1) * cfg.groupSize; c++) {
          const index = (b * rows + r) * cols + c;
          const level = spec.level(b, r, c);
          codes[index] = encodeElement(cfg, level, zeroPoint);
          values[index] = scale * level;
        }
      }
    }
  }

  const wShape = [...cfg.shape.wBatch, rows, packedWordsPerRow(cols, cfg.bits)];
  const scalesShape = [...cfg.shape.wBatch, rows, groups];
  const w: Tensor = { dtype: "uint32", shape: wShape, data: packCodes(codes, cfg.bits, matrices * rows, cols) };

  if (cfg.mode !== "affine") {
    return { w, scales: { dtype: "uint8", shape: scalesShape, data: scaleBytes }, values };
  }

  return {
    w,
    scales: exactTensor(cfg.scalesDType, scalesShape, scaleValues, "scale"),
    biases: exactTensor(cfg.biasesDType, scalesShape, biasValues, "bias"),
    values,
  };
}

function encodeScale(cfg: CaseConfig, exponent: number, sign: 1 | -1): number {
  if (cfg.mode === "affine") return 0;

  if (cfg.mode === "nvfp4") {
    const byte = numberToE4m3(sign * powerOfTwo(exponent));
    if (e4m3ToNumber(byte) !== sign * powerOfTwo(exponent) || (byte & 0x7f) === 0x7f) {
      throw new Error(`nvfp4 scale ${sign}·2^${exponent} is not an E4M3 value`);
    }
    return byte;
  }

  if (sign < 0 || exponent < -127 || exponent > 127) {
    throw new Error(`${cfg.mode} scale ${sign}·2^${exponent} is not an E8M0 value (bytes 0..254)`);
  }
  return exponent + 127;
}

function encodeElement(cfg: CaseConfig, level: number, zeroPoint: number): number {
  if (cfg.mode === "affine") {
    const code = level + zeroPoint;
    if (!Number.isInteger(code) || code < 0 || code >= 2 ** cfg.bits) {
      throw new Error(`affine level ${level} with zero point ${zeroPoint} needs code ${code}, outside ${cfg.bits} bits`);
    }
    return code;
  }

  if (cfg.mode === "mxfp8") {
    const byte = numberToE4m3(level);
    if (e4m3ToNumber(byte) !== level || (byte & 0x7f) === 0x7f) throw new Error(`mxfp8 level ${level} is not an E4M3 value`);
    return byte;
  }

  const code = E2M1_VALUES.indexOf(level);
  if (code < 0) throw new Error(`${cfg.mode} level ${level} is not an E2M1 value`);
  return Object.is(level, -0) ? 8 : code;
}

function exactTensor(dtype: CaseConfig["scalesDType"], shape: number[], values: Float64Array, what: string): Tensor {
  for (const value of values) {
    if (roundToDType(value, dtype) !== value) throw new Error(`${what} ${value} is not exactly representable in ${dtype}`);
  }
  return tensorFromNumbers(dtype, shape, values);
}
