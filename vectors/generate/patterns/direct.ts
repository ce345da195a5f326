/**
 * Patterns built from codes and power-of-two scales (./weights.ts), where the exact value of every
 * ŵ must be controlled: rounding ties, overflow, subnormal results, negative and extreme scales.
 */
import { e4m3ToNumber } from "../../../reference/formats/e4m3.ts";
import { FORMAT_INFO, powerOfTwo } from "../../../reference/formats/float.ts";
import type { QmmInputs } from "../../../spec/types.ts";
import type { CaseConfig } from "../config.ts";
import { weightMatrixCount } from "../config.ts";
import type { Random } from "../random.ts";
import { ceilLog2, exactXTensor, floorLog2, normalValues, randomSignificand, xElementCount, xTensor } from "../values.ts";
import { buildDirectWeights, elementLevels } from "../weights.ts";
import type { DirectWeightSpec } from "../weights.ts";
import type { ValuePattern } from "./pattern.ts";
import { requireUniformDType } from "./pattern.ts";

/** Non-zero levels of moderate size: every affine level but 0, E2M1 values, E4M3 values with |v| in [1/4, 16]. */
function moderateLevels(cfg: CaseConfig): number[] {
  return elementLevels(cfg).filter((v) => v !== 0 && Math.abs(v) >= 0.25 && Math.abs(v) <= 16);
}

/** Maps logical weight element (r, c) to its reduction index k and output column n. */
function kn(cfg: CaseConfig, r: number, c: number): { k: number; n: number } {
  return cfg.transpose ? { k: c, n: r } : { k: r, n: c };
}

function finish(cfg: CaseConfig, x: QmmInputs["x"], spec: DirectWeightSpec): QmmInputs {
  const { w, scales, biases } = buildDirectWeights(cfg, spec);
  return biases === undefined ? { x, w, scales } : { x, w, scales, biases };
}

/** Clamps `exponent` to the scale exponents the mode stores exactly. */
function clampScaleExponent(cfg: CaseConfig, exponent: number): number {
  if (cfg.mode === "nvfp4") return Math.min(8, Math.max(-9, exponent));
  if (cfg.mode !== "affine") return Math.min(127, Math.max(-127, exponent));

  // Affine: β = −s·2^(bits−1) must stay finite in the scales dtype as well.
  const info = FORMAT_INFO[cfg.scalesDType];
  return Math.min(info.maxExponent - cfg.bits, Math.max(info.minNormalExponent, exponent));
}

/**
 * Every output element is exactly halfway between two neighbours of the output dtype:
 * y = c·(x0 ± x1) with x1 half an ulp of x0, while the other terms cancel in pairs
 * (x_{2i+1} = −x_{2i} against equal weights). Round-to-nearest-even must pick the even neighbour.
 */
export const ties: ValuePattern = {
  name: "ties",
  summary: "every y exactly halfway between two output values (x0 ± half an ulp, other terms cancel in pairs)",
  unsupported: requireUniformDType,
  build(cfg, rng) {
    const { K, N } = cfg.shape;
    const precision = FORMAT_INFO[cfg.xDType].precision;
    const matrices = weightMatrixCount(cfg.shape);
    const levels = moderateLevels(cfg);
    const pairs = Math.ceil(K / 2);
    const groupsPerRow = (cfg.transpose ? K : N) / cfg.groupSize;

    const pairLevels = Float64Array.from({ length: matrices * pairs * N }, () => rng.pick(levels));
    const secondSign = Float64Array.from({ length: matrices * N }, () => rng.sign());
    const exponents = Int8Array.from({ length: matrices * (cfg.transpose ? N : pairs) * groupsPerRow }, () => rng.integerBetween(-1, 1));

    const spec: DirectWeightSpec = {
      scaleExponent: (b, r, g) => exponents[(b * (cfg.transpose ? N : pairs) + (cfg.transpose ? r : r >> 1)) * groupsPerRow + g],
      level(b, r, c) {
        const { k, n } = kn(cfg, r, c);
        if (k === 0) return 1;
        if (k === 1) return secondSign[b * N + n];
        if (K % 2 === 1 && k === K - 1) return 0;
        return pairLevels[(b * pairs + (k >> 1)) * N + n];
      },
    };

    const x = new Float64Array(xElementCount(cfg));
    for (let row = 0; row < x.length / K; row++) {
      const exponent = rng.integerBetween(-1, 1);
      x[row * K] = randomSignificand(rng, cfg.xDType, exponent);
      if (K > 1) x[row * K + 1] = powerOfTwo(exponent - precision);
      for (let k = 2; k + 1 < K; k += 2) {
        const value = rng.sign() * randomSignificand(rng, cfg.xDType, exponent - rng.integer(3));
        x[row * K + k] = value;
        x[row * K + k + 1] = -value;
      }
    }

    return finish(cfg, exactXTensor(cfg, x), spec);
  },
};

/**
 * Sums beyond the output dtype's largest finite value although every term is finite: column
 * classes overflow to +inf, land near the maximum, overflow to −inf, or stay finite.
 */
export const overflow: ValuePattern = {
  name: "overflow",
  summary: "column sums of about ±2·max finite of the output dtype from finite terms (float16: 65504)",
  unsupported: requireUniformDType,
  build(cfg, rng) {
    const { K, N } = cfg.shape;
    const info = FORMAT_INFO[cfg.xDType];
    const positive = moderateLevels(cfg).filter((v) => v > 0).sort((a, b) => a - b);
    const big = positive.slice(Math.floor(positive.length / 2));
    const small = positive.slice(0, Math.max(1, Math.floor(positive.length / 2)));
    const bigMean = big.reduce((sum, v) => sum + v, 0) / big.length;

    const weightExponent = clampScaleExponent(cfg, Math.floor(info.maxExponent / 2));
    const xExponent = Math.min(info.maxExponent - 1, floorLog2((2 * info.maxFinite) / (1.5 * K * bigMean)) - weightExponent);

    const spec: DirectWeightSpec = {
      scaleExponent: () => weightExponent,
      level(_b, r, c) {
        const { n } = kn(cfg, r, c);
        const kind = n % 4;
        if (kind === 0) return rng.pick(big);
        if (kind === 1) return rng.pick(small);
        if (kind === 2) return -rng.pick(big);
        return rng.sign() * rng.pick(small);
      },
    };

    const x = Float64Array.from({ length: xElementCount(cfg) }, () => randomSignificand(rng, cfg.xDType, xExponent));
    return finish(cfg, exactXTensor(cfg, x), spec);
  },
};

/**
 * The first half of the reduction sums to about 4·max finite of the output dtype, and the second
 * half repeats it with negated weights, so y stays finite (about max/8). A running sum kept in the
 * output dtype overflows on the way (MLX's CPU loop accumulates in float16 for float16 inputs).
 */
export const partialOverflow: ValuePattern = {
  name: "partial-overflow",
  summary: "first half of K sums to about +4·max finite, second half cancels it: finite y, overflowing running sums",
  unsupported(cfg) {
    const uniform = requireUniformDType(cfg);
    if (uniform !== undefined) return uniform;
    if (cfg.shape.K % 2 !== 0) return "needs an even K";
    if (cfg.transpose && (cfg.shape.K / 2) % cfg.groupSize !== 0) return "needs K/2 to be a multiple of group_size";
    return undefined;
  },
  build(cfg, rng) {
    const { K, N } = cfg.shape;
    const half = K / 2;
    const info = FORMAT_INFO[cfg.xDType];
    const levels = moderateLevels(cfg);
    const symmetric = levels.filter((v) => v > 0 && levels.includes(-v));
    const mean = symmetric.reduce((sum, v) => sum + v, 0) / symmetric.length;

    // half·1.5·2^(xe+we)·mean ≈ 4·max: the first half alone is four times past the largest finite value.
    const weightExponent = clampScaleExponent(cfg, Math.floor(info.maxExponent / 2));
    const xExponent = Math.min(info.maxExponent - 1, floorLog2((8 * info.maxFinite) / (1.5 * K * mean)) - weightExponent);

    const matrices = weightMatrixCount(cfg.shape);
    const firstHalf = Float64Array.from({ length: matrices * half * N }, () => rng.pick(symmetric));
    const spec: DirectWeightSpec = {
      scaleExponent: () => weightExponent,
      level(b, r, c) {
        const { k, n } = kn(cfg, r, c);
        const level = firstHalf[(b * half + (k % half)) * N + n];
        return k < half ? level : -level;
      },
    };

    // The second half of x repeats the first, except every eighth value, which is 3/4 of it.
    const x = new Float64Array(xElementCount(cfg));
    for (let row = 0; row < x.length / K; row++) {
      for (let k = 0; k < half; k++) {
        const value = randomSignificand(rng, cfg.xDType, xExponent);
        x[row * K + k] = value;
        x[row * K + half + k] = k % 8 === 0 ? value * 0.75 : value;
      }
    }
    return finish(cfg, xTensor(cfg, x), spec);
  },
};

/** Sums in the subnormal range of the output dtype, from tiny x against small scales. */
export const subnormal: ValuePattern = {
  name: "subnormal",
  summary: "y of about a quarter of the smallest normal of the output dtype (subnormal results)",
  unsupported: requireUniformDType,
  build(cfg, rng) {
    const { K } = cfg.shape;
    const info = FORMAT_INFO[cfg.xDType];
    const levels = moderateLevels(cfg);

    // A sum of K random-sign terms of size 2^(ex+ew)·rms(level) is about √K times one term. Aim at 2^-2 of the smallest normal.
    const levelRms = Math.sqrt(levels.reduce((sum, v) => sum + v * v, 0) / levels.length);
    const weightExponent = clampScaleExponent(cfg, Math.floor(info.minNormalExponent / 2));
    const target = info.minNormalExponent - 2 - ceilLog2(Math.sqrt(K) * levelRms);
    const xExponent = Math.max(info.minNormalExponent - info.precision + 1, target - weightExponent);

    const spec: DirectWeightSpec = {
      scaleExponent: () => weightExponent,
      level: () => rng.pick(levels),
    };

    const x = Float64Array.from({ length: xElementCount(cfg) }, () => rng.sign() * randomSignificand(rng, cfg.xDType, xExponent + rng.integerBetween(-1, 1)));
    return finish(cfg, xTensor(cfg, x), spec);
  },
};

/** Negative scales: MLX's affine quantize emits them whenever |max| ≥ |min|, and E4M3 scales have a sign bit. */
export const negativeScales: ValuePattern = {
  name: "negative-scales",
  summary: "three of four groups with a negative scale (affine s < 0, nvfp4 E4M3 sign bit set)",
  unsupported: (cfg) => (cfg.mode === "affine" || cfg.mode === "nvfp4" ? undefined : "E8M0 scales have no sign"),
  build(cfg, rng) {
    const levels = elementLevels(cfg);
    const spec: DirectWeightSpec = {
      scaleExponent: () => rng.integerBetween(-3, 0),
      scaleSign: (_b, r, g) => ((r + g) % 4 === 3 ? 1 : -1),
      level: () => rng.pick(levels),
    };
    return finish(cfg, xTensor(cfg, normalValues(rng, xElementCount(cfg))), spec);
  },
};

/** E4M3 codes at the edges of the format: ±448 (0x7E/0xFE), the smallest subnormal 2^-9 (0x01), ±0, the smallest normal 2^-6. */
const EXTREME_E4M3_BYTES = [0x7e, 0xfe, 0x01, 0x81, 0x00, 0x80, 0x08];

/**
 * E4M3 codes at the edges of the format: nvfp4 scales of ±448, 2^-9, ±0 and 2^-6 in every
 * reduction class, or mxfp8 elements with those values. For nvfp4, x is scaled against the scale
 * of its class where its dtype allows it.
 */
export const extremeE4m3: ValuePattern = {
  name: "extreme-e4m3",
  summary: "E4M3 codes ±448, 2^-9, ±0 and 2^-6 as nvfp4 scales or mxfp8 elements",
  unsupported: (cfg) => (cfg.mode === "nvfp4" || cfg.mode === "mxfp8" ? undefined : "only nvfp4 scales and mxfp8 elements are E4M3"),
  build(cfg, rng) {
    const { K } = cfg.shape;
    const info = FORMAT_INFO[cfg.xDType];
    const levels = moderateLevels(cfg);
    const classes = cfg.transpose ? K / cfg.groupSize : K;
    const classBytes = Uint8Array.from({ length: classes }, (_, index) => EXTREME_E4M3_BYTES[index % EXTREME_E4M3_BYTES.length]);
    const classOf = (k: number) => (cfg.transpose ? Math.floor(k / cfg.groupSize) : k);
    const extremeElements = EXTREME_E4M3_BYTES.map((byte) => e4m3ToNumber(byte));

    const spec: DirectWeightSpec =
      cfg.mode === "nvfp4"
        ? {
            scaleExponent: () => 0,
            nvfp4ScaleByte: (_b, r, g) => classBytes[cfg.transpose ? g : r],
            level: () => rng.pick(levels),
          }
        : {
            scaleExponent: () => rng.integerBetween(-2, 2),
            level: () => (rng.chance(0.5) ? rng.pick(extremeElements) : rng.pick(levels)),
          };

    const x = new Float64Array(xElementCount(cfg));
    for (let index = 0; index < x.length; index++) {
      let exponent = rng.integerBetween(-1, 1);
      if (cfg.mode === "nvfp4") {
        const magnitude = Math.abs(e4m3ToNumber(classBytes[classOf(index % K)]));
        if (magnitude > 0) exponent = -floorLog2(magnitude) - 2;
      }
      exponent = Math.min(info.maxExponent - 3, Math.max(info.minNormalExponent, exponent));
      x[index] = rng.sign() * randomSignificand(rng, cfg.xDType, exponent);
    }
    return finish(cfg, exactXTensor(cfg, x), spec);
  },
};

/**
 * E8M0 scale bytes 0x00 (2^-127) and 0xFE (2^127) next to ordinary ones. x is scaled by the
 * inverse where its dtype allows it, so some products are moderate and others overflow or vanish.
 */
export const extremeE8m0: ValuePattern = {
  name: "extreme-e8m0",
  summary: "E8M0 scale bytes 0x00 and 0xFE in every third reduction group, x scaled against them",
  unsupported: (cfg) => (cfg.mode === "mxfp4" || cfg.mode === "mxfp8" ? undefined : "only mxfp4 and mxfp8 have E8M0 scales"),
  build(cfg, rng) {
    const { K } = cfg.shape;
    const info = FORMAT_INFO[cfg.xDType];
    const levels = moderateLevels(cfg);

    // The reduction index k belongs to class classOf(k): its group (transpose) or its row (not).
    const classes = cfg.transpose ? K / cfg.groupSize : K;
    const classExponent = Int16Array.from({ length: classes }, (_, index) => [-127, 127, rng.integerBetween(-2, 2)][index % 3]);
    const classOf = (k: number) => (cfg.transpose ? Math.floor(k / cfg.groupSize) : k);

    const positive = levels.filter((v) => v > 0);
    const spec: DirectWeightSpec = {
      scaleExponent: (_b, r, g) => classExponent[cfg.transpose ? g : r],
      level: () => rng.sign() * rng.pick(positive),
    };

    const x = new Float64Array(xElementCount(cfg));
    for (let index = 0; index < x.length; index++) {
      const exponent = Math.min(info.maxExponent - 3, Math.max(info.minNormalExponent, -classExponent[classOf(index % K)] - 3));
      x[index] = rng.sign() * randomSignificand(rng, cfg.xDType, exponent);
    }
    return finish(cfg, exactXTensor(cfg, x), spec);
  },
};
