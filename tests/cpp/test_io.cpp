// Tests of the file-format layer (csrc/core/io). Standalone:
//   g++ -O2 -std=c++20 -I csrc csrc/core/dtype.cpp csrc/core/io/*.cpp tests/cpp/test_io.cpp -o test_io
//   ./test_io [--python /path/to/python] [--workdir DIR]
// With a python that has numpy, safetensors, gguf and mlx (or OXMLX_TEST_PYTHON
// set), it also generates fixtures with those libraries, checks we read them
// bit-exactly, and checks that files we write load identically there.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "core/io/io.h"

using namespace oxmlx;
using namespace oxmlx::io;

static int g_pass = 0, g_fail = 0;
using Bytes = std::vector<uint8_t>;

static void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_pass;
  } else {
    ++g_fail;
    std::cerr << "FAIL: " << what << "\n";
  }
}

// f must throw ValueError whose message contains `needle`.
static void expect_error(const std::string& what, const std::function<void()>& f, std::string_view needle = "") {
  try {
    f();
    check(false, what + ": no exception");
  } catch (const ValueError& e) {
    bool ok = std::string_view(e.what()).find(needle) != std::string_view::npos;
    check(ok, what + ": message '" + e.what() + "' lacks '" + std::string(needle) + "'");
  } catch (const std::exception& e) {
    check(false, what + ": wrong exception type: " + e.what());
  }
}

static Bytes random_bytes(size_t n, uint32_t seed, int alphabet = 256) {
  std::mt19937 r(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(r() % alphabet);
  return b;
}

static Bytes read_bin(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), {});
}
static void write_bin(const std::string& path, const Bytes& b) { write_file(path, {{b.data(), b.size()}}); }
static Bytes slice(const uint8_t* p, uint64_t off, uint64_t n) { return Bytes(p + off, p + off + n); }
// A copy of b with the byte at each offset replaced.
static Bytes patched(Bytes b, std::initializer_list<std::pair<size_t, uint8_t>> edits) {
  for (auto [at, v] : edits) b.at(at) = v;
  return b;
}

// ---------------------------------------------------------------------------
static void test_npy() {
  const Dtype all[] = {bool_, uint8, uint16, uint32, uint64, int8, int16, int32, int64,
                       float16, float32, float64, bfloat16, complex64};
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {3}, {2, 3}, {1, 2, 3, 4}, {7, 0, 2}};
  for (Dtype d : all)
    for (auto& s : shapes)
      for (bool fo : {false, true}) {
        Bytes h = npy_header(d, s, fo);
        uint64_t nb = shape_nbytes(d, s, "t");
        Bytes data = random_bytes(nb, 7);
        Bytes file = h;
        file.insert(file.end(), data.begin(), data.end());
        NpyHeader p = parse_npy(file.data(), file.size());
        check(h.size() % 64 == 0 && p.dtype == d && p.shape == s && p.fortran_order == fo &&
                  p.data_offset == h.size() && p.nbytes == nb && !p.byteswap &&
                  slice(file.data(), p.data_offset, nb) == data,
              std::string("npy round trip ") + dtype_name(d) + " " + shape_str(s));
      }
  // Exactly numpy's bytes for np.save(np.zeros((2, 3), np.float32)).
  Bytes h = npy_header(float32, {2, 3});
  std::string want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  check(std::string(h.begin() + 10, h.begin() + 10 + long(want.size())) == want && h.size() == 128 && h.back() == '\n' &&
            h[8] == 118 && h[6] == 1,
        "npy header matches numpy layout");

  auto mk = [](const std::string& dict, int major = 1, size_t data = 0) {
    Bytes f = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
    uint32_t n = uint32_t(dict.size());
    f.push_back(uint8_t(n));
    f.push_back(uint8_t(n >> 8));
    if (major > 1) f.push_back(uint8_t(n >> 16)), f.push_back(uint8_t(n >> 24));
    f.insert(f.end(), dict.begin(), dict.end());
    f.resize(f.size() + data);
    return f;
  };
  auto parse = [](const Bytes& b) { return [b] { parse_npy(b.data(), b.size()); }; };
  NpyHeader be = parse_npy(mk("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 1, 8).data(), 80);
  check(be.byteswap && be.dtype == float32, "npy big-endian accepted with byteswap flag");
  uint8_t sw[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  byteswap_inplace(sw, 8, complex64);
  check(sw[0] == 4 && sw[3] == 1 && sw[4] == 8, "byteswap complex64 halves");
  Bytes dq = mk("{\"shape\":(3,),\"fortran_order\":True,\"descr\":\"|u1\"}", 1, 3);
  check(parse_npy(dq.data(), dq.size()).shape.size() == 1, "npy keys in any order, double quotes");
  Bytes v2 = mk("{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }", 2, 48);
  check(parse_npy(v2.data(), v2.size()).shape[1] == 3, "npy v2 and Python 2 long suffix");

  expect_error("npy bad magic", parse(Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), "magic");
  expect_error("npy truncated", parse(Bytes{0x93, 'N', 'U', 'M'}), "magic");
  expect_error("npy bad version", parse(mk("{}", 4)), "version");
  Bytes past = mk("{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
  past[8] = 0xFF;
  expect_error("npy header length past end", parse(past), "header");
  Bytes huge = mk("{}", 2);
  huge[10] = 0x20;  // 2 MiB
  expect_error("npy header > 1 MiB", parse(huge), "1 MiB");
  expect_error("npy missing key", parse(mk("{'descr': '<f4', 'shape': (), }")), "must contain");
  expect_error("npy duplicate key", parse(mk("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}")), "duplicate");
  expect_error("npy extra key", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}")), "unexpected key");
  expect_error("npy unicode dtype", parse(mk("{'descr': '<U5', 'fortran_order': False, 'shape': ()}")), "descr");
  expect_error("npy object dtype", parse(mk("{'descr': '|O', 'fortran_order': False, 'shape': ()}")), "descr");
  expect_error("npy complex128", parse(mk("{'descr': '<c16', 'fortran_order': False, 'shape': ()}")), "descr");
  expect_error("npy structured", parse(mk("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}")), "structured");
  expect_error("npy negative dim", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}")), "negative");
  expect_error("npy dim overflow", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}")), "int64");
  expect_error("npy numel overflow", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}")), "overflow");
  expect_error("npy nbytes overflow", parse(mk("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}")), "overflow");
  expect_error("npy data truncated", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 1, 11)), "truncated");
  expect_error("npy int not tuple", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}")), "tuple");
  expect_error("npy unterminated string", parse(mk("{'descr': '<f4")), "unterminated");
  expect_error("npy bad bool", parse(mk("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}")), "True or False");
  expect_error("npy trailing junk", parse(mk("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x")), "trailing");
  expect_error("npy escape", parse(mk("{'descr': '<f\\x34', 'fortran_order': False, 'shape': ()}")), "unsupported character");
}

// ---------------------------------------------------------------------------
// Builds raw DEFLATE streams bit by bit for malformed-stream tests.
struct BitOut {
  Bytes b;
  int n = 0;
  void put(uint32_t v, int k) {
    for (int i = 0; i < k; ++i, ++n) {
      if (n % 8 == 0) b.push_back(0);
      b.back() |= uint8_t(((v >> i) & 1) << (n % 8));
    }
  }
  void huff(uint32_t code, int len) {  // Huffman codes go MSB first
    for (int i = len - 1; i >= 0; --i) put((code >> i) & 1, 1);
  }
};

static void test_deflate() {
  std::vector<Bytes> inputs = {{}, {'a'}, random_bytes(100000, 1), random_bytes(300000, 2, 4), Bytes(200000, 0)};
  Bytes text;
  for (int i = 0; i < 20000; ++i) text.push_back(uint8_t("the quick brown fox "[i % 20] + (i % 997 == 0)));
  inputs.push_back(text);
  for (size_t i = 0; i < inputs.size(); ++i)
    for (int level : {0, 1, 6, 9}) {
      Bytes c = deflate_raw(inputs[i].data(), inputs[i].size(), level);
      Bytes back = inflate_raw(c.data(), c.size(), inputs[i].size());
      check(back == inputs[i], "deflate/inflate round trip input " + std::to_string(i) + " level " + std::to_string(level));
    }
  Bytes t2 = deflate_raw(text.data(), text.size());
  check(t2.size() < text.size() / 10, "deflate compresses text");
  check(crc32("123456789", 9) == 0xCBF43926u, "crc32 check value");

  auto inf = [](Bytes b, uint64_t n) { return [b, n] { inflate_raw(b.data(), b.size(), n); }; };
  expect_error("inflate block type 3", inf({0x07}, 0), "block type 3");
  expect_error("inflate stored LEN/NLEN", inf({0x01, 5, 0, 0, 0, 1, 2, 3, 4, 5}, 5), "complement");
  expect_error("inflate stored past end", inf({0x01, 5, 0, 0xFA, 0xFF, 1, 2}, 5), "past the end");
  BitOut far;  // fixed block: length 3 at distance 1 with empty history
  far.put(1, 1), far.put(1, 2), far.huff(1, 7), far.huff(0, 5), far.huff(0, 7);
  expect_error("inflate distance before start", inf(far.b, 3), "before the start");
  BitOut over;  // dynamic block: 19 code-length codes all of length 1
  over.put(1, 1), over.put(2, 2), over.put(0, 5), over.put(0, 5), over.put(15, 4);
  for (int i = 0; i < 19; ++i) over.put(1, 3);
  expect_error("inflate over-subscribed", inf(over.b, 1), "over-subscribed");
  BitOut inc;  // one code-length code of length 2: incomplete
  inc.put(1, 1), inc.put(2, 2), inc.put(0, 5), inc.put(0, 5), inc.put(0, 4);
  inc.put(2, 3), inc.put(0, 3), inc.put(0, 3), inc.put(0, 3);
  expect_error("inflate incomplete code", inf(inc.b, 1), "incomplete");
  BitOut rep;  // symbols 16 and 0 of length 1; first symbol is 16 (repeat nothing)
  rep.put(1, 1), rep.put(2, 2), rep.put(0, 5), rep.put(0, 5), rep.put(0, 4);
  rep.put(1, 3), rep.put(0, 3), rep.put(0, 3), rep.put(1, 3);  // order 16,17,18,0
  rep.huff(1, 1), rep.put(0, 2);
  expect_error("inflate repeat without previous", inf(rep.b, 1), "no previous");
  BitOut eob;  // symbols 18 and 0 of length 1; all 258 lengths zero
  eob.put(1, 1), eob.put(2, 2), eob.put(0, 5), eob.put(0, 5), eob.put(0, 4);
  eob.put(0, 3), eob.put(0, 3), eob.put(1, 3), eob.put(1, 3);
  eob.huff(1, 1), eob.put(127, 7), eob.huff(1, 1), eob.put(109, 7);
  expect_error("inflate missing end-of-block", inf(eob.b, 1), "end-of-block");
  BitOut big;  // repeat runs past nlen + ndist
  big.put(1, 1), big.put(2, 2), big.put(0, 5), big.put(0, 5), big.put(0, 4);
  big.put(0, 3), big.put(0, 3), big.put(1, 3), big.put(1, 3);
  big.huff(1, 1), big.put(127, 7), big.huff(1, 1), big.put(127, 7);
  expect_error("inflate repeat past end", inf(big.b, 1), "repeat past");
  Bytes good = deflate_raw(text.data(), text.size());
  expect_error("inflate truncated", inf(Bytes(good.begin(), good.begin() + long(good.size() / 2)), text.size()), "");
  expect_error("inflate output larger than declared", inf(good, text.size() - 1), "larger");
  expect_error("inflate output smaller than declared", inf(good, text.size() + 1), "declared");
  Bytes trailing = good;
  trailing.push_back(0);
  expect_error("inflate trailing bytes", inf(trailing, text.size()), "ends after");
  expect_error("inflate empty input", inf({}, 0), "end of compressed data");
}

// ---------------------------------------------------------------------------
static void test_zip_npz() {
  Bytes a = random_bytes(1000, 3), b = random_bytes(50000, 4, 3);
  for (bool comp : {false, true}) {
    ZipWriter w;
    w.add("a.bin", {{a.data(), a.size()}}, comp);
    w.add("dir/b.bin", {{b.data(), 100}, {b.data() + 100, b.size() - 100}}, comp);
    w.add("empty", {}, comp);
    auto f = MappedFile::from_bytes(w.take());
    ZipReader z(f);
    check(z.entries().size() == 3 && z.find("dir/b.bin") && !z.find("nope"), "zip entries");
    auto ra = z.read(*z.find("a.bin")), rb = z.read(*z.find("dir/b.bin"));
    check(Bytes(ra->data(), ra->data() + ra->size()) == a && Bytes(rb->data(), rb->data() + rb->size()) == b &&
              z.read(*z.find("empty"))->size() == 0,
          std::string("zip round trip ") + (comp ? "deflate" : "stored"));
    if (!comp) check(ra->data() == f->data() + z.find("a.bin")->data_offset, "stored zip entries are zero-copy");
  }
  // Corruptions of a stored archive.
  ZipWriter w;
  w.add("a.npy", {{a.data(), a.size()}}, false);
  w.add("b.npy", {{b.data(), b.size()}}, true);
  const Bytes zip = w.take();
  auto open_zip = [](Bytes x) { return [x] { ZipReader z(MappedFile::from_bytes(x)); for (auto& e : z.entries()) z.read(e); }; };
  auto eocd = zip.size() - 22;
  uint32_t cd_off = uint32_t(zip[eocd + 16] | zip[eocd + 17] << 8 | zip[eocd + 18] << 16 | zip[eocd + 19] << 24);
  size_t e1 = cd_off + 46 + 5;  // second central directory record
  expect_error("zip bad CRC", open_zip(patched(zip, {{40, uint8_t(~zip[40])}})), "CRC");  // stored data byte
  expect_error("zip bad local header offset", open_zip(patched(zip, {{cd_off + 42, 0xF0}})), "offset");
  expect_error("zip sizes past the directory", open_zip(patched(zip, {{cd_off + 20, 0xFF}, {cd_off + 24, 0xFF}})), "");
  expect_error("zip unsupported method", open_zip(patched(zip, {{cd_off + 10, 12}})), "method");
  expect_error("zip encrypted", open_zip(patched(zip, {{cd_off + 8, 1}})), "encrypted");
  expect_error("zip entry count", open_zip(patched(zip, {{eocd + 8, 200}, {eocd + 10, 200}})), "cannot fit");
  expect_error("zip central directory offset", open_zip(patched(zip, {{eocd + 16, uint8_t(zip[eocd + 16] ^ 0x40)}})), "");
  expect_error("zip not a zip", open_zip(random_bytes(500, 9)), "not found");
  expect_error("zip tiny", open_zip(Bytes{'P', 'K'}), "too small");
  expect_error("zip truncated", open_zip(Bytes(zip.begin(), zip.end() - 5)), "not found");
  ZipReader zz(MappedFile::from_bytes(zip));  // flip the deflated entry's block type bits
  size_t bd = zz.find("b.npy")->data_offset;
  expect_error("zip inflate error", open_zip(patched(zip, {{bd, uint8_t(zip[bd] ^ 0x06)}})), "");
  // Second entry's local header offset pointed at the first: names differ.
  expect_error("zip local header name mismatch", open_zip(patched(zip, {{e1 + 42, zip[cd_off + 42]}, {e1 + 43, zip[cd_off + 43]}})), "name");
  // Zip bomb trick: the directory claims a huge uncompressed size.
  expect_error("zip impossible ratio", open_zip(patched(zip, {{e1 + 24, 0xFF}, {e1 + 25, 0xFF}, {e1 + 26, 0xFF}, {e1 + 27, 0x7F}})), "impossible");

  // Rewrite the end record as zip64 (locator + zip64 record) and read it back.
  Bytes z64(zip.begin(), zip.begin() + long(eocd));
  uint64_t zrec = z64.size();
  auto p32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) z64.push_back(uint8_t(v >> (8 * i))); };
  auto p64 = [&](uint64_t v) { p32(uint32_t(v)), p32(uint32_t(v >> 32)); };
  auto p16 = [&](uint16_t v) { z64.push_back(uint8_t(v)), z64.push_back(uint8_t(v >> 8)); };
  p32(0x06064b50), p64(44), p16(45), p16(45), p32(0), p32(0), p64(2), p64(2), p64(eocd - cd_off), p64(cd_off);
  p32(0x07064b50), p32(0), p64(zrec), p32(1);
  p32(0x06054b50), p16(0), p16(0), p16(0xFFFF), p16(0xFFFF), p32(0xFFFFFFFF), p32(0xFFFFFFFF), p16(0);
  ZipReader r64(MappedFile::from_bytes(z64));
  check(r64.entries().size() == 2 && r64.read(*r64.find("b.npy"))->size() == b.size(), "zip64 end records");
  size_t zo = z64.size() - 22 - 20 + 8;  // the locator's pointer to the zip64 record
  expect_error("zip64 bad record offset", open_zip(patched(z64, {{zo, uint8_t(z64[zo] ^ 0x10)}})), "zip64");

  // npz
  std::vector<float> f32 = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> i64(1000);
  for (size_t i = 0; i < i64.size(); ++i) i64[i] = int64_t(i * i);
  for (bool comp : {false, true}) {
    Bytes npz = npz_bytes({{"x", float32, {2, 3}, f32.data()}, {"y", int64, {1000}, i64.data()},
                           {"s", bool_, {}, "\1"}},
                          comp);
    auto arrs = load_npz(MappedFile::from_bytes(npz));
    bool ok = arrs.size() == 3 && arrs[0].record.name == "x" && arrs[0].record.shape == std::vector<int64_t>{2, 3} &&
              std::memcmp(arrs[0].source->data() + arrs[0].record.offset, f32.data(), 24) == 0 &&
              std::memcmp(arrs[1].source->data() + arrs[1].record.offset, i64.data(), 8000) == 0 &&
              arrs[2].record.shape.empty() && arrs[2].source->data()[arrs[2].record.offset] == 1;
    check(ok, std::string("npz round trip ") + (comp ? "compressed" : "stored"));
  }
  ZipWriter nw;
  nw.add("junk.npy", {{a.data(), a.size()}}, false);
  Bytes junk = nw.take();
  expect_error("npz member not npy", [&] { load_npz(MappedFile::from_bytes(junk)); }, "junk.npy");
}

// ---------------------------------------------------------------------------
static Bytes st_file(const std::string& header, size_t data) {
  Bytes f(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f[i] = uint8_t(n >> (8 * i));
  f.insert(f.end(), header.begin(), header.end());
  f.resize(f.size() + data);
  return f;
}

static void test_safetensors() {
  std::vector<uint16_t> bf = {0x3f80, 0x4000, 0xc040};
  std::vector<double> f64 = {1.5, -2.25};
  std::vector<uint8_t> bools = {1, 0, 1, 1};
  Bytes st = safetensors_bytes({{"w", bfloat16, {3}, bf.data()}, {"d\"q\\", float64, {2, 1}, f64.data()},
                                {"b", bool_, {2, 2}, bools.data()}, {"e", float32, {0, 4}, nullptr}},
                               {{"format", "pt"}, {"ünï\n", "ç\"ode"}});
  SafetensorsFile s = parse_safetensors(st.data(), st.size());
  check(s.tensors.size() == 4 && s.metadata.at("ünï\n") == "ç\"ode" && s.data_offset % 8 == 0 &&
            s.tensors[1].name == "d\"q\\" && s.tensors[1].shape == std::vector<int64_t>{2, 1} &&
            std::memcmp(st.data() + s.tensors[1].offset, f64.data(), 16) == 0 &&
            std::memcmp(st.data() + s.tensors[0].offset, bf.data(), 6) == 0 && s.tensors[3].nbytes == 0,
        "safetensors round trip");
  auto ps = [](Bytes b) { return [b] { parse_safetensors(b.data(), b.size()); }; };
  auto T = [](const std::string& body) { return "{" + body + "}"; };
  const std::string a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  Bytes tw = st_file(T(a) + "   \n", 8);
  check(parse_safetensors(tw.data(), tw.size()).tensors.size() == 1, "safetensors trailing whitespace");
  Bytes uf = st_file(T("\"a\":{\"shape\":[2],\"x\":{\"y\":[1,{}]},\"dtype\":\"F32\",\"data_offsets\":[0,8]}"), 8);
  check(parse_safetensors(uf.data(), uf.size()).tensors.size() == 1, "safetensors unknown fields skipped");
  expect_error("st too small", ps(Bytes{1, 2, 3}), "too small");
  Bytes h = st_file("{}", 0);
  h[4] = 1;  // 4 GiB header
  expect_error("st header > 100MB", ps(h), "100 MB");
  h = st_file("{}", 0);
  h[0] = 3;
  expect_error("st header past end", ps(h), "past the end");
  expect_error("st not an object", ps(st_file("[]", 0)), "'{'");
  expect_error("st bad JSON", ps(st_file("{\"a\":}", 0)), "invalid JSON");
  expect_error("st trailing", ps(st_file("{} x", 0)), "trailing");
  expect_error("st duplicate tensor", ps(st_file(T(a + "," + a), 8)), "duplicate");
  expect_error("st duplicate field", ps(st_file(T("\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}"), 4)), "duplicate");
  expect_error("st unknown dtype", ps(st_file(T("\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}"), 1)), "unsupported dtype");
  expect_error("st shape mismatch", ps(st_file(T("\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}"), 8)), "needs 12 bytes");
  expect_error("st gap", ps(st_file(T("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}"), 12)), "gap");
  expect_error("st overlap", ps(st_file(T(a + ",\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}"), 8)), "overlap");
  expect_error("st not covering end", ps(st_file(T(a), 12)), "cover");
  expect_error("st offsets past data", ps(st_file(T(a), 4)), "past");
  expect_error("st end < begin", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}"), 4)), "end");
  expect_error("st negative dim", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}"), 0)), "non-negative");
  expect_error("st float dim", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}"), 1)), "non-negative");
  expect_error("st dim overflow", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,1]}"), 1)), "64 bits");
  expect_error("st numel overflow", ps(st_file(T("\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}"), 1)), "overflow");
  expect_error("st 3 offsets", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}"), 1)), "2 entries");
  expect_error("st missing field", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[1]}"), 1)), "needs dtype");
  expect_error("st metadata not string", ps(st_file(T("\"__metadata__\":{\"k\":1}"), 0)), "not a string");
  expect_error("st bad utf8", ps(st_file("{\"\xff\":1}", 0)), "UTF-8");
  expect_error("st control char", ps(st_file("{\"a\nb\":1}", 0)), "control");
  expect_error("st lone surrogate", ps(st_file(T("\"__metadata__\":{\"k\":\"\\udc00\"}"), 0)), "surrogate");
  expect_error("st leading zero", ps(st_file(T("\"a\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}"), 1)), "leading zero");
  expect_error("st deep nesting", ps(st_file(T("\"a\":{\"x\":" + std::string(100, '[') + std::string(100, ']') + "}"), 0)), "nesting");
  expect_error("st write duplicate", [] { safetensors_bytes({{"a", uint8, {0}, nullptr}, {"a", uint8, {0}, nullptr}}); }, "duplicate");
  expect_error("st write bad utf8 name", [] { safetensors_bytes({{"\xc0\x80", uint8, {0}, nullptr}}); }, "UTF-8");
}

// ---------------------------------------------------------------------------
// Reference dequantization straight from the ggml block definitions.
static float h2f(const uint8_t* p) { return half_bits_to_float(uint16_t(p[0] | p[1] << 8)); }
static std::vector<float> dequant_ref(uint32_t type, const uint8_t* b, size_t n_groups) {
  std::vector<float> out;
  for (size_t g = 0; g < n_groups; ++g) {
    if (type == ggml::Q4_0) {
      const uint8_t* k = b + 18 * g;
      for (int j = 0; j < 32; ++j) out.push_back(h2f(k) * float(((j < 16 ? k[2 + j] : k[2 + j - 16] >> 4) & 15) - 8));
    } else if (type == ggml::Q4_1) {
      const uint8_t* k = b + 20 * g;
      for (int j = 0; j < 32; ++j) out.push_back(h2f(k) * float((j < 16 ? k[4 + j] : k[4 + j - 16] >> 4) & 15) + h2f(k + 2));
    } else if (type == ggml::Q8_0) {
      const uint8_t* k = b + 34 * g;
      for (int j = 0; j < 32; ++j) out.push_back(h2f(k) * float(int8_t(k[2 + j])));
    }
  }
  return out;
}

// A one-tensor GGUF with raw block data, for quantized types.
static Bytes raw_gguf(const std::string& name, uint32_t type, const std::vector<uint64_t>& dims, const Bytes& data) {
  Bytes f = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
  auto p64 = [&](uint64_t v) { for (int i = 0; i < 8; ++i) f.push_back(uint8_t(v >> (8 * i))); };
  auto p32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) f.push_back(uint8_t(v >> (8 * i))); };
  p64(1), p64(0), p64(name.size());
  f.insert(f.end(), name.begin(), name.end());
  p32(uint32_t(dims.size()));
  for (uint64_t d : dims) p64(d);
  p32(type), p64(0);
  while (f.size() % 32) f.push_back(0);
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

// Metadata of every scalar type plus string and numeric arrays.
static std::vector<std::pair<std::string, GgufValue>> sample_meta() {
  return {{"general.name", GgufValue::string("tëst")}, {"u8", GgufValue::u8(200)}, {"i8", GgufValue::i8(-3)},
          {"u16", GgufValue::u16(65535)}, {"i16", GgufValue::i16(-300)}, {"u32", GgufValue::u32(4000000000u)},
          {"i32", GgufValue::i32(-7)}, {"u64", GgufValue::u64(~0ull)}, {"i64", GgufValue::i64(INT64_MIN)},
          {"f32", GgufValue::f32(1.25f)}, {"f64", GgufValue::f64(-2.5)}, {"b", GgufValue::boolean(true)},
          {"strs", GgufValue::string_array({"a", "", "ccc"})},
          {"ints", GgufValue::array(GgufType::UINT32, 2, {1, 0, 0, 0, 2, 0, 0, 0})}};
}

static void test_gguf() {
  std::vector<float> f32(24);
  for (int i = 0; i < 24; ++i) f32[i] = float(i) * 0.5f;
  std::vector<int64_t> i64 = {-1, 2, -3};
  std::vector<uint16_t> bf = {0x3f80, 0x4000};
  std::vector<int8_t> i8 = {-5, 5, 7, 9};
  Bytes u32raw = {1, 0, 0, 0, 2, 0, 0, 0};
  auto meta = sample_meta();
  meta.push_back({"nest", GgufValue::nested(GgufType::ARRAY, {GgufValue::string_array({"x"}), GgufValue::array(GgufType::UINT32, 2, u32raw)})});
  meta.push_back({"general.alignment", GgufValue::u32(64)});
  Bytes g = gguf_bytes({{"w", float32, {2, 3, 4}, f32.data()}, {"l", int64, {3}, i64.data()},
                        {"bf", bfloat16, {2, 1}, bf.data()}, {"c", int8, {4}, i8.data()}, {"s", float32, {}, f32.data()}},
                       meta);
  GgufFile f = parse_gguf(g.data(), g.size());
  bool ok = f.version == 3 && f.alignment == 64 && f.metadata.size() == meta.size() && f.tensors.size() == 5 &&
            f.data_offset % 64 == 0 && f.find("general.name")->str == "tëst" && f.find("u8")->as_int() == 200 &&
            f.find("i8")->as_int() == -3 && f.find("i16")->as_int() == -300 && f.find("u64")->as_uint() == ~0ull &&
            f.find("i64")->as_int() == INT64_MIN && f.find("f32")->as_double() == 1.25 &&
            f.find("f64")->as_double() == -2.5 && f.find("b")->as_int() == 1 && f.find("strs")->strings.size() == 3 &&
            f.find("ints")->raw == u32raw && f.find("nest")->items.size() == 2 &&
            f.find("nest")->items[0].strings[0] == "x";
  check(ok, "gguf metadata round trip");
  const GgufTensor& w = f.tensors[0];
  check(w.plain && w.record.dtype == float32 && w.record.shape == std::vector<int64_t>{2, 3, 4} &&
            w.ggml_dims == std::vector<uint64_t>{4, 3, 2} && w.record.offset % 64 == 0 &&
            std::memcmp(g.data() + w.record.offset, f32.data(), 96) == 0 && f.tensors[1].record.dtype == int64 &&
            std::memcmp(g.data() + f.tensors[1].record.offset, i64.data(), 24) == 0 &&
            f.tensors[2].record.dtype == bfloat16 && f.tensors[4].record.shape.empty() && f.tensors[4].record.nbytes == 4,
        "gguf tensors round trip (dims reversed, aligned)");
  expect_error("gguf write uint8 tensor", [] { gguf_bytes({{"x", uint8, {1}, "a"}}); }, "cannot be stored");
  expect_error("gguf write bad alignment", [] { gguf_bytes({}, {{"general.alignment", GgufValue::u32(3)}}); }, "power of two");

  // Quantized blocks: conversion must dequantize exactly like ggml does.
  for (uint32_t type : {ggml::Q4_0, ggml::Q4_1, ggml::Q8_0}) {
    size_t bs = type == ggml::Q4_0 ? 18 : type == ggml::Q4_1 ? 20 : 34;
    Bytes blocks = random_bytes(bs * 6, type);
    for (size_t k = 0; k < 6; ++k) blocks[k * bs + 1] = 0x3c, blocks[k * bs + 0] = uint8_t(k);  // sane f16 scales
    if (type == ggml::Q4_1)
      for (size_t k = 0; k < 6; ++k) blocks[k * bs + 3] = 0xbc;
    Bytes file = raw_gguf("q.weigh", type, {64, 3}, blocks);  // 7-char name
    GgufFile q = parse_gguf(file.data(), file.size());
    const GgufTensor& t = q.tensors[0];
    AffineQuantized a = gguf_to_affine(t, file.data(), file.size());
    std::vector<float> ref = dequant_ref(type, blocks.data(), 6);
    bool same = t.quantized && a.weight_shape == std::vector<int64_t>{3, 64 * a.bits / 32} &&
                a.scales_shape == std::vector<int64_t>{3, 2} && ref.size() == 192;
    for (size_t i = 0; same && i < 192; ++i) {
      uint32_t word = a.weights[i * a.bits / 32];
      uint32_t qv = (word >> ((i * a.bits) % 32)) & ((1u << a.bits) - 1);
      float v = half_bits_to_float(a.scales[i / 32]) * float(qv) + half_bits_to_float(a.biases[i / 32]);
      same = v == ref[i];
      if (!same) std::cerr << "  element " << i << ": " << v << " vs " << ref[i] << "\n";
    }
    check(same, std::string("gguf ") + ggml_type_name(type) + " -> affine matches reference dequantization");
    check(gguf_quant_prefix("blk.0.attn.weight") == "blk.0.attn" && gguf_quant_prefix("abc") == "abc", "quant prefix");
  }

  // Malformed files.
  auto pg = [](Bytes b) { return [b] { parse_gguf(b.data(), b.size()); }; };
  auto patch = [&](size_t at, std::initializer_list<uint8_t> v) {
    Bytes x = g;
    std::copy(v.begin(), v.end(), x.begin() + long(at));
    return x;
  };
  expect_error("gguf bad magic", pg(patch(0, {'G', 'G', 'M', 'L'})), "magic");
  expect_error("gguf v1", pg(patch(4, {1})), "v1");
  expect_error("gguf big-endian", pg(patch(4, {0, 0, 0, 3})), "big-endian");
  expect_error("gguf truncated", pg(Bytes(g.begin(), g.begin() + 10)), "needs 8 bytes");
  expect_error("gguf absurd tensor count", pg(patch(8, {0xff, 0xff, 0xff, 0xff, 0xff})), "tensor count");
  expect_error("gguf absurd kv count", pg(patch(16, {0, 0, 0, 0, 1})), "metadata count");
  expect_error("gguf key length past end", pg(patch(24, {0xff, 0xff, 0xff, 0xff})), "runs past the end");
  size_t type_at = 24 + 8 + 12;  // first key "general.name"
  expect_error("gguf unknown value type", pg(patch(type_at, {13})), "unknown value type");
  size_t u8_at = type_at + 4 + 8 + 5 + 8 + 2 + 4;  // value of key "u8"
  expect_error("gguf bool value", pg(patch(u8_at - 4, {7})), "bool");
  std::vector<std::pair<std::string, GgufValue>> m2 = {{"arr", GgufValue::array(GgufType::UINT8, 1, {5})}};
  Bytes ga = gguf_bytes({}, m2);
  expect_error("gguf array count", pg(patched(ga, {{24 + 8 + 3 + 4 + 4 + 6, 0x10}})), "array count");  // 2^52
  expect_error("gguf array element type", pg(patched(ga, {{24 + 8 + 3 + 4, 20}})), "element type");
  Bytes deep = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k', 9, 0, 0, 0};
  for (int i = 0; i < 12; ++i) deep.insert(deep.end(), {9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
  expect_error("gguf nesting", pg(deep), "nested");
  Bytes al = gguf_bytes({}, {{"general.alignment", GgufValue::u32(64)}});
  al[24 + 8 + 17 + 4] = 48;  // the value, after key and type
  expect_error("gguf alignment not power of two", pg(al), "power of two");
  al[24 + 8 + 17] = 5;  // type INT32
  expect_error("gguf alignment wrong type", pg(al), "UINT32");
  Bytes gt = gguf_bytes({{"t", float32, {2, 3}, f32.data()}});
  size_t ti = 24 + 8 + 1;  // after name "t"
  expect_error("gguf too many dims", pg(patched(gt, {{ti, 9}})), "dimensions");
  expect_error("gguf dim > int64", pg(patched(gt, {{ti + 4 + 7, 0x80}})), "exceeds int64");
  expect_error("gguf unknown ggml type", pg(patched(gt, {{ti + 4 + 16, 77}})), "unknown ggml");
  expect_error("gguf block divisibility", pg(patched(gt, {{ti + 4 + 16, 2}})), "multiple of the Q4_0 block");  // ne0 = 3
  expect_error("gguf unaligned offset", pg(patched(gt, {{ti + 4 + 16 + 4, 4}})), "alignment");
  expect_error("gguf offset past end", pg(patched(gt, {{ti + 4 + 16 + 4 + 1, 1}})), "past the end");
  expect_error("gguf data truncated", pg(Bytes(gt.begin(), gt.end() - 1)), "past the end");
  Bytes two = gguf_bytes({{"a", float32, {8}, f32.data()}, {"b", float32, {8}, f32.data()}});
  size_t boff = 24 + (8 + 1 + 4 + 8 + 4 + 8) + (8 + 1 + 4 + 8 + 4);
  two[boff] = 0;  // b's offset 32 -> 0, overlapping a
  expect_error("gguf overlapping tensors", pg(two), "overlap");
  Bytes dup = gguf_bytes({{"a", float32, {1}, f32.data()}, {"b", float32, {1}, f32.data()}});
  dup[24 + 8 + 1 + 4 + 8 + 4 + 8 + 8] = 'a';
  expect_error("gguf duplicate tensor", pg(dup), "duplicate");
}

static void test_mapped_file() {
  expect_error("open missing file", [] { MappedFile::open("/nonexistent/oxmlx"); }, "failed to open");
  std::string path = "/tmp/oxmlx_test_io_mf.bin";
  Bytes data = random_bytes(5000, 11);
  write_bin(path, data);
  auto f = MappedFile::open(path);
  auto s = f->slice(100, 50);
  check(f->is_mmapped() && Bytes(f->data(), f->data() + f->size()) == data && s->data() == f->data() + 100 && s->size() == 50,
        "mmap + slice");
  expect_error("slice out of range", [&] { f->slice(4990, 11); }, "outside");
  write_bin(path, {});
  auto e = MappedFile::open(path);
  check(e->size() == 0 && e->data() != nullptr, "empty file");
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------
// Interop with numpy / safetensors / gguf-py / mlx, driven by two embedded
// scripts: gen.py writes fixtures + a manifest of expected bytes; verify.py
// loads what we wrote and prints PASS/FAIL lines.
static const char* kPrelude = R"PY(
import sys, os, io, numpy as np, gguf, mlx.core as mx, safetensors
def mxraw(a): return np.array(a.view(mx.uint16) if a.dtype == mx.bfloat16 else a).tobytes()
def field_rep(fl):
    V = gguf.GGUFValueType
    t = fl.types
    if t[0] == V.STRING: return "8:" + bytes(fl.parts[fl.data[0]]).hex()
    if t[0] == V.ARRAY:
        if t[1] == V.STRING: return f"9:8:{len(fl.data)}:" + ",".join(bytes(fl.parts[i]).hex() for i in fl.data)
        return f"9:{int(t[1])}:{len(fl.data)}:" + b"".join(bytes(fl.parts[i]) for i in fl.data).hex()
    return f"{int(t[0])}:" + bytes(fl.parts[fl.data[0]]).hex()
)PY";

static const char* kGenPy = R"PY(
from safetensors.numpy import save_file
os.chdir(sys.argv[1])
man = open("manifest.txt", "w"); nb = [0]
def binf(b):
    nb[0] += 1; n = f"e{nb[0]}.bin"; open(n, "wb").write(bytes(b)); return n
def shp(s): return ",".join(map(str, s))
def T(f, name, dt, shape, raw, flags="-"): man.write(f"T\t{f}\t{name}\t{dt}\t{shp(shape)}\t{flags}\t{binf(raw)}\n")
rng = np.random.default_rng(0)
A = {"b": rng.integers(0, 2, (3, 4)).astype(bool), "scalar": np.array(3.5, np.float32), "empty": np.zeros((0, 3), np.float32),
     "c64": (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex64),
     "big": np.arange(100000, dtype=np.int32).reshape(1000, 100), "noise": rng.standard_normal(70000).astype(np.float32)}
for t in ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]:
    A[t] = (rng.standard_normal((2, 3, 4)) * 100).astype(t)
for k, a in A.items():
    np.save(f"np_{k}.npy", a); T(f"np_{k}.npy", "-", a.dtype.name, a.shape, a.tobytes())
F = np.asfortranarray(rng.standard_normal((3, 5)).astype(np.float32))
np.save("np_fortran.npy", F); T("np_fortran.npy", "-", "float32", F.shape, F.tobytes(order="F"), "F")
for k, dt in [("bef4", ">f4"), ("bei2", ">i2"), ("bec8", ">c8")]:
    a = (rng.standard_normal((4, 3)) * 50).astype(dt); np.save(f"np_{k}.npy", a)
    T(f"np_{k}.npy", "-", a.dtype.newbyteorder("<").name, a.shape, a.tobytes(), "S")
np.savez("np_plain.npz", **A); np.savez_compressed("np_comp.npz", **A)
for f in ["np_plain.npz", "np_comp.npz"]:
    for k, a in A.items(): T(f, k, a.dtype.name, a.shape, a.tobytes())
S = {k: A[k] for k in ["b", "uint8", "int16", "float16", "float32", "float64", "int64", "uint64", "scalar", "empty", "c64"]}
meta = {"format": "np", "ünï": "välue\n\"q\""}
save_file(S, "st.safetensors", metadata=meta)
for k, a in S.items(): T("st.safetensors", k, a.dtype.name, a.shape, a.tobytes())
for k, v in meta.items(): man.write(f"M\tst.safetensors\t{k.encode().hex()}\t{v.encode().hex()}\n")
bf = mx.array(rng.standard_normal((3, 4)).astype(np.float32)).astype(mx.bfloat16)
bf1 = bf.reshape(-1)[:5]
mx.save_safetensors("mx.safetensors", {"bf": bf, "c": mx.array(A["c64"]), "i": mx.array(A["int32"])}, {"m": "x"})
T("mx.safetensors", "bf", "bfloat16", bf.shape, mxraw(bf)); T("mx.safetensors", "c", "complex64", (2, 3), A["c64"].tobytes())
T("mx.safetensors", "i", "int32", A["int32"].shape, A["int32"].tobytes())
mx.save("mx_bf.npy", bf); T("mx_bf.npy", "-", "bfloat16", bf.shape, mxraw(bf))
mx.save("mx_bf1.npy", bf1); T("mx_bf1.npy", "-", "bfloat16", bf1.shape, mxraw(bf1), "F")
G = {"w": A["float32"], "h": A["float16"], "i8": A["int8"], "i16": A["int16"], "i32": A["int32"]}
mx.save_gguf("mx.gguf", {k: mx.array(v) for k, v in G.items()}, {"name": "hi", "arr": ["x", "y"], "num": mx.array(3), "v": mx.array([1.0, 2.0])})
for k, a in G.items(): T("mx.gguf", k, a.dtype.name, a.shape, a.tobytes())
w = gguf.GGUFWriter("gp.gguf", "test")
w.add_uint8("k.u8", 250); w.add_int8("k.i8", -5); w.add_uint16("k.u16", 60000); w.add_int16("k.i16", -30000)
w.add_uint32("k.u32", 4000000000); w.add_int32("k.i32", -2000000000); w.add_float32("k.f32", 1.5)
w.add_uint64("k.u64", 2**63 + 5); w.add_int64("k.i64", -2**62); w.add_float64("k.f64", -0.125); w.add_bool("k.b", True)
w.add_string("k.s", "héllo"); w.add_array("k.as", ["a", "bb", ""]); w.add_array("k.ai", [1, 2, 3]); w.add_array("k.af", [0.5, 1.5])
P = {"f32": A["float32"], "f16": A["float16"], "f64": A["float64"], "i8": A["int8"], "i16": A["int16"], "i32": A["int32"], "i64": A["int64"]}
for k, a in P.items(): w.add_tensor(k, a)
bfr = np.array(bf.view(mx.uint16))
w.add_tensor("bf", bfr, raw_dtype=gguf.GGMLQuantizationType.BF16)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
for k, a in P.items(): T("gp.gguf", k, a.dtype.name, a.shape, a.tobytes())
T("gp.gguf", "bf", "bfloat16", bfr.shape, bfr.tobytes())
for f in ["gp.gguf", "mx.gguf"]:
    for k, fl in gguf.GGUFReader(f).fields.items():
        if not k.startswith("GGUF."): man.write(f"G\t{f}\t{k.encode().hex()}\t{field_rep(fl)}\n")
Qt = gguf.GGMLQuantizationType
w = gguf.GGUFWriter("gq.gguf", "test")
d = rng.standard_normal((3, 256)).astype(np.float32)
for qt in [Qt.Q4_0, Qt.Q4_1, Qt.Q8_0]: w.add_tensor(f"{qt.name}.weight", gguf.quants.quantize(d, qt), raw_dtype=qt)
blk = rng.integers(0, 256, (3, 144), dtype=np.uint8); blk[:, 1] = 0x1c; blk[:, 3] = 0x1c
w.add_tensor("Q4_K.weight", blk, raw_dtype=Qt.Q4_K)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
out = mx.load("gq.gguf")
# mlx 0.32 dequantizes Q4_K to float16 (and disagrees with gguf-py on odd sub-blocks): use gguf-py's reference
man.write(f"D\tgq.gguf\tQ4_K.weight\t{binf(gguf.quants.dequantize(blk, Qt.Q4_K).astype(np.float32).tobytes())}\n")
for n in ["Q4_0.weight", "Q4_1.weight", "Q8_0.weight"]:
    W, Sc, B = out[n], out[n[:-7] + ".scales"], out[n[:-7] + ".biases"]
    man.write(f"Q\tgq.gguf\t{n}\t{binf(mxraw(W))}\t{binf(mxraw(Sc))}\t{binf(mxraw(B))}\t{shp(W.shape)}\t{shp(Sc.shape)}\n")
print("gen done")
)PY";

static const char* kVerifyPy = R"PY(
from safetensors import safe_open
os.chdir(os.path.join(sys.argv[1], "out"))
def rep(ok, what): print(("PASS " if ok else "FAIL ") + what, flush=True)
def npdt(a, dt): return a.dtype.str[1:] == "V2" if dt == "bfloat16" else a.dtype.name == dt
ST = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "uint16": "U16", "int16": "I16", "uint32": "U32", "int32": "I32",
      "uint64": "U64", "int64": "I64", "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64", "complex64": "C64"}
GG = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64"}
for l in open("manifest.txt"):
    l = l.rstrip("\n").split("\t")
    try:
        kind, f = l[0], l[1]
        if kind == "T":
            _, f, name, dt, shape, binf = l
            shape = tuple(int(x) for x in shape.split(",")) if shape else ()
            raw = open(binf, "rb").read()
            what = f"{f}:{name}"
            if f.endswith(".npy") or f.endswith(".npz"):
                a = np.load(f) if f.endswith(".npy") else np.load(f)[name]
                rep(npdt(a, dt) and a.shape == shape and a.tobytes() == raw, "numpy loads " + what)
                if f.endswith(".npy") and dt != "bfloat16":  # numpy writes V2 as '|V2'
                    b = io.BytesIO(); np.save(b, a)
                    rep(b.getvalue() == open(f, "rb").read(), "byte-identical to np.save: " + f)
                m = mx.load(f) if f.endswith(".npy") else mx.load(f)[name]
                rep(m.shape == shape and mxraw(m) == raw, "mlx loads " + what)
            elif f.endswith(".safetensors"):
                e = dict(safetensors.deserialize(open(f, "rb").read()))[name]
                rep(e["dtype"] == ST[dt] and e["shape"] == list(shape) and bytes(e["data"]) == raw, "safetensors loads " + what)
                if f.startswith("o_mx"):  # mlx 0.32 has no F64 in safetensors
                    m = mx.load(f)[name]
                    rep(m.shape == shape and mxraw(m) == raw, "mlx loads " + what)
            elif f.endswith(".gguf"):
                t = [t for t in gguf.GGUFReader(f).tensors if t.name == name][0]
                rep(t.tensor_type.name == GG[dt] and tuple(int(x) for x in t.shape[::-1]) == shape and t.data.tobytes() == raw, "gguf-py loads " + what)
                if f.startswith("o_mx"):  # mlx 0.32: F32 F16 I8 I16 I32 only, no FLOAT64 metadata
                    m = mx.load(f)[name]
                    rep(m.shape == shape and mxraw(m) == raw, "mlx loads " + what)
        elif kind == "M":
            k, v = bytes.fromhex(l[2]).decode(), bytes.fromhex(l[3]).decode()
            rep(safe_open(f, "np").metadata()[k] == v, f"safetensors metadata {f}:{k}")
            if f.startswith("o_mx"): rep(mx.load(f, return_metadata=True)[1][k] == v, f"mlx metadata {f}:{k}")
        elif kind == "G":
            k = bytes.fromhex(l[2]).decode()
            rep(field_rep(gguf.GGUFReader(f).fields[k]) == l[3], f"gguf-py metadata {f}:{k}")
            if f.startswith("o_mx"):
                md, p = mx.load(f, return_metadata=True)[1][k], l[3].split(":")
                if p[0] == "8": ok = md == bytes.fromhex(p[1]).decode()
                elif p[0] == "9" and p[1] == "8": ok = md == [bytes.fromhex(s).decode() for s in p[3].split(",")]
                else: ok = np.array(md).tobytes() == bytes.fromhex(p[-1])
                rep(ok, f"mlx metadata {f}:{k}")
    except Exception as e:
        rep(False, f"{l[:3]}: {e!r}")
)PY";

static std::string hex(const void* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += d[static_cast<const uint8_t*>(p)[i] >> 4], s += d[static_cast<const uint8_t*>(p)[i] & 15];
  return s;
}
static Bytes unhex(const std::string& s) {
  Bytes b;
  for (size_t i = 0; i + 1 < s.size(); i += 2) b.push_back(uint8_t(std::stoi(s.substr(i, 2), nullptr, 16)));
  return b;
}
static std::string rep(const GgufValue& v) {  // the same rendering as field_rep() above
  if (v.type == GgufType::STRING) return "8:" + hex(v.str.data(), v.str.size());
  if (v.type != GgufType::ARRAY) return std::to_string(int(v.type)) + ":" + hex(&v.bits, gguf_scalar_size(v.type));
  std::string s = "9:" + std::to_string(int(v.elem_type)) + ":" + std::to_string(v.count) + ":";
  if (v.elem_type != GgufType::STRING) return s + hex(v.raw.data(), v.raw.size());
  for (size_t i = 0; i < v.strings.size(); ++i) s += (i ? "," : "") + hex(v.strings[i].data(), v.strings[i].size());
  return s;
}
template <class T>
static Bytes as_bytes(const std::vector<T>& v) {
  return Bytes((const uint8_t*)v.data(), (const uint8_t*)(v.data() + v.size()));
}
static std::vector<std::string> split(const std::string& l) {
  std::vector<std::string> out;
  std::stringstream ss(l);
  for (std::string x; std::getline(ss, x, '\t');) out.push_back(x);
  return out;
}
static std::vector<int64_t> parse_shape(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) v.push_back(std::stoll(x));
  return v;
}
static int run_py(const std::string& py, const std::string& script, const std::string& dir, bool count) {
  std::string path = dir + "/script.py";
  write_bin(path, Bytes(script.begin(), script.end()));
  FILE* p = popen(("'" + py + "' '" + path + "' '" + dir + "' 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) {
    std::string line(buf);
    if (count && line.rfind("PASS ", 0) == 0) check(true, line);
    else if (count && line.rfind("FAIL ", 0) == 0) check(false, "python: " + line.substr(5));
    else std::cout << "  [py] " << line;
  }
  return pclose(p);
}

static void interop(const std::string& py, const std::string& dir) {
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/out'").c_str());
  std::string head = kPrelude;
  check(run_py(py, head + kGenPy, dir, false) == 0, "python fixture generation");
  // 1. Read the fixtures and compare with the bytes python recorded.
  std::ifstream man(dir + "/manifest.txt");
  std::map<std::string, std::shared_ptr<MappedFile>> files;
  int lines = 0;
  for (std::string line; std::getline(man, line); ++lines) {
    auto c = split(line);
    std::string what = c[1] + ":" + c[2];
    try {
      auto& mf = files[c[1]];
      if (!mf) mf = MappedFile::open(dir + "/" + c[1]);
      const std::string& fn = c[1];
      if (c[0] == "T") {
        TensorRecord r;
        std::shared_ptr<MappedFile> src = mf;
        if (fn.ends_with(".npy")) r = load_npy(*mf);
        else if (fn.ends_with(".npz")) {
          for (auto& a : load_npz(mf))
            if (a.record.name == c[2]) r = a.record, src = a.source;
        } else if (fn.ends_with(".safetensors")) {
          for (auto& t : parse_safetensors(mf->data(), mf->size()).tensors)
            if (t.name == c[2]) r = t;
        } else {
          for (auto& t : parse_gguf(mf->data(), mf->size()).tensors)
            if (t.record.name == c[2] && t.plain) r = t.record;
        }
        Bytes want = read_bin(dir + "/" + c[6]);
        bool ok = dtype_name(r.dtype) == c[3] && r.shape == parse_shape(c[4]) && r.nbytes == want.size() &&
                  slice(src->data(), r.offset, r.nbytes) == want && r.fortran_order == (c[5] == "F") &&
                  r.byteswap == (c[5] == "S");
        check(ok, "read fixture " + what);
      } else if (c[0] == "M") {
        auto s = parse_safetensors(mf->data(), mf->size());
        Bytes k = unhex(c[2]), v = unhex(c[3]);
        check(s.metadata.at(std::string(k.begin(), k.end())) == std::string(v.begin(), v.end()), "metadata " + what);
      } else if (c[0] == "G") {
        Bytes k = unhex(c[2]);
        GgufFile g = parse_gguf(mf->data(), mf->size());
        const GgufValue* v = g.find(std::string(k.begin(), k.end()));
        check(v && rep(*v) == c[3], "gguf metadata " + what + (v ? " got " + rep(*v) + " want " + c[3] : ""));
      } else if (c[0] == "Q") {
        GgufFile g = parse_gguf(mf->data(), mf->size());
        auto it = std::find_if(g.tensors.begin(), g.tensors.end(), [&](auto& t) { return t.record.name == c[2]; });
        AffineQuantized a = gguf_to_affine(*it, mf->data(), mf->size());
        bool ok = a.weight_shape == parse_shape(c[6]) && a.scales_shape == parse_shape(c[7]) &&
                  as_bytes(a.weights) == read_bin(dir + "/" + c[3]) && as_bytes(a.scales) == read_bin(dir + "/" + c[4]) &&
                  as_bytes(a.biases) == read_bin(dir + "/" + c[5]);
        check(ok, "quantized " + what + " matches mx.load bit-exactly");
      } else if (c[0] == "D") {  // Q4_K: our affine triple vs gguf-py's float32 dequantization
        GgufFile g = parse_gguf(mf->data(), mf->size());
        AffineQuantized a = gguf_to_affine(g.tensors.back(), mf->data(), mf->size());
        Bytes ref = read_bin(dir + "/" + c[3]);
        bool ok = ref.size() == a.weights.size() * 8 * 4;
        for (size_t i = 0; ok && i < ref.size() / 4; ++i) {
          float v = half_bits_to_float(a.scales[i / 32]) * float((a.weights[i / 8] >> (4 * (i % 8))) & 15) +
                    half_bits_to_float(a.biases[i / 32]);
          float r;
          std::memcpy(&r, &ref[4 * i], 4);
          ok = std::fabs(v - r) <= 1e-2f + 1e-3f * std::fabs(r);  // scales/biases are rounded to f16
        }
        check(ok, "Q4_K affine conversion dequantizes like gguf-py");
      }
    } catch (const std::exception& e) {
      check(false, "fixture " + what + ": " + e.what());
    }
  }
  check(lines > 50, "fixture manifest has entries");

  // 2. Write files for python to load.
  std::ofstream om(dir + "/out/manifest.txt");
  std::vector<Bytes> keep;
  std::vector<ArraySpec> all;
  const Dtype dts[] = {bool_, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, float32, float64, bfloat16, complex64};
  for (Dtype d : dts) {
    keep.push_back(Bytes(6 * d.size));
    dispatch_dtype(d, [&](auto t) {
      for (int i = 0; i < 6; ++i) {
        auto v = decltype(t)(i * 37 % 11 - 5);
        std::memcpy(keep.back().data() + i * d.size, &v, d.size);
      }
    });
    all.push_back({std::string(dtype_name(d)), d, {2, 3}, keep.back().data()});
  }
  all.push_back({"scalar", float32, {}, "\0\0\x40\x40"});
  all.push_back({"empty", int32, {0, 5}, nullptr});
  auto T = [&](const std::string& f, const ArraySpec& a) {
    auto& [name, d, shape, data] = a;
    std::string shp;
    for (size_t i = 0; i < shape.size(); ++i) shp += (i ? "," : "") + std::to_string(shape[i]);
    std::string bin = f + "." + name + ".bin";
    uint64_t nb = shape_nbytes(d, shape, "t");
    write_bin(dir + "/out/" + bin, nb ? Bytes((const uint8_t*)data, (const uint8_t*)data + nb) : Bytes{});
    om << "T\t" << f << "\t" << name << "\t" << dtype_name(d) << "\t" << shp << "\t" << bin << "\n";
  };
  for (auto& a : all) {
    std::string f = "o_" + std::get<0>(a) + ".npy";
    save_npy(dir + "/out/" + f, std::get<1>(a), std::get<2>(a), std::get<3>(a));
    T(f, a);
  }
  Bytes big(300000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t((i * i) >> 7);
  all.push_back({"big", uint8, {300000}, big.data()});
  write_npz(dir + "/out/o_plain.npz", all, false);
  write_npz(dir + "/out/o_comp.npz", all, true);
  std::map<std::string, std::string> meta = {{"format", "mlx"}, {"ünï", "välue\n\"q\""}};
  save_safetensors(dir + "/out/o.safetensors", all, meta);
  std::vector<ArraySpec> no64;
  for (auto& a : all)
    if (std::get<1>(a) != float64) no64.push_back(a);
  save_safetensors(dir + "/out/o_mx.safetensors", no64, meta);
  for (auto& a : all) T("o_plain.npz", a), T("o_comp.npz", a), T("o.safetensors", a);
  for (auto& a : no64) T("o_mx.safetensors", a);
  for (auto& [k, v] : meta)
    for (const char* f : {"o.safetensors", "o_mx.safetensors"})
      om << "M\t" << f << "\t" << hex(k.data(), k.size()) << "\t" << hex(v.data(), v.size()) << "\n";
  std::vector<ArraySpec> gg, gm;
  for (auto& a : all) {
    Dtype d = std::get<1>(a);
    if (d == float32 || d == float16 || d == bfloat16 || d == float64 || (is_integral(d) && !is_unsigned(d)))
      if (!std::get<2>(a).empty()) gg.push_back(a);
    if ((d == float32 || d == float16 || d == int8 || d == int16 || d == int32) && !std::get<2>(a).empty()) gm.push_back(a);
  }
  auto gmeta = sample_meta();
  save_gguf(dir + "/out/o.gguf", gg, gmeta);
  std::vector<std::pair<std::string, GgufValue>> mmeta(gmeta.begin(), gmeta.begin() + 10);
  mmeta.push_back(gmeta[12]), mmeta.push_back(gmeta[13]);
  save_gguf(dir + "/out/o_mx.gguf", gm, mmeta);
  for (auto& a : gg) T("o.gguf", a);
  for (auto& a : gm) T("o_mx.gguf", a);
  for (auto& [k, v] : gmeta) om << "G\to.gguf\t" << hex(k.data(), k.size()) << "\t" << rep(v) << "\n";
  for (auto& [k, v] : mmeta) om << "G\to_mx.gguf\t" << hex(k.data(), k.size()) << "\t" << rep(v) << "\n";
  om.close();
  check(run_py(py, head + kVerifyPy, dir, true) == 0, "python verification ran");
}

int main(int argc, char** argv) {
  std::string python, workdir = "/tmp/oxmlx_test_io";
  if (const char* e = std::getenv("OXMLX_TEST_PYTHON")) python = e;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--python") python = argv[i + 1];
    else if (std::string(argv[i]) == "--workdir") workdir = argv[i + 1];
  }
  std::pair<const char*, void (*)()> groups[] = {{"npy", test_npy}, {"deflate", test_deflate}, {"zip/npz", test_zip_npz},
      {"safetensors", test_safetensors}, {"gguf", test_gguf}, {"mapped_file", test_mapped_file}};
  for (auto& [name, fn] : groups) {
    try {
      fn();
    } catch (const std::exception& e) {
      check(false, std::string(name) + ": unexpected exception: " + e.what());
    }
  }
  if (python.empty()) std::cout << "python interop: skipped (pass --python or set OXMLX_TEST_PYTHON)\n";
  else interop(python, workdir);
  std::cout << g_pass << " passed, " << g_fail << " failed\n";
  return g_fail ? 1 : 0;
}
