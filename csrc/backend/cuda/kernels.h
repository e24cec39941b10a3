// Launchers of the CUDA backend's kernels (copy.cu, elementwise.cu,
// reduce.cu). Plain structs only, so the host side (cuda_backend.cpp) is
// compiled by the C++ compiler.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace oxmlx::cu {

constexpr int kMaxDims = 12;

// An index space (row-major over shape) and each operand's element strides.
struct Layout {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[3][kMaxDims] = {};
};

// dt arguments are Dtype::Val codes; op arguments the waist's op codes.
// `contig`: every operand is row-contiguous over the index space (strides
// are ignored).
void copy(const void* in, int in_dt, void* out, int out_dt, int64_t n, const Layout& l,
          bool contig, cudaStream_t s);
// Writes in (strides[0]) into out at strides[1] (a strided window).
void copy_to_window(const void* in, int in_dt, void* out, int out_dt, int64_t n, const Layout& l,
                    cudaStream_t s);
void unary(int op, const void* in, int dt, void* out, int out_dt, int64_t n, const Layout& l,
           bool contig, cudaStream_t s);
void binary(int op, const void* a, const void* b, int dt, void* out, int out_dt, int64_t n,
            const Layout& l, bool contig, cudaStream_t s);
void select(const void* c, int c_dt, const void* a, const void* b, int itemsize, void* out,
            int64_t n, const Layout& l, bool contig, cudaStream_t s);
void arange(double start, double step, void* out, int dt, int64_t n, cudaStream_t s);
// Reduction of a row-contiguous input: out[o] = op over r of in[kept(o) + red(r)],
// kept/red give the strides (strides[0]) of the kept and the reduced axes.
// reduce_scratch says how many bytes of device scratch (for a two-pass
// reduction, `splits` pieces per output) reduce needs.
int64_t reduce_scratch(int in_dt, int64_t n_out, int64_t n_red, const Layout& kept,
                       const Layout& red, int64_t* splits);
void reduce(int op, const void* in, int in_dt, void* out, int out_dt, int64_t n_out,
            int64_t n_red, const Layout& kept, const Layout& red, void* scratch, int64_t splits,
            cudaStream_t s);
// Row-contiguous (outer, len, inner) input; out is (outer, inner).
void arg_reduce(int op, const void* in, int dt, void* out, int out_dt, int64_t outer,
                int64_t len, int64_t inner, cudaStream_t s);
// Row-contiguous (outer, len, inner) input and output.
void scan(int op, const void* in, int dt, void* out, int out_dt, int64_t outer, int64_t len,
          int64_t inner, bool reverse, bool inclusive, cudaStream_t s);

}  // namespace oxmlx::cu
