// Buffers whose data start on a 64-byte boundary, so that a 64-byte vector load at a multiple of
// 16 floats from the start never spans two cache lines.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace qmm {

/** A standard allocator whose allocations are aligned to 64 bytes (one cache line). */
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t alignment{64};

  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}

  T* allocate(std::size_t count) { return static_cast<T*>(::operator new(count * sizeof(T), alignment)); }
  void deallocate(T* pointer, std::size_t) { ::operator delete(pointer, alignment); }

  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const { return false; }
};

/** A float vector whose data start on a cache line. */
using AlignedFloats = std::vector<float, CacheLineAllocator<float>>;

}  // namespace qmm
