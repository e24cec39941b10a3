// Matrix products through cuBLASLt, loaded with dlopen the first time a GPU
// matmul runs (no cuBLAS headers or link-time dependency: the handful of C
// entry points and constants used are declared here, from the cuBLASLt API
// reference). The library is found as libcublasLt.so.13 on the loader path,
// through $OXMLX_CUBLASLT, or in the nvidia-cublas wheel next to oxmlx.
#include <algorithm>
#include <mutex>
#include <string>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/dynlib.h"

namespace oxmlx::cuda {

namespace {

using Status = int;
using Handle = void*;
using Desc = void*;
using Layout = void*;
using Pref = void*;
struct Algo {
  uint64_t data[8];
};
struct Heuristic {
  Algo algo;
  size_t workspace_size;
  Status state;
  float waves;
  int reserved[4];
};

// cublasComputeType_t, cudaDataType_t, attribute codes.
constexpr int kCompute32F = 68, kCompute64F = 70;
constexpr int kR16F = 2, kR32F = 0, kR64F = 1, kR16BF = 14;
constexpr int kDescTransA = 3, kDescTransB = 4;
constexpr int kLayoutBatchCount = 5, kLayoutBatchStride = 6;
constexpr int kPrefMaxWorkspace = 1;
constexpr int kPrefAlignA = 5, kPrefAlignB = 6, kPrefAlignC = 7, kPrefAlignD = 8;
constexpr int kOpN = 0, kOpT = 1;

struct Lt {
  Status (*create)(Handle*);
  Status (*desc_create)(Desc*, int, int);
  Status (*desc_destroy)(Desc);
  Status (*desc_set)(Desc, int, const void*, size_t);
  Status (*layout_create)(Layout*, int, uint64_t, uint64_t, int64_t);
  Status (*layout_destroy)(Layout);
  Status (*layout_set)(Layout, int, const void*, size_t);
  Status (*pref_create)(Pref*);
  Status (*pref_destroy)(Pref);
  Status (*pref_set)(Pref, int, const void*, size_t);
  Status (*heuristic)(Handle, Desc, Layout, Layout, Layout, Layout, Pref, int, Heuristic*, int*);
  Status (*matmul)(Handle, Desc, const void*, const void*, Layout, const void*, Layout,
                   const void*, const void*, Layout, void*, Layout, const Algo*, void*, size_t,
                   cudaStream_t);
  Handle handle = nullptr;
  std::string error;
};

void* open_cublaslt() {
  auto paths = library_paths("OXMLX_CUBLASLT", "libcublasLt.so.13", "cublas");
  paths.push_back("libcublasLt.so");
  return open_first(paths);
}

Lt& lt() {
  static Lt* l = [] {
    auto* l = new Lt();
    void* h = open_cublaslt();
    if (!h) {
      l->error = "libcublasLt.so.13 was not found (install nvidia-cublas or set OXMLX_CUBLASLT)";
      return l;
    }
    auto sym = [&](auto& fn, const char* name) { bind_symbol(h, fn, name, "cuBLASLt", l->error); };
    sym(l->create, "cublasLtCreate");
    sym(l->desc_create, "cublasLtMatmulDescCreate");
    sym(l->desc_destroy, "cublasLtMatmulDescDestroy");
    sym(l->desc_set, "cublasLtMatmulDescSetAttribute");
    sym(l->layout_create, "cublasLtMatrixLayoutCreate");
    sym(l->layout_destroy, "cublasLtMatrixLayoutDestroy");
    sym(l->layout_set, "cublasLtMatrixLayoutSetAttribute");
    sym(l->pref_create, "cublasLtMatmulPreferenceCreate");
    sym(l->pref_destroy, "cublasLtMatmulPreferenceDestroy");
    sym(l->pref_set, "cublasLtMatmulPreferenceSetAttribute");
    sym(l->heuristic, "cublasLtMatmulAlgoGetHeuristic");
    sym(l->matmul, "cublasLtMatmul");
    if (l->error.empty() && l->create(&l->handle) != 0) l->error = "cublasLtCreate failed";
    return l;
  }();
  if (!l->error.empty()) throw RuntimeError(msg("[cuda] matmul: ", l->error, "."));
  return *l;
}

void ok(Status s, const char* what) {
  if (s != 0) throw RuntimeError(msg("[cuda] matmul: ", what, " failed (cuBLAS status ", s, ")."));
}

// How one operand's matrices are laid out: row-major (ld = row stride) or
// transposed (column-major, ld = column stride), plus one batch stride.
struct Operand {
  bool trans = false;  // stored column-major
  int64_t ld = 0, batch_stride = 0;
};

// Whether a's last two dims are a plain (row- or column-major) matrix and
// its batch dims collapse to one stride.
bool describe(const array& a, int64_t batch, Operand& op) {
  int n = a.ndim();
  int64_t r = a.shape(n - 2), c = a.shape(n - 1), sr = a.strides(n - 2), sc = a.strides(n - 1);
  if (c == 1 || sc == 1) {
    op.trans = false;
    op.ld = r == 1 ? std::max<int64_t>(c, 1) : sr;
    if (op.ld < c) return false;
  } else if (r == 1 || sr == 1) {
    op.trans = true;
    op.ld = c == 1 ? std::max<int64_t>(r, 1) : sc;
    if (op.ld < r) return false;
  } else {
    return false;
  }
  if (op.ld <= 0) return false;
  // Batch: the dims before the matrix must step uniformly.
  int64_t stride = -1, expect = -1;
  for (int i = n - 3; i >= 0; --i) {
    if (a.shape(i) == 1) continue;
    if (stride < 0) {
      stride = a.strides(i);
      expect = stride * a.shape(i);
    } else {
      if (a.strides(i) != expect) return false;
      expect *= a.shape(i);
    }
  }
  op.batch_stride = stride < 0 ? 0 : stride;
  // A broadcast batch (stride 0) is materialized.
  if (batch > 1 && op.batch_stride <= 0) return false;
  return true;
}

// The heuristic assumes 256-byte aligned operands unless told otherwise;
// views (offsets) and im2col chunks can be less aligned.
uint32_t alignment(const void* p) {
  uintptr_t v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (v % a) != 0) a >>= 1;
  return a;
}

// cuBLASLt's data and compute types for t (false: not a supported type).
bool lt_types(Dtype t, int& dtype, int& compute) {
  if (t == float32) dtype = kR32F, compute = kCompute32F;
  else if (t == float16) dtype = kR16F, compute = kCompute32F;
  else if (t == bfloat16) dtype = kR16BF, compute = kCompute32F;
  else if (t == float64) dtype = kR64F, compute = kCompute64F;
  else return false;
  return true;
}

template <typename L>
void set_alignment(L& l, Pref pref, const void* first, const void* second, const void* c) {
  uint32_t a = alignment(first), b = alignment(second), d = alignment(c);
  l.pref_set(pref, kPrefAlignA, &a, sizeof(a));
  l.pref_set(pref, kPrefAlignB, &b, sizeof(b));
  l.pref_set(pref, kPrefAlignC, &d, sizeof(d));
  l.pref_set(pref, kPrefAlignD, &d, sizeof(d));
}

}  // namespace

CudaBackend::CudaBackend() {
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  alloc_.set_stream(stream_);
}

void CudaBackend::matmul(const array& a_h, const array& b_h, array& out) {
  Dtype t = out.dtype();
  int dtype, compute;
  if (!lt_types(t, dtype, compute))
    throw ValueError(msg("[cuda] matmul of ", dtype_name(t), " is not supported by the cuda backend."));
  int n = out.ndim();
  int64_t M = out.shape(n - 2), N = out.shape(n - 1), K = a_h.shape(n - 1);
  int64_t batch = out.size() / std::max<int64_t>(M * N, 1);
  alloc_out(out);
  if (out.size() == 0) return;
  if (K == 0) {
    check(cudaMemsetAsync(out.raw_ptr(), 0, out.nbytes(), stream_), "cudaMemset");
    return;
  }
  array a = on_gpu(a_h), b = on_gpu(b_h);
  Operand oa, ob;
  if (!describe(a, batch, oa)) { a = contiguous(a); describe(a, batch, oa); }
  if (!describe(b, batch, ob)) { b = contiguous(b); describe(b, batch, ob); }
  // A column-major (transposed) operand is read with op = T.
  gemm(t, oa.trans, ob.trans, M, N, K, a.raw_ptr(), oa.ld, oa.batch_stride, b.raw_ptr(), ob.ld,
       ob.batch_stride, out.raw_ptr(), N, M * N, batch, false);
}

}  // namespace oxmlx::cuda

// ------------------------------------------------------------ strided GEMM

namespace oxmlx::cuda {

// Row-major C_b (M x N, ldc) = op(A_b) op(B_b) (+ C_b when accumulate) for
// b < batch, operands stepping by sa / sb / sc elements: op(A) is M x K (A
// stored K x M when ta), op(B) is K x N (B stored N x K when tb). Float
// types as matmul (16-bit ones accumulate in float32).
void CudaBackend::gemm(Dtype t, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const void* A,
                       int64_t lda, int64_t sa, const void* B, int64_t ldb, int64_t sb, void* C,
                       int64_t ldc, int64_t sc, int64_t batch, bool accumulate) {
  int dtype, compute;
  if (!lt_types(t, dtype, compute))
    throw ValueError(msg("[cuda] gemm of ", dtype_name(t), " is not supported."));
  if (M <= 0 || N <= 0 || batch <= 0) return;
  Lt& l = lt();
  if (!workspace_) {
    workspace_size_ = 32u << 20;
    workspace_ = allocate(workspace_size_);
  }
  // Row-major C (M x N) = op(A) op(B) is column-major C^T (N x M) =
  // op(B)^T op(A)^T: pass B as the first operand. A row-major matrix read
  // column-major is its transpose, so a row-major operand needs no flag.
  Desc desc;
  ok(l.desc_create(&desc, compute, compute == kCompute64F ? kR64F : kR32F), "MatmulDescCreate");
  int opa = tb ? kOpT : kOpN, opb = ta ? kOpT : kOpN;
  l.desc_set(desc, kDescTransA, &opa, sizeof(opa));
  l.desc_set(desc, kDescTransB, &opb, sizeof(opb));
  Layout la, lb, lc;
  ok(l.layout_create(&la, dtype, tb ? K : N, tb ? N : K, ldb), "layout");
  ok(l.layout_create(&lb, dtype, ta ? M : K, ta ? K : M, lda), "layout");
  ok(l.layout_create(&lc, dtype, N, M, ldc), "layout");
  if (batch > 1) {
    int32_t bc = int32_t(batch);
    for (auto [lay, s] : {std::pair{la, sb}, std::pair{lb, sa}, std::pair{lc, sc}}) {
      l.layout_set(lay, kLayoutBatchCount, &bc, sizeof(bc));
      l.layout_set(lay, kLayoutBatchStride, &s, sizeof(s));
    }
  }
  Pref pref;
  ok(l.pref_create(&pref), "PreferenceCreate");
  uint64_t ws = workspace_size_;
  l.pref_set(pref, kPrefMaxWorkspace, &ws, sizeof(ws));
  set_alignment(l, pref, B, A, C);
  Heuristic h{};
  int found = 0;
  Status st = l.heuristic(l.handle, desc, la, lb, lc, lc, pref, 1, &h, &found);
  double one_d = 1.0, beta_d = accumulate ? 1.0 : 0.0;
  float one_f = 1.0f, beta_f = accumulate ? 1.0f : 0.0f;
  const void* alpha = compute == kCompute64F ? (const void*)&one_d : (const void*)&one_f;
  const void* beta = compute == kCompute64F ? (const void*)&beta_d : (const void*)&beta_f;
  if (st == 0 && found > 0)
    st = l.matmul(l.handle, desc, alpha, B, la, A, lb, beta, C, lc, C, lc, &h.algo,
                  workspace_->ptr, workspace_size_, stream_);
  l.pref_destroy(pref);
  l.layout_destroy(la);
  l.layout_destroy(lb);
  l.layout_destroy(lc);
  l.desc_destroy(desc);
  if (found == 0 && st == 0) st = -1;
  ok(st, "cublasLtMatmul (gemm)");
}

}  // namespace oxmlx::cuda
