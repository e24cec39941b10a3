// Launchers of the CUDA backend's data-movement kernels: gather/scatter
// (gather.cu), sort (sort.cu), random bits (random.cu) and the im2col of the
// convolution (conv.cu). Plain structs only, so the host side (data.cpp,
// conv.cpp) is compiled by the C++ compiler.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/kernels.h"

namespace oxmlx::cu {

// ------------------------------------------------------------ errors

// The first out-of-bounds index a kernel met (code != 0), read back at the
// next synchronization (cuda_backend: raise_device_errors).
struct IndexErr {
  int32_t code;  // 0: none
  int32_t axis;
  int64_t value, dim;
};

// ------------------------------------------------------------ gather / scatter

constexpr int kMaxIdx = 8;  // index arrays per launch (more: several launches)

// Row-contiguous index arrays of P positions each, indexing the given axes.
struct IndexSet {
  int n = 0;
  const void* ptr[kMaxIdx] = {};
  int dt[kMaxIdx] = {};         // Dtype::Val codes (integers)
  int axis[kMaxIdx] = {};       // reported in errors
  int64_t dim[kMaxIdx] = {};    // size of the indexed axis
  int64_t slice[kMaxIdx] = {};  // slice size along it (in-bounds: i + slice <= dim)
  int64_t stride[kMaxIdx] = {}; // element stride of the axis in the indexed array
};

constexpr int64_t kBadBase = INT64_MIN;

// base[p] (+)= sum_k wrap(idx_k[p]) * stride_k for p < P; a bad index sets
// base[p] = kBadBase and records the error. accumulate: add to the previous
// values (more than kMaxIdx index arrays).
void index_bases(const IndexSet& ix, int64_t P, int64_t* base, bool accumulate, IndexErr* err,
                 cudaStream_t s);
// out[p * S + j] = src[base[p] + off(j)] (zero where base[p] is bad), with
// off(j) = the offset of slice position j (l: shape of the slice, strides[0]:
// src's strides). itemsize 1, 2, 4 or 8 bytes.
void gather_rows(const void* src, int itemsize, const int64_t* base, int64_t P, int64_t S,
                 const Layout& l, void* out, cudaStream_t s);
// Single elements through one index set (S == 1), without a base table.
void gather_elements(const void* src, int itemsize, const IndexSet& ix, int64_t P, void* out,
                     IndexErr* err, cudaStream_t s);
// For ScatterOp::None (the last update of a position wins): win[p] = 1 when
// no later position q > p has base[q] == base[p] (a stable radix sort of the
// bases, in sort.cu; bases are in [0, n_out)). Scratch as returned.
int64_t scatter_winners_scratch(int64_t P, int64_t n_out);
void scatter_winners(const int64_t* base, int64_t P, int64_t n_out, uint8_t* win, void* scratch,
                     int64_t scratch_bytes, cudaStream_t s);
// out[base[p] + uoff(j)] op= upd[upos(p * S + j)]. lu: the slice shape with
// strides[0] = out's strides; lupd: updates' full shape with strides[0] =
// updates' strides. op: ScatterOp code (0 none, 1 sum, 2 prod, 3 max, 4 min);
// win (op none only) from scatter_winners.
void scatter(int op, int dt, void* out, const void* upd, const int64_t* base, const uint8_t* win,
             int64_t P, int64_t S, const Layout& lu, const Layout& lupd, cudaStream_t s);

// ------------------------------------------------------------ sort

// Lines of length n along one axis: line r starts at in_off(r) (l.strides[0])
// in the input and out_off(r) (l.strides[1]) in the output; elements step by
// ist / ost. l's shape is the shape without the axis.
struct Lines {
  Layout l;
  int64_t lines = 0, n = 0, ist = 0, ost = 0;
};

// Longest line sorted in shared memory by one block.
int64_t sort_block_max(int dt);
// Stable ascending sort of every line (NaNs last, -0 == +0); out holds the
// values (arg = false) or the uint32 positions (arg = true).
void sort_block(const void* in, int dt, void* out, bool arg, const Lines& ln, cudaStream_t s);
// The same for long lines through device-wide radix sorts; scratch_bytes
// says how much scratch sort_global needs.
int64_t sort_global_scratch(int dt, int64_t lines, int64_t n);
void sort_global(const void* in, int dt, void* out, bool arg, const Lines& ln, void* scratch,
                 int64_t scratch_bytes, cudaStream_t s);

// ------------------------------------------------------------ random

// The CPU backend's threefry-2x32 layout (backend/cpu/random.cpp) for
// `bytes` bytes of out; the key is key[0], key[key_stride].
void random_bits(const uint32_t* key, int64_t key_stride, void* out, int64_t bytes,
                 cudaStream_t s);

// ------------------------------------------------------------ convolution

constexpr int kConvDims = 3;

// Channels-last geometry (spatial dims padded to 3 with size 1).
struct ConvGeom {
  int64_t N, C, O, G, Cg, Og;
  int64_t in_sp[kConvDims], w_sp[kConvDims], out_sp[kConvDims];
  int64_t stride[kConvDims], kdil[kConvDims], idil[kConvDims], lo[kConvDims];
  bool flip;
  int64_t osize, ksize;
};

// Patch rows [m0, m0 + rows) of group grp: col (rows, ksize * Cg) in the
// dtype col_dt (in_dt, or float32 for the weight gradient of 16-bit types).
void im2col(const void* in, int in_dt, const ConvGeom& g, int64_t grp, int64_t m0, int64_t rows,
            void* col, int col_dt, cudaStream_t s);

}  // namespace oxmlx::cu
