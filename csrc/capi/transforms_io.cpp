// C ABI: transforms over C callbacks, random numbers and file I/O.
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "core/host.h"
#include "capi/capi.h"
#include "core/io/io.h"
#include "core/primitive.h"
#include "core/transforms.h"
#include "ops/composite.h"

using namespace oxmlx;
using namespace oxmlx::capi;

namespace {

// The C function as an ArrayFn. The callback's failure becomes a
// CallbackFailed exception thrown here, in C++ frames only (never through
// the C caller's frames).
ArrayFn wrap(oxmlx_function fn, void* payload) {
  return [fn, payload](const std::vector<array>& in) {
    oxmlx_vector_array_ inputs{in};
    oxmlx_vector_array outputs = nullptr;
    oxmlx_status st = fn(&inputs, &outputs, payload);
    std::unique_ptr<oxmlx_vector_array_> owned(outputs);
    if (st != OXMLX_OK) {
      std::string m = oxmlx_last_error();
      throw CallbackFailed(st, msg("[callback] The function returned ", oxmlx_status_name(st),
                                   m.empty() ? "" : ": ", m));
    }
    if (!owned)
      throw CallbackFailed(OXMLX_ERROR_INVALID_ARGUMENT,
                           "[callback] The function returned OXMLX_OK without setting *outputs.");
    return owned->v;
  };
}

// Global key of the stateful random API (NULL keys).
struct RandomState {
  std::mutex mu;
  std::optional<array> key;
};
RandomState& random_state() {
  static RandomState* s = new RandomState;  // never destroyed: usable at exit
  return *s;
}

array next_key(const oxmlx_array key) {
  if (key) return key->a;
  auto& rs = random_state();
  std::lock_guard<std::mutex> lk(rs.mu);
  if (!rs.key)
    rs.key = random_key(uint64_t(std::chrono::system_clock::now().time_since_epoch().count()));
  array both = random_split(*rs.key, 2);
  array k = reshape(slice(both, {0, 0}, {1, 2}, {1, 1}), {2});
  array rest = reshape(slice(both, {1, 0}, {2, 2}, {1, 1}), {2});
  eval({k, rest});
  rs.key = rest;
  return k;
}

// The transforms that return two vectors (first, second) from the C
// function fn: both outputs reset (their argument names given), fn checked,
// then the pair run() returns is stored.
template <typename Run>
oxmlx_status two_vectors(const char* api, oxmlx_vector_array* first, const char* first_what,
                         oxmlx_vector_array* second, const char* second_what, oxmlx_function fn,
                         Run&& run) {
  return guard(api, [&] {
    reset(first, first_what);
    reset(second, second_what);
    need(fn, "fn");
    auto [a, b] = run();
    put(first, std::move(a));
    put(second, std::move(b));
  });
}

array load_record(const io::MappedFile& src, const io::TensorRecord& r) {
  Shape shape(r.shape.begin(), r.shape.end());
  auto d = allocator::malloc(std::max<size_t>(size_t(r.nbytes), 1));
  if (r.nbytes) std::memcpy(d->ptr, src.data() + r.offset, size_t(r.nbytes));
  if (r.byteswap) io::byteswap_inplace(d->ptr, r.nbytes, r.dtype);
  Strides strides = row_major_strides(shape);
  if (r.fortran_order) {
    int64_t s = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      strides[i] = s;
      s *= std::max<int64_t>(shape[i], 1);
    }
  }
  array a(std::move(d), shape, r.dtype, strides, 0);
  return r.fortran_order ? dense(a) : a;
}

}  // namespace

extern "C" {

// -------------------------------------------------------------- transforms

oxmlx_status oxmlx_vjp(oxmlx_vector_array* outputs, oxmlx_vector_array* vjps, oxmlx_function fn,
                       void* payload, const oxmlx_vector_array primals,
                       const oxmlx_vector_array cotangents) {
  return two_vectors("oxmlx_vjp", outputs, "outputs", vjps, "vjps", fn, [&] {
    std::vector<array> cot = cotangents ? cotangents->v : std::vector<array>{};
    return vjp(wrap(fn, payload), vec(primals, "primals"), cot);
  });
}

oxmlx_status oxmlx_jvp(oxmlx_vector_array* outputs, oxmlx_vector_array* jvps, oxmlx_function fn,
                       void* payload, const oxmlx_vector_array primals,
                       const oxmlx_vector_array tangents) {
  return two_vectors("oxmlx_jvp", outputs, "outputs", jvps, "jvps", fn, [&] {
    return jvp(wrap(fn, payload), vec(primals, "primals"), vec(tangents, "tangents"));
  });
}

oxmlx_status oxmlx_value_and_grad(oxmlx_vector_array* values, oxmlx_vector_array* grads,
                                  oxmlx_function fn, void* payload, const oxmlx_vector_array inputs,
                                  const int* argnums, size_t nargnums) {
  return two_vectors("oxmlx_value_and_grad", values, "values", grads, "grads", fn, [&] {
    const std::vector<array>& in = vec(inputs, "inputs");
    std::vector<int> args = argnums ? to_ints(argnums, nargnums, "argnums") : std::vector<int>{0};
    if (args.empty()) throw ValueError("[value_and_grad] argnums must not be empty.");
    std::vector<array> primals;
    for (int& k : args) {
      if (k < 0 || k >= int(in.size()))
        throw ValueError(msg("[value_and_grad] Invalid argnum ", k, " for a function of ",
                             in.size(), " inputs."));
      primals.push_back(in[k]);
    }
    ArrayFn f = wrap(fn, payload);
    std::vector<array> all_out;
    auto loss_fn = [&](const std::vector<array>& tracers) {
      std::vector<array> full = in;
      for (size_t i = 0; i < args.size(); ++i) full[args[i]] = tracers[i];
      all_out = f(full);
      if (all_out.empty() || all_out[0].size() != 1 || all_out[0].ndim() != 0)
        throw ValueError(msg("[value_and_grad] The function must return a scalar (0-d) array "
                             "first, got ",
                             all_out.empty() ? std::string("no outputs")
                                             : "shape " + shape_str(all_out[0].shape()),
                             "."));
      return std::vector<array>{all_out[0]};
    };
    auto [outs, g] = vjp(loss_fn, primals, {});
    all_out[0] = outs[0];
    return std::make_pair(std::move(all_out), std::move(g));
  });
}

// ------------------------------------------------------------------ random

oxmlx_status oxmlx_random_seed(uint64_t seed) {
  return guard("oxmlx_random_seed", [&] {
    auto& rs = random_state();
    std::lock_guard<std::mutex> lk(rs.mu);
    rs.key = random_key(seed);
  });
}
oxmlx_status oxmlx_random_key(oxmlx_array* out, uint64_t seed) {
  return guard("oxmlx_random_key", [&] {
    reset(out);
    put(out, random_key(seed));
  });
}
oxmlx_status oxmlx_random_split(oxmlx_array* out, const oxmlx_array key, int num,
                                const oxmlx_stream s) {
  return guard("oxmlx_random_split", [&] {
    reset(out);
    put(out, random_split(arr(key, "key"), num, sod(s)));
  });
}
oxmlx_status oxmlx_random_bits(oxmlx_array* out, const int64_t* shape, size_t ndim,
                               const oxmlx_array key, const oxmlx_stream s) {
  return guard("oxmlx_random_bits", [&] {
    reset(out);
    Shape sh = capi::to_shape(shape, ndim);
    put(out, random_bits(sh, next_key(key), sod(s)));
  });
}
oxmlx_status oxmlx_random_uniform(oxmlx_array* out, const oxmlx_array low, const oxmlx_array high,
                                  const int64_t* shape, size_t ndim, oxmlx_dtype dtype,
                                  const oxmlx_array key, const oxmlx_stream s) {
  return guard("oxmlx_random_uniform", [&] {
    reset(out);
    Shape sh = capi::to_shape(shape, ndim);
    array lo = low ? low->a : array(0.0f), hi = high ? high->a : array(1.0f);
    put(out, random_uniform(lo, hi, sh, to_dtype(dtype), next_key(key), sod(s)));
  });
}
oxmlx_status oxmlx_random_normal(oxmlx_array* out, const int64_t* shape, size_t ndim,
                                 oxmlx_dtype dtype, double loc, double scale,
                                 const oxmlx_array key, const oxmlx_stream s) {
  return guard("oxmlx_random_normal", [&] {
    reset(out);
    Shape sh = capi::to_shape(shape, ndim);
    put(out, random_normal(sh, to_dtype(dtype), loc, scale, next_key(key), sod(s)));
  });
}
oxmlx_status oxmlx_random_randint(oxmlx_array* out, const oxmlx_array low, const oxmlx_array high,
                                  const int64_t* shape, size_t ndim, oxmlx_dtype dtype,
                                  const oxmlx_array key, const oxmlx_stream s) {
  return guard("oxmlx_random_randint", [&] {
    reset(out);
    Shape sh = capi::to_shape(shape, ndim);
    put(out, random_randint(arr(low, "low"), arr(high, "high"), sh, to_dtype(dtype),
                            next_key(key), sod(s)));
  });
}
oxmlx_status oxmlx_random_bernoulli(oxmlx_array* out, const oxmlx_array p, const int64_t* shape,
                                    size_t ndim, const oxmlx_array key, const oxmlx_stream s) {
  return guard("oxmlx_random_bernoulli", [&] {
    reset(out);
    array pa = p ? p->a : array(0.5f);
    Shape sh = shape ? capi::to_shape(shape, ndim) : pa.shape();
    put(out, random_bernoulli(pa, sh, next_key(key), sod(s)));
  });
}

// ---------------------------------------------------------------------- io

oxmlx_status oxmlx_save(const char* path, const oxmlx_array a) {
  return guard("oxmlx_save", [&] {
    need(path, "path");
    array x = dense(arr(a));
    std::vector<int64_t> dims(x.shape().begin(), x.shape().end());
    io::save_npy(path, x.dtype(), dims, x.nbytes() ? x.raw_ptr() : nullptr);
  });
}

oxmlx_status oxmlx_load(oxmlx_array* out, const char* path) {
  return guard("oxmlx_load", [&] {
    reset(out);
    need(path, "path");
    auto src = io::MappedFile::open(path);
    io::TensorRecord r = io::load_npy(*src);
    put(out, load_record(*src, r));
  });
}

oxmlx_status oxmlx_save_safetensors(const char* path, const char* const* names,
                                    const oxmlx_vector_array arrays) {
  return guard("oxmlx_save_safetensors", [&] {
    need(path, "path");
    const auto& xs = vec(arrays);
    if (!xs.empty()) need(names, "names");
    std::vector<array> keep;
    std::vector<io::ArraySpec> specs;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!names[i]) throw InvalidArgument(msg("names[", i, "] is NULL"));
      keep.push_back(dense(xs[i]));
      const array& x = keep.back();
      specs.emplace_back(names[i], x.dtype(),
                         std::vector<int64_t>(x.shape().begin(), x.shape().end()), x.raw_ptr());
    }
    io::save_safetensors(path, specs);
  });
}

oxmlx_status oxmlx_load_safetensors(oxmlx_vector_array* arrays, oxmlx_names* names,
                                    const char* path) {
  return guard("oxmlx_load_safetensors", [&] {
    reset(arrays, "arrays");
    reset(names, "names");
    need(path, "path");
    auto src = io::MappedFile::open(path);
    io::SafetensorsFile st = io::parse_safetensors(src->data(), src->size());
    std::vector<array> xs;
    auto nm = std::make_unique<oxmlx_names_>();
    for (auto& r : st.tensors) {
      xs.push_back(load_record(*src, r));
      nm->v.push_back(r.name);
    }
    put(arrays, std::move(xs));
    *names = nm.release();
  });
}

}  // extern "C"
