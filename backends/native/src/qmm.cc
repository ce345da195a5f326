// The driver: converts operands to float32, picks the kernel set, splits the work over the
// thread pool and converts the result to the output dtype. Calls the float32 kernels cannot
// handle within their declared variant (non-finite values, extreme mx scale exponents) go to a
// float64 scalar path instead.
#include "qmm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aligned.h"
#include "float_convert.h"
#include "kernels.h"
#include "thread_pool.h"

namespace qmm {
namespace {

struct Runtime {
  KernelSet kernels;
  std::string cpu_features;
  std::unique_ptr<ThreadPool> pool;
  std::vector<AlignedFloats> scratch;  // per pool thread
  AlignedFloats transposed_x;          // x for the panel path, kept across calls to avoid page faults
};

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

std::string describe_cpu_features() {
  __builtin_cpu_init();
  std::string out;
  const char* names[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512vnni", "avx512bf16"};
  const bool present[] = {
      static_cast<bool>(__builtin_cpu_supports("avx2")),       static_cast<bool>(__builtin_cpu_supports("fma")),
      static_cast<bool>(__builtin_cpu_supports("avx512f")),    static_cast<bool>(__builtin_cpu_supports("avx512bw")),
      static_cast<bool>(__builtin_cpu_supports("avx512dq")),   static_cast<bool>(__builtin_cpu_supports("avx512vl")),
      static_cast<bool>(__builtin_cpu_supports("avx512vnni")), static_cast<bool>(__builtin_cpu_supports("avx512bf16"))};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    if (!present[i]) continue;
    if (!out.empty()) out += ",";
    out += names[i];
  }
  return out;
}

// QMM_NATIVE_ISA=avx2 forces the AVX2 kernels (to test them on an AVX-512 machine);
// QMM_NATIVE_THREADS sets the pool size. Both are read once, at the first call.
Runtime& runtime() {
  static Runtime rt = [] {
    Runtime r;
    const char* isa = std::getenv("QMM_NATIVE_ISA");
    const bool force_avx2 = isa != nullptr && std::string(isa) == "avx2";
    r.kernels = (!force_avx2 && cpu_has_avx512()) ? avx512_kernel_set() : avx2_kernel_set();
    r.cpu_features = describe_cpu_features();

    int threads = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* text = std::getenv("QMM_NATIVE_THREADS")) threads = std::atoi(text);
    threads = std::max(1, threads);
    r.pool = std::make_unique<ThreadPool>(threads);
    r.scratch.resize(static_cast<size_t>(threads));
    return r;
  }();
  return rt;
}

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

/** Reads code i of a packed row: bits [i·bits, (i+1)·bits) of a little-endian bit stream. */
uint32_t read_code(const uint8_t* row, int64_t i, int bits) {
  const int64_t bit = i * bits;
  uint32_t window = 0;
  const int64_t first = bit / 8;
  const int span = static_cast<int>((bit % 8 + bits + 7) / 8);
  for (int b = 0; b < span; ++b) window |= static_cast<uint32_t>(row[first + b]) << (8 * b);
  return (window >> (bit % 8)) & ((1u << bits) - 1);
}

float scale_code_value(ScaleKind kind, uint8_t code) {
  if (kind == ScaleKind::E8M0) return code == 0xFF ? INFINITY : std::ldexp(1.0f, code - 127);
  return e4m3_to_float(code);
}

double element_value(const Problem& p, uint32_t code) {
  if (p.encoding == Encoding::E2M1) return e2m1_to_float(code);
  if (p.encoding == Encoding::E4M3) return e4m3_to_float(static_cast<uint8_t>(code));
  return static_cast<double>(code);
}

int64_t packed_rows(const Problem& p) { return p.transpose ? p.N : p.K; }
int64_t packed_length(const Problem& p) { return p.transpose ? p.K : p.N; }
int64_t groups_per_row(const Problem& p) { return packed_length(p) / p.group_size; }
int64_t row_bytes(const Problem& p) { return packed_length(p) * p.bits / 8; }

/**
 * Returns true when an mx scale exponent lies beyond ±100. There ŵ may overflow float32 although
 * the exact result is finite, so the call goes to the float64 path.
 */
bool has_extreme_scales(const Problem& p) {
  if (p.affine || p.scale_kind != ScaleKind::E8M0) return false;

  const int64_t count = p.w_matrix_count * packed_rows(p) * groups_per_row(p);
  const uint8_t* codes = static_cast<const uint8_t*>(p.scales);
  bool extreme = false;
  for (int64_t i = 0; i < count; ++i) extreme |= (codes[i] < 27) | (codes[i] > 227);
  return extreme;
}

/** Returns true when any of `count` floats is NaN or ±inf. */
bool any_non_finite(const float* values, int64_t count) {
  bool found = false;
  for (int64_t i = 0; i < count; ++i) found |= (float_to_bits(values[i]) & 0x7F800000u) == 0x7F800000u;
  return found;
}

/** Computes the call in float64 scalar code: ŵ, products and sums in float64, then one rounding per output. */
void run_wide(const Problem& p, ThreadPool& pool) {
  const int64_t rows = packed_rows(p);
  const int64_t groups = groups_per_row(p);
  const int64_t bytes = row_bytes(p);
  const uint8_t* w_bytes = reinterpret_cast<const uint8_t*>(p.w);
  const uint8_t* scale_codes = static_cast<const uint8_t*>(p.scales);

  pool.parallel_for(p.batch_count * p.M, [&](int64_t task, int) {
    const int64_t b = task / p.M;
    const int64_t m = task % p.M;
    const int64_t x_base = (static_cast<int64_t>(p.x_index[b]) * p.M + m) * p.K;
    const int64_t w_matrix = p.w_index[b];

    for (int64_t n = 0; n < p.N; ++n) {
      double sum = 0.0;
      for (int64_t k = 0; k < p.K; ++k) {
        const int64_t r = p.transpose ? n : k;
        const int64_t c = p.transpose ? k : n;
        const int64_t row = w_matrix * rows + r;
        const int64_t scale_index = row * groups + c / p.group_size;
        const double value = element_value(p, read_code(w_bytes + row * bytes, c, p.bits));
        double w_hat;
        if (p.affine) {
          w_hat = static_cast<double>(load_float(p.scales, p.scales_type, scale_index)) * value +
                  static_cast<double>(load_float(p.biases, p.biases_type, scale_index));
        } else {
          w_hat = static_cast<double>(scale_code_value(p.scale_kind, scale_codes[scale_index])) * value;
        }
        sum += static_cast<double>(load_float(p.x, p.x_type, x_base + k)) * w_hat;
      }
      // NOTE: float64 → float32 → float16/bfloat16 rounds twice. At a tie, that double rounding
      // can differ from the correctly rounded result by one unit in the last place.
      store_float(p.y, p.out_type, (b * p.M + m) * p.N + n, static_cast<float>(sum));
    }
  });
}

/**
 * Returns where column k of x is stored. With a nonzero `pair_block`, each block of that many
 * elements is stored as its even elements, then its odd ones, the order the paired 4-bit
 * decoder produces.
 */
int64_t stored_column(int64_t k, int64_t pair_block) {
  if (pair_block == 0) return k;

  const int64_t within = k % pair_block;
  return k - within + (within % 2) * (pair_block / 2) + within / 2;
}

/** Converts each x matrix to float32 rows in stored_column order, padding the row count with zero rows. */
std::vector<float> convert_x(const Problem& p, int64_t padded_m, int64_t pair_block, int64_t stride) {
  std::vector<float> out(static_cast<size_t>(p.x_matrix_count * padded_m * stride), 0.0f);
  for (int64_t xm = 0; xm < p.x_matrix_count; ++xm) {
    for (int64_t m = 0; m < p.M; ++m) {
      const int64_t source = (xm * p.M + m) * p.K;
      float* row = out.data() + (xm * padded_m + m) * stride;
      for (int64_t k = 0; k < p.K; ++k) row[stored_column(k, pair_block)] = load_float(p.x, p.x_type, source + k);
    }
  }
  return out;
}

/** Returns elements [first, first + count) of a float array of the given type, in float32. */
std::vector<float> convert_floats(const void* data, FloatType type, int64_t first, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = load_float(data, type, first + i);
  return out;
}

/**
 * Converts each x matrix to float32 and transposes it into `out` for the panel path: K rows (in
 * stored_column order) of `stride` floats, where the entries of rows m ≥ M are zero. Tasks of 16
 * rows of x convert their rows first, then write 64-byte runs of the output.
 */
void transpose_x(const Problem& p, int64_t pair_block, int64_t stride, ThreadPool& pool, AlignedFloats& out) {
  const size_t size = static_cast<size_t>(p.x_matrix_count * p.K * stride);
  if (out.size() < size) out.resize(size);

  std::vector<int64_t> column(static_cast<size_t>(p.K));
  for (int64_t k = 0; k < p.K; ++k) column[static_cast<size_t>(k)] = stored_column(k, pair_block);

  // The last task of each matrix also zeroes the padding rows M … stride − 1.
  constexpr int64_t kRows = 16;
  const int64_t row_blocks = (p.M + kRows - 1) / kRows;
  pool.parallel_for(p.x_matrix_count * row_blocks, [&](int64_t task, int) {
    const int64_t xm = task / row_blocks;
    const int64_t m0 = (task % row_blocks) * kRows;
    const int64_t rows = std::min(kRows, p.M - m0);
    const int64_t written = m0 + rows == p.M ? stride - m0 : rows;

    const int64_t source = (xm * p.M + m0) * p.K;
    std::vector<float> converted;
    const float* rows32 = static_cast<const float*>(p.x) + source;
    if (p.x_type != FloatType::Float32) {
      converted = convert_floats(p.x, p.x_type, source, rows * p.K);
      rows32 = converted.data();
    }

    float* matrix = out.data() + xm * p.K * stride + m0;
    for (int64_t k = 0; k < p.K; ++k) {
      float* target = matrix + column[static_cast<size_t>(k)] * stride;
      for (int64_t r = 0; r < rows; ++r) target[r] = rows32[r * p.K + k];
      for (int64_t r = rows; r < written; ++r) target[r] = 0.0f;
    }
  });
}

/**
 * Runs the SIMD kernels. Returns false, with y left incomplete, when a result came out NaN or
 * ±inf: the caller then recomputes the call in float64.
 */
bool run_kernels(const Problem& p, Runtime& rt) {
  const KernelSet& ks = rt.kernels;
  ThreadPool& pool = *rt.pool;
  const int64_t rows = packed_rows(p);
  const int64_t groups = groups_per_row(p);
  const int64_t bytes = row_bytes(p);
  const int64_t scale_count = p.w_matrix_count * rows * groups;

  // x in float32, padded to whole row tiles for the transposed kernels, or transposed for their
  // panel path.
  const int64_t padded_m = (p.transpose && p.M > 1) ? round_up(p.M, ks.row_tile) : p.M;
  const TransposedShape shape = ks.transposed_shape(padded_m);
  const bool transposed_x = p.transpose && shape.reads_xt;
  const int64_t pair_block = (p.transpose && ks.pairs_x(p.encoding, p.group_size)) ? 2 * ks.lanes : 0;
  std::vector<float> x_converted;
  const float* x32 = static_cast<const float*>(p.x);
  int64_t x_stride = p.K;
  // Rows 4 KiB apart map to the same L1 cache sets; 16 floats of padding avoid that.
  int64_t xt_stride = round_up(padded_m, ks.lanes);
  if (xt_stride % 1024 == 0) xt_stride += 16;
  if (transposed_x) {
    transpose_x(p, pair_block, xt_stride, pool, rt.transposed_x);
  } else if (p.x_type != FloatType::Float32 || padded_m != p.M || pair_block != 0) {
    if (p.M > 1 && p.K % 1024 == 0) x_stride = p.K + 16;
    x_converted = convert_x(p, padded_m, pair_block, x_stride);
    x32 = x_converted.data();
  }

  // Affine with transpose=true outside the panel path: the float32 sum of x over each group,
  // the β·Σx term.
  std::vector<float> group_sums;
  if (p.affine && p.transpose && !transposed_x) {
    group_sums.resize(static_cast<size_t>(p.x_matrix_count * padded_m * groups));
    for (int64_t row = 0; row < p.x_matrix_count * padded_m; ++row) {
      for (int64_t g = 0; g < groups; ++g) {
        float sum = 0.0f;
        for (int64_t k = 0; k < p.group_size; ++k) sum += x32[row * x_stride + g * p.group_size + k];
        group_sums[static_cast<size_t>(row * groups + g)] = sum;
      }
    }
  }

  // Scales and biases in float32 (affine), or a table of scale-byte values (fp modes).
  std::vector<float> scales32, biases32;
  const float* scales = nullptr;
  const float* biases = nullptr;
  float scale_table[256];
  if (p.affine) {
    scales = static_cast<const float*>(p.scales);
    biases = static_cast<const float*>(p.biases);
    if (p.scales_type != FloatType::Float32) {
      scales32 = convert_floats(p.scales, p.scales_type, 0, scale_count);
      scales = scales32.data();
    }
    if (p.biases_type != FloatType::Float32) {
      biases32 = convert_floats(p.biases, p.biases_type, 0, scale_count);
      biases = biases32.data();
    }
  } else {
    for (int code = 0; code < 256; ++code) scale_table[code] = scale_code_value(p.scale_kind, static_cast<uint8_t>(code));
  }

  // The decoders read 16 bytes from the start of each chunk, so the final packed row of the
  // buffer is read from a copy with readable padding.
  const int64_t total_rows = p.w_matrix_count * rows;
  std::vector<uint8_t> last_row_copy(static_cast<size_t>(bytes + 64), 0);
  std::memcpy(last_row_copy.data(), reinterpret_cast<const uint8_t*>(p.w) + (total_rows - 1) * bytes, static_cast<size_t>(bytes));

  // Output in float32; a temporary when the output dtype is narrower or rows were padded.
  std::vector<float> y_temp;
  float* y32 = static_cast<float*>(p.y);
  if (p.out_type != FloatType::Float32 || padded_m != p.M) {
    y_temp.resize(static_cast<size_t>(p.batch_count * padded_m * p.N));
    y32 = y_temp.data();
  }

  auto args_for = [&](int64_t b) {
    const int64_t xm = p.x_index[b];
    const int64_t wm = p.w_index[b];
    KernelArgs a{};
    a.encoding = p.encoding;
    a.x = x32 + xm * padded_m * x_stride;
    a.x_stride = x_stride;
    a.x_group_sums = group_sums.empty() ? nullptr : group_sums.data() + xm * padded_m * groups;
    a.xt = transposed_x ? rt.transposed_x.data() + xm * p.K * xt_stride : nullptr;
    a.xt_stride = xt_stride;
    a.M = padded_m;
    a.K = p.K;
    a.N = p.N;
    a.groups = groups;
    a.group_size = p.group_size;
    a.w = reinterpret_cast<const uint8_t*>(p.w) + wm * rows * bytes;
    a.row_bytes = bytes;
    a.last_row = (wm == p.w_matrix_count - 1) ? rows - 1 : -1;
    a.last_row_copy = last_row_copy.data();
    a.scales = scales ? scales + wm * rows * groups : nullptr;
    a.biases = biases ? biases + wm * rows * groups : nullptr;
    a.scale_codes = p.affine ? nullptr : static_cast<const uint8_t*>(p.scales) + wm * rows * groups;
    a.scale_table = scale_table;
    a.y = y32 + b * padded_m * p.N;
    return a;
  };

  const int threads = pool.size();
  const double work = static_cast<double>(p.batch_count) * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  const bool small = work < 262144.0;

  if (p.transpose) {
    // About 8 tasks per thread, each a run of whole column tiles, spread evenly.
    const int64_t tiles = (p.N + shape.column_tile - 1) / shape.column_tile;
    const int64_t tasks = small ? 1 : std::min<int64_t>(tiles, threads * 8);
    const int64_t scratch = ks.scratch_floats(p.K, xt_stride);
    for (auto& s : rt.scratch) {
      if (static_cast<int64_t>(s.size()) < scratch) s.resize(static_cast<size_t>(scratch));
    }
    pool.parallel_for(p.batch_count * tasks, [&](int64_t task, int thread) {
      const int64_t b = task / tasks;
      const int64_t first_tile = (task % tasks) * tiles / tasks;
      const int64_t end_tile = (task % tasks + 1) * tiles / tasks;
      const KernelArgs a = args_for(b);
      ks.transposed(a, first_tile * shape.column_tile, std::min(p.N, end_tile * shape.column_tile),
                    rt.scratch[static_cast<size_t>(thread)].data());
    });
  } else {
    // Blocks of 16 rows and 128 columns: 128 4-bit codes are one 64-byte cache line of a packed
    // row, so no two tasks share a line of w.
    // NOTE: each task still reads one line per row of w, 4 KiB or more apart, so at M = 1 this
    // path measured 2 to 4 times slower than transpose=true (docs/PERFORMANCE.md machine).
    const int64_t n_block = small ? round_up(p.N, 16) : 128;
    const int64_t m_block = small ? p.M : 16;
    const int64_t n_blocks = (p.N + n_block - 1) / n_block;
    const int64_t m_blocks = (p.M + m_block - 1) / m_block;
    pool.parallel_for(p.batch_count * m_blocks * n_blocks, [&](int64_t task, int) {
      const int64_t b = task / (m_blocks * n_blocks);
      const int64_t rest = task % (m_blocks * n_blocks);
      const int64_t m0 = (rest / n_blocks) * m_block;
      const int64_t n0 = (rest % n_blocks) * n_block;
      const KernelArgs a = args_for(b);
      ks.plain(a, m0, std::min(p.M, m0 + m_block), n0, std::min(p.N, n0 + n_block));
    });
  }

  // A non-finite x, scale or bias makes every result it reaches NaN or ±inf in these kernels,
  // because each one meets a multiplication. The factored form may pick the wrong one of the
  // two, so such calls are redone in float64, and so are float32 overflows.
  if (any_non_finite(y32, p.batch_count * padded_m * p.N)) return false;

  if (y32 != p.y) {
    for (int64_t b = 0; b < p.batch_count; ++b) {
      for (int64_t i = 0; i < p.M * p.N; ++i) {
        store_float(p.y, p.out_type, b * p.M * p.N + i, y32[b * padded_m * p.N + i]);
      }
    }
  }
  return true;
}

}  // namespace

std::string run(const Problem& p) {
  Runtime& rt = runtime();

  // The pool and its per-thread scratch serve one call at a time; concurrent calls from
  // several libuv worker threads queue here.
  static std::mutex run_mutex;
  std::lock_guard<std::mutex> lock(run_mutex);
  if (p.M <= 0 || p.K <= 0 || p.N <= 0 || p.batch_count <= 0) return "empty problem reached the native core";
  if (p.group_size % 16 != 0) return "group_size must be a multiple of 16 in the native core";

  if (has_extreme_scales(p) || !run_kernels(p, rt)) run_wide(p, *rt.pool);
  return "";
}

BuildInfo build_info() {
  Runtime& rt = runtime();
  return {rt.kernels.name, rt.cpu_features, rt.pool->size()};
}

double stream_read(const float* data, int64_t count) {
  Runtime& rt = runtime();
  const int threads = rt.pool->size();
  const int64_t share = (count / threads) / 64 * 64;
  std::vector<double> sums(static_cast<size_t>(threads) + 1, 0.0);

  rt.pool->parallel_for(threads, [&](int64_t t, int) {
    sums[static_cast<size_t>(t)] = rt.kernels.stream_sum(data + t * share, share);
  });
  sums[static_cast<size_t>(threads)] = rt.kernels.stream_sum(data + threads * share, count - threads * share);

  double total = 0.0;
  for (const double sum : sums) total += sum;
  return total;
}

double measure_read_bandwidth(size_t bytes, int repeats) {
  Runtime& rt = runtime();
  const int64_t count = static_cast<int64_t>(bytes / sizeof(float));
  std::vector<float> buffer(static_cast<size_t>(count), 1.0f);  // written once so every page is mapped
  const int threads = rt.pool->size();
  const int64_t share = (count / threads) / 64 * 64;
  std::vector<float> sink(static_cast<size_t>(threads));

  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    rt.pool->parallel_for(threads, [&](int64_t t, int) {
      sink[static_cast<size_t>(t)] = rt.kernels.stream_sum(buffer.data() + t * share, share);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(share * threads) * sizeof(float) / seconds);
  }
  if (sink[0] < 0.0f) std::abort();  // keeps the sums alive; the buffer holds only ones
  return best;
}

}  // namespace qmm
