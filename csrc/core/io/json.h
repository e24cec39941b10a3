// Internal strict JSON (RFC 8259) pull reader and string writer for
// safetensors headers. A pull reader instead of a DOM: a 100 MB header of
// tiny values would otherwise blow up ~50x in memory; here the caller keeps
// only what its schema needs and skips the rest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace oxmlx::io::json {

// Rejects: invalid UTF-8 (checked up front), control characters in strings,
// bad escapes, lone surrogates, leading zeros, malformed numbers, duplicate
// keys inside skipped objects, nesting deeper than 64. Errors are ValueError
// "<what>: invalid JSON at offset <base + i>: ...".
class Reader {
 public:
  Reader(const char* p, size_t n, uint64_t base, const char* what);

  [[noreturn]] void fail(std::string_view why) const;
  [[noreturn]] void fail_at(uint64_t file_offset, std::string_view why) const;
  uint64_t offset() const { return base_ + i_; }  // file offset of the cursor
  char peek();  // next non-whitespace character, '\0' at the end

  // for (r.begin_object(); r.next_member(&key);) { ...read the value... }
  void begin_object();
  bool next_member(std::string* key);
  // for (r.begin_array(); r.next_element();) { ...read the element... }
  void begin_array();
  bool next_element();

  std::string string();
  uint64_t uint64();  // a non-negative integer literal that fits uint64
  bool null();        // consumes `null` if it is next
  void skip(int depth = 0);  // any value
  void end();                // only whitespace may remain

 private:
  void ws();
  bool digit() const;
  void number();
  int hex4();

  const char* p_;
  size_t n_;
  uint64_t base_;
  const char* what_;
  size_t i_ = 0;
  bool first_ = false;  // no member/element consumed yet in the current container
};

// Appends s as a JSON string literal; throws ValueError on invalid UTF-8.
void quote(std::string& out, std::string_view s);

}  // namespace oxmlx::io::json
