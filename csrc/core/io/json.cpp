// Strict JSON pull reader for safetensors headers.
#include "core/io/json.h"

#include <set>

#include "core/errors.h"
#include "core/io/byteio.h"

namespace oxmlx::io::json {

namespace {
constexpr int kMaxDepth = 64;

void put_utf8(std::string& o, uint32_t cp) {
  if (cp < 0x80) {
    o += char(cp);
  } else if (cp < 0x800) {
    o += char(0xC0 | (cp >> 6));
    o += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    o += char(0xE0 | (cp >> 12));
    o += char(0x80 | ((cp >> 6) & 0x3F));
    o += char(0x80 | (cp & 0x3F));
  } else {
    o += char(0xF0 | (cp >> 18));
    o += char(0x80 | ((cp >> 12) & 0x3F));
    o += char(0x80 | ((cp >> 6) & 0x3F));
    o += char(0x80 | (cp & 0x3F));
  }
}
}  // namespace

Reader::Reader(const char* p, size_t n, uint64_t base, const char* what)
    : p_(p), n_(n), base_(base), what_(what) {
  size_t bad = detail::find_invalid_utf8(std::string_view(p, n));
  if (bad != std::string_view::npos) throw ValueError(msg(what, ": invalid UTF-8 at offset ", base + bad));
}

void Reader::fail(std::string_view why) const { fail_at(base_ + i_, why); }

void Reader::fail_at(uint64_t at, std::string_view why) const {
  throw ValueError(msg(what_, ": invalid JSON at offset ", at, ": ", why));
}

void Reader::ws() {
  while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
}

char Reader::peek() {
  ws();
  return i_ < n_ ? p_[i_] : '\0';
}

void Reader::begin_object() {
  if (peek() != '{') fail("expected an object");
  ++i_;
  first_ = true;
}

bool Reader::next_member(std::string* key) {
  char c = peek();
  if (c == '}' && first_) return ++i_, first_ = false, false;
  if (!first_) {
    if (c == '}') return ++i_, false;
    if (c != ',') fail("expected ',' or '}'");
    ++i_;
    c = peek();
  }
  first_ = false;
  if (c != '"') fail("expected a string key");
  *key = string();
  if (peek() != ':') fail("expected ':'");
  ++i_;
  return true;
}

void Reader::begin_array() {
  if (peek() != '[') fail("expected an array");
  ++i_;
  first_ = true;
}

bool Reader::next_element() {
  char c = peek();
  if (c == ']' && first_) return ++i_, first_ = false, false;
  if (!first_) {
    if (c == ']') return ++i_, false;
    if (c != ',') fail("expected ',' or ']'");
    ++i_;
  }
  first_ = false;
  return true;
}

bool Reader::null() {
  if (peek() == 'n' && n_ - i_ >= 4 && std::string_view(p_ + i_, 4) == "null") return i_ += 4, true;
  return false;
}

bool Reader::digit() const { return i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9'; }

void Reader::number() {
  if (i_ < n_ && p_[i_] == '-') ++i_;
  if (!digit()) fail("expected a digit");
  if (p_[i_] == '0') {
    ++i_;
    if (digit()) fail("leading zero in number");
  } else {
    while (digit()) ++i_;
  }
  if (i_ < n_ && p_[i_] == '.') {
    ++i_;
    if (!digit()) fail("expected a digit after '.'");
    while (digit()) ++i_;
  }
  if (i_ < n_ && (p_[i_] == 'e' || p_[i_] == 'E')) {
    ++i_;
    if (i_ < n_ && (p_[i_] == '+' || p_[i_] == '-')) ++i_;
    if (!digit()) fail("expected a digit in exponent");
    while (digit()) ++i_;
  }
}

uint64_t Reader::uint64() {
  char c = peek();
  size_t s = i_;
  if (c != '-' && (c < '0' || c > '9')) fail("expected a non-negative integer");
  number();
  uint64_t r = 0;
  for (size_t k = s; k < i_; ++k) {
    char d = p_[k];
    if (d < '0' || d > '9') fail_at(base_ + s, "expected a non-negative integer");
    if (r > (UINT64_MAX - uint64_t(d - '0')) / 10) fail_at(base_ + s, "integer does not fit in 64 bits");
    r = r * 10 + uint64_t(d - '0');
  }
  return r;
}

int Reader::hex4() {
  if (n_ - i_ < 4) fail("truncated \\u escape");
  int v = 0;
  for (int k = 0; k < 4; ++k) {
    char h = p_[i_++];
    int d = h >= '0' && h <= '9'   ? h - '0'
            : h >= 'a' && h <= 'f' ? h - 'a' + 10
            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                   : -1;
    if (d < 0) fail("bad hex digit in \\u escape");
    v = v * 16 + d;
  }
  return v;
}

// The document was UTF-8 validated up front, so raw bytes copy through.
std::string Reader::string() {
  if (peek() != '"') fail("expected a string");
  ++i_;
  std::string o;
  for (;;) {
    if (i_ >= n_) fail("unterminated string");
    unsigned char c = static_cast<unsigned char>(p_[i_]);
    if (c == '"') return ++i_, o;
    if (c < 0x20) fail("control character in string");
    if (c != '\\') {
      o += char(c);
      ++i_;
      continue;
    }
    if (++i_ >= n_) fail("truncated escape");
    char e = p_[i_++];
    switch (e) {
      case '"': o += '"'; break;
      case '\\': o += '\\'; break;
      case '/': o += '/'; break;
      case 'b': o += '\b'; break;
      case 'f': o += '\f'; break;
      case 'n': o += '\n'; break;
      case 'r': o += '\r'; break;
      case 't': o += '\t'; break;
      case 'u': {
        uint32_t cp = uint32_t(hex4());
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (n_ - i_ < 2 || p_[i_] != '\\' || p_[i_ + 1] != 'u') fail("high surrogate without low surrogate");
          i_ += 2;
          uint32_t lo = uint32_t(hex4());
          if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate without low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(o, cp);
        break;
      }
      default: fail("invalid escape");
    }
  }
}

void Reader::skip(int depth) {
  if (depth > kMaxDepth) fail("nesting deeper than 64 levels");
  char c = peek();
  if (c == '{') {
    std::set<std::string> seen;
    std::string key;
    for (begin_object(); next_member(&key);) {
      if (!seen.insert(key).second) fail(msg("duplicate key \"", key, "\""));
      skip(depth + 1);
    }
  } else if (c == '[') {
    for (begin_array(); next_element();) skip(depth + 1);
  } else if (c == '"') {
    string();
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    number();
  } else if (n_ - i_ >= 4 && std::string_view(p_ + i_, 4) == "true") {
    i_ += 4;
  } else if (n_ - i_ >= 5 && std::string_view(p_ + i_, 5) == "false") {
    i_ += 5;
  } else if (!null()) {
    fail(c ? "unexpected character" : "unexpected end of input");
  }
  first_ = false;  // the enclosing container has now consumed an element
}

void Reader::end() {
  if (peek() != '\0') fail("trailing characters after the JSON value");
}

void quote(std::string& out, std::string_view s) {
  size_t bad = detail::find_invalid_utf8(s);
  if (bad != std::string_view::npos) throw ValueError(msg("JSON string has invalid UTF-8 at byte ", bad));
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  out += '"';
}

}  // namespace oxmlx::io::json
