// Matmul family: hands each operand to GEMM in its own layout (row- or
// column-major matrices need no copy; broadcast batch dims become repeated
// offsets) and copies only operands with other strides.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/gemm.h"

namespace oxmlx::cpu {

namespace {

// Whether the trailing (rows, cols) matrix of x can be read in place: row-major
// (unit column stride) or column-major (unit row stride, read transposed).
bool matrix_layout(const array& x, bool& trans, int64_t& ld) {
  int nd = x.ndim();
  int64_t r = x.shape(nd - 2), c = x.shape(nd - 1);
  int64_t sr = x.strides()[nd - 2], sc = x.strides()[nd - 1];
  if (c == 1) sc = 1;
  if (r == 1) sr = std::max<int64_t>(c, 1);
  if (sc == 1 && sr >= c) {
    trans = false;
    ld = sr;
    return true;
  }
  if (sr == 1 && sc >= r) {
    trans = true;
    ld = sc;
    return true;
  }
  return false;
}

array make_contiguous(const array& x) {
  array tmp(std::make_shared<ArrayDesc>(x.shape(), x.dtype()));
  CpuBackend().copy(x, tmp);
  return tmp;
}

std::vector<int64_t> batch_offsets(const array& x, const Shape& batch_shape) {
  int nb = int(batch_shape.size());
  int64_t count = 1;
  for (auto d : batch_shape) count *= d;
  std::vector<int64_t> offs(count);
  std::vector<int64_t> idx(nb, 0);
  int64_t off = 0;
  for (int64_t b = 0; b < count; ++b) {
    offs[b] = off;
    for (int i = nb - 1; i >= 0; --i) {
      off += x.strides()[i];
      if (++idx[i] < batch_shape[i]) break;
      off -= x.strides()[i] * batch_shape[i];
      idx[i] = 0;
    }
  }
  return offs;
}

template <typename T>
void run_matmul(const array& a_in, const array& b_in, array& out) {
  int nd = out.ndim();
  int64_t M = out.shape(nd - 2), N = out.shape(nd - 1), K = a_in.shape(a_in.ndim() - 1);
  alloc_row_major(out);
  if (out.size() == 0) return;
  array a = a_in, b = b_in;
  bool ta, tb;
  int64_t lda, ldb;
  if (!matrix_layout(a, ta, lda)) {
    a = make_contiguous(a);
    matrix_layout(a, ta, lda);
  }
  if (!matrix_layout(b, tb, ldb)) {
    b = make_contiguous(b);
    matrix_layout(b, tb, ldb);
  }
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  auto ao = batch_offsets(a, batch);
  auto bo = batch_offsets(b, batch);
  std::vector<int64_t> co(ao.size());
  for (size_t i = 0; i < co.size(); ++i) co[i] = int64_t(i) * M * N;
  gemm_batched<T>(ta, tb, int64_t(co.size()), M, N, K, 1.0f, a.data<T>(), lda, ao.data(),
                  b.data<T>(), ldb, bo.data(), 0.0f, out.data<T>(), N, co.data());
}

}  // namespace

void CpuBackend::matmul(const array& a, const array& b, array& out) {
  switch (out.dtype().val) {
    case Dtype::Val::float32: return run_matmul<float>(a, b, out);
    case Dtype::Val::float64: return run_matmul<double>(a, b, out);
    case Dtype::Val::float16: return run_matmul<float16_t>(a, b, out);
    case Dtype::Val::bfloat16: return run_matmul<bfloat16_t>(a, b, out);
    default:
      throw ValueError(msg("[matmul] Only real floating point types are supported but got ",
                           dtype_name(out.dtype()), "."));
  }
}

}  // namespace oxmlx::cpu
