// The CUDA backend (plugin liboxmlx_cuda): the kernel-family waist on one
// NVIDIA GPU. Arrays it computes live in device memory from a caching
// allocator over cudaMalloc; host arrays it is given are uploaded per use
// (small ones through pinned staging, so the stream never stalls); host code
// reads device arrays through core/host.h. Kernels are in copy.cu,
// elementwise.cu and reduce.cu (launchers in kernels.h), the matrix product
// goes through cuBLASLt (matmul.cpp, loaded at run time).
#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>

#include "backend/device_info.h"
#include "core/host.h"

namespace oxmlx::cuda {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw RuntimeError(msg("[cuda] ", what, " failed: ", cudaGetErrorString(e), "."));
}

namespace {

size_t bucket_size(size_t n) {
  if (n <= 4096) return n == 0 ? 256 : (n + 255) & ~size_t(255);
  int lg = 63 - __builtin_clzll(n - 1);
  size_t step = (size_t(1) << lg) >> 2;
  return (n + step - 1) & ~(step - 1);
}

}  // namespace

// ------------------------------------------------------------ allocator

void* DeviceAllocator::malloc(size_t bytes, size_t* capacity) {
  size_t cap = bucket_size(bytes);
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = cache_.find(cap);
    if (it != cache_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= cap;
      active_ += cap;
      *capacity = cap;
      return p;
    }
  }
  void* p = nullptr;
  if (cudaMalloc(&p, cap) != cudaSuccess) {
    cudaGetLastError();
    clear();
    check(cudaMalloc(&p, cap), "cudaMalloc");
  }
  std::lock_guard<std::mutex> lk(mu_);
  active_ += cap;
  *capacity = cap;
  return p;
}

// Blocks go back to the cache: work already queued on the (single, ordered)
// stream that still reads them runs before any later kernel that reuses them.
void DeviceAllocator::free(void* p, size_t cap) {
  std::lock_guard<std::mutex> lk(mu_);
  active_ -= cap;
  cache_[cap].push_back(p);
  cached_ += cap;
}

void DeviceAllocator::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  cudaDeviceSynchronize();
  for (auto& [cap, v] : cache_)
    for (void* p : v) cudaFree(p);
  cache_.clear();
  cached_ = 0;
}

void DeviceAllocator::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
  check(cudaStreamSynchronize(stream_), "synchronize");
  if (owner) owner->raise_device_errors();
}

// ------------------------------------------------------------ staging

// Pinned host chunks for small uploads; a chunk is reused once the copies
// recorded after its last use have run.
void* CudaBackend::stage(const void* src, size_t bytes) {
  constexpr size_t kChunk = 1 << 20;
  if (bytes > kChunk / 4) return nullptr;
  std::lock_guard<std::mutex> lk(stage_mu_);
  if (stage_.empty() || stage_[cur_].used + bytes > kChunk) {
    if (!stage_.empty()) check(cudaEventRecord(stage_[cur_].done, stream_), "cudaEventRecord");
    size_t next = stage_.empty() ? 0 : (cur_ + 1) % stage_.size();
    if (stage_.empty() || cudaEventQuery(stage_[next].done) != cudaSuccess) {
      cudaGetLastError();
      if (stage_.size() < 64) {
        Chunk c;
        check(cudaHostAlloc(&c.ptr, kChunk, cudaHostAllocDefault), "cudaHostAlloc");
        check(cudaEventCreateWithFlags(&c.done, cudaEventDisableTiming), "cudaEventCreate");
        stage_.push_back(c);
        next = stage_.size() - 1;
      } else {
        check(cudaEventSynchronize(stage_[next].done), "cudaEventSynchronize");
      }
    }
    cur_ = next;
    stage_[cur_].used = 0;
  }
  Chunk& c = stage_[cur_];
  char* p = static_cast<char*>(c.ptr) + c.used;
  std::memcpy(p, src, bytes);
  c.used += (bytes + 255) & ~size_t(255);
  return p;
}

array CudaBackend::on_gpu(const array& a) {
  if (on_device(a) || a.size() == 0) return a;
  const auto& d = a.data_shared_ptr();
  if (!d) return a;
  int64_t lo = a.offset(), hi = a.offset();
  for (int i = 0; i < a.ndim(); ++i) {
    int64_t span = (a.shape(i) - 1) * a.strides(i);
    (span < 0 ? lo : hi) += span;
  }
  size_t isz = a.itemsize(), bytes = size_t(hi - lo + 1) * isz;
  auto dev = allocate(bytes);
  const char* src = static_cast<const char*>(d->ptr) + lo * int64_t(isz);
  if (const void* pinned = stage(src, bytes)) {
    check(cudaMemcpyAsync(dev->ptr, pinned, bytes, cudaMemcpyHostToDevice, stream_), "upload");
  } else {
    // Pageable source: the call returns once the source has been read.
    check(cudaMemcpyAsync(dev->ptr, src, bytes, cudaMemcpyHostToDevice, stream_), "upload");
  }
  array out(std::make_shared<ArrayDesc>(a.shape(), a.dtype()));
  out.set_data(std::move(dev), a.data_size(), a.strides(), a.flags(), a.offset() - lo);
  out.set_status(Status::available);
  return out;
}

// ------------------------------------------------------------ helpers

std::shared_ptr<Data> CudaBackend::allocate(size_t bytes) {
  auto d = std::make_shared<Data>();
  d->ptr = alloc_.malloc(bytes, &d->capacity);
  d->size = bytes;
  d->allocator = &alloc_;
  return d;
}

void CudaBackend::alloc_out(array& out) { out.set_data(allocate(std::max<size_t>(out.nbytes(), 1))); }

void CudaBackend::synchronize(const Stream&) {
  check(cudaStreamSynchronize(stream_), "synchronize");
  raise_device_errors();
}

int dt(const array& a) {
  if (a.dtype() == complex64)
    throw ValueError("[cuda] complex64 is not supported by the cuda backend yet.");
  return int(a.dtype().val);
}

// Collapses the index space of `shape` over the operands' strides (size-1
// dims dropped, dims that every operand steps through as one merged).
cu::Layout make_layout(const Shape& shape, std::initializer_list<const Strides*> strides,
                       bool* contig) {
  cu::Layout l;
  int n = int(strides.size());
  std::vector<const Strides*> st(strides);
  std::vector<int64_t> sh;
  std::vector<std::vector<int64_t>> s(n);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    bool merge = !sh.empty();
    for (int k = 0; k < n && merge; ++k)
      if (s[k].back() != (*st[k])[i] * shape[i]) merge = false;
    if (merge) {
      sh.back() *= shape[i];
      for (int k = 0; k < n; ++k) s[k].back() = (*st[k])[i];
      continue;
    }
    sh.push_back(shape[i]);
    for (int k = 0; k < n; ++k) s[k].push_back((*st[k])[i]);
  }
  if (int(sh.size()) > cu::kMaxDims)
    throw ValueError(msg("[cuda] arrays with more than ", cu::kMaxDims,
                         " non-mergeable dimensions are not supported."));
  l.ndim = int(sh.size());
  bool c = true;
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = sh[d];
    for (int k = 0; k < n; ++k) l.strides[k][d] = s[k][d];
  }
  // Row-contiguous for everyone: after merging, one dim of stride 1 (or none).
  for (int k = 0; k < n; ++k)
    if (!(l.ndim == 0 || (l.ndim == 1 && s[k][0] == 1))) c = false;
  if (contig) *contig = c;
  return l;
}

// Launch errors surface at the call; errors of the kernels themselves at the
// next synchronization.
void launched() { check(cudaGetLastError(), "kernel launch"); }

// A row-contiguous device copy of a (a itself when it already is one).
array CudaBackend::contiguous(const array& a_in) {
  array a = on_gpu(a_in);
  if (a.flags().row_contiguous && a.data_size() == a.size()) return a;
  array out(std::make_shared<ArrayDesc>(a.shape(), a.dtype()));
  copy(a, out);
  out.set_status(Status::available);
  return out;
}

// ------------------------------------------------------------ families

Backend& cpu_backend() {
  static Backend& b = backend(find_backend("cpu"));
  return b;
}

std::vector<array> host_arrays(const std::vector<array>& v) {
  std::vector<array> out;
  for (auto& a : v) out.push_back(host_array(a));
  return out;
}

array fresh_like(const array& like) {
  return array(std::make_shared<ArrayDesc>(like.shape(), like.dtype()));
}

namespace {

bool any_complex(std::initializer_list<const array*> v) {
  for (auto* a : v)
    if (a->dtype() == complex64) return true;
  return false;
}

}  // namespace

// complex64 has no GPU kernels in the elementwise, copy, reduce, scan and
// matmul families: such nodes run on the CPU backend through host copies and
// their result is uploaded (correct, bit-identical to the CPU, synchronizing).
template <typename F>
void CudaBackend::complex_on_cpu(std::initializer_list<const array*> inputs, array& out, F&& fn) {
  std::vector<array> hin;
  for (auto* a : inputs) hin.push_back(host_array(*a));
  array t = fresh_like(out);
  fn(cpu_backend(), hin, t);
  adopt(t, out);
}

void CudaBackend::copy(const array& in_h, array& out) {
  if (any_complex({&in_h, &out}))
    return complex_on_cpu({&in_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.copy(h[0], o); });
  array in = on_gpu(in_h);
  alloc_out(out);
  bool contig;
  cu::Layout l = make_layout(out.shape(), {&in.strides()}, &contig);
  cu::copy(in.raw_ptr(), dt(in), out.raw_ptr(), dt(out), out.size(), l, contig, stream_);
  launched();
}

void CudaBackend::unary(UnaryOp op, const array& in_h, array& out) {
  if (any_complex({&in_h, &out}))
    return complex_on_cpu({&in_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.unary(op, h[0], o); });
  array in = on_gpu(in_h);
  int idt = dt(in);
  alloc_out(out);
  bool contig;
  cu::Layout l = make_layout(out.shape(), {&in.strides()}, &contig);
  cu::unary(int(op), in.raw_ptr(), idt, out.raw_ptr(), dt(out), out.size(), l, contig, stream_);
  launched();
}

void CudaBackend::binary(BinaryOp op, const array& a_h, const array& b_h, array& out) {
  if (any_complex({&a_h, &b_h, &out}))
    return complex_on_cpu({&a_h, &b_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.binary(op, h[0], h[1], o); });
  array a = on_gpu(a_h), b = on_gpu(b_h);
  int adt = dt(a);
  alloc_out(out);
  bool contig;
  cu::Layout l = make_layout(out.shape(), {&a.strides(), &b.strides()}, &contig);
  cu::binary(int(op), a.raw_ptr(), b.raw_ptr(), adt, out.raw_ptr(), dt(out), out.size(), l,
             contig, stream_);
  launched();
}

void CudaBackend::ternary(TernaryOp op, const array& c_h, const array& a_h, const array& b_h,
                          array& out) {
  if (any_complex({&c_h, &a_h, &b_h, &out}))
    return complex_on_cpu({&c_h, &a_h, &b_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.ternary(op, h[0], h[1], h[2], o); });
  array c = on_gpu(c_h), a = on_gpu(a_h), b = on_gpu(b_h);
  dt(out);
  alloc_out(out);
  bool contig;
  cu::Layout l = make_layout(out.shape(), {&c.strides(), &a.strides(), &b.strides()}, &contig);
  cu::select(c.raw_ptr(), dt(c), a.raw_ptr(), b.raw_ptr(), int(out.itemsize()), out.raw_ptr(),
             out.size(), l, contig, stream_);
  launched();
}

void CudaBackend::arange(double start, double step, array& out) {
  int odt = dt(out);
  alloc_out(out);
  cu::arange(start, step, out.raw_ptr(), odt, out.size(), stream_);
  launched();
}

void CudaBackend::slice_update(const array& base, const array& update_h, array& out,
                               const Shape& start, const Shape& step) {
  if (any_complex({&base, &update_h, &out}))
    return complex_on_cpu({&base, &update_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.slice_update(h[0], h[1], o, start, step); });
  // out = copy of base, then update copied into the strided window.
  copy(base, out);
  array update = on_gpu(update_h);
  Strides win(out.ndim());
  Strides full = row_major_strides(out.shape());
  int64_t off = 0;
  for (int i = 0; i < out.ndim(); ++i) {
    win[i] = full[i] * step[i];
    off += start[i] * full[i];
  }
  if (update.size() == 0) return;
  // A strided destination: copy via a kernel that writes through the window.
  // Expressed as a copy into a view: the window is the output, update the input.
  bool contig;
  cu::Layout l = make_layout(update.shape(), {&update.strides(), &win}, &contig);
  char* dst = static_cast<char*>(out.raw_ptr()) + off * int64_t(out.itemsize());
  scatter_copy(update.raw_ptr(), dt(update), dst, dt(out), update.size(), l);
}

void CudaBackend::reduce(ReduceOp op, const array& in_h, array& out, const std::vector<int>& axes) {
  if (any_complex({&in_h, &out}))
    return complex_on_cpu({&in_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.reduce(op, h[0], o, axes); });
  array in = contiguous(in_h);
  int idt = dt(in);
  alloc_out(out);
  Strides rs = row_major_strides(in.shape());
  Shape ks, rsh;
  Strides kst, rst;
  int64_t n_red = 1;
  for (int i = 0; i < in.ndim(); ++i) {
    bool red = std::find(axes.begin(), axes.end(), i) != axes.end();
    (red ? rsh : ks).push_back(in.shape(i));
    (red ? rst : kst).push_back(rs[i]);
    if (red) n_red *= in.shape(i);
  }
  cu::Layout kept = make_layout(ks, {&kst}, nullptr);
  cu::Layout redl = make_layout(rsh, {&rst}, nullptr);
  int64_t splits = 1;
  int64_t bytes = cu::reduce_scratch(idt, out.size(), n_red, kept, redl, &splits);
  std::shared_ptr<Data> scratch = bytes ? allocate(size_t(bytes)) : nullptr;
  cu::reduce(int(op), in.raw_ptr(), idt, out.raw_ptr(), dt(out), out.size(), n_red, kept, redl,
             scratch ? scratch->ptr : nullptr, splits, stream_);
  launched();
}

namespace {
void split(const array& a, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = 1, inner = 1, len = a.shape(axis);
  for (int i = 0; i < axis; ++i) outer *= a.shape(i);
  for (int i = axis + 1; i < a.ndim(); ++i) inner *= a.shape(i);
}
}  // namespace

void CudaBackend::arg_reduce(ArgReduceOp op, const array& in_h, array& out, int axis) {
  if (any_complex({&in_h, &out}))
    return complex_on_cpu({&in_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.arg_reduce(op, h[0], o, axis); });
  array in = contiguous(in_h);
  int idt = dt(in);
  alloc_out(out);
  int64_t outer, len, inner;
  split(in, axis, outer, len, inner);
  cu::arg_reduce(int(op), in.raw_ptr(), idt, out.raw_ptr(), dt(out), outer, len, inner, stream_);
  launched();
}

void CudaBackend::scan(ScanOp op, const array& in_h, array& out, int axis, bool reverse,
                       bool inclusive) {
  if (any_complex({&in_h, &out}))
    return complex_on_cpu({&in_h}, out,
                          [&](Backend& b, std::vector<array>& h, array& o) { b.scan(op, h[0], o, axis, reverse, inclusive); });
  array in = contiguous(in_h);
  int idt = dt(in);
  alloc_out(out);
  int64_t outer, len, inner;
  split(in, axis, outer, len, inner);
  cu::scan(int(op), in.raw_ptr(), idt, out.raw_ptr(), dt(out), outer, len, inner, reverse,
           inclusive, stream_);
  launched();
}

void CudaBackend::scatter_copy(const void* in, int in_dt, void* out, int out_dt, int64_t n,
                               const cu::Layout& l) {
  cu::copy_to_window(in, in_dt, out, out_dt, n, l, stream_);
  launched();
}

// ------------------------------------------------------------ registration

namespace {

// The keys of MLX's CUDA device_info, plus memory_size (the total, MLX's
// Metal name for it). Memory figures are the driver's for this process
// (cudaMemGetInfo).
DeviceInfo describe_gpu() {
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, dev), "cudaGetDeviceProperties");
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const auto* u = reinterpret_cast<const unsigned char*>(p.uuid.bytes);
  char uuid[48], pci[32];
  std::snprintf(uuid, sizeof(uuid),
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                u[14], u[15]);
  std::snprintf(pci, sizeof(pci), "%04x:%02x:%02x.0", unsigned(p.pciDomainID),
                unsigned(p.pciBusID), unsigned(p.pciDeviceID));
  return {{"device_name", std::string(p.name)},
          {"architecture", "sm_" + std::to_string(p.major) + std::to_string(p.minor)},
          {"compute_capability_major", size_t(p.major)},
          {"compute_capability_minor", size_t(p.minor)},
          {"uuid", std::string(uuid)},
          {"pci_bus_id", std::string(pci)},
          {"total_memory", total_bytes},
          {"memory_size", total_bytes},
          {"free_memory", free_bytes}};
}

std::string load_error;

struct Registrar {
  Registrar() {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
      load_error = e != cudaSuccess ? std::string("no usable CUDA device (") + cudaGetErrorString(e) + ")"
                                    : std::string("no CUDA device found");
      cudaGetLastError();
      return;
    }
    try {
      static CudaBackend* b = new CudaBackend();  // leaked: used during exit
      register_backend(b);
      set_device_info(b->name(), &describe_gpu);
    } catch (const std::exception& ex) {
      load_error = ex.what();
    }
  }
} registrar;

}  // namespace

}  // namespace oxmlx::cuda

extern "C" __attribute__((visibility("default"))) const char* oxmlx_plugin_error() {
  return oxmlx::cuda::load_error.empty() ? nullptr : oxmlx::cuda::load_error.c_str();
}
