// The interface between the driver (qmm.cc) and the two SIMD kernel sets. Both sets come from
// one source, kernels.inc, compiled once for AVX2+FMA (8 float lanes) and once for AVX-512
// (16 float lanes). The driver picks one at run time.
#pragma once

#include <cstdint>

#include "qmm.h"

namespace qmm {

/** One output matrix's worth of work, with x already converted to float32. */
struct KernelArgs {
  Encoding encoding;

  const float* x;            // rows of K floats; row count padded to a multiple of the tile height
  int64_t x_stride;          // floats from one row of x to the next (K, or more to avoid cache-set conflicts)
  const float* x_group_sums; // affine with transpose=true: per row of x, the float32 sum of each group
  // The panel path of transpose=true (TransposedShape::reads_xt): x transposed, element (k, m)
  // at xt[k·xt_stride + m], in the order of x's columns above, with rows m ≥ M set to zero.
  // xt_stride is a multiple of the lane count and at least M; x and x_group_sums are unused there.
  const float* xt;
  int64_t xt_stride;
  int64_t M;                 // padded row count of x and y
  int64_t K, N;
  int64_t groups;            // groups per packed row
  int group_size;

  // Packed rows of w: row r starts at w + r·row_bytes, except the final row of the whole
  // buffer, which is read from last_row_copy (a copy with readable padding, because the decoders
  // load 16 bytes at a time).
  const uint8_t* w;
  int64_t row_bytes;
  int64_t last_row;          // index of the row served by last_row_copy, or -1
  const uint8_t* last_row_copy;

  const float* scales;       // affine: rows × groups floats
  const float* biases;       // affine: rows × groups floats
  const uint8_t* scale_codes;// fp modes: rows × groups bytes
  const float* scale_table;  // fp modes: the value of each scale byte

  float* y;                  // M × N, row-major
};

/** The transposed kernel's tiling for a given padded row count of x. */
struct TransposedShape {
  /** Output columns per tile; a range of columns that starts at a multiple of it loses no speed. */
  int column_tile;
  /** Whether the kernel reads x transposed (KernelArgs::xt) instead of x and its group sums. */
  bool reads_xt;
};

/** A kernel set for one instruction set. */
struct KernelSet {
  const char* name;
  /** Row tile height the driver pads x to, for M > 1. */
  int row_tile;
  /**
   * transpose=true: computes y[:, n_begin:n_end]. `scratch` has room for at least
   * scratch_floats(K, xt_stride) floats, used to decode a few rows of w once for many rows of x.
   */
  void (*transposed)(const KernelArgs& args, int64_t n_begin, int64_t n_end, float* scratch);
  /** transpose=false: computes y[m_begin:m_end, n_begin:n_end]; n_begin and n_end are multiples of 16. */
  void (*plain)(const KernelArgs& args, int64_t m_begin, int64_t m_end, int64_t n_begin, int64_t n_end);
  /** The transposed kernel's shape for a padded row count M. */
  TransposedShape (*transposed_shape)(int64_t M);
  /** Floats of scratch the transposed kernel needs for reduction length K and KernelArgs::xt_stride. */
  int64_t (*scratch_floats)(int64_t K, int64_t xt_stride);
  /**
   * Whether the transposed kernels for this encoding and group size expect each block of 2·lanes
   * elements of x reordered as the even elements, then the odd ones (the paired 4-bit decoder).
   */
  bool (*pairs_x)(Encoding encoding, int group_size);
  /** Float lanes per vector. */
  int lanes;
  /** Sums `count` floats from `data` with vector loads: the streaming read of the bandwidth probe. */
  float (*stream_sum)(const float* data, int64_t count);
};

KernelSet avx2_kernel_set();
KernelSet avx512_kernel_set();

}  // namespace qmm
