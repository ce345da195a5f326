/** Bit-level facts about float64 values that the exactness checks need. */

const scratchFloat = new Float64Array(1);
const scratchWords = new Uint32Array(scratchFloat.buffer);

/** Returns the exponent of the lowest set bit of a finite nonzero float64: `value` is an odd multiple of 2^result. */
export function lowestBitExponent(value: number): number {
  scratchFloat[0] = value;
  const low = scratchWords[0];
  const high = scratchWords[1];

  let biasedExponent = (high >>> 20) & 0x7ff;
  let mantissaHigh = high & 0xfffff;
  if (biasedExponent === 0) biasedExponent = 1;
  else mantissaHigh |= 0x100000;

  const trailingZeros = low !== 0 ? countTrailingZeros(low) : 32 + countTrailingZeros(mantissaHigh);
  return biasedExponent - 1075 + trailingZeros;
}

function countTrailingZeros(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Returns floor(log2 |value|) for a finite nonzero float64, subnormals included. */
export function exponentOf(value: number): number {
  scratchFloat[0] = value;
  const biasedExponent = (scratchWords[1] >>> 20) & 0x7ff;
  if (biasedExponent !== 0) return biasedExponent - 1023;

  const mantissaHigh = scratchWords[1] & 0xfffff;
  if (mantissaHigh !== 0) return -1043 + (31 - Math.clz32(mantissaHigh));
  return -1075 + (31 - Math.clz32(scratchWords[0]));
}
