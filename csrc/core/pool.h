// A thread-local free-list allocator for the small, fixed-size objects every
// op creates (array descriptors and graph nodes, with their shared_ptr
// control blocks). Building a graph node otherwise costs several malloc/free
// pairs, which dominated the per-op dispatch time in profiles.
//
// Blocks come from ::operator new and go back to the free list of whichever
// thread releases them (any thread may free any block); each list keeps at
// most kMaxCached blocks and returns the rest to the system.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace oxmlx {

namespace pool_detail {

template <size_t Size>
struct FreeList {
  static constexpr size_t kMaxCached = 1 << 14;
  struct Block {
    Block* next;
  };
  Block* head = nullptr;
  size_t count = 0;
  ~FreeList() {
    while (head) {
      Block* b = head;
      head = b->next;
      ::operator delete(b);
    }
  }
  void* get() {
    if (head) {
      Block* b = head;
      head = b->next;
      --count;
      return b;
    }
    return ::operator new(Size < sizeof(Block) ? sizeof(Block) : Size);
  }
  void put(void* p) {
    if (count >= kMaxCached) {
      ::operator delete(p);
      return;
    }
    auto* b = static_cast<Block*>(p);
    b->next = head;
    head = b;
    ++count;
  }
};

template <size_t Size>
FreeList<Size>& list() {
  thread_local FreeList<Size> l;
  return l;
}

}  // namespace pool_detail

// For std::allocate_shared: single objects come from the pool, arrays of
// them (never requested by allocate_shared) from the heap.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) {}
  T* allocate(size_t n) {
    if (n == 1) return static_cast<T*>(pool_detail::list<sizeof(T)>().get());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n == 1) pool_detail::list<sizeof(T)>().put(p);
    else ::operator delete(p);
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const PoolAllocator<U>&) const { return false; }
};

template <typename T, typename... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace oxmlx
