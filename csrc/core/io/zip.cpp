// zip archives (PKWARE APPNOTE 6.3) as numpy's .npz uses them: stored and
// deflated members, zip64 records where sizes/offsets/counts need them.
// The reader trusts nothing: every record is bounds-checked before it is
// read, sizes in the central directory are cross-checked against the local
// headers, and members may not overlap each other or the directory.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/io/byteio.h"
#include "core/io/io.h"

namespace oxmlx::io {

using detail::in_bounds;
using detail::ld16;
using detail::ld32;
using detail::ld64;

namespace {

// CRC-32 (IEEE 802.3, reflected 0xEDB88320), slicing-by-8.
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (int s = 1; s < 8; ++s)
      for (int i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};
const CrcTables& crc_tables() {
  static const CrcTables t;
  return t;
}

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kEocd64Sig = 0x06064b50, kLocatorSig = 0x07064b50;
constexpr uint32_t k32 = 0xFFFFFFFFu;
constexpr uint16_t k16 = 0xFFFF;
// The best DEFLATE can do is a 258-byte match in 2 bits: ratio 1032.
constexpr uint64_t kMaxRatio = 1032;

[[noreturn]] void bad(std::string_view what, uint64_t at) {
  throw ValueError(msg("zip: ", what, " (at offset ", at, ")"));
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  const auto& T = crc_tables().t;
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  while (n >= 8) {
    uint32_t a = ld32(p) ^ crc, b = ld32(p + 4);
    crc = T[7][a & 0xFF] ^ T[6][(a >> 8) & 0xFF] ^ T[5][(a >> 16) & 0xFF] ^ T[4][a >> 24] ^
          T[3][b & 0xFF] ^ T[2][(b >> 8) & 0xFF] ^ T[1][(b >> 16) & 0xFF] ^ T[0][b >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ T[0][(crc ^ *p++) & 0xFF];
  return ~crc;
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

ZipReader::ZipReader(std::shared_ptr<MappedFile> file) : file_(std::move(file)) {
  const uint8_t* p = file_->data();
  const uint64_t n = file_->size();
  if (n < 22) bad(msg("file of ", n, " bytes is too small for an end of central directory"), 0);

  // The end record is the last 22 bytes plus a comment of up to 64 KiB; take
  // the last signature whose comment length lands exactly on the file end.
  uint64_t eocd = UINT64_MAX;
  uint64_t lo = n - 22 > 0xFFFF ? n - 22 - 0xFFFF : 0;
  for (uint64_t i = n - 22 + 1; i-- > lo;) {
    if (ld32(p + i) == kEocdSig && i + 22 + ld16(p + i + 20) == n) {
      eocd = i;
      break;
    }
  }
  if (eocd == UINT64_MAX) bad("end of central directory record not found (not a zip file?)", n);
  uint64_t disk = ld16(p + eocd + 4), cd_disk = ld16(p + eocd + 6);
  uint64_t count_disk = ld16(p + eocd + 8), count = ld16(p + eocd + 10);
  uint64_t cd_size = ld32(p + eocd + 12), cd_off = ld32(p + eocd + 16);
  uint64_t cd_limit = eocd;  // the directory must end before this

  // zip64: a locator right before the end record points at the zip64 record.
  if (eocd >= 20 && ld32(p + eocd - 20) == kLocatorSig) {
    uint64_t loc = eocd - 20;
    if (ld32(p + loc + 4) != 0 || ld32(p + loc + 16) > 1) bad("multi-disk zip64 archives are not supported", loc);
    uint64_t z = ld64(p + loc + 8);
    if (!in_bounds(z, 56, loc)) bad(msg("zip64 end record offset ", z, " is out of range"), loc + 8);
    if (ld32(p + z) != kEocd64Sig) bad("bad zip64 end of central directory signature", z);
    disk = ld32(p + z + 16);
    cd_disk = ld32(p + z + 20);
    count_disk = ld64(p + z + 24);
    count = ld64(p + z + 32);
    cd_size = ld64(p + z + 40);
    cd_off = ld64(p + z + 48);
    cd_limit = z;
  } else if (count == k16 || cd_size == k32 || cd_off == k32) {
    bad("end record needs zip64 values but the zip64 locator is missing", eocd);
  }
  if (disk != 0 || cd_disk != 0 || count_disk != count) bad("multi-disk archives are not supported", eocd);
  if (!in_bounds(cd_off, cd_size, cd_limit))
    bad(msg("central directory [", cd_off, ", +", cd_size, ") runs past its end record"), eocd);
  if (count > cd_size / 46) bad(msg("entry count ", count, " cannot fit in a ", cd_size, "-byte directory"), eocd);

  detail::Cursor c(p, size_t(cd_off + cd_size), "zip", size_t(cd_off));
  std::set<std::string_view> names;
  entries_.reserve(size_t(count));
  for (uint64_t k = 0; k < count; ++k) {
    size_t at = c.pos();
    const uint8_t* h = c.bytes(46, "central directory record");
    if (ld32(h) != kCentralSig) bad(msg("bad central directory signature for entry ", k), at);
    ZipEntry e;
    e.flags = ld16(h + 8);
    e.method = ld16(h + 10);
    e.crc32 = ld32(h + 16);
    e.compressed_size = ld32(h + 20);
    e.uncompressed_size = ld32(h + 24);
    uint16_t name_len = ld16(h + 28), extra_len = ld16(h + 30), comment_len = ld16(h + 32);
    uint32_t disk_start = ld16(h + 34);
    e.local_header_offset = ld32(h + 42);
    const uint8_t* name = c.bytes(name_len, "entry name");
    e.name.assign(reinterpret_cast<const char*>(name), name_len);
    size_t extra_at = c.pos();
    const uint8_t* extra = c.bytes(extra_len, "extra field");
    c.skip(comment_len, "entry comment");

    // zip64 extended information: only the fields saturated above, in order.
    for (size_t i = 0; i + 4 <= extra_len;) {
      uint16_t id = ld16(extra + i), sz = ld16(extra + i + 2);
      if (sz > extra_len - i - 4) bad("extra field runs past its record", extra_at + i);
      if (id == 0x0001) {
        const uint8_t* z = extra + i + 4;
        uint16_t left = sz;
        auto take64 = [&](uint64_t* v) {
          if (left < 8) bad("zip64 extra field is too short", extra_at + i);
          *v = ld64(z);
          z += 8;
          left -= 8;
        };
        if (e.uncompressed_size == k32) take64(&e.uncompressed_size);
        if (e.compressed_size == k32) take64(&e.compressed_size);
        if (e.local_header_offset == k32) take64(&e.local_header_offset);
        if (disk_start == k16) {
          if (left < 4) bad("zip64 extra field is too short", extra_at + i);
          disk_start = ld32(z);
        }
      }
      i += 4 + size_t(sz);
    }
    if (disk_start != 0) bad(msg("entry '", e.name, "' starts on another disk"), at);
    if (e.flags & 0x41) bad(msg("entry '", e.name, "' is encrypted"), at);
    if (e.method != 0 && e.method != 8)
      bad(msg("entry '", e.name, "' uses compression method ", e.method, " (only stored and deflate)"), at);
    if (e.method == 0 && e.compressed_size != e.uncompressed_size)
      bad(msg("stored entry '", e.name, "' has compressed size ", e.compressed_size,
              " != uncompressed size ", e.uncompressed_size), at);
    if (e.method == 8 && e.uncompressed_size > e.compressed_size * kMaxRatio + 64)
      bad(msg("entry '", e.name, "' declares ", e.uncompressed_size, " bytes from ", e.compressed_size,
              " compressed: impossible for deflate"), at);

    // Local header: same name and method; data must precede the directory.
    uint64_t lh = e.local_header_offset;
    if (!in_bounds(lh, 30, cd_off)) bad(msg("entry '", e.name, "' local header offset ", lh, " is out of range"), at);
    if (ld32(p + lh) != kLocalSig) bad(msg("bad local header signature for entry '", e.name, "'"), lh);
    uint16_t lflags = ld16(p + lh + 6), lmethod = ld16(p + lh + 8);
    uint32_t lcrc = ld32(p + lh + 14), lcsize = ld32(p + lh + 18);
    uint64_t lname = ld16(p + lh + 26), lextra = ld16(p + lh + 28);
    if (!in_bounds(lh + 30, lname + lextra, cd_off)) bad(msg("local header of '", e.name, "' runs into the directory"), lh);
    if (lname != name_len || std::memcmp(p + lh + 30, name, name_len) != 0)
      bad(msg("local header name does not match central directory name '", e.name, "'"), lh);
    if (lmethod != e.method) bad(msg("local header method of '", e.name, "' differs from the directory"), lh);
    if (!(lflags & 0x08) && (lcrc != e.crc32 || (lcsize != k32 && lcsize != e.compressed_size)))
      bad(msg("local header CRC/size of '", e.name, "' differ from the directory"), lh);
    e.data_offset = lh + 30 + lname + lextra;
    if (!in_bounds(e.data_offset, e.compressed_size, cd_off))
      bad(msg("data of '", e.name, "' [", e.data_offset, ", +", e.compressed_size, ") runs past the directory"),
          e.data_offset);
    entries_.push_back(std::move(e));
  }
  for (auto& e : entries_)
    if (!names.insert(e.name).second) bad(msg("duplicate entry name '", e.name, "'"), e.local_header_offset);

  // No member may overlap another (overlapping members are a zip-bomb trick).
  std::vector<const ZipEntry*> order;
  for (auto& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return a->local_header_offset < b->local_header_offset; });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i - 1]->data_offset + order[i - 1]->compressed_size > order[i]->local_header_offset)
      bad(msg("entries '", order[i - 1]->name, "' and '", order[i]->name, "' overlap"),
          order[i]->local_header_offset);
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  for (auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::shared_ptr<MappedFile> ZipReader::read(const ZipEntry& e) const {
  // Re-check against the file: `e` may not come from entries().
  if (!in_bounds(e.data_offset, e.compressed_size, file_->size()))
    bad(msg("entry '", e.name, "' data is out of range"), e.data_offset);
  const uint8_t* src = file_->data() + e.data_offset;
  std::shared_ptr<MappedFile> out;
  if (e.method == 0) {
    if (e.compressed_size != e.uncompressed_size) bad("stored entry sizes differ", e.data_offset);
    out = file_->slice(e.data_offset, e.compressed_size);
  } else if (e.method == 8) {
    if (e.uncompressed_size > e.compressed_size * kMaxRatio + 64) bad("impossible deflate ratio", e.data_offset);
    try {
      out = MappedFile::from_bytes(inflate_raw(src, size_t(e.compressed_size), e.uncompressed_size));
    } catch (const ValueError& err) {
      bad(msg("entry '", e.name, "': ", err.what()), e.data_offset);
    }
  } else {
    bad(msg("entry '", e.name, "' uses unsupported method ", e.method), e.local_header_offset);
  }
  uint32_t crc = crc32(out->data(), out->size());
  if (crc != e.crc32) bad(msg("CRC-32 mismatch in entry '", e.name, "' (data corrupt)"), e.data_offset);
  return out;
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

struct ZipWriter::Impl {
  FILE* f = nullptr;
  std::string path;
  std::vector<uint8_t> mem;
  uint64_t offset = 0;
  bool finished = false;
  struct Rec {
    std::string name;
    uint16_t method, flags;
    uint32_t crc;
    uint64_t csize, usize, offset;
  };
  std::vector<Rec> recs;

  void write(const void* p, size_t n) {
    if (!n) return;
    if (f) {
      if (std::fwrite(p, 1, n, f) != n) throw RuntimeError(msg("zip: failed writing ", path));
    } else {
      detail::put_bytes(mem, p, n);
    }
    offset += n;
  }
  void write(const std::vector<uint8_t>& v) { write(v.data(), v.size()); }
};

ZipWriter::ZipWriter(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->f = std::fopen(path.c_str(), "wb");
  if (!impl_->f) throw RuntimeError(msg("zip: failed to open ", path, " for writing"));
}

ZipWriter::ZipWriter() : impl_(std::make_unique<Impl>()) {}

ZipWriter::~ZipWriter() {
  if (impl_ && impl_->f) std::fclose(impl_->f);
}

void ZipWriter::add(const std::string& name, const std::vector<std::pair<const void*, size_t>>& chunks,
                    bool compress, int level) {
  Impl& z = *impl_;
  if (z.finished) throw ValueError("zip: add() after finish()");
  if (name.size() > 0xFFFF) throw ValueError("zip: entry name longer than 65535 bytes");
  Impl::Rec r{name, uint16_t(compress ? 8 : 0), 0, 0, 0, 0, z.offset};
  for (auto& [p, k] : chunks) r.crc = crc32(p, k, r.crc), r.usize += k;
  std::vector<uint8_t> packed;
  if (compress) packed = deflate_raw(chunks, level);
  r.csize = compress ? packed.size() : r.usize;
  // Bit 11: the name is UTF-8 (only needed when it is not plain ASCII).
  if (std::any_of(name.begin(), name.end(), [](char ch) { return uint8_t(ch) >= 0x80; })) r.flags |= 0x800;
  bool z64 = r.usize >= k32 || r.csize >= k32;

  std::vector<uint8_t> h;
  detail::put32(h, kLocalSig);
  detail::put16(h, z64 ? 45 : 20);
  detail::put16(h, r.flags);
  detail::put16(h, r.method);
  detail::put16(h, 0);       // time 00:00
  detail::put16(h, 0x0021);  // date 1980-01-01
  detail::put32(h, r.crc);
  detail::put32(h, z64 ? k32 : uint32_t(r.csize));
  detail::put32(h, z64 ? k32 : uint32_t(r.usize));
  detail::put16(h, uint16_t(name.size()));
  detail::put16(h, z64 ? 20 : 0);
  detail::put_bytes(h, name.data(), name.size());
  if (z64) {  // local zip64 extra carries both sizes
    detail::put16(h, 0x0001);
    detail::put16(h, 16);
    detail::put64(h, r.usize);
    detail::put64(h, r.csize);
  }
  z.write(h);
  if (compress) z.write(packed);
  else
    for (auto& [p, k] : chunks) z.write(p, k);
  z.recs.push_back(std::move(r));
}

void ZipWriter::finish() {
  Impl& z = *impl_;
  if (z.finished) return;
  z.finished = true;
  uint64_t cd_off = z.offset;
  for (auto& r : z.recs) {
    std::vector<uint8_t> x;  // zip64 extra: only the saturated fields
    if (r.usize >= k32) detail::put64(x, r.usize);
    if (r.csize >= k32) detail::put64(x, r.csize);
    if (r.offset >= k32) detail::put64(x, r.offset);
    std::vector<uint8_t> h;
    detail::put32(h, kCentralSig);
    detail::put16(h, x.empty() ? 20 : 45);  // made by: MS-DOS, spec version
    detail::put16(h, x.empty() ? 20 : 45);
    detail::put16(h, r.flags);
    detail::put16(h, r.method);
    detail::put16(h, 0);
    detail::put16(h, 0x0021);
    detail::put32(h, r.crc);
    detail::put32(h, r.csize >= k32 ? k32 : uint32_t(r.csize));
    detail::put32(h, r.usize >= k32 ? k32 : uint32_t(r.usize));
    detail::put16(h, uint16_t(r.name.size()));
    detail::put16(h, uint16_t(x.empty() ? 0 : x.size() + 4));
    detail::put16(h, 0);       // comment
    detail::put16(h, 0);       // disk
    detail::put16(h, 0);       // internal attributes
    detail::put32(h, 0);       // external attributes
    detail::put32(h, r.offset >= k32 ? k32 : uint32_t(r.offset));
    detail::put_bytes(h, r.name.data(), r.name.size());
    if (!x.empty()) {
      detail::put16(h, 0x0001);
      detail::put16(h, uint16_t(x.size()));
      detail::put_bytes(h, x.data(), x.size());
    }
    z.write(h);
  }
  uint64_t cd_size = z.offset - cd_off, count = z.recs.size();
  std::vector<uint8_t> e;
  if (count >= k16 || cd_size >= k32 || cd_off >= k32) {
    uint64_t z64 = z.offset;
    detail::put32(e, kEocd64Sig);
    detail::put64(e, 44);  // size of the rest of this record
    detail::put16(e, 45);
    detail::put16(e, 45);
    detail::put32(e, 0);
    detail::put32(e, 0);
    detail::put64(e, count);
    detail::put64(e, count);
    detail::put64(e, cd_size);
    detail::put64(e, cd_off);
    detail::put32(e, kLocatorSig);
    detail::put32(e, 0);
    detail::put64(e, z64);
    detail::put32(e, 1);
  }
  detail::put32(e, kEocdSig);
  detail::put16(e, 0);
  detail::put16(e, 0);
  detail::put16(e, count >= k16 ? k16 : uint16_t(count));
  detail::put16(e, count >= k16 ? k16 : uint16_t(count));
  detail::put32(e, cd_size >= k32 ? k32 : uint32_t(cd_size));
  detail::put32(e, cd_off >= k32 ? k32 : uint32_t(cd_off));
  detail::put16(e, 0);
  z.write(e);
  if (z.f) {
    FILE* f = z.f;
    z.f = nullptr;
    if (std::fclose(f) != 0) throw RuntimeError(msg("zip: failed closing ", z.path));
  }
}

std::vector<uint8_t> ZipWriter::take() {
  finish();
  return std::move(impl_->mem);
}

// ---------------------------------------------------------------------------
// npz
// ---------------------------------------------------------------------------

std::vector<NpzArray> load_npz(std::shared_ptr<MappedFile> file) {
  ZipReader zip(std::move(file));
  std::vector<NpzArray> out;
  out.reserve(zip.entries().size());
  for (const ZipEntry& e : zip.entries()) {
    std::string key = e.name;
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    NpzArray a;
    a.source = zip.read(e);
    try {
      a.record = load_npy(*a.source, key);
    } catch (const ValueError& err) {
      throw ValueError(msg("npz member '", e.name, "': ", err.what()));
    }
    out.push_back(std::move(a));
  }
  return out;
}

namespace {
void npz_into(ZipWriter& w, const std::vector<ArraySpec>& arrays, bool compress) {
  for (auto& [name, dtype, shape, data] : arrays) {
    std::vector<uint8_t> header = npy_header(dtype, shape);
    uint64_t nbytes = shape_nbytes(dtype, shape, msg("npz array '", name, "'"));
    if (nbytes && !data) throw ValueError(msg("npz array '", name, "' has no data"));
    w.add(name + ".npy", {{header.data(), header.size()}, {data, size_t(nbytes)}}, compress);
  }
  w.finish();
}
}  // namespace

void write_npz(const std::string& path, const std::vector<ArraySpec>& arrays, bool compress) {
  ZipWriter w(path);
  npz_into(w, arrays, compress);
}

std::vector<uint8_t> npz_bytes(const std::vector<ArraySpec>& arrays, bool compress) {
  ZipWriter w;
  npz_into(w, arrays, compress);
  return w.take();
}

}  // namespace oxmlx::io
