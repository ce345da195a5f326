// The AVX-512 kernel set, 16 float lanes. Only the pragma region below is compiled for AVX-512.
// The driver calls these kernels only after __builtin_cpu_supports has confirmed the features,
// so the binary still runs on AVX2-only CPUs.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl")
#define QMM_VL 16
#define QMM_NS qmm_avx512
#include "kernels.inc"
#pragma GCC pop_options

qmm::KernelSet qmm::avx512_kernel_set() {
  return {"avx512", qmm_avx512::ROW_TILE, &qmm_avx512::transposed, &qmm_avx512::plain, &qmm_avx512::transposed_shape,
          &qmm_avx512::scratch_floats, &qmm_avx512::pairs_x, 16, &qmm_avx512::stream_sum};
}
