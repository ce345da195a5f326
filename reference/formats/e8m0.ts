/**
 * E8M0 scales of mxfp4 and mxfp8 (SPEC.md §3.5): an unsigned byte E stands for 2^(E-127).
 */
import { powerOfTwo } from "./float.ts";

/** The code OCP reserves for NaN. MLX decodes it to +infinity; the specification rejects it (SPEC.md §3.6). */
export const E8M0_RESERVED_CODE = 0xff;

/**
 * Decodes an E8M0 byte to 2^(E-127). Byte 0 gives 2^-127 and byte 255 gives +infinity, both as MLX's
 * CPU decoder does: it builds the bfloat16 pattern E<<7, which is a subnormal for E = 0 (patched to
 * 0x40) and the infinity pattern for E = 255.
 */
export function e8m0ToNumber(byte: number): number {
  const code = byte & 0xff;
  if (code === E8M0_RESERVED_CODE) return Infinity;
  return powerOfTwo(code - 127);
}
