// Batching rules of the sort-lane primitives (SortPrim, PartitionPrim,
// BitcastPrim, DependsPrim), called directly until mx.vmap exists: for every
// batch axis, the rule's output must equal the unbatched op applied to each
// batch slice. Standalone, against the dev build:
//   g++ -O1 -std=c++20 -I csrc tests/cpp/test_sort_vmap.cpp -L build/dev -loxmlx \
//       -Wl,-rpath,$PWD/build/dev -o /tmp/test_sort_vmap && /tmp/test_sort_vmap
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "ops/primitives.h"

using namespace oxmlx;

static int g_pass = 0, g_fail = 0;

static void check(bool ok, const std::string& what) {
  if (ok) ++g_pass;
  else {
    ++g_fail;
    std::printf("FAIL: %s\n", what.c_str());
  }
}

// Bytes of a row-contiguous copy.
static std::vector<uint8_t> bytes_of(const array& a) {
  array c = copy(a);
  c.eval();
  std::vector<uint8_t> b(c.nbytes());
  if (!b.empty()) std::memcpy(b.data(), c.raw_ptr(), b.size());
  return b;
}

static array slice_at(const array& a, int axis, int64_t i) {
  Shape st(a.ndim(), 0), sp = a.shape(), one(a.ndim(), 1);
  st[axis] = i;
  sp[axis] = i + 1;
  return squeeze(slice(a, st, sp, one), {axis});
}

// out (batched at out_ax) matches f(slice of x at in_ax) for every batch index.
template <typename F>
static void check_rule(const array& x, int in_ax, const array& out, int out_ax, F&& f,
                       const std::string& what) {
  int64_t n = x.shape(in_ax);
  bool ok = out_ax >= 0 && out.shape(out_ax) == n;
  for (int64_t i = 0; ok && i < n; ++i)
    ok = bytes_of(slice_at(out, out_ax, i)) == bytes_of(f(slice_at(x, in_ax, i)));
  check(ok, what);
}

static array data(Shape shape) {
  int64_t n = shape_size(shape);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = float((i * 7919) % 13) - 6.0f + 0.25f * float(i % 3);
  return array(v.data(), shape, float32);
}

int main() {
  Stream s = to_stream({});
  array x = data({3, 4, 6});  // unbatched slices have 2 dims
  for (int b = 0; b < 3; ++b) {
    for (int axis = 0; axis < 2; ++axis) {
      for (bool arg : {false, true}) {
        SortPrim p(s, axis, arg);
        auto [outs, oax] = p.vmap({x}, {b});
        check_rule(x, b, outs[0], oax[0],
                   [&](const array& sl) { return arg ? argsort(sl, axis) : sort(sl, axis); },
                   "sort b=" + std::to_string(b) + " axis=" + std::to_string(axis));
        PartitionPrim q(s, axis, 1, arg);
        auto [pouts, pax] = q.vmap({x}, {b});
        check_rule(x, b, pouts[0], pax[0],
                   [&](const array& sl) {
                     return arg ? argpartition(sl, 1, axis) : partition(sl, 1, axis);
                   },
                   "partition b=" + std::to_string(b) + " axis=" + std::to_string(axis));
      }
    }
    for (Dtype to : {int32, uint8, float64}) {
      BitcastPrim v(s, to);
      auto [outs, oax] = v.vmap({x}, {b});
      check_rule(x, b, outs[0], oax[0], [&](const array& sl) { return view(sl, to); },
                 std::string("view b=") + std::to_string(b) + " to " + dtype_name(to));
    }
  }
  // No batch axis: the op itself, output unbatched.
  {
    SortPrim p(s, 1, false);
    auto [outs, oax] = p.vmap({x}, {-1});
    check(oax[0] == -1 && bytes_of(outs[0]) == bytes_of(sort(x, 1)), "sort unbatched");
  }
  // A batched 1-d input is a batch of scalars: viewing them as another size fails.
  {
    BitcastPrim v(s, uint8);
    bool threw = false;
    try {
      v.vmap({data({4})}, {0});
    } catch (const ValueError&) {
      threw = true;
    }
    check(threw, "view of batched scalars to another size raises");
  }
  // Depends: the inputs' batch axes pass through.
  {
    array y = data({2, 3});
    DependsPrim d(s, 2);
    auto [outs, oax] = d.vmap({x, y, data({5})}, {1, 0, -1});
    check(outs.size() == 2 && oax == std::vector<int>({1, 0}) && bytes_of(outs[0]) == bytes_of(x) &&
              bytes_of(outs[1]) == bytes_of(y),
          "depends");
  }
  std::printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
