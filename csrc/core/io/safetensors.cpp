// .safetensors: u64 header length, a JSON header, then the tensor bytes.
// Validation follows the reference implementation (tensors must tile the data
// section exactly) and adds strict JSON and duplicate-key checks.
#include <algorithm>
#include <set>

#include "core/io/byteio.h"
#include "core/io/io.h"
#include "core/io/json.h"

namespace oxmlx::io {

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

struct Name {
  const char* s;
  Dtype d;
};
constexpr Name kNames[] = {{"BOOL", bool_},     {"U8", uint8},    {"I8", int8},       {"U16", uint16},
                           {"I16", int16},      {"U32", uint32},  {"I32", int32},     {"U64", uint64},
                           {"I64", int64},      {"F16", float16}, {"BF16", bfloat16}, {"F32", float32},
                           {"F64", float64},    {"C64", complex64}};

[[noreturn]] void bad(std::string_view what, uint64_t at) {
  throw ValueError(msg("safetensors: ", what, " (at offset ", at, ")"));
}

struct Span {
  uint64_t begin, end;
  size_t index;
};

}  // namespace

const char* safetensors_dtype_name(Dtype d) {
  for (auto& n : kNames)
    if (n.d == d) return n.s;
  throw ValueError(msg("safetensors: dtype ", dtype_name(d), " has no safetensors name"));
}

SafetensorsFile parse_safetensors(const uint8_t* p, size_t n) {
  if (n < 8) bad(msg("file of ", n, " bytes is too small for the 8-byte header length"), 0);
  uint64_t hlen = detail::ld64(p);
  if (hlen > kMaxHeader) bad(msg("header length ", hlen, " exceeds the 100 MB limit"), 0);
  if (hlen > n - 8) bad(msg("header length ", hlen, " runs past the end of a ", n, "-byte file"), 0);
  if (hlen == 0 || p[8] != '{') bad("header does not start with '{'", 8);

  SafetensorsFile out;
  out.data_offset = 8 + hlen;
  const uint64_t data_size = n - out.data_offset;
  json::Reader r(reinterpret_cast<const char*>(p + 8), size_t(hlen), 8, "safetensors header");
  std::set<std::string> names;
  std::vector<Span> spans;
  std::string key;
  for (r.begin_object(); r.next_member(&key);) {
    if (!names.insert(key).second) r.fail(msg("duplicate key \"", key, "\""));
    if (key == "__metadata__") {
      if (r.null()) continue;
      std::string mk;
      for (r.begin_object(); r.next_member(&mk);) {
        uint64_t at = r.offset();
        if (r.peek() != '"') r.fail_at(at, msg("__metadata__ value for \"", mk, "\" is not a string"));
        if (!out.metadata.emplace(mk, r.string()).second) r.fail_at(at, msg("duplicate __metadata__ key \"", mk, "\""));
      }
      continue;
    }
    // A tensor entry: {"dtype": s, "shape": [..], "data_offsets": [b, e]}.
    TensorRecord t;
    t.name = key;
    uint64_t entry_at = r.offset();
    bool have_dtype = false, have_shape = false, have_offsets = false;
    uint64_t begin = 0, end = 0;
    std::string field;
    for (r.begin_object(); r.next_member(&field);) {
      uint64_t at = r.offset();
      if (field == "dtype") {
        if (have_dtype) r.fail_at(at, "duplicate key \"dtype\"");
        have_dtype = true;
        std::string s = r.string();
        auto it = std::find_if(std::begin(kNames), std::end(kNames), [&](const Name& nm) { return s == nm.s; });
        if (it == std::end(kNames)) r.fail_at(at, msg("tensor '", key, "' has unsupported dtype \"", s, "\""));
        t.dtype = it->d;
      } else if (field == "shape") {
        if (have_shape) r.fail_at(at, "duplicate key \"shape\"");
        have_shape = true;
        for (r.begin_array(); r.next_element();) {
          uint64_t d_at = r.offset();
          uint64_t d = r.uint64();
          if (d > uint64_t(INT64_MAX)) r.fail_at(d_at, msg("dimension of tensor '", key, "' exceeds int64"));
          t.shape.push_back(int64_t(d));
        }
      } else if (field == "data_offsets") {
        if (have_offsets) r.fail_at(at, "duplicate key \"data_offsets\"");
        have_offsets = true;
        r.begin_array();
        if (!r.next_element()) r.fail_at(at, "data_offsets must have 2 entries");
        begin = r.uint64();
        if (!r.next_element()) r.fail_at(at, "data_offsets must have 2 entries");
        end = r.uint64();
        if (r.next_element()) r.fail_at(at, "data_offsets must have 2 entries");
      } else {
        r.skip();  // unknown fields are tolerated, as by the reference implementation
      }
    }
    if (!have_dtype || !have_shape || !have_offsets)
      r.fail_at(entry_at, msg("tensor '", key, "' needs dtype, shape and data_offsets"));
    if (end < begin) r.fail_at(entry_at, msg("tensor '", key, "' has data_offsets end ", end, " < begin ", begin));
    t.nbytes = shape_nbytes(t.dtype, t.shape, msg("safetensors: tensor '", key, "'"));
    if (end - begin != t.nbytes)
      r.fail_at(entry_at, msg("tensor '", key, "' of shape ", shape_str(t.shape), " and dtype ",
                              safetensors_dtype_name(t.dtype), " needs ", t.nbytes, " bytes but data_offsets [",
                              begin, ", ", end, ") hold ", end - begin));
    if (end > data_size)
      r.fail_at(entry_at, msg("tensor '", key, "' data_offsets end ", end, " is past the ", data_size,
                              "-byte data section"));
    t.offset = out.data_offset + begin;
    spans.push_back({begin, end, out.tensors.size()});
    out.tensors.push_back(std::move(t));
  }
  r.end();

  // The tensors must tile [0, data_size) exactly: no gaps, no overlaps.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expect = 0;
  for (const Span& s : spans) {
    const std::string& nm = out.tensors[s.index].name;
    if (s.begin > expect) bad(msg("gap in the data section before tensor '", nm, "' ([", expect, ", ", s.begin, ") unused)"), out.data_offset + expect);
    if (s.begin < expect) bad(msg("tensor '", nm, "' overlaps the previous tensor"), out.data_offset + s.begin);
    expect = s.end;
  }
  if (expect != data_size)
    bad(msg("tensors cover ", expect, " bytes but the data section has ", data_size), out.data_offset + expect);
  return out;
}

namespace {

// The header JSON padded with spaces so the data starts 8-byte aligned.
std::string make_header(const std::vector<ArraySpec>& arrays, const std::map<std::string, std::string>& metadata,
                        std::vector<uint64_t>* sizes) {
  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (auto& [k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      json::quote(h, k);
      h += ':';
      json::quote(h, v);
    }
    h += '}';
  }
  std::set<std::string_view> seen;
  uint64_t off = 0;
  for (auto& [name, dtype, shape, data] : arrays) {
    if (name == "__metadata__") throw ValueError("safetensors: '__metadata__' cannot name a tensor");
    if (!seen.insert(name).second) throw ValueError(msg("safetensors: duplicate tensor name '", name, "'"));
    uint64_t nb = shape_nbytes(dtype, shape, msg("safetensors: tensor '", name, "'"));
    if (nb && !data) throw ValueError(msg("safetensors: tensor '", name, "' has no data"));
    sizes->push_back(nb);
    if (h.size() > 1) h += ',';
    json::quote(h, name);
    h += ":{\"dtype\":\"";
    h += safetensors_dtype_name(dtype);
    h += "\",\"shape\":[";
    for (size_t i = 0; i < shape.size(); ++i) h += (i ? "," : "") + std::to_string(shape[i]);
    h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + nb) + "]}";
    off = checked_add(off, nb, "safetensors: total size");
  }
  h += '}';
  while ((8 + h.size()) % 8) h += ' ';
  if (h.size() > kMaxHeader) throw ValueError("safetensors: header would exceed the 100 MB limit");
  return h;
}

}  // namespace

std::vector<uint8_t> safetensors_bytes(const std::vector<ArraySpec>& arrays,
                                       const std::map<std::string, std::string>& metadata) {
  std::vector<uint64_t> sizes;
  std::string h = make_header(arrays, metadata, &sizes);
  std::vector<uint8_t> out;
  detail::put64(out, h.size());
  detail::put_bytes(out, h.data(), h.size());
  for (size_t i = 0; i < arrays.size(); ++i) detail::put_bytes(out, std::get<3>(arrays[i]), size_t(sizes[i]));
  return out;
}

void save_safetensors(const std::string& path, const std::vector<ArraySpec>& arrays,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<uint64_t> sizes;
  std::string h = make_header(arrays, metadata, &sizes);
  std::vector<uint8_t> len;
  detail::put64(len, h.size());
  std::vector<std::pair<const void*, size_t>> chunks = {{len.data(), 8}, {h.data(), h.size()}};
  for (size_t i = 0; i < arrays.size(); ++i) chunks.push_back({std::get<3>(arrays[i]), size_t(sizes[i])});
  write_file(path, chunks);
}

}  // namespace oxmlx::io
