// GGUF (v2/v3, little-endian): header, metadata key/values, tensor infos,
// aligned tensor data. Counts and lengths are 64-bit in the file, so each is
// checked against the bytes that remain before anything is allocated.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/io/byteio.h"
#include "core/io/io.h"

namespace oxmlx::io {

namespace {

constexpr int kMaxDepth = 8;  // nested metadata arrays
constexpr uint64_t kMaxNestedItems = 1 << 20;
constexpr uint32_t kMaxDims = 8;

struct TypeInfo {
  uint32_t id;
  const char* name;
  uint32_t block;  // elements per block
  uint32_t bytes;  // bytes per block
};
// ggml's block layouts (as gguf-py's GGML_QUANT_SIZES lists them); removed
// ids (4, 5, 31-33, 36-38) are absent.
constexpr TypeInfo kTypes[] = {
    {0, "F32", 1, 4},          {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},       {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 40},
    {10, "Q2_K", 256, 84},     {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},    {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98},  {19, "IQ1_S", 256, 50},   {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},    {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},         {27, "I64", 1, 8},        {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},        {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},     {41, "Q1_0", 128, 18},
};

const TypeInfo* type_info(uint32_t id) {
  for (auto& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

bool plain_dtype(uint32_t t, Dtype* d) {
  switch (t) {
    case ggml::F32: *d = float32; return true;
    case ggml::F16: *d = float16; return true;
    case ggml::BF16: *d = bfloat16; return true;
    case ggml::F64: *d = float64; return true;
    case ggml::I8: *d = int8; return true;
    case ggml::I16: *d = int16; return true;
    case ggml::I32: *d = int32; return true;
    case ggml::I64: *d = int64; return true;
    default: return false;
  }
}

uint32_t ggml_of(Dtype d) {
  switch (d.val) {
    case Dtype::Val::float32: return ggml::F32;
    case Dtype::Val::float16: return ggml::F16;
    case Dtype::Val::bfloat16: return ggml::BF16;
    case Dtype::Val::float64: return ggml::F64;
    case Dtype::Val::int8: return ggml::I8;
    case Dtype::Val::int16: return ggml::I16;
    case Dtype::Val::int32: return ggml::I32;
    case Dtype::Val::int64: return ggml::I64;
    default: throw ValueError(msg("gguf: dtype ", dtype_name(d), " cannot be stored in GGUF"));
  }
}

bool valid_type(uint32_t t) { return t <= uint32_t(GgufType::FLOAT64); }

// Bytes the smallest encoding of one value of type t occupies (for counts).
uint64_t min_size(GgufType t) {
  if (t == GgufType::STRING) return 8;
  if (t == GgufType::ARRAY) return 12;
  return gguf_scalar_size(t);
}

class Parser {
 public:
  Parser(const uint8_t* p, size_t n) : c_(p, n, "gguf") {}
  detail::Cursor& cur() { return c_; }

  std::string str(std::string_view field) {
    size_t at = c_.pos();
    uint64_t len = c_.u64(field);
    if (len > c_.remaining())
      c_.fail(field, at, msg("string length ", len, " runs past the end (", c_.remaining(), " bytes left)"));
    const uint8_t* b = c_.bytes(len, field);
    return std::string(reinterpret_cast<const char*>(b), size_t(len));
  }

  GgufValue value(GgufType t, int depth, const std::string& key) {
    GgufValue v;
    v.type = t;
    size_t at = c_.pos();
    if (t == GgufType::STRING) {
      v.str = str(key);
    } else if (t == GgufType::ARRAY) {
      if (depth >= kMaxDepth) c_.fail(key, at, "metadata arrays nested too deeply");
      uint32_t et = c_.u32(key);
      if (!valid_type(et)) c_.fail(key, at, msg("unknown array element type ", et));
      v.elem_type = GgufType(et);
      v.count = c_.u64(key);
      // Cheap bound before any allocation: each element needs min_size bytes.
      if (v.count > c_.remaining() / min_size(v.elem_type))
        c_.fail(key, at, msg("array count ", v.count, " cannot fit in the ", c_.remaining(), " bytes left"));
      if (v.elem_type == GgufType::STRING) {
        v.strings.reserve(size_t(v.count));
        for (uint64_t i = 0; i < v.count; ++i) v.strings.push_back(str(key));
      } else if (v.elem_type == GgufType::ARRAY) {
        // Each nested item costs ~100x its 12 encoded bytes in memory; real
        // files do not nest (MLX cannot load them at all), so cap the total.
        nested_ += v.count;
        if (nested_ > kMaxNestedItems) c_.fail(key, at, "more than 2^20 nested metadata arrays in the file");
        v.items.reserve(size_t(v.count));
        for (uint64_t i = 0; i < v.count; ++i) v.items.push_back(value(GgufType::ARRAY, depth + 1, key));
      } else {
        size_t nb = size_t(v.count * gguf_scalar_size(v.elem_type));
        const uint8_t* b = c_.bytes(nb, key);
        if (v.elem_type == GgufType::BOOL)
          for (size_t i = 0; i < nb; ++i)
            if (b[i] > 1) c_.fail(key, at + 12 + i, msg("bool array element is ", int(b[i]), ", not 0 or 1"));
        v.raw.assign(b, b + nb);
      }
    } else {
      size_t sz = gguf_scalar_size(t);
      const uint8_t* b = c_.bytes(sz, key);
      for (size_t i = 0; i < sz; ++i) v.bits |= uint64_t(b[i]) << (8 * i);
      if (t == GgufType::BOOL && v.bits > 1) c_.fail(key, at, msg("bool value is ", v.bits, ", not 0 or 1"));
    }
    return v;
  }

 private:
  detail::Cursor c_;
  uint64_t nested_ = 0;
};

}  // namespace

size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    default: return 0;
  }
}

const char* ggml_type_name(uint32_t type) {
  const TypeInfo* t = type_info(type);
  return t ? t->name : nullptr;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

GgufFile parse_gguf(const uint8_t* p, size_t n) {
  Parser ps(p, n);
  detail::Cursor& c = ps.cur();
  const uint8_t* magic = c.bytes(4, "magic");
  if (std::memcmp(magic, "GGUF", 4) != 0) c.fail("magic", 0, "not a GGUF file (bad magic)");
  GgufFile f;
  f.version = c.u32("version");
  if (f.version == 1) c.fail("version", 4, "GGUF v1 (32-bit counts) is not supported");
  if (f.version == 0x02000000u || f.version == 0x03000000u)
    c.fail("version", 4, "big-endian GGUF files are not supported");
  if (f.version != 2 && f.version != 3) c.fail("version", 4, msg("unsupported GGUF version ", f.version));
  uint64_t n_tensors = c.u64("tensor count"), n_kv = c.u64("metadata count");
  // A key/value takes at least 13 bytes, a tensor info at least 24.
  if (n_kv > c.remaining() / 13) c.fail("metadata count", 16, msg(n_kv, " key/values cannot fit in ", c.remaining(), " bytes"));
  if (n_tensors > (c.remaining() - n_kv * 13) / 24)
    c.fail("tensor count", 8, msg(n_tensors, " tensor infos cannot fit in the file"));

  std::set<std::string> keys;
  f.metadata.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    size_t at = c.pos();
    std::string key = ps.str("metadata key");
    if (!keys.insert(key).second) c.fail("metadata key", at, msg("duplicate key '", key, "'"));
    uint32_t t = c.u32(key);
    if (!valid_type(t)) c.fail(key, c.pos() - 4, msg("unknown value type ", t));
    f.metadata.emplace_back(key, ps.value(GgufType(t), 0, key));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufType::UINT32) c.fail("general.alignment", 0, "must be a UINT32");
    if (a->bits == 0 || (a->bits & (a->bits - 1))) c.fail("general.alignment", 0, msg(a->bits, " is not a power of two"));
    f.alignment = a->bits;
  }

  std::set<std::string> names;
  f.tensors.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    size_t at = c.pos();
    GgufTensor t;
    t.record.name = ps.str("tensor name");
    const std::string& name = t.record.name;
    if (!names.insert(name).second) c.fail("tensor name", at, msg("duplicate tensor '", name, "'"));
    uint32_t nd = c.u32(name);
    if (nd > kMaxDims) c.fail(name, c.pos() - 4, msg(nd, " dimensions (max ", kMaxDims, ")"));
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t dim = c.u64(name);
      if (dim > uint64_t(std::numeric_limits<int64_t>::max())) c.fail(name, c.pos() - 8, msg("dimension ", dim, " exceeds int64"));
      t.ggml_dims.push_back(dim);
    }
    t.ggml_type = c.u32(name);
    const TypeInfo* ti = type_info(t.ggml_type);
    if (!ti) c.fail(name, c.pos() - 4, msg("unknown ggml tensor type ", t.ggml_type));
    t.record.offset = c.u64(name);  // relative for now
    for (size_t d = nd; d-- > 0;) t.record.shape.push_back(int64_t(t.ggml_dims[d]));
    uint64_t numel = shape_numel(t.record.shape, msg("gguf: tensor '", name, "'"));
    uint64_t ne0 = nd ? t.ggml_dims[0] : 1;
    if (ne0 % ti->block)
      c.fail(name, at, msg("innermost dimension ", ne0, " is not a multiple of the ", ti->name, " block size ", ti->block));
    t.record.nbytes = checked_mul(numel / ti->block, ti->bytes, msg("gguf: tensor '", name, "'"));
    t.plain = plain_dtype(t.ggml_type, &t.record.dtype);
    if (!t.plain) t.record.dtype = uint8;  // raw blocks
    t.quantized = t.ggml_type == ggml::Q4_0 || t.ggml_type == ggml::Q4_1 || t.ggml_type == ggml::Q8_0;
    f.tensors.push_back(std::move(t));
  }

  f.data_offset = checked_add(c.pos(), (f.alignment - c.pos() % f.alignment) % f.alignment, "gguf: data offset");
  std::vector<const TensorRecord*> order;
  for (GgufTensor& t : f.tensors) {
    TensorRecord& r = t.record;
    if (r.offset % f.alignment)
      throw ValueError(msg("gguf: tensor '", r.name, "' offset ", r.offset, " is not a multiple of the alignment ", f.alignment));
    uint64_t abs = checked_add(f.data_offset, r.offset, msg("gguf: tensor '", r.name, "' offset"));
    if (r.nbytes == 0) {
      r.offset = std::min<uint64_t>(abs, n);
      continue;
    }
    if (!detail::in_bounds(abs, r.nbytes, n))
      throw ValueError(msg("gguf: tensor '", r.name, "' data [", abs, ", +", r.nbytes, ") is past the end of the ",
                           n, "-byte file"));
    r.offset = abs;
    order.push_back(&r);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
      throw ValueError(msg("gguf: tensors '", order[i - 1]->name, "' and '", order[i]->name, "' overlap at offset ",
                           order[i]->offset));
  return f;
}

// ---------------------------------------------------------------------------
// Quantized -> MLX affine
// ---------------------------------------------------------------------------

namespace {
uint16_t half_mul(float a, uint16_t h) { return float_to_half_bits(a * half_bits_to_float(h)); }
uint16_t half_neg(uint16_t h) { return uint16_t(h ^ 0x8000); }

// 32 4-bit weights: weight j (< 16) is the low nibble of qs[j], weight 16 + j
// the high nibble. MLX packs weight t into nibble t (low nibble first).
void pack4(const uint8_t* qs, uint32_t* w) {
  uint8_t b[16];
  for (int j = 0; j < 8; ++j) {
    b[j] = uint8_t((qs[2 * j] & 0xF) | ((qs[2 * j + 1] & 0xF) << 4));
    b[8 + j] = uint8_t((qs[2 * j] >> 4) | (qs[2 * j + 1] & 0xF0));
  }
  for (int k = 0; k < 4; ++k) w[k] = detail::ld32(b + 4 * k);
}
}  // namespace

void gguf_blocks_to_affine(uint32_t type, const uint8_t* blk, uint64_t n_groups, uint32_t* w, uint16_t* scales,
                           uint16_t* biases) {
  switch (type) {
    case ggml::Q4_0:  // |d f16|qs[16]|: w = d * (q - 8)
      for (uint64_t g = 0; g < n_groups; ++g, blk += 18, w += 4) {
        scales[g] = detail::ld16(blk);
        biases[g] = half_mul(-8.0f, scales[g]);
        pack4(blk + 2, w);
      }
      return;
    case ggml::Q4_1:  // |d f16|m f16|qs[16]|: w = d * q + m
      for (uint64_t g = 0; g < n_groups; ++g, blk += 20, w += 4) {
        scales[g] = detail::ld16(blk);
        biases[g] = detail::ld16(blk + 2);
        pack4(blk + 4, w);
      }
      return;
    case ggml::Q8_0:  // |d f16|qs int8[32]|: w = d * q = d * (q + 128) - 128 d
      for (uint64_t g = 0; g < n_groups; ++g, blk += 34, w += 8) {
        scales[g] = detail::ld16(blk);
        biases[g] = half_mul(-128.0f, scales[g]);
        uint8_t b[32];
        for (int j = 0; j < 32; ++j) b[j] = uint8_t(blk[2 + j] ^ 0x80);
        for (int k = 0; k < 8; ++k) w[k] = detail::ld32(b + 4 * k);
      }
      return;
    case ggml::Q4_K: {  // 256-weight superblocks of 8 groups with 6-bit scales/mins
      if (n_groups % 8) throw ValueError("gguf: Q4_K needs a multiple of 8 groups");
      for (uint64_t s = 0; s < n_groups / 8; ++s, blk += 144) {
        uint16_t d = detail::ld16(blk), dmin = detail::ld16(blk + 2);
        const uint8_t* sc = blk + 4;
        for (int j = 0; j < 8; ++j) {
          uint8_t ds, ms;
          if (j < 4) {
            ds = sc[j] & 63;
            ms = sc[j + 4] & 63;
          } else {
            ds = uint8_t((sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4));
            ms = uint8_t((sc[j + 4] >> 4) | ((sc[j] >> 6) << 4));
          }
          scales[s * 8 + j] = half_mul(float(ds), d);
          biases[s * 8 + j] = half_neg(half_mul(float(ms), dmin));
        }
        // Each 32 bytes of qs hold two groups: low nibbles, then high nibbles.
        const uint8_t* qs = blk + 16;
        for (int k = 0; k < 4; ++k, qs += 32) {
          for (int h = 0; h < 2; ++h, w += 4) {
            uint8_t b[16];
            for (int j = 0; j < 16; ++j) {
              uint8_t lo = h ? qs[2 * j] >> 4 : qs[2 * j] & 0xF;
              uint8_t hi = h ? qs[2 * j + 1] >> 4 : qs[2 * j + 1] & 0xF;
              b[j] = uint8_t(lo | (hi << 4));
            }
            for (int q = 0; q < 4; ++q) w[q] = detail::ld32(b + 4 * q);
          }
        }
      }
      return;
    }
    default:
      throw ValueError(msg("gguf: ggml type ", type, " (", ggml_type_name(type) ? ggml_type_name(type) : "?",
                           ") has no affine conversion"));
  }
}

AffineQuantized gguf_to_affine(const GgufTensor& t, const uint8_t* file, size_t file_size) {
  const TensorRecord& r = t.record;
  if (!t.quantized && t.ggml_type != ggml::Q4_K)
    throw ValueError(msg("gguf: tensor '", r.name, "' of type ", ggml_type_name(t.ggml_type) ? ggml_type_name(t.ggml_type) : "?",
                         " is not Q4_0/Q4_1/Q8_0/Q4_K"));
  if (r.shape.empty()) throw ValueError(msg("gguf: quantized tensor '", r.name, "' has no dimensions"));
  const TypeInfo* ti = type_info(t.ggml_type);
  uint64_t numel = shape_numel(r.shape, "gguf_to_affine");
  if (r.shape.back() % ti->block || numel / ti->block * ti->bytes != r.nbytes || !detail::in_bounds(r.offset, r.nbytes, file_size))
    throw ValueError(msg("gguf: quantized tensor '", r.name, "' record is inconsistent with its data"));
  AffineQuantized q;
  q.bits = t.ggml_type == ggml::Q8_0 ? 8 : 4;
  q.weight_shape = q.scales_shape = r.shape;
  q.weight_shape.back() = r.shape.back() / 32 * q.bits;  // K % 32 == 0: no overflow
  q.scales_shape.back() = r.shape.back() / 32;
  uint64_t groups = numel / 32;
  q.weights.resize(size_t(groups * uint64_t(q.bits)));
  q.scales.resize(size_t(groups));
  q.biases.resize(size_t(groups));
  gguf_blocks_to_affine(t.ggml_type, file + r.offset, groups, q.weights.data(), q.scales.data(), q.biases.data());
  return q;
}

std::string gguf_quant_prefix(const std::string& name) {
  // MLX takes name.substr(0, size - 7); for short names that underflows to npos.
  return name.size() >= 7 ? name.substr(0, name.size() - 7) : name;
}

// ---------------------------------------------------------------------------
// GgufValue helpers and the writer
// ---------------------------------------------------------------------------

namespace {
bool is_signed(GgufType t) {
  return t == GgufType::INT8 || t == GgufType::INT16 || t == GgufType::INT32 || t == GgufType::INT64;
}
GgufValue scalar(GgufType t, uint64_t bits) {
  GgufValue v;
  v.type = t;
  v.bits = bits;
  return v;
}
int64_t sign_extend(uint64_t bits, size_t size) {
  if (size == 8) return int64_t(bits);
  uint64_t m = uint64_t(1) << (8 * size - 1);
  return int64_t((bits ^ m) - m);
}
}  // namespace

bool GgufValue::is_integer() const {
  return type != GgufType::FLOAT32 && type != GgufType::FLOAT64 && type != GgufType::STRING &&
         type != GgufType::ARRAY && type != GgufType::BOOL;
}
int64_t GgufValue::as_int() const {
  if (is_signed(type)) return sign_extend(bits, gguf_scalar_size(type));
  if (is_integer() || type == GgufType::BOOL) {
    if (bits > uint64_t(std::numeric_limits<int64_t>::max())) throw ValueError("gguf: value does not fit in int64");
    return int64_t(bits);
  }
  throw ValueError("gguf: value is not an integer");
}
uint64_t GgufValue::as_uint() const {
  if (is_signed(type)) {
    int64_t v = as_int();
    if (v < 0) throw ValueError("gguf: negative value where unsigned expected");
    return uint64_t(v);
  }
  if (is_integer() || type == GgufType::BOOL) return bits;
  throw ValueError("gguf: value is not an integer");
}
double GgufValue::as_double() const {
  if (type == GgufType::FLOAT32) return float_of(uint32_t(bits));
  if (type == GgufType::FLOAT64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (is_signed(type)) return double(as_int());
  if (is_integer() || type == GgufType::BOOL) return double(bits);
  throw ValueError("gguf: value is not numeric");
}

GgufValue GgufValue::u8(uint8_t v) { return scalar(GgufType::UINT8, v); }
GgufValue GgufValue::i8(int8_t v) { return scalar(GgufType::INT8, uint8_t(v)); }
GgufValue GgufValue::u16(uint16_t v) { return scalar(GgufType::UINT16, v); }
GgufValue GgufValue::i16(int16_t v) { return scalar(GgufType::INT16, uint16_t(v)); }
GgufValue GgufValue::u32(uint32_t v) { return scalar(GgufType::UINT32, v); }
GgufValue GgufValue::i32(int32_t v) { return scalar(GgufType::INT32, uint32_t(v)); }
GgufValue GgufValue::u64(uint64_t v) { return scalar(GgufType::UINT64, v); }
GgufValue GgufValue::i64(int64_t v) { return scalar(GgufType::INT64, uint64_t(v)); }
GgufValue GgufValue::f32(float v) { return scalar(GgufType::FLOAT32, bits_of(v)); }
GgufValue GgufValue::f64(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return scalar(GgufType::FLOAT64, b);
}
GgufValue GgufValue::boolean(bool v) { return scalar(GgufType::BOOL, v ? 1 : 0); }
GgufValue GgufValue::string(std::string s) {
  GgufValue v;
  v.type = GgufType::STRING;
  v.str = std::move(s);
  return v;
}
GgufValue GgufValue::string_array(std::vector<std::string> s) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = GgufType::STRING;
  v.count = s.size();
  v.strings = std::move(s);
  return v;
}
GgufValue GgufValue::array(GgufType elem, uint64_t count, std::vector<uint8_t> raw) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = elem;
  v.count = count;
  v.raw = std::move(raw);
  return v;
}
GgufValue GgufValue::nested(GgufType elem, std::vector<GgufValue> items) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = elem;
  v.count = items.size();
  v.items = std::move(items);
  return v;
}

namespace {

void put_str(std::vector<uint8_t>& o, const std::string& s) {
  detail::put64(o, s.size());
  detail::put_bytes(o, s.data(), s.size());
}

void put_value(std::vector<uint8_t>& o, const GgufValue& v, const std::string& key, int depth) {
  auto bad = [&](std::string_view why) { throw ValueError(msg("gguf: metadata '", key, "': ", why)); };
  if (!valid_type(uint32_t(v.type))) bad("unknown value type");
  if (v.type == GgufType::STRING) return put_str(o, v.str);
  if (v.type != GgufType::ARRAY) {
    if (v.type == GgufType::BOOL && v.bits > 1) bad("bool must be 0 or 1");
    for (size_t i = 0; i < gguf_scalar_size(v.type); ++i) o.push_back(uint8_t(v.bits >> (8 * i)));
    return;
  }
  if (depth >= kMaxDepth) bad("arrays nested too deeply");
  if (!valid_type(uint32_t(v.elem_type))) bad("unknown array element type");
  detail::put32(o, uint32_t(v.elem_type));
  detail::put64(o, v.count);
  if (v.elem_type == GgufType::STRING) {
    if (v.strings.size() != v.count) bad("count differs from the number of strings");
    for (auto& s : v.strings) put_str(o, s);
  } else if (v.elem_type == GgufType::ARRAY) {
    if (v.items.size() != v.count) bad("count differs from the number of items");
    for (auto& it : v.items) {
      if (it.type != GgufType::ARRAY) bad("nested array item is not an array");
      put_value(o, it, key, depth + 1);
    }
  } else {
    if (v.raw.size() != v.count * gguf_scalar_size(v.elem_type)) bad("raw size differs from count * element size");
    if (v.elem_type == GgufType::BOOL)
      for (uint8_t b : v.raw)
        if (b > 1) bad("bool elements must be 0 or 1");
    detail::put_bytes(o, v.raw.data(), v.raw.size());
  }
}

// Everything before the tensor data, plus each tensor's relative offset.
std::vector<uint8_t> gguf_head(const std::vector<ArraySpec>& arrays,
                               const std::vector<std::pair<std::string, GgufValue>>& metadata,
                               std::vector<uint64_t>* offsets, std::vector<uint64_t>* sizes, uint64_t* align) {
  *align = 32;
  std::set<std::string_view> keys;
  for (auto& [k, v] : metadata) {
    if (!keys.insert(k).second) throw ValueError(msg("gguf: duplicate metadata key '", k, "'"));
    if (k == "general.alignment") {
      if (v.type != GgufType::UINT32 || v.bits == 0 || (v.bits & (v.bits - 1)))
        throw ValueError("gguf: general.alignment must be a UINT32 power of two");
      *align = v.bits;
    }
  }
  std::vector<uint8_t> o = {'G', 'G', 'U', 'F'};
  detail::put32(o, 3);
  detail::put64(o, arrays.size());
  detail::put64(o, metadata.size());
  for (auto& [k, v] : metadata) {
    put_str(o, k);
    detail::put32(o, uint32_t(v.type));
    put_value(o, v, k, 0);
  }
  std::set<std::string_view> names;
  uint64_t off = 0;
  for (auto& [name, dtype, shape, data] : arrays) {
    if (!names.insert(name).second) throw ValueError(msg("gguf: duplicate tensor name '", name, "'"));
    if (shape.size() > kMaxDims) throw ValueError(msg("gguf: tensor '", name, "' has more than 8 dimensions"));
    uint32_t gt = ggml_of(dtype);
    uint64_t nb = shape_nbytes(dtype, shape, msg("gguf: tensor '", name, "'"));
    if (nb && !data) throw ValueError(msg("gguf: tensor '", name, "' has no data"));
    off = checked_add(off, (*align - off % *align) % *align, "gguf: offset");
    put_str(o, name);
    detail::put32(o, uint32_t(shape.size()));
    for (size_t d = shape.size(); d-- > 0;) detail::put64(o, uint64_t(shape[d]));  // innermost first
    detail::put32(o, gt);
    detail::put64(o, off);
    offsets->push_back(off);
    sizes->push_back(nb);
    off = checked_add(off, nb, "gguf: offset");
  }
  o.resize(o.size() + (*align - o.size() % *align) % *align, 0);
  return o;
}

}  // namespace

std::vector<uint8_t> gguf_bytes(const std::vector<ArraySpec>& arrays,
                                const std::vector<std::pair<std::string, GgufValue>>& metadata) {
  std::vector<uint64_t> offs, sizes;
  uint64_t align;
  std::vector<uint8_t> o = gguf_head(arrays, metadata, &offs, &sizes, &align);
  size_t base = o.size();
  for (size_t i = 0; i < arrays.size(); ++i) {
    o.resize(base + size_t(offs[i]), 0);
    detail::put_bytes(o, std::get<3>(arrays[i]), size_t(sizes[i]));
  }
  return o;
}

void save_gguf(const std::string& path, const std::vector<ArraySpec>& arrays,
               const std::vector<std::pair<std::string, GgufValue>>& metadata) {
  std::vector<uint64_t> offs, sizes;
  uint64_t align;
  std::vector<uint8_t> head = gguf_head(arrays, metadata, &offs, &sizes, &align);
  static const uint8_t zeros[256] = {0};
  std::vector<std::pair<const void*, size_t>> chunks = {{head.data(), head.size()}};
  uint64_t pos = 0;
  for (size_t i = 0; i < arrays.size(); ++i) {
    for (uint64_t gap = offs[i] - pos; gap;) {  // alignment padding (< align)
      size_t k = size_t(std::min<uint64_t>(gap, sizeof(zeros)));
      chunks.push_back({zeros, k});
      gap -= k;
    }
    chunks.push_back({std::get<3>(arrays[i]), size_t(sizes[i])});
    pos = offs[i] + sizes[i];
  }
  write_file(path, chunks);
}

}  // namespace oxmlx::io
