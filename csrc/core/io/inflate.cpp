// Raw DEFLATE decoder (RFC 1951), written for hostile input: every code set
// is checked for over-subscription/incompleteness before use, every bit read
// is checked against the input, and output is capped at the size the caller
// expects. Each loop iteration consumes input bits or produces output, so
// running time is linear in input + output.
#include <bit>
#include <cstring>

#include "core/io/deflate_tables.h"
#include "core/io/io.h"

namespace oxmlx::io {

namespace {

// The word-at-a-time refill puts the first byte in the low bits.
static_assert(std::endian::native == std::endian::little, "little-endian host required");

constexpr int kMaxBits = 15;
constexpr int kFastBits = 11;  // primary lookup width; longer codes take the slow path

[[noreturn]] void bad(std::string_view what, uint64_t at) {
  throw ValueError(msg("inflate: ", what, " (compressed byte ", at, ")"));
}

// LSB-first bit reader. Past the end it shifts in zero bytes but counts them
// in pad_, so peeking ahead is harmless while consuming a padded bit throws.
class Bits {
 public:
  Bits(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  void refill() {
    if (n_ - pos_ >= 8) {  // whole-word load; takes as many bytes as fit
      uint64_t w;
      std::memcpy(&w, p_ + pos_, 8);
      buf_ |= w << cnt_;
      pos_ += size_t(63 - cnt_) >> 3;
      cnt_ |= 56;
      return;
    }
    while (cnt_ <= 56) {
      if (pos_ < n_) buf_ |= uint64_t(p_[pos_++]) << cnt_;
      else pad_ += 8;
      cnt_ += 8;
    }
  }
  uint32_t peek(int k) {
    if (cnt_ < k) refill();
    return uint32_t(buf_ & ((uint64_t(1) << k) - 1));
  }
  void drop(int k) {
    if (k > cnt_ - pad_) bad("unexpected end of compressed data", n_);
    buf_ >>= k;
    cnt_ -= k;
  }
  uint32_t get(int k) {
    uint32_t v = peek(k);
    drop(k);
    return v;
  }
  // Consumed bytes; a partially used byte counts as consumed.
  uint64_t consumed() const { return pos_ - uint64_t(cnt_ - pad_) / 8; }
  // Drops to a byte boundary and hands back buffered whole bytes to the input.
  void align() {
    drop((cnt_ - pad_) & 7);
    pos_ -= size_t(cnt_ - pad_) / 8;
    buf_ = 0;
    cnt_ = pad_ = 0;
  }
  const uint8_t* take(size_t k) {  // after align(): raw bytes
    if (k > n_ - pos_) bad("stored block runs past the end of the data", pos_);
    const uint8_t* r = p_ + pos_;
    pos_ += k;
    return r;
  }

 private:
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  uint64_t buf_ = 0;
  int cnt_ = 0, pad_ = 0;
};

// Canonical Huffman decoder for up to 320 symbols.
struct Huffman {
  uint16_t count[kMaxBits + 1];
  uint16_t sym[320];
  // fast[bits] = (symbol << 4) | length, or 0 when the code is longer than
  // kFastBits or unassigned.
  uint32_t fast[1 << kFastBits];

  // kind: 0 code-length code, 1 literal/length, 2 distance (for zlib's
  // rule: incomplete codes are only allowed for lit/len and distance codes
  // that consist of a single 1-bit code).
  void build(const uint8_t* len, int n, int kind, uint64_t at) {
    std::memset(count, 0, sizeof(count));
    for (int s = 0; s < n; ++s) count[len[s]]++;
    int max = 0;
    for (int b = 1; b <= kMaxBits; ++b)
      if (count[b]) max = b;
    int left = 1;
    for (int b = 1; b <= kMaxBits; ++b) {
      left = (left << 1) - count[b];
      if (left < 0) bad("over-subscribed Huffman code lengths", at);
    }
    if (left > 0 && max > 0 && (kind == 0 || max != 1)) bad("incomplete Huffman code lengths", at);
    uint16_t offs[kMaxBits + 2];
    offs[1] = 0;
    for (int b = 1; b <= kMaxBits; ++b) offs[b + 1] = uint16_t(offs[b] + count[b]);
    for (int s = 0; s < n; ++s)
      if (len[s]) sym[offs[len[s]]++] = uint16_t(s);
    // Fill the fast table from canonical codes, bit-reversed (codes are sent
    // MSB first inside an LSB-first stream).
    std::memset(fast, 0, sizeof(fast));
    uint32_t code = 0;
    int idx = 0;
    for (int b = 1; b <= kFastBits; ++b) {
      for (int k = 0; k < count[b]; ++k, ++idx, ++code) {
        uint32_t rev = 0;
        for (int i = 0; i < b; ++i) rev |= ((code >> i) & 1u) << (b - 1 - i);
        for (uint32_t e = rev; e < (1u << kFastBits); e += 1u << b)
          fast[e] = (uint32_t(sym[idx]) << 4) | uint32_t(b);
      }
      code <<= 1;
    }
  }

  int decode(Bits& in) const {
    uint32_t bits = in.peek(kMaxBits);
    uint32_t e = fast[bits & ((1u << kFastBits) - 1)];
    if (e) {
      in.drop(int(e & 15));
      return int(e >> 4);
    }
    // Slow path: walk the canonical code one bit at a time.
    int code = 0, first = 0, index = 0;
    for (int b = 1; b <= kMaxBits; ++b) {
      code |= int((bits >> (b - 1)) & 1);
      int c = count[b];
      if (code - first < c) {
        in.drop(b);
        return sym[index + code - first];
      }
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    bad("invalid Huffman code", in.consumed());
  }
};

using namespace rfc1951;  // the code tables (deflate_tables.h)

// Output buffer that grows geometrically but never past the expected size,
// so a lying size field cannot make us allocate more than we produce x2.
class Out {
 public:
  explicit Out(uint64_t expected) : expected_(expected) {
    buf_.resize(size_t(std::min<uint64_t>(expected, 1 << 16)));
  }
  void reserve(size_t k, Bits& in) {
    if (k > expected_ - pos_) bad("inflated data is larger than the declared size", in.consumed());
    if (pos_ + k > buf_.size())
      buf_.resize(size_t(std::min<uint64_t>(expected_, std::max<uint64_t>(pos_ + k, buf_.size() * 2))));
  }
  void put(uint8_t b) { buf_[pos_++] = b; }
  void copy(size_t dist, size_t len) {
    uint8_t* d = buf_.data() + pos_;
    const uint8_t* s = d - dist;
    if (dist >= len) std::memcpy(d, s, len);
    else
      for (size_t i = 0; i < len; ++i) d[i] = s[i];  // overlapping run
    pos_ += len;
  }
  void bytes(const uint8_t* p, size_t k) {
    if (k) std::memcpy(buf_.data() + pos_, p, k);
    pos_ += k;
  }
  size_t pos() const { return pos_; }
  std::vector<uint8_t> finish() {
    buf_.resize(pos_);
    return std::move(buf_);
  }

 private:
  std::vector<uint8_t> buf_;
  uint64_t expected_;
  size_t pos_ = 0;
};

void codes(Bits& in, Out& out, const Huffman& lit, const Huffman& dist) {
  for (;;) {
    int s = lit.decode(in);
    if (s < 256) {
      out.reserve(1, in);
      out.put(uint8_t(s));
      continue;
    }
    if (s == 256) return;
    s -= 257;
    if (s >= 29) bad("invalid literal/length code", in.consumed());
    size_t len = kLenBase[s] + in.get(kLenExtra[s]);
    int d = dist.decode(in);
    if (d >= 30) bad("invalid distance code", in.consumed());
    size_t dd = kDistBase[d] + in.get(kDistExtra[d]);
    if (dd > out.pos()) bad(msg("distance ", dd, " reaches before the start of the output"), in.consumed());
    out.reserve(len, in);
    out.copy(dd, len);
  }
}

}  // namespace

std::vector<uint8_t> inflate_raw(const uint8_t* src, size_t n, uint64_t expected_size) {
  Bits in(src, n);
  Out out(expected_size);
  // Heap-allocated: the tables are ~10 KB each.
  auto tables = std::make_unique<Huffman[]>(2);
  Huffman& lit = tables[0];
  Huffman& dist = tables[1];
  bool fixed_built = false;
  for (bool last = false; !last;) {
    last = in.get(1);
    uint32_t type = in.get(2);
    uint64_t at = in.consumed();
    if (type == 0) {
      in.align();
      const uint8_t* hdr = in.take(4);
      uint16_t len = uint16_t(hdr[0] | (hdr[1] << 8)), nlen = uint16_t(hdr[2] | (hdr[3] << 8));
      if (uint16_t(~nlen) != len) bad("stored block length does not match its complement", at);
      const uint8_t* p = in.take(len);
      out.reserve(len, in);
      out.bytes(p, len);
    } else if (type == 1) {
      if (!fixed_built) {
        uint8_t l[320];
        for (int i = 0; i < 144; ++i) l[i] = 8;
        for (int i = 144; i < 256; ++i) l[i] = 9;
        for (int i = 256; i < 280; ++i) l[i] = 7;
        for (int i = 280; i < 288; ++i) l[i] = 8;
        lit.build(l, 288, 1, at);
        for (int i = 0; i < 32; ++i) l[i] = 5;
        dist.build(l, 32, 2, at);
        fixed_built = true;
      }
      codes(in, out, lit, dist);
    } else if (type == 2) {
      fixed_built = false;
      int nlen = int(in.get(5)) + 257, ndist = int(in.get(5)) + 1, ncl = int(in.get(4)) + 4;
      if (nlen > 286 || ndist > 30) bad("too many length or distance codes", at);
      uint8_t l[320] = {0};
      for (int i = 0; i < ncl; ++i) l[kClOrder[i]] = uint8_t(in.get(3));
      lit.build(l, 19, 0, at);  // the code-length code, decoded with the lit table
      uint8_t lens[320] = {0};
      for (int i = 0; i < nlen + ndist;) {
        int s = lit.decode(in);
        if (s < 16) {
          lens[i++] = uint8_t(s);
          continue;
        }
        int rep;
        uint8_t v = 0;
        if (s == 16) {
          if (i == 0) bad("repeat code with no previous length", in.consumed());
          v = lens[i - 1];
          rep = 3 + int(in.get(2));
        } else if (s == 17) {
          rep = 3 + int(in.get(3));
        } else {
          rep = 11 + int(in.get(7));
        }
        if (i + rep > nlen + ndist) bad("code lengths repeat past the end", in.consumed());
        while (rep--) lens[i++] = v;
      }
      if (lens[256] == 0) bad("missing end-of-block code", at);
      lit.build(lens, nlen, 1, at);
      dist.build(lens + nlen, ndist, 2, at);
      codes(in, out, lit, dist);
    } else {
      bad("invalid block type 3", at);
    }
  }
  if (out.pos() != expected_size)
    bad(msg("inflated ", out.pos(), " bytes but ", expected_size, " were declared"), in.consumed());
  if (in.consumed() != n)
    bad(msg("deflate stream ends after ", in.consumed(), " of ", n, " bytes"), in.consumed());
  return out.finish();
}

}  // namespace oxmlx::io
