// File I/O of oxmlx.core: mx.load, mx.save, mx.savez, mx.savez_compressed,
// mx.save_safetensors and mx.save_gguf with MLX's signatures and semantics.
// The formats themselves live in core/io; this file converts arguments,
// wraps loaded tensors around the file's bytes (zero-copy where aligned) and
// evaluates / densifies arrays before writing.
#include <nanobind/stl/string.h>

#include <sys/mman.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/host.h"
#include "core/io/io.h"
#include "core/primitive.h"
#include "python/bindings.h"

namespace oxmlx::py {

namespace {

using io::MappedFile;

// ---------------------------------------------------------------------------
// Files: paths (str / os.PathLike) or file-like objects
// ---------------------------------------------------------------------------

bool is_path(nb::handle f) {
  return PyUnicode_Check(f.ptr()) || PyBytes_Check(f.ptr()) || nb::hasattr(f, "__fspath__");
}

std::string to_path(nb::handle f) {
  nb::object p = nb::steal(PyOS_FSPath(f.ptr()));
  if (!p.is_valid()) throw nb::python_error();
  if (PyBytes_Check(p.ptr())) return std::string(PyBytes_AsString(p.ptr()), PyBytes_Size(p.ptr()));
  return nb::cast<std::string>(p);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes the chunks to a path or through file.write(bytes).
void write_out(nb::handle file, const std::string& path,
               const std::vector<std::pair<const void*, size_t>>& chunks) {
  if (is_path(file)) {
    nb::gil_scoped_release nogil;
    io::write_file(path, chunks);
    return;
  }
  nb::object write = file.attr("write");
  for (auto& [p, n] : chunks) {
    if (n == 0) continue;
    write(nb::steal(PyBytes_FromStringAndSize(static_cast<const char*>(p), Py_ssize_t(n))));
  }
}

void write_out(nb::handle file, const std::string& path, const std::vector<uint8_t>& bytes) {
  write_out(file, path, {{bytes.data(), bytes.size()}});
}

// Destination path for a save: MLX appends the format's extension when missing.
std::string save_path(nb::handle file, std::string_view ext, const char* fn) {
  if (is_path(file)) {
    std::string p = to_path(file);
    if (!ends_with(p, ext)) p += ext;
    return p;
  }
  if (!nb::hasattr(file, "write"))
    throw TypeError(msg("[", fn, "] file must be a str, a pathlib.Path or a writable file-like object"));
  return {};
}

// ---------------------------------------------------------------------------
// Loading: tensor records -> arrays
// ---------------------------------------------------------------------------

Strides layout_strides(const Shape& shape, bool fortran) {
  if (!fortran) return row_major_strides(shape);
  Strides st(shape.size());
  int64_t s = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    st[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

void release_source(void* ctx) { delete static_cast<std::shared_ptr<const MappedFile>*>(ctx); }

// An array over the record's bytes in `src`: zero-copy when the bytes are
// aligned to the item size and in native byte order (the Data keeps `src`
// alive), otherwise a copy (byteswapped for big-endian npy).
array record_to_array(const std::shared_ptr<const MappedFile>& src, const io::TensorRecord& r) {
  Shape shape(r.shape.begin(), r.shape.end());
  Strides strides = layout_strides(shape, r.fortran_order);
  const uint8_t* p = src->data() + r.offset;
  size_t item = r.dtype.size;
  if (!r.byteswap && reinterpret_cast<uintptr_t>(p) % item == 0) {
    auto* ctx = new std::shared_ptr<const MappedFile>(src);
    auto d = allocator::wrap(const_cast<uint8_t*>(p), size_t(r.nbytes), ctx, &release_source);
    return array(std::move(d), std::move(shape), r.dtype, std::move(strides), 0);
  }
  auto d = allocator::malloc(std::max<size_t>(size_t(r.nbytes), 1));
  if (r.nbytes) std::memcpy(d->ptr, p, size_t(r.nbytes));
  if (r.byteswap) io::byteswap_inplace(d->ptr, r.nbytes, r.dtype);
  return array(std::move(d), std::move(shape), r.dtype, std::move(strides), 0);
}

// Format name from `format` or the file's extension (MLX: the text after the
// last '.'); file-like objects use their .name when they have one.
std::string infer_format(nb::handle file, nb::handle format) {
  if (format.is_valid() && !format.is_none()) return nb::cast<std::string>(format);
  std::string name;
  if (is_path(file)) {
    name = to_path(file);
  } else if (nb::hasattr(file, "name") && PyUnicode_Check(file.attr("name").ptr())) {
    name = nb::cast<std::string>(file.attr("name"));
  }
  auto dot = name.rfind('.');
  auto slash = name.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    throw ValueError("[load] Could not infer file format from extension");
  return name.substr(dot + 1);
}

// Opens the source. A path that cannot be opened raises the exception type
// MLX raises for that format: RuntimeError (npy, safetensors) or ValueError
// (npz, gguf).
std::shared_ptr<MappedFile> open_source(nb::handle file, const std::string& fmt) {
  if (is_path(file)) {
    std::string path = to_path(file);
    try {
      nb::gil_scoped_release nogil;
      return MappedFile::open(path);
    } catch (const ValueError& e) {
      if (fmt == "npy" || fmt == "safetensors") throw RuntimeError(e.what());
      throw;
    }
  }
  if (!nb::hasattr(file, "read"))
    throw TypeError("[load] file must be a str, a pathlib.Path or a readable file-like object");
  nb::object data = file.attr("read")();
  char* buf = nullptr;
  Py_ssize_t n = 0;
  if (PyBytes_AsStringAndSize(data.ptr(), &buf, &n) != 0) throw nb::python_error();
  return MappedFile::from_bytes(std::vector<uint8_t>(buf, buf + n));
}

// GGUF metadata as MLX returns it: numeric/bool scalars -> 0-d arrays,
// numeric/bool arrays -> 1-d arrays (FLOAT64 becomes float32 as in MLX),
// STRING -> str, string arrays -> list[str].
Dtype gguf_value_dtype(io::GgufType t) {
  using T = io::GgufType;
  switch (t) {
    case T::UINT8: return uint8;
    case T::INT8: return int8;
    case T::UINT16: return uint16;
    case T::INT16: return int16;
    case T::UINT32: return uint32;
    case T::INT32: return int32;
    case T::UINT64: return uint64;
    case T::INT64: return int64;
    case T::FLOAT32: return float32;
    case T::FLOAT64: return float64;
    case T::BOOL: return bool_;
    default: throw ValueError("[load_gguf] unexpected metadata value type");
  }
}

nb::object gguf_value_to_py(const std::string& key, const io::GgufValue& v) {
  using T = io::GgufType;
  if (v.type == T::STRING) return nb::str(v.str.data(), v.str.size());
  if (v.type == T::ARRAY) {
    if (v.elem_type == T::STRING) {
      nb::list out;
      for (auto& s : v.strings) out.append(nb::str(s.data(), s.size()));
      return out;
    }
    if (v.elem_type == T::ARRAY)
      throw ValueError(msg("[load_gguf] metadata '", key,
                           "': only supports loading 1-layer of nested arrays."));
    Dtype dt = gguf_value_dtype(v.elem_type);
    Shape shape{int64_t(v.count)};
    if (dt == float64) {
      std::vector<float> f(v.count);
      for (uint64_t i = 0; i < v.count; ++i) {
        double d;
        std::memcpy(&d, v.raw.data() + 8 * i, 8);
        f[i] = float(d);
      }
      return nb::cast(array(f.data(), shape, float32));
    }
    if (dt == bool_) {
      std::vector<uint8_t> b(v.count);
      for (uint64_t i = 0; i < v.count; ++i) b[i] = v.raw[i] != 0;
      return nb::cast(array(b.data(), shape, bool_));
    }
    return nb::cast(array(v.raw.data(), shape, dt));
  }
  Dtype dt = gguf_value_dtype(v.type);
  uint64_t bits = v.bits;  // little-endian bits, zero-extended
  if (dt == float64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return nb::cast(array(float(d), float32));
  }
  if (dt == bool_) return nb::cast(array(bits != 0, bool_));
  uint8_t buf[8];
  std::memcpy(buf, &bits, 8);
  return nb::cast(array(buf, Shape{}, dt));
}

nb::object load_gguf(const std::shared_ptr<MappedFile>& file, bool return_metadata) {
  io::GgufFile g = io::parse_gguf(file->data(), file->size());
  nb::dict arrays;
  auto insert = [&](const std::string& name, array a) {
    nb::str k(name.data(), name.size());
    if (arrays.contains(k))
      throw ValueError(msg("[load_gguf] Duplicate parameter name ", name,
                           " this can happen when loading quantized tensors."));
    arrays[k] = nb::cast(std::move(a));
  };
  for (const io::GgufTensor& t : g.tensors) {
    if (t.plain) {
      insert(t.record.name, record_to_array(file, t.record));
    } else if (t.quantized) {
      io::AffineQuantized q = io::gguf_to_affine(t, file->data(), file->size());
      std::string prefix = io::gguf_quant_prefix(t.record.name);
      insert(t.record.name, array(q.weights.data(), Shape(q.weight_shape), uint32));
      insert(prefix + ".scales", array(q.scales.data(), Shape(q.scales_shape), float16));
      insert(prefix + ".biases", array(q.biases.data(), Shape(q.scales_shape), float16));
    } else {
      const char* tn = io::ggml_type_name(t.ggml_type);
      throw ValueError(msg("[load_gguf] tensor '", t.record.name, "': ggml type ",
                           tn ? tn : "?", " (", t.ggml_type, ") is not supported"));
    }
  }
  if (!return_metadata) return arrays;
  nb::dict meta;
  for (auto& [k, v] : g.metadata) meta[nb::str(k.data(), k.size())] = gguf_value_to_py(k, v);
  return nb::make_tuple(arrays, meta);
}

nb::object load(nb::handle file, nb::handle format, bool return_metadata) {
  std::string fmt = infer_format(file, format);
  if (fmt != "npy" && fmt != "npz" && fmt != "safetensors" && fmt != "gguf")
    throw ValueError(msg("[load] Unknown file format ", fmt));
  if (return_metadata && (fmt == "npy" || fmt == "npz"))
    throw ValueError(msg("[load] metadata not supported for format ", fmt));
  std::shared_ptr<MappedFile> src = open_source(file, fmt);
  // Loaded arrays alias the mapping and numpy views of them are writable:
  // make the private (copy-on-write) mapping writable so such writes change
  // only this process's copy instead of faulting. Should the kernel refuse
  // (commit limits), the arrays still alias the read-only mapping.
  if (src->is_mmapped() && src->size() > 0)
    ::mprotect(const_cast<uint8_t*>(src->data()), src->size(), PROT_READ | PROT_WRITE);

  if (fmt == "npy") {
    io::TensorRecord r = io::load_npy(*src);
    return nb::cast(record_to_array(src, r));
  }
  if (fmt == "npz") {
    std::vector<io::NpzArray> members = io::load_npz(src);
    nb::dict out;
    for (auto& m : members)
      out[nb::str(m.record.name.data(), m.record.name.size())] =
          nb::cast(record_to_array(m.source, m.record));
    return out;
  }
  if (fmt == "safetensors") {
    io::SafetensorsFile st = io::parse_safetensors(src->data(), src->size());
    nb::dict out;
    for (auto& r : st.tensors)
      out[nb::str(r.name.data(), r.name.size())] = nb::cast(record_to_array(src, r));
    if (!return_metadata) return out;
    nb::dict meta;
    for (auto& [k, v] : st.metadata) meta[nb::str(k.data(), k.size())] = nb::str(v.data(), v.size());
    return nb::make_tuple(out, meta);
  }
  return load_gguf(src, return_metadata);
}

// ---------------------------------------------------------------------------
// Saving: arrays -> evaluated dense buffers
// ---------------------------------------------------------------------------

array as_array(nb::handle h, const char* fn, const std::string& name) {
  if (!nb::isinstance<array>(h))
    throw TypeError(msg("[", fn, "] '", name, "' must be an array, got ",
                        nb::cast<std::string>(nb::str(h.type().attr("__name__")))));
  return nb::cast<array>(h);
}

// Evaluates the arrays and makes every one row-contiguous (copies only those
// that are not). `allow_col` keeps column-contiguous arrays as they are.
void evaluate_dense(std::vector<array>& arrs, bool allow_col = false) {
  {
    nb::gil_scoped_release nogil;
    eval(arrs);
  }
  std::vector<size_t> fix;
  for (size_t i = 0; i < arrs.size(); ++i) {
    const Flags& f = arrs[i].flags();
    if (f.row_contiguous || (allow_col && f.col_contiguous)) continue;
    arrs[i] = contiguous(arrs[i]);
    fix.push_back(i);
  }
  if (!fix.empty()) {
    std::vector<array> pending;
    for (size_t i : fix) pending.push_back(arrs[i]);
    nb::gil_scoped_release nogil;
    eval(pending);
  }
  for (auto& a : arrs) a = host_array(a);  // the writers read host memory
}

std::vector<int64_t> dims(const array& a) { return {a.shape().begin(), a.shape().end()}; }

// (name, array) pairs -> row-contiguous arrays and the writers' specs.
struct Batch {
  std::vector<std::string> names;
  std::vector<array> arrays;
  std::vector<io::ArraySpec> specs() const {
    std::vector<io::ArraySpec> out;
    for (size_t i = 0; i < arrays.size(); ++i)
      out.emplace_back(names[i], arrays[i].dtype(), dims(arrays[i]), arrays[i].raw_ptr());
    return out;
  }
};

Batch dict_batch(nb::handle arrays, const char* fn) {
  if (!PyDict_Check(arrays.ptr()))
    throw TypeError(msg("[", fn, "] arrays must be a dict of str to array"));
  Batch b;
  for (auto [k, v] : nb::borrow<nb::dict>(arrays)) {
    if (!PyUnicode_Check(k.ptr())) throw TypeError(msg("[", fn, "] array names must be str"));
    b.names.push_back(nb::cast<std::string>(k));
    b.arrays.push_back(as_array(v, fn, b.names.back()));
  }
  evaluate_dense(b.arrays);
  return b;
}

void save(nb::handle file, nb::handle arr_h) {
  std::string path = save_path(file, ".npy", "save");
  std::vector<array> arrs{as_array(arr_h, "save", "arr")};
  evaluate_dense(arrs, /*allow_col=*/true);
  array& a = arrs[0];
  bool fortran = !a.flags().row_contiguous;  // then column-contiguous
  std::vector<uint8_t> header = io::npy_header(a.dtype(), dims(a), fortran);
  write_out(file, path, {{header.data(), header.size()}, {a.raw_ptr(), a.nbytes()}});
}

void savez(nb::handle file, nb::args args, nb::kwargs kwargs, bool compress) {
  const char* fn = compress ? "savez_compressed" : "savez";
  std::string path = save_path(file, ".npz", fn);
  Batch b;
  for (size_t i = 0; i < args.size(); ++i) {
    b.names.push_back(msg("arr_", i));
    b.arrays.push_back(as_array(args[i], fn, b.names.back()));
  }
  for (auto [k, v] : kwargs) {
    std::string name = nb::cast<std::string>(k);
    for (size_t i = 0; i < args.size(); ++i)
      if (b.names[i] == name)
        throw ValueError(msg("[", fn, "] Cannot use un-named variables and keyword ", name));
    b.names.push_back(name);
    b.arrays.push_back(as_array(v, fn, name));
  }
  evaluate_dense(b.arrays);
  if (is_path(file)) {
    auto specs = b.specs();
    nb::gil_scoped_release nogil;
    io::write_npz(path, specs, compress);
  } else {
    write_out(file, path, io::npz_bytes(b.specs(), compress));
  }
}

void save_safetensors(nb::handle file, nb::handle arrays, nb::handle metadata) {
  std::string path = save_path(file, ".safetensors", "save_safetensors");
  std::map<std::string, std::string> meta;
  if (metadata.is_valid() && !metadata.is_none()) {
    bool ok = PyDict_Check(metadata.ptr());
    if (ok) {
      for (auto [k, v] : nb::borrow<nb::dict>(metadata)) {
        if (!PyUnicode_Check(k.ptr()) || !PyUnicode_Check(v.ptr())) {
          ok = false;
          break;
        }
        meta[nb::cast<std::string>(k)] = nb::cast<std::string>(v);
      }
    }
    if (!ok)
      throw ValueError("[save_safetensors] Metadata must be a dictionary with string keys and values");
  }
  Batch b = dict_batch(arrays, "save_safetensors");
  auto bytes = io::safetensors_bytes(b.specs(), meta);
  write_out(file, path, bytes);
}

io::GgufType gguf_meta_type(Dtype d, const std::string& key) {
  using T = io::GgufType;
  switch (d.val) {
    case Dtype::Val::float32: return T::FLOAT32;
    case Dtype::Val::int64: return T::INT64;
    case Dtype::Val::int32: return T::INT32;
    case Dtype::Val::int16: return T::INT16;
    case Dtype::Val::int8: return T::INT8;
    case Dtype::Val::uint64: return T::UINT64;
    case Dtype::Val::uint32: return T::UINT32;
    case Dtype::Val::uint16: return T::UINT16;
    case Dtype::Val::uint8: return T::UINT8;
    case Dtype::Val::bool_: return T::BOOL;
    default:
      throw ValueError(msg("[save_gguf] metadata '", key, "': array type ", dtype_name(d),
                           " not supported for metadata."));
  }
}

io::GgufValue gguf_meta_value(const std::string& key, nb::handle v) {
  if (PyUnicode_Check(v.ptr())) return io::GgufValue::string(nb::cast<std::string>(v));
  if (PyList_Check(v.ptr()) || PyTuple_Check(v.ptr())) {
    std::vector<std::string> strs;
    for (nb::handle s : v) {
      if (!PyUnicode_Check(s.ptr()))
        throw ValueError(msg("[save_gguf] metadata '", key, "': lists must hold only str"));
      strs.push_back(nb::cast<std::string>(s));
    }
    return io::GgufValue::string_array(std::move(strs));
  }
  array a;
  if (nb::isinstance<array>(v)) {
    a = nb::cast<array>(v);
  } else if (is_python_scalar(v) && !PyComplex_Check(v.ptr())) {
    a = to_array(v);
  } else {
    throw ValueError(msg("[save_gguf] metadata '", key,
                         "': values must be str, list of str, or a scalar or 1-D array"));
  }
  if (a.ndim() > 1)
    throw ValueError(msg("[save_gguf] metadata '", key,
                         "': Cannot save arrays with more than one dimension."));
  if (a.size() == 0)
    throw ValueError(msg("[save_gguf] metadata '", key, "': Cannot save empty arrays."));
  io::GgufType t = gguf_meta_type(a.dtype(), key);
  std::vector<array> arrs{a};
  evaluate_dense(arrs);
  a = arrs[0];
  const uint8_t* p = static_cast<const uint8_t*>(a.raw_ptr());
  std::vector<uint8_t> raw(p, p + a.nbytes());
  if (a.dtype() == bool_)
    for (auto& b : raw) b = b != 0;
  if (a.ndim() == 1) return io::GgufValue::array(t, uint64_t(a.size()), std::move(raw));
  io::GgufValue out;
  out.type = t;
  std::memcpy(&out.bits, raw.data(), raw.size());  // little-endian, zero-extended
  return out;
}

void save_gguf(nb::handle file, nb::handle arrays, nb::handle metadata) {
  std::string path = save_path(file, ".gguf", "save_gguf");
  std::vector<std::pair<std::string, io::GgufValue>> meta;
  if (metadata.is_valid() && !metadata.is_none()) {
    if (!PyDict_Check(metadata.ptr()))
      throw TypeError("[save_gguf] metadata must be a dict of str to str, list of str or array");
    for (auto [k, v] : nb::borrow<nb::dict>(metadata)) {
      if (!PyUnicode_Check(k.ptr())) throw TypeError("[save_gguf] metadata keys must be str");
      std::string key = nb::cast<std::string>(k);
      meta.emplace_back(key, gguf_meta_value(key, v));
    }
  }
  Batch b = dict_batch(arrays, "save_gguf");
  auto bytes = io::gguf_bytes(b.specs(), meta);
  write_out(file, path, bytes);
}

}  // namespace

void init_io(nb::module_& m) {
  m.def(
      "load",
      [](nb::handle file, nb::handle format, bool return_metadata, nb::handle /*stream*/) {
        return load(file, format, return_metadata);
      },
      "file"_a, "format"_a.none() = nb::none(), "return_metadata"_a = false, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "Load array(s) from a .npy, .npz, .safetensors or .gguf file (path or file-like).");
  m.def("save", &save, "file"_a, "arr"_a, "Save an array to a .npy file.");
  m.def(
      "savez",
      [](nb::handle file, nb::args args, nb::kwargs kwargs) { savez(file, args, kwargs, false); },
      "file"_a, "args"_a, "kwargs"_a, "Save arrays to an uncompressed .npz file.");
  m.def(
      "savez_compressed",
      [](nb::handle file, nb::args args, nb::kwargs kwargs) { savez(file, args, kwargs, true); },
      "file"_a, "args"_a, "kwargs"_a, "Save arrays to a compressed .npz file.");
  m.def("save_safetensors", &save_safetensors, "file"_a, "arrays"_a,
        "metadata"_a.none() = nb::none(), "Save a dict of arrays to a .safetensors file.");
  m.def("save_gguf", &save_gguf, "file"_a, "arrays"_a, "metadata"_a.none() = nb::none(),
        "Save a dict of arrays (and metadata) to a .gguf file.");
}

}  // namespace oxmlx::py
