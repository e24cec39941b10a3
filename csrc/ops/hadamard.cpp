// mx.hadamard_transform as a composition of matmuls (no kernel family of
// its own): n = m * 2^k is viewed as (m, f_1, ..., f_r) with f_i <= 128
// powers of two, and H_n = H_m (x) H_f1 (x) ... (x) H_fr (Kronecker; the
// Sylvester matrix H_2^k factors this way), so each factor is one batched
// matmul with a small dense +-1 matrix along its axis: O(n (m + sum f_i))
// work per row, on the GEMM kernels. 16-bit inputs are computed in float32
// and rounded once. The derivatives come from matmul (so the vjp applies
// H^T, which differs from H for m = 20 and 28).
//
// The m = 12, 20, 28 matrices are the ones MLX uses (read off mlx by
// transforming the identity), so results agree with MLX entry by entry.
#include <cmath>

#include "ops/fft.h"

namespace oxmlx {

namespace {

const char* const kH12[] = {
    "+-++++++++++",
    "--+-+-+-+-+-",
    "+++-++----++",
    "+---+--+-++-",
    "+++++-++----",
    "+-+---+--+-+",
    "++--+++-++--",
    "+--++---+--+",
    "++----+++-++",
    "+--+-++---+-",
    "++++----+++-",
    "+-+--+-++---",
};
const char* const kH20[] = {
    "+----+----++--++-++-",
    "-+----+---+++---+-++",
    "--+----+---+++-+-+-+",
    "---+----+---+++++-+-",
    "----+----++--++-++-+",
    "-+++++-----+--+++--+",
    "+-+++-+---+-+--+++--",
    "++-++--+---+-+--+++-",
    "+++-+---+---+-+--+++",
    "++++-----++--+-+--++",
    "--++-+-++-+-----++++",
    "---++-+-++-+---+-+++",
    "+---++-+-+--+--++-++",
    "++---++-+----+-+++-+",
    "-++---++-+----+++++-",
    "-+--+--++-+----+----",
    "+-+-----++-+----+---",
    "-+-+-+---+--+----+--",
    "--+-+++------+----+-",
    "+--+--++------+----+",
};
const char* const kH28[] = {
    "+------++----++-+--+-+--++--",
    "-+-----+++-----+-+--+-+--++-",
    "--+-----+++---+-+-+----+--++",
    "---+-----+++---+-+-+-+--+--+",
    "----+-----+++---+-+-+++--+--",
    "-----+-----++++--+-+--++--+-",
    "------++----++-+--+-+--++--+",
    "--++++-+-------++--+++-+--+-",
    "---++++-+-----+-++--+-+-+--+",
    "+---+++--+----++-++--+-+-+--",
    "++---++---+----++-++--+-+-+-",
    "+++---+----+----++-++--+-+-+",
    "++++--------+-+--++-++--+-+-",
    "-++++--------+++--++--+--+-+",
    "-+-++-++--++--+--------++++-",
    "+-+-++--+--++--+--------++++",
    "-+-+-++--+--++--+----+---+++",
    "+-+-+-++--+--+---+---++---++",
    "++-+-+-++--+------+--+++---+",
    "-++-+-+-++--+------+-++++---",
    "+-++-+---++--+------+-++++--",
    "-++--++-+-++-+++----++------",
    "+-++--++-+-++-+++-----+-----",
    "++-++---+-+-++-+++-----+----",
    "-++-++-+-+-+-+--+++-----+---",
    "--++-++++-+-+----+++-----+--",
    "+--++-+-++-+-+----+++-----+-",
    "++--++-+-++-+-+----++------+",
};

array sign_matrix(const char* const* rows, int m, Dtype dt) {
  std::vector<float> v(size_t(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) v[i * m + j] = rows[i][j] == '+' ? 1.0f : -1.0f;
  return astype(array(v.data(), {m, m}, float32), dt);
}

// Sylvester H_f: entry (i, j) is (-1)^popcount(i & j).
array sylvester(int f, Dtype dt) {
  std::vector<float> v(size_t(f) * f);
  for (int i = 0; i < f; ++i)
    for (int j = 0; j < f; ++j)
      v[i * f + j] = __builtin_popcount(unsigned(i & j)) % 2 ? -1.0f : 1.0f;
  return astype(array(v.data(), {f, f}, float32), dt);
}

}  // namespace

array hadamard_transform(const array& a_in, std::optional<float> scale, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype dt = a_in.dtype();
  if (a_in.size() == 0) throw ValueError("[hadamard_transform] Does not support empty arrays.");
  if (a_in.ndim() == 0 || a_in.shape(-1) == 1) {
    // H_1 = [1]: MLX returns the input (any dtype) or input * scale, the
    // scale weakly typed (inexact dtypes kept, others go to float32).
    if (!scale) return a_in;
    return multiply(a_in, array(*scale, is_inexact(dt) ? dt : float32), st);
  }
  if (dt == float64) throw ValueError("[hadamard] Unsupported type.");
  Dtype out_dt = (dt == float16 || dt == bfloat16) ? dt : float32;
  array a = a_in.ndim() == 0 ? reshape(a_in, {1}, st) : a_in;
  const int64_t n = a.shape(-1);
  int m = 1;
  for (int c : {28, 20, 12})
    if (n % c == 0) {
      m = c;
      break;
    }
  int64_t p = n / m;
  if ((p & (p - 1)) != 0)
    throw ValueError("[hadamard] Only supports n = m*2^k where m in (1, 12, 20, 28).");
  int k = 0;
  while ((int64_t(1) << k) < p) ++k;
  // Split the 2^k part into r factors of at most 2^7, as even as possible.
  int r = (k + 6) / 7;
  std::vector<int> fac;
  if (m > 1) fac.push_back(m);
  for (int i = 0; i < r; ++i) fac.push_back(1 << (k / r + (i < k % r ? 1 : 0)));

  array x = astype(a, float32, st);
  const Shape batch(a.shape().begin(), a.shape().end() - 1);
  int64_t rows = 1;
  for (auto d : batch) rows *= d;
  int64_t prefix = rows, suffix = n;
  for (size_t i = 0; i < fac.size(); ++i) {
    int f = fac[i];
    suffix /= f;
    array h = (i == 0 && m > 1) ? sign_matrix(m == 12 ? kH12 : m == 20 ? kH20 : kH28, m, float32)
                                : sylvester(f, float32);
    if (suffix == 1) {
      // Last factor: rows of f values, y = x @ H^T.
      x = matmul(reshape(x, {prefix, f}, st), transpose(h, st), st);
    } else {
      x = matmul(h, reshape(x, {prefix, f, suffix}, st), st);
    }
    prefix *= f;
  }
  float sc = scale ? *scale : float(1.0 / std::sqrt(double(n)));
  x = multiply(reshape(x, a_in.shape(), st), array(sc, float32), st);
  return out_dt == float32 ? x : astype(x, out_dt, st);
}

}  // namespace oxmlx
