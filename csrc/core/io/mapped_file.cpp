// Byte sources (mmap with a read() fallback), file writing, checked
// arithmetic and small shared helpers of the io layer.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/io/byteio.h"
#include "core/io/io.h"

namespace oxmlx::io {

namespace {

// Something valid to point at for empty sources, so data() is never null and
// memcpy(dst, data(), 0) stays well defined.
const uint8_t kEmpty[1] = {0};

std::string errno_str() { return std::strerror(errno); }

// Reads the whole descriptor; used when mmap is impossible (pipes, special
// files, filesystems without mmap). Bounded by what the kernel returns.
std::vector<uint8_t> read_all(int fd, const std::string& path) {
  std::vector<uint8_t> out;
  size_t used = 0;
  out.resize(1 << 16);
  for (;;) {
    if (used == out.size()) out.resize(out.size() * 2);
    ssize_t r = ::read(fd, out.data() + used, out.size() - used);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw ValueError(msg("[load] failed to read ", path, ": ", errno_str()));
    }
    if (r == 0) break;
    used += size_t(r);
  }
  out.resize(used);
  return out;
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ValueError(msg("[load] failed to open file ", path, ": ", errno_str()));
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && st.st_size > 0 &&
      uint64_t(st.st_size) <= uint64_t(std::numeric_limits<size_t>::max())) {
    void* m = ::mmap(nullptr, size_t(st.st_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      f->map_base_ = m;
      f->map_len_ = size_t(st.st_size);
      f->data_ = static_cast<const uint8_t*>(m);
      f->size_ = size_t(st.st_size);
      ::close(fd);
      return f;
    }
  }
  if (st.st_size == 0 && regular) {
    ::close(fd);
    f->data_ = kEmpty;
    return f;
  }
  try {
    f->owned_ = read_all(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  f->data_ = f->owned_.empty() ? kEmpty : f->owned_.data();
  f->size_ = f->owned_.size();
  return f;
}

std::shared_ptr<MappedFile> MappedFile::from_bytes(std::vector<uint8_t> bytes) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->owned_ = std::move(bytes);
  f->data_ = f->owned_.empty() ? kEmpty : f->owned_.data();
  f->size_ = f->owned_.size();
  return f;
}

std::shared_ptr<MappedFile> MappedFile::slice(uint64_t offset, uint64_t length) const {
  if (!detail::in_bounds(offset, length, size_))
    throw ValueError(msg("[load] slice [", offset, ", +", length, ") outside a source of ", size_,
                         " bytes"));
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->parent_ = shared_from_this();
  f->data_ = length ? data_ + offset : kEmpty;
  f->size_ = size_t(length);
  f->path_ = path_;
  return f;
}

MappedFile::~MappedFile() {
  if (map_base_) ::munmap(map_base_, map_len_);
}

void write_file(const std::string& path, const std::vector<std::pair<const void*, size_t>>& chunks) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw RuntimeError(msg("[save] failed to open ", path, " for writing: ", errno_str()));
  for (auto& [p, n] : chunks) {
    if (n && std::fwrite(p, 1, n, f) != n) {
      std::fclose(f);
      throw RuntimeError(msg("[save] failed writing ", path, ": ", errno_str()));
    }
  }
  if (std::fclose(f) != 0) throw RuntimeError(msg("[save] failed closing ", path, ": ", errno_str()));
}

uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw ValueError(msg(what, ": size overflows 64 bits"));
  return r;
}

uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw ValueError(msg(what, ": size overflows 64 bits"));
  return r;
}

uint64_t shape_numel(const std::vector<int64_t>& shape, std::string_view what) {
  uint64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw ValueError(msg(what, ": negative dimension ", shape[i], " at axis ", i));
    n = checked_mul(n, uint64_t(shape[i]), what);
  }
  if (n > uint64_t(std::numeric_limits<int64_t>::max()))
    throw ValueError(msg(what, ": element count ", n, " exceeds int64"));
  return n;
}

uint64_t shape_nbytes(Dtype dtype, const std::vector<int64_t>& shape, std::string_view what) {
  return checked_mul(shape_numel(shape, what), dtype.size, what);
}

void byteswap_inplace(void* data, uint64_t nbytes, Dtype dtype) {
  // complex64 is two float32 halves, each swapped on its own.
  size_t w = dtype == complex64 ? 4 : dtype.size;
  if (w <= 1) return;
  if (nbytes % w) throw ValueError(msg("byteswap: ", nbytes, " bytes is not a multiple of ", w));
  auto* p = static_cast<uint8_t*>(data);
  for (uint64_t i = 0; i < nbytes; i += w)
    for (size_t a = 0, b = w - 1; a < b; ++a, --b) std::swap(p[i + a], p[i + b]);
}

namespace detail {

size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (len > n - i) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace detail

}  // namespace oxmlx::io
