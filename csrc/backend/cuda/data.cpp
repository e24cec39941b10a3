// Host side of the CUDA backend's gather, scatter, sort, partition and
// random-bits families (kernels in gather.cu, sort.cu, random.cu). What the
// kernels do not cover (complex64 sorts and combining scatters, more than
// 2^32 elements in a sort, index tables past 2^31 positions) runs on the CPU
// backend through host copies, as fallback.cpp's families do.
//
// Out-of-bounds indices: the kernels cannot throw, so they record the first
// bad index in a device slot and the host raises IndexError (the CPU's
// message) at the next synchronization: eval, or a host read of a GPU array.
#include <algorithm>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/data_kernels.h"
#include "core/host.h"

namespace oxmlx::cuda {

namespace {

void check_indices(const std::vector<array>& indices) {
  for (auto& i : indices)
    if (!is_integral(i.dtype()))
      throw TypeError(msg("[gather] Indices must be integers, got ", dtype_name(i.dtype()), "."));
}

}  // namespace

// ------------------------------------------------------------ index errors

cu::IndexErr* CudaBackend::index_error_slot() {
  std::lock_guard<std::mutex> lk(err_mu_);
  if (!err_dev_) {
    check(cudaMalloc(&err_dev_, sizeof(cu::IndexErr)), "cudaMalloc");
    check(cudaMemsetAsync(err_dev_, 0, sizeof(cu::IndexErr), stream_), "cudaMemset");
    check(cudaHostAlloc(&err_host_, sizeof(cu::IndexErr), cudaHostAllocDefault), "cudaHostAlloc");
    alloc_.owner = this;
  }
  err_pending_ = true;
  return err_dev_;
}

void CudaBackend::raise_device_errors() {
  if (!err_pending_.exchange(false)) return;
  check(cudaMemcpyAsync(err_host_, err_dev_, sizeof(cu::IndexErr), cudaMemcpyDeviceToHost, stream_),
        "copy to host");
  check(cudaStreamSynchronize(stream_), "synchronize");
  if (err_host_->code == 0) return;
  const cu::IndexErr e = *err_host_;
  err_host_->code = 0;
  check(cudaMemsetAsync(err_dev_, 0, sizeof(cu::IndexErr), stream_), "cudaMemset");
  throw IndexError(msg("[gather] Index ", e.value, " is out of bounds for axis ", e.axis,
                       " with size ", e.dim, "."));
}

// ------------------------------------------------------------ gather / scatter

namespace {

// Row-contiguous device copies of the index arrays, in sets of kMaxIdx.
std::vector<cu::IndexSet> index_sets(CudaBackend& b, const std::vector<array>& idx,
                                     std::vector<array>& keep, const array& ref,
                                     const std::vector<int>& axes, const Shape& slice) {
  std::vector<cu::IndexSet> sets;
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k % cu::kMaxIdx == 0) sets.emplace_back();
    cu::IndexSet& s = sets.back();
    keep.push_back(b.contiguous(idx[k]));
    const int ax = axes[k];
    s.ptr[s.n] = keep.back().raw_ptr();
    s.dt[s.n] = int(idx[k].dtype().val);
    s.axis[s.n] = ax;
    s.dim[s.n] = ref.shape(ax);
    s.slice[s.n] = slice[ax];
    s.stride[s.n] = ref.strides()[ax];
    ++s.n;
  }
  return sets;
}

}  // namespace

void CudaBackend::gather(const array& src_h, const std::vector<array>& indices, array& out,
                         const std::vector<int>& axes, const Shape& slice_sizes) {
  alloc_out(out);
  if (out.size() == 0) return;
  check_indices(indices);
  array src = on_gpu(src_h);
  const int isz = int(out.itemsize());
  const int64_t P = indices.empty() ? 1 : indices[0].size();
  const int64_t S = shape_size(slice_sizes);
  std::vector<array> keep;
  auto sets = index_sets(*this, indices, keep, src, axes, slice_sizes);
  if (S == 1 && sets.size() <= 1) {
    cu::IndexSet ix = sets.empty() ? cu::IndexSet{} : sets[0];
    cu::gather_elements(src.raw_ptr(), isz, ix, P, out.raw_ptr(),
                        sets.empty() ? nullptr : index_error_slot(), stream_);
    launched();
    return;
  }
  auto base = allocate(size_t(P) * sizeof(int64_t));
  int64_t* bp = static_cast<int64_t*>(base->ptr);
  if (sets.empty()) check(cudaMemsetAsync(bp, 0, sizeof(int64_t), stream_), "cudaMemset");
  for (size_t i = 0; i < sets.size(); ++i)
    cu::index_bases(sets[i], P, bp, i > 0, index_error_slot(), stream_);
  cu::Layout l = make_layout(slice_sizes, {&src.strides()}, nullptr);
  cu::gather_rows(src.raw_ptr(), isz, bp, P, S, l, out.raw_ptr(), stream_);
  launched();
}

void CudaBackend::scatter(ScatterOp op, const array& base_h, const std::vector<array>& indices,
                          const array& updates_h, array& out, const std::vector<int>& axes) {
  const int64_t P = indices.empty() ? 1 : indices[0].size();
  if (out.dtype() == complex64 || P > int64_t(INT32_MAX)) {
    array t = fresh_like(out);
    cpu_backend().scatter(op, host_array(base_h), host_arrays(indices), host_array(updates_h), t,
                          axes);
    adopt(t, out);
    return;
  }
  if (on_device(base_h) && base_h.flags().row_contiguous && base_h.is_donatable() &&
      base_h.data_size() == base_h.size() && base_h.itemsize() == out.itemsize() &&
      base_h.shape() == out.shape()) {
    out.copy_shared_buffer(base_h);
  } else {
    copy(base_h, out);
  }
  if (updates_h.size() == 0 || out.size() == 0) return;
  check_indices(indices);
  array upd = on_gpu(updates_h);
  const int nidx = indices.empty() ? 0 : indices[0].ndim();
  Shape upd_slice(upd.shape().begin() + nidx, upd.shape().end());
  const int64_t S = shape_size(upd_slice);
  std::vector<array> keep;
  auto sets = index_sets(*this, indices, keep, out, axes, upd_slice);
  auto base = allocate(size_t(P) * sizeof(int64_t));
  int64_t* bp = static_cast<int64_t*>(base->ptr);
  if (sets.empty()) check(cudaMemsetAsync(bp, 0, sizeof(int64_t), stream_), "cudaMemset");
  for (size_t i = 0; i < sets.size(); ++i)
    cu::index_bases(sets[i], P, bp, i > 0, index_error_slot(), stream_);
  std::shared_ptr<Data> win, scratch;
  if (op == ScatterOp::None) {
    win = allocate(size_t(P));
    const int64_t sb = cu::scatter_winners_scratch(P, out.size());
    scratch = allocate(size_t(sb));
    cu::scatter_winners(bp, P, out.size(), static_cast<uint8_t*>(win->ptr), scratch->ptr, sb,
                        stream_);
  }
  cu::Layout lu = make_layout(upd_slice, {&out.strides()}, nullptr);
  cu::Layout lupd = make_layout(upd.shape(), {&upd.strides()}, nullptr);
  cu::scatter(int(op), dt(out), out.raw_ptr(), upd.raw_ptr(), bp,
              win ? static_cast<const uint8_t*>(win->ptr) : nullptr, P, S, lu, lupd, stream_);
  launched();
}

// ------------------------------------------------------------ sort / partition

namespace {

void check_line(const array& in, int axis, const char* op) {
  if (axis < 0 || axis >= in.ndim())
    throw ValueError(msg("[", op, "] Invalid axis ", axis, " for array with ", in.ndim(),
                         " dimensions."));
  if (in.shape(axis) > int64_t(UINT32_MAX))
    throw ValueError(msg("[", op, "] Axis of size ", in.shape(axis),
                         " is too long for uint32 indices."));
}

}  // namespace

void CudaBackend::sort(const array& in_h, array& out, int axis, bool arg) {
  check_line(in_h, axis, arg ? "argsort" : "sort");
  const int64_t n = in_h.shape(axis), lines = n > 0 ? in_h.size() / n : 0;
  const bool block = n <= cu::sort_block_max(0);
  if (in_h.dtype() == complex64 || (!block && lines * n > int64_t(UINT32_MAX))) {
    array t = fresh_like(out);
    cpu_backend().sort(host_array(in_h), t, axis, arg);
    adopt(t, out);
    return;
  }
  alloc_out(out);
  if (out.size() == 0) return;
  array in = on_gpu(in_h);
  cu::Lines ln;
  ln.n = n;
  ln.lines = lines;
  ln.ist = in.strides()[axis];
  Strides os = row_major_strides(out.shape());
  ln.ost = os[axis];
  Shape sh;
  Strides is, ost;
  for (int i = 0; i < in.ndim(); ++i) {
    if (i == axis) continue;
    sh.push_back(in.shape(i));
    is.push_back(in.strides()[i]);
    ost.push_back(os[i]);
  }
  ln.l = make_layout(sh, {&is, &ost}, nullptr);
  const int idt = dt(in);
  if (block) {
    cu::sort_block(in.raw_ptr(), idt, out.raw_ptr(), arg, ln, stream_);
  } else {
    const int64_t sb = cu::sort_global_scratch(idt, lines, n);
    auto scratch = allocate(size_t(sb));
    cu::sort_global(in.raw_ptr(), idt, out.raw_ptr(), arg, ln, scratch->ptr, sb, stream_);
  }
  launched();
}

// A full stable sort is a partition: the kth element is where the sort puts
// it, smaller ones before, larger after (the order within each side is the
// sorted one, not std::nth_element's as on the CPU).
void CudaBackend::partition(const array& in, array& out, int axis, int kth, bool arg) {
  check_line(in, axis, arg ? "argpartition" : "partition");
  if (kth < 0 || kth >= std::max<int64_t>(in.shape(axis), 1))
    throw ValueError(msg("[partition] Invalid kth ", kth, " for axis of size ", in.shape(axis), "."));
  sort(in, out, axis, arg);
}

// ------------------------------------------------------------ random bits

void CudaBackend::random_bits(const array& keys_h, array& out) {
  alloc_out(out);
  if (out.nbytes() == 0) return;
  array keys = on_gpu(keys_h);
  const int64_t ks = keys.strides().empty() ? 1 : keys.strides().back();
  cu::random_bits(static_cast<const uint32_t*>(keys.raw_ptr()), ks, out.raw_ptr(),
                  int64_t(out.nbytes()), stream_);
  launched();
}

}  // namespace oxmlx::cuda
