// The AVX2+FMA kernel set: the build's baseline (x86-64-v3), 8 float lanes.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

#define QMM_VL 8
#define QMM_NS qmm_avx2
#include "kernels.inc"

qmm::KernelSet qmm::avx2_kernel_set() {
  return {"avx2", qmm_avx2::ROW_TILE, &qmm_avx2::transposed, &qmm_avx2::plain, &qmm_avx2::transposed_shape,
          &qmm_avx2::scratch_floats, &qmm_avx2::pairs_x, 8, &qmm_avx2::stream_sum};
}
