// The C++ core of the native backend: one validated, broadcast-resolved call of
// quantized_matmul. The TypeScript wrapper validates inputs (SPEC.md §9.1) before anything
// reaches this file, so the core trusts shapes and codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qmm {

/** Element types of x, scales, biases and y. */
enum class FloatType : int { Float32 = 0, Float16 = 1, BFloat16 = 2 };

/** The element encoding of the packed codes of w. */
enum class Encoding : int {
  Uint2 = 2, Uint3 = 3, Uint4 = 4, Uint5 = 5, Uint6 = 6, Uint8 = 8,
  E2M1 = 16,  // mxfp4 and nvfp4 elements
  E4M3 = 17,  // mxfp8 elements
};

/** The storage format of a scale. */
enum class ScaleKind : int { Float = 0, E8M0 = 1, E4M3 = 2 };

/** One call after validation and batch broadcasting. Pointers are borrowed from JS typed arrays. */
struct Problem {
  Encoding encoding;
  ScaleKind scale_kind;
  bool affine;
  bool transpose;
  int bits;
  int group_size;

  int64_t M, K, N;

  FloatType x_type, scales_type, biases_type, out_type;

  const void* x;          // x matrices, each M×K, in x_type
  const uint32_t* w;      // w matrices, packed rows
  const void* scales;     // per w matrix: rows × groups, in scales_type or uint8 codes
  const void* biases;     // affine only, same layout as scales, in biases_type
  void* y;                // output matrices, each M×N, in out_type

  int64_t batch_count;         // number of output matrices
  const int32_t* x_index;      // per output matrix, which x matrix it reads
  const int32_t* w_index;      // per output matrix, which w matrix it reads
  int64_t x_matrix_count;
  int64_t w_matrix_count;
};

/** Facts about the build and the CPU, reported by the backend's probe. */
struct BuildInfo {
  std::string isa;          // the kernel set in use: "avx512" or "avx2"
  std::string cpu_features; // the features the dispatch looked at
  int threads;
};

/** Runs one problem. Returns an empty string on success or an internal error message. */
std::string run(const Problem& problem);

/** Returns the kernel set and thread count the next run will use. */
BuildInfo build_info();

/**
 * Measures the read bandwidth of main memory in bytes per second: every thread of the pool
 * streams over its share of a buffer of `bytes`, `repeats` times, and the best pass counts.
 */
double measure_read_bandwidth(size_t bytes, int repeats);

/**
 * Reads `count` floats once with every thread of the pool, each over its share, as the bandwidth
 * probe does. Returns their sum, so that the reads cannot be optimized away.
 */
double stream_read(const float* data, int64_t count);

}  // namespace qmm
