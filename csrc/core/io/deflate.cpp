// Raw DEFLATE encoder (RFC 1951): hash-chain LZ77 with one-step lazy
// matching, then per block the cheapest of stored / fixed / dynamic Huffman.
// Dynamic codes are always complete (a lone symbol gets a 1-bit partner), so
// strict decoders accept them.
#include <algorithm>
#include <bit>
#include <cstring>

#include "core/io/deflate_tables.h"
#include "core/io/io.h"

namespace oxmlx::io {

namespace {

// The word-at-a-time match compare below takes the first differing byte from
// the low end of the xor.
static_assert(std::endian::native == std::endian::little, "little-endian host required");

constexpr int kWindow = 32768;
constexpr int kHashBits = 15;
constexpr int kMinMatch = 3, kMaxMatch = 258;
constexpr size_t kBlockTokens = 1 << 15;

using namespace rfc1951;  // the code tables (deflate_tables.h)

// Symbol lookup tables: length 3..258 -> code 0..28, distance -> code 0..29.
struct Codes {
  uint8_t len_code[kMaxMatch + 1];
  uint8_t dist_code[kWindow + 1];
  Codes() {
    for (int c = 0; c < 29; ++c)
      for (int l = kLenBase[c]; l < kLenBase[c] + (1 << kLenExtra[c]) && l <= kMaxMatch; ++l)
        len_code[l] = uint8_t(c);
    len_code[kMaxMatch] = 28;  // 258 has its own code, not 227+31 of code 27
    for (int c = 0; c < 30; ++c)
      for (int d = kDistBase[c]; d < kDistBase[c] + (1 << kDistExtra[c]) && d <= kWindow; ++d)
        dist_code[d] = uint8_t(c);
  }
};
const Codes& codes() {
  static const Codes c;
  return c;
}

struct Token {
  uint16_t len;   // 0: literal in `dist`
  uint16_t dist;  // literal byte, or match distance
};

class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}
  void put(uint32_t bits, int k) {
    acc_ |= uint64_t(bits) << n_;
    n_ += k;
    while (n_ >= 8) {
      out_.push_back(uint8_t(acc_));
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  void align() {
    if (n_) put(0, 8 - n_);
  }
  // Whole bytes at a byte boundary (after align(), as stored blocks are).
  void raw(const uint8_t* p, size_t k) {
    if (k) out_.insert(out_.end(), p, p + k);
  }

 private:
  std::vector<uint8_t>& out_;
  uint64_t acc_ = 0;
  int n_ = 0;
};

// Length-limited Huffman code lengths. Optimal lengths come from the classic
// two-queue merge; if the longest exceeds `limit`, frequencies are halved
// (kept >= 1) and the tree rebuilt, which converges to a balanced tree.
void huffman_lengths(const uint32_t* freq_in, int n, int limit, uint8_t* len) {
  std::fill(len, len + n, 0);
  std::vector<int> used;
  for (int s = 0; s < n; ++s)
    if (freq_in[s]) used.push_back(s);
  if (used.size() < 2) {
    // One (or no) symbol: pair it with another so the code is complete.
    int a = used.empty() ? 0 : used[0];
    len[a] = 1;
    len[a == 0 ? 1 : 0] = 1;
    return;
  }
  std::vector<uint64_t> f(n);
  for (int s : used) f[s] = freq_in[s];
  for (;;) {
    std::vector<int> leaves = used;
    std::stable_sort(leaves.begin(), leaves.end(), [&](int a, int b) { return f[a] < f[b]; });
    size_t m = leaves.size();
    // nodes [0, m) leaves, [m, 2m-1) internal; parent links to compute depth.
    std::vector<uint64_t> w(2 * m - 1);
    std::vector<int> parent(2 * m - 1, -1);
    for (size_t i = 0; i < m; ++i) w[i] = f[leaves[i]];
    size_t li = 0, ii = m, next = m;
    auto pick = [&]() -> size_t {
      if (li < m && (ii >= next || w[li] <= w[ii])) return li++;
      return ii++;
    };
    for (; next < 2 * m - 1; ++next) {
      size_t a = pick(), b = pick();
      w[next] = w[a] + w[b];
      parent[a] = parent[b] = int(next);
    }
    std::vector<int> depth(2 * m - 1, 0);
    int max = 0;
    for (size_t i = 2 * m - 1; i-- > 0;) {
      if (parent[i] >= 0) depth[i] = depth[parent[i]] + 1;
      if (i < m) max = std::max(max, depth[i]);
    }
    if (max <= limit) {
      for (size_t i = 0; i < m; ++i) len[leaves[i]] = uint8_t(depth[i]);
      return;
    }
    for (int s : used) f[s] = std::max<uint64_t>(1, f[s] >> 1);
  }
}

// Canonical codes, bit-reversed for the LSB-first stream.
void canonical(const uint8_t* len, int n, uint16_t* code) {
  int count[16] = {0};
  for (int s = 0; s < n; ++s) count[len[s]]++;
  count[0] = 0;
  int next[16];
  int c = 0;
  for (int b = 1; b < 16; ++b) {
    c = (c + count[b - 1]) << 1;
    next[b] = c;
  }
  for (int s = 0; s < n; ++s) {
    int l = len[s];
    if (!l) continue;
    uint32_t v = uint32_t(next[l]++), r = 0;
    for (int i = 0; i < l; ++i) r |= ((v >> i) & 1u) << (l - 1 - i);
    code[s] = uint16_t(r);
  }
}

class Encoder {
 public:
  Encoder(const uint8_t* src, size_t n, int level, std::vector<uint8_t>& out)
      : src_(src), n_(n), bw_(out) {
    static const int kChain[10] = {0, 4, 8, 16, 32, 64, 128, 256, 1024, 4096};
    static const int kNice[10] = {0, 8, 16, 32, 32, 64, 128, 128, 258, 258};
    static const int kLazy[10] = {0, 0, 0, 0, 4, 8, 16, 32, 128, 258};
    level = std::clamp(level, 0, 9);
    chain_ = kChain[level];
    nice_ = kNice[level];
    lazy_ = kLazy[level];
    good_ = level >= 8 ? 32 : level >= 4 ? 8 : 4;
  }

  void run() {
    if (chain_ == 0) {  // level 0: stored blocks only
      emit_stored(0, n_, true);
      return;
    }
    head_.assign(size_t(1) << kHashBits, -1);
    prev_.assign(kWindow, -1);
    size_t block_start = 0, i = 0;
    int64_t cached_pos = -1;
    int cached_len = 0, cached_dist = 0;
    while (i < n_) {
      int len = 0, dist = 0;
      if (int64_t(i) == cached_pos) len = cached_len, dist = cached_dist;
      else find(i, &len, &dist, chain_);
      insert(i);
      if (len >= kMinMatch && len < lazy_ && i + 1 < n_) {
        int l2 = 0, d2 = 0;
        // Like zlib: with a good match in hand, look less hard for a better one.
        find(i + 1, &l2, &d2, len >= good_ ? chain_ / 4 : chain_);
        cached_pos = int64_t(i + 1), cached_len = l2, cached_dist = d2;
        if (l2 > len) len = 0;  // defer: emit a literal, take the longer match next
      }
      if (len >= kMinMatch) {
        tokens_.push_back({uint16_t(len), uint16_t(dist)});
        for (size_t k = i + 1; k < i + size_t(len); ++k) insert(k);
        i += size_t(len);
      } else {
        tokens_.push_back({0, src_[i]});
        ++i;
      }
      if (tokens_.size() >= kBlockTokens) {
        flush(block_start, i, i == n_);
        block_start = i;
      }
    }
    if (!last_written_) flush(block_start, n_, true);
    bw_.align();  // the final partial byte
  }

 private:
  uint32_t hash(size_t i) const {
    uint32_t v = uint32_t(src_[i]) << 16 | uint32_t(src_[i + 1]) << 8 | src_[i + 2];
    return (v * 2654435761u) >> (32 - kHashBits);
  }
  void insert(size_t i) {
    if (i + kMinMatch > n_) return;
    uint32_t h = hash(i);
    prev_[i & (kWindow - 1)] = head_[h];
    head_[h] = int64_t(i);
  }
  // Longest match for position i among earlier positions with the same hash,
  // distance < kWindow (so chain links are never stale), chain-bounded.
  void find(size_t i, int* best_len, int* best_dist, int chain) const {
    *best_len = 0;
    if (i + kMinMatch > n_) return;
    int max_len = int(std::min<size_t>(kMaxMatch, n_ - i));
    int64_t cand = head_[hash(i)];
    const uint8_t* s = src_ + i;
    while (cand >= 0 && int64_t(i) - cand < kWindow && chain-- > 0) {
      const uint8_t* c = src_ + cand;
      if (c[*best_len] == s[*best_len] && c[0] == s[0] && c[1] == s[1]) {
        int l = 2;
        // Eight bytes at a time; the first differing byte from the xor.
        while (l + 8 <= max_len) {
          uint64_t a, b;
          std::memcpy(&a, c + l, 8);
          std::memcpy(&b, s + l, 8);
          if (a != b) {
            l += __builtin_ctzll(a ^ b) / 8;  // little-endian byte order
            goto done;
          }
          l += 8;
        }
        while (l < max_len && c[l] == s[l]) ++l;
      done:
        if (l > *best_len) {
          *best_len = l;
          *best_dist = int(int64_t(i) - cand);
          if (l >= nice_ || l == max_len) break;
        }
      }
      int64_t nx = prev_[size_t(cand) & (kWindow - 1)];
      if (nx >= cand) break;
      cand = nx;
    }
    // A 3-byte match far away costs more than three literals.
    if (*best_len == kMinMatch && *best_dist > 4096) *best_len = 0;
    if (*best_len < kMinMatch) *best_len = 0;
  }

  void emit_stored(size_t from, size_t to, bool last) {
    do {
      size_t k = std::min<size_t>(to - from, 65535);
      bool fin = last && from + k == to;
      bw_.put(fin ? 1 : 0, 1);
      bw_.put(0, 2);
      bw_.align();
      bw_.put(uint32_t(k), 16);
      bw_.put(uint32_t(~k & 0xFFFF), 16);
      bw_.raw(src_ + from, k);
      from += k;
    } while (from < to);
    if (last) last_written_ = true;
  }

  void flush(size_t from, size_t to, bool last) {
    const Codes& cd = codes();
    uint32_t lf[286] = {0}, df[30] = {0};
    for (const Token& t : tokens_) {
      if (t.len == 0) lf[t.dist]++;
      else lf[257 + cd.len_code[t.len]]++, df[cd.dist_code[t.dist]]++;
    }
    lf[256] = 1;
    uint8_t ll[286], dl[30];
    huffman_lengths(lf, 286, 15, ll);
    huffman_lengths(df, 30, 15, dl);
    int hlit = 286, hdist = 30;
    while (hlit > 257 && ll[hlit - 1] == 0) --hlit;
    while (hdist > 1 && dl[hdist - 1] == 0) --hdist;

    // Run-length code the concatenated code lengths with symbols 16/17/18.
    std::vector<uint8_t> seq(ll, ll + hlit);
    seq.insert(seq.end(), dl, dl + hdist);
    std::vector<std::pair<uint8_t, uint8_t>> rle;  // (symbol, extra value)
    for (size_t i = 0; i < seq.size();) {
      uint8_t v = seq[i];
      size_t run = 1;
      while (i + run < seq.size() && seq[i + run] == v) ++run;
      i += run;
      if (v == 0) {
        while (run >= 11) {
          size_t r = std::min<size_t>(run, 138);
          rle.push_back({18, uint8_t(r - 11)});
          run -= r;
        }
        if (run >= 3) rle.push_back({17, uint8_t(run - 3)}), run = 0;
        while (run--) rle.push_back({0, 0});
      } else {
        rle.push_back({v, 0});
        --run;
        while (run >= 3) {
          size_t r = std::min<size_t>(run, 6);
          rle.push_back({16, uint8_t(r - 3)});
          run -= r;
        }
        while (run--) rle.push_back({v, 0});
      }
    }
    uint32_t cf[19] = {0};
    for (auto& [s, e] : rle) cf[s]++;
    uint8_t cl[19];
    huffman_lengths(cf, 19, 7, cl);
    int hclen = 19;
    while (hclen > 4 && cl[kClOrder[hclen - 1]] == 0) --hclen;

    // Bit costs of the three encodings.
    static const uint8_t kClExtra[19] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7};
    uint64_t extra = 0;
    for (int c = 0; c < 29; ++c) extra += uint64_t(lf[257 + c]) * kLenExtra[c];
    for (int c = 0; c < 30; ++c) extra += uint64_t(df[c]) * kDistExtra[c];
    uint64_t dyn = 3 + 14 + 3 * uint64_t(hclen) + extra, fix = 3 + extra;
    for (auto& [s, e] : rle) dyn += cl[s] + kClExtra[s];
    for (int s = 0; s < 286; ++s) {
      dyn += uint64_t(lf[s]) * ll[s];
      fix += uint64_t(lf[s]) * (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8);
    }
    for (int s = 0; s < 30; ++s) dyn += uint64_t(df[s]) * dl[s], fix += uint64_t(df[s]) * 5;
    uint64_t bytes = to - from, chunks = std::max<uint64_t>(1, (bytes + 65534) / 65535);
    uint64_t stored = 8 * bytes + 40 * chunks + 8;  // headers + worst-case alignment

    if (stored <= dyn && stored <= fix) {
      emit_stored(from, to, last);
    } else if (fix <= dyn) {
      uint8_t fl[288], fd[30];
      for (int s = 0; s < 288; ++s) fl[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
      std::fill(fd, fd + 30, 5);
      bw_.put(last ? 1 : 0, 1);
      bw_.put(1, 2);
      write_tokens(fl, 288, fd);
    } else {
      bw_.put(last ? 1 : 0, 1);
      bw_.put(2, 2);
      bw_.put(uint32_t(hlit - 257), 5);
      bw_.put(uint32_t(hdist - 1), 5);
      bw_.put(uint32_t(hclen - 4), 4);
      for (int i = 0; i < hclen; ++i) bw_.put(cl[kClOrder[i]], 3);
      uint16_t cc[19] = {0};
      canonical(cl, 19, cc);
      for (auto& [s, e] : rle) {
        bw_.put(cc[s], cl[s]);
        if (kClExtra[s]) bw_.put(e, kClExtra[s]);
      }
      write_tokens(ll, 286, dl);
    }
    if (last) last_written_ = true;
    tokens_.clear();
  }

  void write_tokens(const uint8_t* ll, int nl, const uint8_t* dl) {
    const Codes& cd = codes();
    uint16_t lc[288] = {0}, dc[30] = {0};
    canonical(ll, nl, lc);
    canonical(dl, 30, dc);
    for (const Token& t : tokens_) {
      if (t.len == 0) {
        bw_.put(lc[t.dist], ll[t.dist]);
        continue;
      }
      int c = cd.len_code[t.len];
      bw_.put(lc[257 + c], ll[257 + c]);
      if (kLenExtra[c]) bw_.put(uint32_t(t.len - kLenBase[c]), kLenExtra[c]);
      int d = cd.dist_code[t.dist];
      bw_.put(dc[d], dl[d]);
      if (kDistExtra[d]) bw_.put(uint32_t(t.dist - kDistBase[d]), kDistExtra[d]);
    }
    bw_.put(lc[256], ll[256]);
  }

  const uint8_t* src_;
  size_t n_;
  BitWriter bw_;
  int chain_ = 0, nice_ = 0, lazy_ = 0, good_ = 8;
  bool last_written_ = false;
  std::vector<int64_t> head_, prev_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<uint8_t> deflate_raw(const uint8_t* src, size_t n, int level) {
  std::vector<uint8_t> out;
  out.reserve(n / 2 + 64);
  Encoder(src, n, level, out).run();
  return out;
}

std::vector<uint8_t> deflate_raw(const std::vector<std::pair<const void*, size_t>>& chunks, int level) {
  // LZ77 needs one contiguous window; several pieces are joined first.
  if (chunks.size() == 1) return deflate_raw(static_cast<const uint8_t*>(chunks[0].first), chunks[0].second, level);
  std::vector<uint8_t> joined;
  size_t total = 0;
  for (auto& c : chunks) total += c.second;
  joined.reserve(total);
  for (auto& [p, k] : chunks)
    if (k) joined.insert(joined.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + k);
  return deflate_raw(joined.data(), joined.size(), level);
}

}  // namespace oxmlx::io
