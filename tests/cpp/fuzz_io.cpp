// Bounded-time mutation fuzzer for every parser in csrc/core/io.
//   g++ -O1 -g -std=c++20 -fsanitize=address,undefined -fno-sanitize-recover=undefined
//       -I csrc csrc/core/dtype.cpp csrc/core/io/*.cpp tests/cpp/fuzz_io.cpp -o fuzz_io
//   ./fuzz_io ITERATIONS [SEED]
// Valid seed files of each format are built in-process, mutated (bit flips,
// byte sets, truncation, extension, big-number splices into length fields,
// chunk copies, insert/delete) and fed to the matching parser, plus every few
// iterations to all parsers. A parser may accept or throw ValueError; any other
// exception is a failure, and a crash or sanitizer report aborts the run.
// Accepted results are checked: every record must lie inside its buffer, and
// its first and last bytes are read so ASan sees any lie.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <string>

#include "core/io/io.h"

using namespace oxmlx;
using namespace oxmlx::io;
using Bytes = std::vector<uint8_t>;

namespace {

std::mt19937_64 rng;
uint64_t rnd(uint64_t n) { return n ? rng() % n : 0; }

volatile uint8_t g_sink;
bool touch(const uint8_t* base, size_t size, const TensorRecord& r) {
  if (r.offset > size || r.nbytes > size - r.offset) return false;
  if (r.nbytes) g_sink = base[r.offset] ^ base[r.offset + r.nbytes - 1];
  return true;
}

// The same archive with its end record rewritten as zip64 (record + locator).
Bytes to_zip64(const Bytes& z) {
  size_t e = z.size() - 22;
  uint64_t count = z[e + 10] | z[e + 11] << 8, cd_size = 0, cd_off = 0;
  for (int i = 3; i >= 0; --i) cd_size = cd_size << 8 | z[e + 12 + i], cd_off = cd_off << 8 | z[e + 16 + i];
  Bytes o(z.begin(), z.begin() + long(e));
  uint64_t rec = o.size();
  auto p = [&](uint64_t v, int w) { for (int i = 0; i < w; ++i) o.push_back(uint8_t(v >> (8 * i))); };
  p(0x06064b50, 4), p(44, 8), p(45, 2), p(45, 2), p(0, 4), p(0, 4), p(count, 8), p(count, 8), p(cd_size, 8), p(cd_off, 8);
  p(0x07064b50, 4), p(0, 4), p(rec, 8), p(1, 4);
  p(0x06054b50, 4), p(0, 4), p(0xFFFF, 2), p(0xFFFF, 2), p(0xFFFFFFFF, 4), p(0xFFFFFFFF, 4), p(0, 2);
  return o;
}

struct Seed {
  const char* format;
  Bytes bytes;
  uint64_t expected = 0;  // inflate seeds: the uncompressed size
};

std::vector<Seed> make_seeds() {
  std::vector<Seed> s;
  std::vector<float> f(64);
  for (int i = 0; i < 64; ++i) f[i] = float(i % 7) * 0.25f;
  std::vector<int64_t> l = {1, -2, 3, 1 << 20};
  Bytes u8(300);
  for (size_t i = 0; i < u8.size(); ++i) u8[i] = uint8_t(i * 7 / 5);
  auto npy = [](Dtype d, std::vector<int64_t> shape, const void* data, bool fortran) {
    Bytes b = npy_header(d, shape, fortran);
    uint64_t nb = shape_nbytes(d, shape, "seed");
    b.insert(b.end(), (const uint8_t*)data, (const uint8_t*)data + nb);
    return b;
  };
  s.push_back({"npy", npy(float32, {4, 16}, f.data(), false)});
  s.push_back({"npy", npy(int64, {2, 2}, l.data(), true)});
  s.push_back({"npy", npy(bool_, {}, u8.data(), false)});
  std::vector<ArraySpec> arrs = {{"a", float32, {8, 8}, f.data()}, {"b", int64, {4}, l.data()}, {"c", uint8, {300}, u8.data()}};
  s.push_back({"npz", npz_bytes(arrs, false)});
  s.push_back({"npz", npz_bytes(arrs, true)});
  s.push_back({"npz", to_zip64(npz_bytes(arrs, false))});
  s.push_back({"safetensors", safetensors_bytes(arrs, {{"format", "pt"}, {"k\"ey", "välue"}})});
  s.push_back({"safetensors", safetensors_bytes({{"x", bfloat16, {2, 3}, f.data()}, {"e", float32, {0}, nullptr}})});
  Bytes u32raw = {1, 0, 0, 0, 2, 0, 0, 0};
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.name", GgufValue::string("fuzz")}, {"u8", GgufValue::u8(1)}, {"i64", GgufValue::i64(-9)},
      {"f32", GgufValue::f32(0.5f)}, {"f64", GgufValue::f64(2.0)}, {"b", GgufValue::boolean(false)},
      {"strs", GgufValue::string_array({"a", "bc", ""})}, {"ints", GgufValue::array(GgufType::UINT32, 2, u32raw)},
      {"nest", GgufValue::nested(GgufType::ARRAY, {GgufValue::string_array({"x"})})},
      {"general.alignment", GgufValue::u32(32)}};
  s.push_back({"gguf", gguf_bytes({{"w", float32, {4, 16}, f.data()}, {"l", int64, {4}, l.data()}, {"h", float16, {3}, l.data()}}, meta)});
  // Quantized tensors: Q4_0 (3 rows x 64), Q8_0, Q4_K (1 x 256).
  Bytes q = gguf_bytes({}, {});
  q[8] = 3;  // three tensors, written by hand below
  q.resize(24);
  auto p64 = [&](uint64_t v) { for (int i = 0; i < 8; ++i) q.push_back(uint8_t(v >> (8 * i))); };
  auto p32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) q.push_back(uint8_t(v >> (8 * i))); };
  struct QT { const char* n; uint32_t t; uint64_t ne0, ne1, off, bytes; };
  QT qts[] = {{"q4.weight", ggml::Q4_0, 64, 3, 0, 6 * 18}, {"q8.weight", ggml::Q8_0, 32, 2, 128, 2 * 34}, {"qk.weight", ggml::Q4_K, 256, 1, 224, 144}};
  for (auto& t : qts) p64(std::strlen(t.n)), q.insert(q.end(), t.n, t.n + std::strlen(t.n)), p32(2), p64(t.ne0), p64(t.ne1), p32(t.t), p64(t.off);
  while (q.size() % 32) q.push_back(0);
  size_t base = q.size();
  q.resize(base + 224 + 144);
  for (size_t i = base; i < q.size(); ++i) q[i] = uint8_t(rnd(256));
  s.push_back({"gguf", q});
  Bytes text;
  for (int i = 0; i < 5000; ++i) text.push_back(uint8_t("abcabdabe"[i % 9] + (i % 101 == 0)));
  for (int level : {0, 1, 6}) s.push_back({"inflate", deflate_raw(text.data(), text.size(), level), text.size()});
  s.push_back({"inflate", deflate_raw(u8.data(), u8.size(), 9), u8.size()});
  return s;
}

void mutate(Bytes& b, const std::vector<Seed>& seeds) {
  int n = 1 + int(rnd(8));
  // Half the time aim at the first 512 bytes, where headers and length fields live.
  bool head = rnd(2);
  for (int k = 0; k < n; ++k) {
    size_t sz = head ? std::min<size_t>(b.size(), 512) : b.size();
    switch (rnd(10)) {
      case 0:
      case 1:
        if (sz) b[rnd(sz)] ^= uint8_t(1u << rnd(8));
        break;
      case 2:
        if (sz) b[rnd(sz)] = uint8_t(rng());
        break;
      case 3:
        b.resize(rnd(b.size() + 1));
        break;
      case 4: {
        size_t add = rnd(64);
        for (size_t i = 0; i < add; ++i) b.push_back(uint8_t(rng()));
        break;
      }
      case 5:
      case 6: {  // splice an interesting number, often into a length/offset field
        static const uint64_t big[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                                       0xFFFFFFFF, 0x100000000ull, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull,
                                       ~0ull, 100000001, 1ull << 40};
        uint64_t v = rnd(4) ? big[rnd(sizeof(big) / 8)] : rng();
        size_t w = size_t(1) << rnd(4);  // 1, 2, 4, 8 bytes
        if (sz >= w) {
          size_t at = rnd(sz - w + 1);
          for (size_t i = 0; i < w; ++i) b[at + i] = uint8_t(v >> (8 * i));
        }
        break;
      }
      case 7:
        if (sz > 2) {  // copy a chunk over another place
          size_t from = rnd(sz), len = rnd(std::min<size_t>(sz - from, 64)) + 1, to = rnd(sz - len + 1);
          std::memmove(&b[to], &b[from], len);
        }
        break;
      case 8:
        if (sz) {  // insert or delete bytes
          size_t at = rnd(sz), len = rnd(16) + 1;
          if (rnd(2)) b.insert(b.begin() + long(at), len, uint8_t(rng()));
          else b.erase(b.begin() + long(at), b.begin() + long(std::min(sz, at + len)));
        }
        break;
      case 9: {  // splice a chunk of another seed in
        const Bytes& o = seeds[rnd(seeds.size())].bytes;
        if (!o.empty() && sz) {
          size_t from = rnd(o.size()), len = std::min<size_t>(o.size() - from, rnd(128) + 1), to = rnd(sz);
          b.insert(b.begin() + long(to), o.begin() + long(from), o.begin() + long(from + len));
        }
        break;
      }
    }
  }
}

// Runs one parser; returns false if an accepted result is inconsistent.
bool run(const std::string& fmt, const Bytes& in, uint64_t expected, bool exact = false) {
  // An exact-size heap copy so ASan flags any read past the end.
  Bytes b(in);
  const uint8_t* p = b.data();
  size_t n = b.size();
  if (fmt == "npy") {
    NpyHeader h = parse_npy(p, n);
    TensorRecord r;
    r.offset = h.data_offset, r.nbytes = h.nbytes;
    return touch(p, n, r) && h.nbytes == shape_nbytes(h.dtype, h.shape, "x");
  }
  if (fmt == "npz") {
    auto file = MappedFile::from_bytes(std::move(b));
    for (auto& a : load_npz(file))
      if (!touch(a.source->data(), a.source->size(), a.record)) return false;
    return true;
  }
  if (fmt == "safetensors") {
    SafetensorsFile s = parse_safetensors(p, n);
    uint64_t covered = 0;
    for (auto& t : s.tensors) {
      if (!touch(p, n, t)) return false;
      covered += t.nbytes;
    }
    return s.data_offset + covered == n;
  }
  if (fmt == "gguf") {
    GgufFile g = parse_gguf(p, n);
    for (auto& t : g.tensors) {
      if (!touch(p, n, t.record)) return false;
      if (t.quantized || t.ggml_type == ggml::Q4_K) {
        AffineQuantized a = gguf_to_affine(t, p, n);
        if (a.scales.size() * 32 != shape_numel(t.record.shape, "x")) return false;
      }
    }
    return true;
  }
  if (fmt == "inflate") {
    // Alternate between the true size and a wrong one.
    uint64_t want = exact || rnd(4) ? expected : rnd(2 * expected + 16);
    return inflate_raw(p, n, want).size() == want;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fuzz_io ITERATIONS [SEED]\n";
    return 2;
  }
  uint64_t iters = std::strtoull(argv[1], nullptr, 10);
  uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  rng.seed(seed);
  std::vector<Seed> seeds = make_seeds();
  // The seeds themselves must parse.
  uint64_t passed = 0, failed = 0;
  for (auto& s : seeds) {
    try {
      if (run(s.format, s.bytes, s.expected, true)) ++passed;
      else ++failed, std::cerr << "seed " << s.format << " inconsistent\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cerr << "seed " << s.format << " rejected: " << e.what() << "\n";
    }
  }
  const char* formats[] = {"npy", "npz", "safetensors", "gguf", "inflate"};
  uint64_t accepted = 0, rejected = 0;
  double slowest = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t it = 0; it < iters; ++it) {
    auto t1 = std::chrono::steady_clock::now();
    const Seed& s = seeds[rnd(seeds.size())];
    Bytes b = s.bytes;
    mutate(b, seeds);
    // Mostly the matching parser; sometimes every parser on the same bytes.
    std::vector<std::string> fmts = {s.format};
    if (it % 16 == 0) fmts.assign(std::begin(formats), std::end(formats));
    for (auto& fmt : fmts) {
      try {
        if (run(fmt, b, s.expected)) ++accepted, ++passed;
        else {
          ++failed;
          std::cerr << "iteration " << it << " (" << fmt << "): accepted an inconsistent result\n";
        }
      } catch (const ValueError&) {
        ++rejected, ++passed;
      } catch (const std::exception& e) {
        ++failed;
        std::cerr << "iteration " << it << " (" << fmt << "): non-ValueError exception: " << e.what() << "\n";
      }
    }
    slowest = std::max(slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << iters << " iterations in " << secs << " s: " << accepted << " accepted, " << rejected
            << " rejected with ValueError; slowest iteration " << slowest * 1e3 << " ms\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed ? 1 : 0;
}
