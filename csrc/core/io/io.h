// File formats of oxmlx: .npy, .npz (zip, stored or deflate), .safetensors and
// .gguf. Pure C++20 + POSIX; the zip layer carries its own inflate/deflate.
//
// Every parser takes untrusted bytes. Each structural field is checked against
// the buffer before it is read, sizes are computed with checked arithmetic, and
// every failure throws oxmlx::ValueError naming the format, the field and the
// byte offset. Parsers never read outside [p, p + n) and every loop is bounded
// by the input size, so a malformed file cannot crash or hang the process.
//
// Readers return TensorRecords: where a tensor's bytes live inside a byte
// source (a MappedFile), so callers can alias mmap'd files zero-copy.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/dtype.h"

namespace oxmlx::io {

// Where one tensor's elements live in a byte source.
struct TensorRecord {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;  // MLX order (outermost first) for every format
  uint64_t offset = 0;         // of the first element, from the start of the source
  uint64_t nbytes = 0;         // == numel(shape) * dtype.size, always validated
  bool fortran_order = false;  // npy only: elements are stored column-major
  bool byteswap = false;       // npy only: elements are big-endian ('>' descr)
};

// (name, dtype, shape, pointer to numel(shape) * dtype.size row-major bytes):
// the input of every writer.
using ArraySpec = std::tuple<std::string, Dtype, std::vector<int64_t>, const void*>;

// ---------------------------------------------------------------------------
// Byte sources
// ---------------------------------------------------------------------------

// A read-only byte source: an mmap'd file (falling back to reading it into
// memory when mmap is unavailable), an owned in-memory buffer, or a slice of
// another source. Always held by shared_ptr so tensors can alias it; a slice
// keeps its parent alive. Note: like any mmap, a file truncated by another
// process while mapped can fault on access; open() maps a snapshot size.
class MappedFile : public std::enable_shared_from_this<MappedFile> {
 public:
  // Throws ValueError when the path cannot be opened or read.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  static std::shared_ptr<MappedFile> from_bytes(std::vector<uint8_t> bytes);
  // A view of [offset, offset + length) of this source (bounds checked).
  std::shared_ptr<MappedFile> slice(uint64_t offset, uint64_t length) const;

  const uint8_t* data() const { return data_; }  // never null, even when empty
  size_t size() const { return size_; }
  bool is_mmapped() const { return map_base_ != nullptr; }
  const std::string& path() const { return path_; }

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

 private:
  MappedFile() = default;  // construction goes through the factories above
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_base_ = nullptr;  // munmap'd in the destructor
  size_t map_len_ = 0;
  std::vector<uint8_t> owned_;
  std::shared_ptr<const MappedFile> parent_;
  std::string path_;
};

// Writes bytes to `path` (truncating); throws RuntimeError on I/O failure.
void write_file(const std::string& path, const std::vector<std::pair<const void*, size_t>>& chunks);

// ---------------------------------------------------------------------------
// Checked arithmetic (throw ValueError naming `what` on overflow)
// ---------------------------------------------------------------------------
uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what);
uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what);
// Product of the dims; rejects negative dims and products past INT64_MAX.
uint64_t shape_numel(const std::vector<int64_t>& shape, std::string_view what);
uint64_t shape_nbytes(Dtype dtype, const std::vector<int64_t>& shape, std::string_view what);

// Reverses the byte order of every element in place (complex64: each half).
void byteswap_inplace(void* data, uint64_t nbytes, Dtype dtype);

// ---------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------
struct NpyHeader {
  Dtype dtype;
  std::vector<int64_t> shape;
  bool fortran_order = false;
  uint64_t data_offset = 0;  // from the start of the npy bytes
  uint64_t nbytes = 0;
  // Big-endian ('>') descrs are accepted: the data is left as stored and this
  // flag is set; byteswap_inplace() converts a copy to native order.
  bool byteswap = false;
  int version_major = 1;
};

// Parses and validates a whole .npy image: magic, version 1/2/3, header length
// (<= 1 MiB, inside the buffer), the header dict ('descr', 'fortran_order',
// 'shape' exactly once each), the dtype and that the data fits in n. Accepted
// descrs: b1 u1 u2 u4 u8 i1 i2 i4 i8 f2 f4 f8 c8 and V2 (bfloat16, as MLX
// writes it) with byte order '<', '>', '|' or '='. Bytes after the data are
// ignored (as numpy does).
NpyHeader parse_npy(const uint8_t* p, size_t n);
// numpy's descr string for a dtype: "<f4", "|b1", "<V2" (bfloat16) ...
std::string npy_descr(Dtype dtype);
// A version 1.0 header (magic through '\n') exactly as numpy writes it,
// padded to a multiple of 64 bytes; switches to version 2.0 if it would not
// fit a 16-bit length.
std::vector<uint8_t> npy_header(Dtype dtype, const std::vector<int64_t>& shape,
                                bool fortran_order = false);
TensorRecord load_npy(const MappedFile& file, const std::string& name = "");
// `data` holds the elements in C order, or in Fortran order if fortran_order.
void save_npy(const std::string& path, Dtype dtype, const std::vector<int64_t>& shape,
              const void* data, bool fortran_order = false);

// ---------------------------------------------------------------------------
// zip / DEFLATE
// ---------------------------------------------------------------------------
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

// Raw DEFLATE (RFC 1951). inflate_raw must produce exactly expected_size bytes
// and consume exactly n bytes (the last byte may be partially used); anything
// else, or any invalid stream (block type 3, stored LEN/NLEN mismatch,
// over-subscribed or incomplete codes, missing end-of-block code, distances
// before the start, codes 286/287/30/31), throws ValueError.
std::vector<uint8_t> inflate_raw(const uint8_t* src, size_t n, uint64_t expected_size);
// level 0: stored blocks only; 1..9: LZ77 effort (6 ~ zlib's default).
std::vector<uint8_t> deflate_raw(const uint8_t* src, size_t n, int level = 6);
// Same, over several input pieces treated as one stream.
std::vector<uint8_t> deflate_raw(const std::vector<std::pair<const void*, size_t>>& chunks,
                                 int level = 6);

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // of the (compressed) bytes, from the local header
};

// Lazy zip reader. The constructor locates the end of central directory
// (zip64 aware), validates every central directory record and local header
// (signatures, names, sizes, offsets, no entry overlapping another or the
// central directory, method 0/8 only, no encryption, no multi-disk, no
// duplicate names) without decompressing anything.
class ZipReader {
 public:
  explicit ZipReader(std::shared_ptr<MappedFile> file);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;
  // The entry's bytes, CRC-32 checked. Stored entries alias the archive
  // (zero copy); deflated entries are inflated into a new buffer.
  std::shared_ptr<MappedFile> read(const ZipEntry& entry) const;

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<ZipEntry> entries_;
};

// Zip writer: to a file or to memory. Adds zip64 records only where a size,
// offset or count needs them. Timestamps are fixed (1980-01-01) so output is
// reproducible.
class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path);
  ZipWriter();  // in memory; take() returns the archive
  ~ZipWriter();
  void add(const std::string& name, const std::vector<std::pair<const void*, size_t>>& chunks,
           bool compress, int level = 6);
  void finish();
  std::vector<uint8_t> take();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One array of an npz: record.offset is relative to `source`.
struct NpzArray {
  TensorRecord record;
  std::shared_ptr<MappedFile> source;
};
// Loads every "<name>.npy" member (members without the suffix keep their
// name); other member types are rejected.
std::vector<NpzArray> load_npz(std::shared_ptr<MappedFile> file);
void write_npz(const std::string& path, const std::vector<ArraySpec>& arrays, bool compress);
std::vector<uint8_t> npz_bytes(const std::vector<ArraySpec>& arrays, bool compress);

// ---------------------------------------------------------------------------
// .safetensors
// ---------------------------------------------------------------------------
struct SafetensorsFile {
  std::vector<TensorRecord> tensors;  // header order; offsets from start of file
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // 8 + header length
};
// Validates: 8-byte header length (<= 100 MB and inside the buffer), strict
// UTF-8 JSON object starting with '{' (trailing whitespace allowed), no
// duplicate keys, each tensor {dtype, shape, data_offsets} (extra keys are
// ignored, as the reference implementation does), known dtype, non-negative
// integer dims, nbytes == numel * itemsize, and the data_offsets, sorted,
// tiling [0, n - data_offset) exactly with no gap or overlap.
// __metadata__ must be an object of strings (or null).
SafetensorsFile parse_safetensors(const uint8_t* p, size_t n);
// BOOL U8 I8 U16 I16 U32 I32 U64 I64 F16 BF16 F32 F64 C64
const char* safetensors_dtype_name(Dtype dtype);
std::vector<uint8_t> safetensors_bytes(const std::vector<ArraySpec>& arrays,
                                       const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const std::vector<ArraySpec>& arrays,
                      const std::map<std::string, std::string>& metadata = {});

// ---------------------------------------------------------------------------
// .gguf (v2, v3; little-endian)
// ---------------------------------------------------------------------------
enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

// One metadata value. Numeric and bool arrays keep their elements packed
// little-endian in `raw` (count * size bytes, ready to become an array);
// string arrays use `strings`, nested arrays `items`.
struct GgufValue {
  GgufType type = GgufType::UINT8;
  uint64_t bits = 0;  // scalars: the raw little-endian bits, zero-extended
  std::string str;
  GgufType elem_type = GgufType::UINT8;  // arrays
  uint64_t count = 0;
  std::vector<uint8_t> raw;
  std::vector<std::string> strings;
  std::vector<GgufValue> items;

  bool is_integer() const;
  int64_t as_int() const;  // integers and bool; throws ValueError if it does not fit
  uint64_t as_uint() const;
  double as_double() const;  // any numeric scalar

  static GgufValue u8(uint8_t v), i8(int8_t v), u16(uint16_t v), i16(int16_t v);
  static GgufValue u32(uint32_t v), i32(int32_t v), u64(uint64_t v), i64(int64_t v);
  static GgufValue f32(float v), f64(double v), boolean(bool v);
  static GgufValue string(std::string s);
  static GgufValue string_array(std::vector<std::string> s);
  // Numeric array of `count` elements of elem packed little-endian in raw.
  static GgufValue array(GgufType elem, uint64_t count, std::vector<uint8_t> raw);
  static GgufValue nested(GgufType elem, std::vector<GgufValue> items);
};
size_t gguf_scalar_size(GgufType t);  // 0 for STRING / ARRAY

// ggml tensor types (the ids GGUF stores).
namespace ggml {
enum : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};
}
const char* ggml_type_name(uint32_t type);  // nullptr if unknown

struct GgufTensor {
  // name, shape (MLX order: the GGUF dims reversed), absolute offset and
  // nbytes. dtype is meaningful only when `plain`.
  TensorRecord record;
  uint32_t ggml_type = 0;
  std::vector<uint64_t> ggml_dims;  // as stored: innermost first
  bool plain = false;  // F32 F16 BF16 F64 I8 I16 I32 I64: record is a normal array
  // Q4_0 Q4_1 Q8_0: the types mx.load (mlx 0.32) returns as affine
  // weights/scales/biases; convert with gguf_to_affine.
  bool quantized = false;
  // Any other known ggml type (Q5_*, K-quants, IQ*, ...) has both flags false
  // (mlx 0.32 dequantizes those to float16; not provided here) but its extent
  // is still validated. gguf_to_affine also accepts Q4_K, as MLX's main
  // branch converts it.
};

struct GgufFile {
  uint32_t version = 3;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // start of the tensor data section
  std::vector<std::pair<std::string, GgufValue>> metadata;  // file order
  std::vector<GgufTensor> tensors;                         // file order
  const GgufValue* find(std::string_view key) const;
};

// Validates magic, version (2 or 3; v1 and big-endian files rejected with a
// message), counts against the bytes left, every string length, value types,
// bool bytes, nesting depth (<= 8) and total nested arrays (<= 2^20),
// duplicate keys and tensor names, general.alignment (UINT32 power of two),
// dims (at most 8, each <= INT64_MAX, product checked), known ggml types and
// block divisibility, offsets aligned, inside the file and not overlapping.
// Zero-byte tensors get an offset clamped to the file size.
GgufFile parse_gguf(const uint8_t* p, size_t n);

// MLX's affine format for a quantized GGUF tensor (Q4_0, Q4_1, Q8_0, Q4_K),
// as MLX's gguf loader builds it:
// weights uint32-packed (last dim K*bits/32), float16 scales and biases (last
// dim K/32), group size 32; w = scale * q + bias.
struct AffineQuantized {
  int bits = 4;
  int group_size = 32;
  std::vector<int64_t> weight_shape;
  std::vector<int64_t> scales_shape;  // == biases shape
  std::vector<uint32_t> weights;
  std::vector<uint16_t> scales;  // float16 bits
  std::vector<uint16_t> biases;  // float16 bits
};
AffineQuantized gguf_to_affine(const GgufTensor& tensor, const uint8_t* file, size_t file_size);
// Low-level: converts n_groups groups of 32 weights (Q4_K: n_groups % 8 == 0)
// from `blocks`; w receives n_groups * bits uint32 words.
void gguf_blocks_to_affine(uint32_t ggml_type, const uint8_t* blocks, uint64_t n_groups,
                           uint32_t* w, uint16_t* scales, uint16_t* biases);
// The name prefix MLX uses for "<prefix>.scales"/"<prefix>.biases": the name
// minus its last 7 characters (".weight"), or the whole name if shorter.
std::string gguf_quant_prefix(const std::string& name);

// Writer for plain tensors (float32 float16 bfloat16 float64 int8 int16 int32
// int64) and metadata. Version 3, alignment 32 unless metadata sets
// general.alignment (UINT32 power of two). dims are written innermost first.
std::vector<uint8_t> gguf_bytes(const std::vector<ArraySpec>& arrays,
                                const std::vector<std::pair<std::string, GgufValue>>& metadata = {});
void save_gguf(const std::string& path, const std::vector<ArraySpec>& arrays,
               const std::vector<std::pair<std::string, GgufValue>>& metadata = {});

}  // namespace oxmlx::io
