// Host memory: a size-bucketed caching allocator with MLX's memory queries
// (active / peak / cache memory, memory and cache limits).
#pragma once

#include <cstddef>
#include <memory>

namespace oxmlx {

class Allocator;

// A block of memory owned by one allocator; freed (or returned to the cache)
// when the last array referencing it goes away.
struct Data {
  void* ptr = nullptr;
  size_t size = 0;           // bytes requested
  size_t capacity = 0;       // bytes actually reserved (bucket size)
  Allocator* allocator = nullptr;
  void* owner_ctx = nullptr;  // for foreign memory: released through release_fn
  void (*release_fn)(void*) = nullptr;

  Data() = default;
  Data(const Data&) = delete;
  Data& operator=(const Data&) = delete;
  ~Data();
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* malloc(size_t bytes, size_t* capacity) = 0;
  virtual void free(void* p, size_t capacity) = 0;
  // Device memory (a GPU backend's allocator): host code must not touch it
  // and reads it through copy_to_host (see core/host.h).
  virtual bool is_device() const { return false; }
  virtual void copy_to_host(void* dst, const void* src, size_t bytes);
};

namespace allocator {

// Allocates host memory through the caching allocator (64-byte aligned).
std::shared_ptr<Data> malloc(size_t bytes);
// Wraps memory owned by someone else; release(ctx) runs when the last user goes.
std::shared_ptr<Data> wrap(void* ptr, size_t bytes, void* ctx, void (*release)(void*));

size_t active_memory();
size_t peak_memory();
void reset_peak_memory();
size_t cache_memory();
void clear_cache();
size_t memory_limit();
size_t set_memory_limit(size_t limit);  // returns the previous limit
size_t cache_limit();
size_t set_cache_limit(size_t limit);   // returns the previous limit

}  // namespace allocator
}  // namespace oxmlx
