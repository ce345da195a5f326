// Scalar conversions between float32 and the 16-bit float types, round-to-nearest-even.
// float16 uses the F16C instructions of the x86-64-v3 baseline.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "qmm.h"

namespace qmm {

inline float bits_to_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline uint32_t float_to_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float half_to_float(uint16_t bits) { return _cvtsh_ss(bits); }

inline uint16_t float_to_half(float value) {
  return static_cast<uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

inline float bfloat_to_float(uint16_t bits) { return bits_to_float(static_cast<uint32_t>(bits) << 16); }

inline uint16_t float_to_bfloat(float value) {
  const uint32_t bits = float_to_bits(value);
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x0040);  // keep it a quiet NaN
  const uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

/** Reads element i of a float array of the given type as float32 (exact). */
inline float load_float(const void* data, FloatType type, int64_t i) {
  switch (type) {
    case FloatType::Float32: return static_cast<const float*>(data)[i];
    case FloatType::Float16: return half_to_float(static_cast<const uint16_t*>(data)[i]);
    case FloatType::BFloat16: return bfloat_to_float(static_cast<const uint16_t*>(data)[i]);
  }
  return 0.0f;
}

/** Writes a float32 value, rounded to nearest even, as element i of a float array of the given type. */
inline void store_float(void* data, FloatType type, int64_t i, float value) {
  switch (type) {
    case FloatType::Float32: static_cast<float*>(data)[i] = value; return;
    case FloatType::Float16: static_cast<uint16_t*>(data)[i] = float_to_half(value); return;
    case FloatType::BFloat16: static_cast<uint16_t*>(data)[i] = float_to_bfloat(value); return;
  }
}

/** Decodes an E4M3 byte as MLX does: no NaN, 0x7F is 480 (SPEC.md §3.4). */
inline float e4m3_to_float(uint8_t byte) {
  const int exponent = (byte >> 3) & 0xF;
  const int mantissa = byte & 7;
  const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)
                                        : std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
  return (byte & 0x80) ? -magnitude : magnitude;
}

/** Decodes an E2M1 code (SPEC.md §3.3). */
inline float e2m1_to_float(uint32_t code) {
  static const float table[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float magnitude = table[code & 7];
  return (code & 8) ? -magnitude : magnitude;
}

}  // namespace qmm
