// Internal helpers of the io layer: little-endian loads/stores and a bounds
// checked cursor whose every read names the field and file offset on failure.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace oxmlx::io::detail {

// Byte-by-byte composition: correct on any host and for unaligned pointers.
inline uint16_t ld16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t ld32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t ld64(const uint8_t* p) { return uint64_t(ld32(p)) | (uint64_t(ld32(p + 4)) << 32); }

inline void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(uint8_t(x));
  v.push_back(uint8_t(x >> 8));
}
inline void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, uint16_t(x));
  put16(v, uint16_t(x >> 16));
}
inline void put64(std::vector<uint8_t>& v, uint64_t x) {
  put32(v, uint32_t(x));
  put32(v, uint32_t(x >> 32));
}
inline void put_bytes(std::vector<uint8_t>& v, const void* p, size_t n) {
  if (n) v.insert(v.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
}

// Sequential reader over [p, p + n). `fmt` prefixes messages ("gguf", ...).
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const char* fmt, size_t pos = 0)
      : p_(p), n_(n), pos_(pos), fmt_(fmt) {
    if (pos > n) fail("start", pos, "starts past the end");
  }
  size_t pos() const { return pos_; }
  size_t size() const { return n_; }
  size_t remaining() const { return n_ - pos_; }
  const uint8_t* base() const { return p_; }

  [[noreturn]] void fail(std::string_view field, uint64_t at, std::string_view what) const {
    throw ValueError(msg(fmt_, ": ", field, " at offset ", at, ": ", what));
  }
  void need(uint64_t k, std::string_view field) const {
    if (k > remaining())
      fail(field, pos_, msg("needs ", k, " bytes but only ", remaining(), " remain (file size ", n_, ")"));
  }
  const uint8_t* bytes(uint64_t k, std::string_view field) {
    need(k, field);
    const uint8_t* r = p_ + pos_;
    pos_ += size_t(k);
    return r;
  }
  uint8_t u8(std::string_view f) { return *bytes(1, f); }
  uint16_t u16(std::string_view f) { return ld16(bytes(2, f)); }
  uint32_t u32(std::string_view f) { return ld32(bytes(4, f)); }
  uint64_t u64(std::string_view f) { return ld64(bytes(8, f)); }
  void skip(uint64_t k, std::string_view f) { bytes(k, f); }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_;
  const char* fmt_;
};

// True when [off, off + len) lies inside a buffer of n bytes (overflow safe).
inline bool in_bounds(uint64_t off, uint64_t len, uint64_t n) { return off <= n && len <= n - off; }

// Validates UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Returns the
// index of the first bad byte or npos.
size_t find_invalid_utf8(std::string_view s);

}  // namespace oxmlx::io::detail
