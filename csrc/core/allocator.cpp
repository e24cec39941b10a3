#include "core/allocator.h"
#include "core/pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/errors.h"

namespace oxmlx {

void Allocator::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

namespace {

// Rounds a request to its bucket so that freed blocks can be reused by
// requests of a similar size: 64-byte steps up to 4 KiB, then four buckets
// per power of two (at most 25% waste).
size_t bucket_size(size_t n) {
  if (n <= 4096) return n == 0 ? 64 : (n + 63) & ~size_t(63);
  int lg = 63 - __builtin_clzll(n - 1);
  size_t step = (size_t(1) << lg) >> 2;
  return (n + step - 1) & ~(step - 1);
}

size_t physical_memory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return size_t(1) << 34;
  return size_t(pages) * size_t(page);
}

// Blocks of at least kHugeMin bytes are 2 MiB aligned and advised into huge pages.
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kHugeMin = size_t(4) << 20;

class CachingAllocator final : public Allocator {
 public:
  CachingAllocator() {
    memory_limit_ = physical_memory();
    cache_limit_ = memory_limit_;
  }

  void* malloc(size_t bytes, size_t* capacity) override {
    size_t cap = bucket_size(bytes);
    {
      std::lock_guard<std::mutex> lk(mu_);
      std::vector<void*>* b = bin(cap, false);
      if (b && !b->empty()) {
        void* p = b->back();
        b->pop_back();
        cache_bytes_ -= cap;
        note_alloc(cap);
        *capacity = cap;
        return p;
      }
      if (active_ + cap > memory_limit_ && cache_bytes_ > 0) clear_locked();
    }
    size_t align = cap >= kHugeMin ? kHuge : cap >= (size_t(1) << 20) ? 4096 : 64;
    void* p = std::aligned_alloc(align, (cap + align - 1) & ~(align - 1));
    if (!p) {
      clear_cache();
      p = std::aligned_alloc(align, (cap + align - 1) & ~(align - 1));
      if (!p) throw RuntimeError(msg("[malloc] Unable to allocate ", bytes, " bytes."));
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Large blocks in transparent huge pages (as numpy does): fewer TLB
    // misses, and the hardware prefetchers, which stop at 4 KiB page edges,
    // stream further. Only a hint (ignored when THP is off).
    if (align == kHuge) madvise(p, (cap + align - 1) & ~(align - 1), MADV_HUGEPAGE);
#endif
    std::lock_guard<std::mutex> lk(mu_);
    note_alloc(cap);
    *capacity = cap;
    return p;
  }

  void free(void* p, size_t cap) override {
    std::lock_guard<std::mutex> lk(mu_);
    active_ -= cap;
    if (cache_bytes_ + cap <= cache_limit_) {
      bin(cap, true)->push_back(p);
      cache_bytes_ += cap;
    } else {
      std::free(p);
    }
  }

  size_t active() {
    std::lock_guard<std::mutex> lk(mu_);
    return active_;
  }
  size_t peak() {
    std::lock_guard<std::mutex> lk(mu_);
    return peak_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lk(mu_);
    peak_ = active_;
  }
  size_t cached() {
    std::lock_guard<std::mutex> lk(mu_);
    return cache_bytes_;
  }
  void clear_cache() {
    std::lock_guard<std::mutex> lk(mu_);
    clear_locked();
  }
  size_t memory_limit() {
    std::lock_guard<std::mutex> lk(mu_);
    return memory_limit_;
  }
  size_t set_memory_limit(size_t l) {
    std::lock_guard<std::mutex> lk(mu_);
    size_t old = memory_limit_;
    memory_limit_ = l;
    return old;
  }
  size_t cache_limit() {
    std::lock_guard<std::mutex> lk(mu_);
    return cache_limit_;
  }
  size_t set_cache_limit(size_t l) {
    std::lock_guard<std::mutex> lk(mu_);
    size_t old = cache_limit_;
    cache_limit_ = l;
    for (size_t i = 0; i < kSmallBins && cache_bytes_ > cache_limit_; ++i) {
      for (void* p : small_[i]) {
        std::free(p);
        cache_bytes_ -= (i + 1) * 64;
      }
      small_[i].clear();
    }
    while (cache_bytes_ > cache_limit_ && !cache_.empty()) {
      auto it = cache_.begin();
      for (void* p : it->second) {
        std::free(p);
        cache_bytes_ -= it->first;
      }
      cache_.erase(it);
    }
    return old;
  }

 private:
  void note_alloc(size_t cap) {
    active_ += cap;
    if (active_ > peak_) peak_ = active_;
  }
  void clear_locked() {
    for (auto& v : small_) {
      for (void* p : v) std::free(p);
      v.clear();
    }
    for (auto& [cap, v] : cache_)
      for (void* p : v) std::free(p);
    cache_.clear();
    cache_bytes_ = 0;
  }

  // The free blocks of one bucket size: buckets up to 4 KiB (64-byte steps)
  // in a fixed table (no hashing on the small-array path), larger ones in a map.
  std::vector<void*>* bin(size_t cap, bool create) {
    if (cap <= kSmallBins * 64) return &small_[cap / 64 - 1];
    if (create) return &cache_[cap];
    auto it = cache_.find(cap);
    return it == cache_.end() ? nullptr : &it->second;
  }

  static constexpr size_t kSmallBins = 64;
  std::mutex mu_;
  std::vector<void*> small_[kSmallBins];
  std::unordered_map<size_t, std::vector<void*>> cache_;
  size_t active_ = 0, peak_ = 0, cache_bytes_ = 0;
  size_t memory_limit_, cache_limit_;
};

CachingAllocator& host() {
  // Leaked on purpose: arrays may outlive static destruction at exit.
  static auto* a = new CachingAllocator();
  return *a;
}

}  // namespace

Data::~Data() {
  if (release_fn) {
    release_fn(owner_ctx);
  } else if (allocator && ptr) {
    allocator->free(ptr, capacity);
  }
}

namespace allocator {

std::shared_ptr<Data> malloc(size_t bytes) {
  auto d = make_pooled<Data>();
  d->ptr = host().malloc(bytes, &d->capacity);
  d->size = bytes;
  d->allocator = &host();
  return d;
}

std::shared_ptr<Data> wrap(void* ptr, size_t bytes, void* ctx, void (*release)(void*)) {
  auto d = make_pooled<Data>();
  d->ptr = ptr;
  d->size = bytes;
  d->capacity = bytes;
  d->owner_ctx = ctx;
  d->release_fn = release;
  return d;
}

size_t active_memory() { return host().active(); }
size_t peak_memory() { return host().peak(); }
void reset_peak_memory() { host().reset_peak(); }
size_t cache_memory() { return host().cached(); }
void clear_cache() { host().clear_cache(); }
size_t memory_limit() { return host().memory_limit(); }
size_t set_memory_limit(size_t l) { return host().set_memory_limit(l); }
size_t cache_limit() { return host().cache_limit(); }
size_t set_cache_limit(size_t l) { return host().set_cache_limit(l); }

}  // namespace allocator
}  // namespace oxmlx
