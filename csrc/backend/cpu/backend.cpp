#include "backend/cpu/cpu_backend.h"

namespace oxmlx::cpu {

std::shared_ptr<Data> CpuBackend::allocate(size_t bytes) { return allocator::malloc(bytes); }

bool is_dense(const array& a) { return a.flags().contiguous && a.data_size() == a.size(); }

void alloc_row_major(array& out) { out.set_data(allocator::malloc(out.nbytes())); }

void alloc_like(const array& in, array& out) {
  if (is_dense(in) && in.shape() == out.shape()) {
    out.set_data(allocator::malloc(size_t(in.data_size()) * out.itemsize()), in.data_size(),
                 in.strides(), in.flags());
  } else {
    alloc_row_major(out);
  }
}

bool try_donate(const array& in, array& out) {
  if (in.itemsize() == out.itemsize() && in.shape() == out.shape() && in.is_donatable() &&
      in.data_size() == in.size()) {
    out.copy_shared_buffer(in);
    return true;
  }
  return false;
}

namespace {
// Registered when the library loads: the CPU device always has this backend.
struct Registrar {
  Registrar() {
    static CpuBackend b;
    register_backend(&b);
  }
} registrar;
}  // namespace

}  // namespace oxmlx::cpu
