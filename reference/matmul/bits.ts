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
