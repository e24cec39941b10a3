// .npy: numpy's array file. The header is a Python dict literal; we parse the
// small subset numpy writes (strings, True/False, tuples of ints) ourselves
// and never evaluate anything, so object/pickled arrays cannot be loaded.
#include <limits>

#include "core/io/byteio.h"
#include "core/io/io.h"

namespace oxmlx::io {

namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr uint64_t kMaxHeader = 1 << 20;  // numpy's own limit is 10000; be generous

// Recursive-descent reader over the header text. Offsets in messages are file
// offsets (base + index into the header).
class Literal {
 public:
  Literal(const char* s, size_t n, size_t base) : s_(s), n_(n), base_(base) {}

  [[noreturn]] void fail(std::string_view what) const {
    throw ValueError(msg("npy: header at offset ", base_ + i_, ": ", what));
  }
  void ws() {
    while (i_ < n_ && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < n_ && s_[i_] == c) return ++i_, true;
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(msg("expected '", c, "'"));
  }
  bool at_end() {
    ws();
    return i_ == n_;
  }
  char peek() {
    ws();
    return i_ < n_ ? s_[i_] : '\0';
  }
  std::string str() {
    ws();
    if (i_ >= n_ || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a string");
    char q = s_[i_++];
    size_t start = i_;
    while (i_ < n_ && s_[i_] != q) {
      // numpy never writes escapes; refusing them keeps this a pure scanner.
      if (s_[i_] == '\\' || s_[i_] == '\n') fail("unsupported character in string");
      ++i_;
    }
    if (i_ >= n_) fail("unterminated string");
    return std::string(s_ + start, s_ + i_++);
  }
  bool boolean() {
    ws();
    if (n_ - i_ >= 4 && std::string_view(s_ + i_, 4) == "True") return i_ += 4, true;
    if (n_ - i_ >= 5 && std::string_view(s_ + i_, 5) == "False") return i_ += 5, false;
    fail("expected True or False");
  }
  int64_t integer() {
    ws();
    size_t start = i_;
    uint64_t v = 0;
    while (i_ < n_ && s_[i_] >= '0' && s_[i_] <= '9') {
      if (v > (uint64_t(std::numeric_limits<int64_t>::max()) - (s_[i_] - '0')) / 10)
        fail("dimension does not fit in int64");
      v = v * 10 + uint64_t(s_[i_++] - '0');
    }
    if (i_ == start) fail(start < n_ && s_[start] == '-' ? "negative dimension" : "expected an integer");
    if (i_ - start > 1 && s_[start] == '0') fail("integer with leading zero");
    if (i_ < n_ && s_[i_] == 'L') ++i_;  // Python 2 long suffix in old files
    return int64_t(v);
  }
  // Python tuple of ints: (), (n,), (a, b[,])
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> out;
    if (eat(')')) return out;
    for (;;) {
      if (out.size() >= 64) fail("more than 64 dimensions");
      out.push_back(integer());
      if (eat(')')) {
        if (out.size() == 1) fail("'(n)' is an int, not a tuple");
        return out;
      }
      expect(',');
      if (eat(')')) return out;
    }
  }

 private:
  const char* s_;
  size_t n_, base_;
  size_t i_ = 0;
};

Dtype descr_to_dtype(const std::string& d, bool* swap, size_t at) {
  auto bad = [&](std::string_view why) -> Dtype {
    throw ValueError(msg("npy: header at offset ", at, ": descr '", d, "' ", why));
  };
  if (d.size() < 3) return bad("is not a supported dtype");
  char order = d[0], k = d[1];
  std::string_view sz(d.data() + 2, d.size() - 2);
  if (order != '<' && order != '>' && order != '|' && order != '=') return bad("has no byte order");
  Dtype t;
  if (k == 'b' && sz == "1") t = bool_;
  else if (k == 'u' && sz == "1") t = uint8;
  else if (k == 'u' && sz == "2") t = uint16;
  else if (k == 'u' && sz == "4") t = uint32;
  else if (k == 'u' && sz == "8") t = uint64;
  else if (k == 'i' && sz == "1") t = int8;
  else if (k == 'i' && sz == "2") t = int16;
  else if (k == 'i' && sz == "4") t = int32;
  else if (k == 'i' && sz == "8") t = int64;
  else if (k == 'f' && sz == "2") t = float16;
  else if (k == 'f' && sz == "4") t = float32;
  else if (k == 'f' && sz == "8") t = float64;
  else if (k == 'c' && sz == "8") t = complex64;
  else if (k == 'V' && sz == "2") t = bfloat16;  // MLX stores bfloat16 as raw 2-byte voids
  else return bad("is not a supported dtype (bool, (u)int8-64, float16/32/64, complex64, V2)");
  // bfloat16 as V2 is opaque bytes to numpy, so '>' cannot mean swapped there.
  *swap = order == '>' && t.size > 1 && t != bfloat16;
  return t;
}

std::string shape_repr(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace

NpyHeader parse_npy(const uint8_t* p, size_t n) {
  detail::Cursor c(p, n, "npy");
  const uint8_t* magic = c.bytes(6, "magic");
  if (std::memcmp(magic, kMagic, 6) != 0) c.fail("magic", 0, "not a .npy file (bad magic string)");
  NpyHeader h;
  uint8_t major = c.u8("version"), minor = c.u8("version");
  if (major < 1 || major > 3 || minor != 0)
    c.fail("version", 6, msg("unsupported format version ", int(major), ".", int(minor)));
  h.version_major = major;
  uint64_t hlen = major == 1 ? c.u16("header length") : c.u32("header length");
  if (hlen > kMaxHeader) c.fail("header length", 8, msg(hlen, " bytes exceeds the 1 MiB limit"));
  size_t hstart = c.pos();
  const char* text = reinterpret_cast<const char*>(c.bytes(hlen, "header"));
  h.data_offset = hstart + hlen;

  Literal lit(text, size_t(hlen), hstart);
  bool have_descr = false, have_fortran = false, have_shape = false;
  lit.expect('{');
  while (!lit.eat('}')) {
    std::string key = lit.str();
    lit.expect(':');
    if (key == "descr") {
      if (have_descr) lit.fail("duplicate key 'descr'");
      have_descr = true;
      if (lit.peek() == '[') lit.fail("structured dtypes are not supported");
      h.dtype = descr_to_dtype(lit.str(), &h.byteswap, hstart);
    } else if (key == "fortran_order") {
      if (have_fortran) lit.fail("duplicate key 'fortran_order'");
      have_fortran = true;
      h.fortran_order = lit.boolean();
    } else if (key == "shape") {
      if (have_shape) lit.fail("duplicate key 'shape'");
      have_shape = true;
      h.shape = lit.tuple();
    } else {
      lit.fail(msg("unexpected key '", key, "'"));
    }
    if (!lit.eat(',')) {
      lit.expect('}');
      break;
    }
  }
  if (!lit.at_end()) lit.fail("trailing characters after the header dict");
  if (!have_descr || !have_fortran || !have_shape)
    c.fail("header", hstart, "must contain 'descr', 'fortran_order' and 'shape'");

  h.nbytes = shape_nbytes(h.dtype, h.shape, msg("npy: shape ", shape_str(h.shape)));
  if (!detail::in_bounds(h.data_offset, h.nbytes, n))
    c.fail("data", h.data_offset,
           msg("shape ", shape_str(h.shape), " of ", dtype_name(h.dtype), " needs ", h.nbytes,
               " bytes but only ", n - h.data_offset, " remain (file truncated?)"));
  return h;
}

std::string npy_descr(Dtype d) {
  switch (d.val) {
    case Dtype::Val::bool_: return "|b1";
    case Dtype::Val::uint8: return "|u1";
    case Dtype::Val::int8: return "|i1";
    case Dtype::Val::bfloat16: return "<V2";
    default: break;
  }
  char k = is_unsigned(d) ? 'u' : is_integral(d) ? 'i' : is_complex(d) ? 'c' : 'f';
  return std::string("<") + k + std::to_string(int(d.size));
}

std::vector<uint8_t> npy_header(Dtype dtype, const std::vector<int64_t>& shape, bool fortran_order) {
  shape_numel(shape, "npy_header");  // rejects negative dims before writing anything
  std::string dict = "{'descr': '" + npy_descr(dtype) + "', 'fortran_order': " +
                     (fortran_order ? "True" : "False") + ", 'shape': " + shape_repr(shape) + ", }";
  // numpy leaves room for the growth axis to reach 21 digits (in-place append).
  if (!shape.empty()) {
    size_t digits = std::to_string(shape[fortran_order ? shape.size() - 1 : 0]).size();
    if (digits < 21) dict.append(21 - digits, ' ');
  }
  int version = 1;
  size_t hlen = dict.size() + 1;  // + '\n'
  size_t pad = 64 - ((6 + 2 + 2 + hlen) % 64);
  if (hlen + pad > 0xFFFF) {
    version = 2;
    pad = 64 - ((6 + 2 + 4 + hlen) % 64);
  }
  std::vector<uint8_t> out(kMagic, kMagic + 6);
  out.push_back(uint8_t(version));
  out.push_back(0);
  if (version == 1) detail::put16(out, uint16_t(hlen + pad));
  else detail::put32(out, uint32_t(hlen + pad));
  detail::put_bytes(out, dict.data(), dict.size());
  out.insert(out.end(), pad, ' ');
  out.push_back('\n');
  return out;
}

TensorRecord load_npy(const MappedFile& file, const std::string& name) {
  NpyHeader h = parse_npy(file.data(), file.size());
  TensorRecord r;
  r.name = name;
  r.dtype = h.dtype;
  r.shape = std::move(h.shape);
  r.offset = h.data_offset;
  r.nbytes = h.nbytes;
  r.fortran_order = h.fortran_order;
  r.byteswap = h.byteswap;
  return r;
}

void save_npy(const std::string& path, Dtype dtype, const std::vector<int64_t>& shape,
              const void* data, bool fortran_order) {
  std::vector<uint8_t> header = npy_header(dtype, shape, fortran_order);
  uint64_t nbytes = shape_nbytes(dtype, shape, "save_npy");
  write_file(path, {{header.data(), header.size()}, {data, size_t(nbytes)}});
}

}  // namespace oxmlx::io
