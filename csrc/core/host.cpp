#include "core/host.h"

#include <algorithm>

namespace oxmlx {

bool on_device(const array& a) {
  const auto& d = a.data_shared_ptr();
  return d && d->allocator && d->allocator->is_device();
}

array host_array(const array& a) {
  if (!on_device(a)) return a;
  // The element range [lo, hi] that a's view touches.
  int64_t lo = a.offset(), hi = a.offset();
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.shape(i) == 0) { hi = lo - 1; break; }
    int64_t span = (a.shape(i) - 1) * a.strides(i);
    (span < 0 ? lo : hi) += span;
  }
  int64_t n = a.size() == 0 ? 0 : hi - lo + 1;
  size_t isz = a.itemsize();
  auto host = allocator::malloc(size_t(std::max<int64_t>(n, 1)) * isz);
  const auto& src = a.data_shared_ptr();
  if (n > 0)
    src->allocator->copy_to_host(host->ptr, static_cast<char*>(src->ptr) + lo * int64_t(isz),
                                 size_t(n) * isz);
  array out(std::make_shared<ArrayDesc>(a.shape(), a.dtype()));
  out.set_data(std::move(host), a.data_size(), a.strides(), a.flags(), a.offset() - lo);
  out.set_status(Status::available);
  return out;
}

}  // namespace oxmlx
