// compile's fused elementwise programs on the GPU: one CUDA kernel per
// program (and input layout), generated as source, compiled at run time by
// NVRTC into a cubin for the device, loaded as a module and cached by the
// program's signature.
//
// NVRTC is opened with dlopen the first time (libnvrtc.so.13 on the loader
// path, $OXMLX_NVRTC, the nvidia-cuda-nvrtc wheel beside oxmlx or beside
// cuBLASLt, or the CUDA toolkit; its builtins library is preloaded from the
// same folder), the cubin is loaded and launched through the driver API
// (libcuda.so.1, also opened with dlopen: cuModuleLoadData,
// cuModuleGetFunction, cuLaunchKernel on the runtime's primary context);
// the few entry points used are declared here (no NVRTC or driver headers
// needed at build time). Without NVRTC the fused node
// runs its ordinary elementwise nodes (on the GPU) instead; a program that
// fails to compile runs on the CPU backend through host copies.
// OXMLX_CUDA_STRICT=1 turns both into errors (a test hook).
//
// Kernel shape: when every input is dense (row-contiguous over the output)
// or a single value, each thread reads V consecutive elements of each input
// with one aligned vector load (16 bytes for the narrowest type), runs the
// program on them in registers and stores V outputs per output; otherwise
// inputs with other layouts (broadcast rows, transposes, slices) are read
// through merged-dimension strides, one element per thread and step.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/dynlib.h"
#include "core/host.h"

namespace oxmlx::cuda {

namespace {

const char* kPrelude =
#include "backend/cuda/fused_prelude.inc"
    ;

// ---------------------------------------------------------------- NVRTC

using nvrtcProgram = void*;
struct Nvrtc {
  int (*create)(nvrtcProgram*, const char*, const char*, int, const char* const*,
                const char* const*) = nullptr;
  int (*compile)(nvrtcProgram, int, const char* const*) = nullptr;
  int (*cubin_size)(nvrtcProgram, size_t*) = nullptr;
  int (*cubin)(nvrtcProgram, char*) = nullptr;
  int (*log_size)(nvrtcProgram, size_t*) = nullptr;
  int (*log)(nvrtcProgram, char*) = nullptr;
  int (*destroy)(nvrtcProgram*) = nullptr;
  const char* (*error_string)(int) = nullptr;
  // Driver API.
  int (*module_load)(void**, const void*) = nullptr;
  int (*get_function)(void**, void*, const char*) = nullptr;
  int (*launch)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                void*, void**, void**) = nullptr;
  int (*ctx_current)(void**) = nullptr;
  std::string error;  // why NVRTC is unusable ("" when it works)
  std::string arch;   // --gpu-architecture=sm_XY
};

// NVRTC opens libnvrtc-builtins.so.13.* by name at compile time; a wheel's
// folder is not on the loader path, so load it from libnvrtc's folder first.
void preload_builtins(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string nm = e->d_name;
    if (nm.rfind("libnvrtc-builtins.so.", 0) == 0 &&
        dlopen((dir + "/" + nm).c_str(), RTLD_NOW | RTLD_GLOBAL))
      break;
  }
  closedir(d);
}

void* open_nvrtc() {
  auto paths = library_paths("OXMLX_NVRTC", "libnvrtc.so.13", "cuda_nvrtc");
  // Beside cuBLASLt (the CUDA 13 wheels share one lib folder).
  if (void* h = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL)) {
    if (void* sym = dlsym(h, "cublasLtCreate")) paths.push_back(dir_of(sym) + "/libnvrtc.so.13");
  }
  for (const char* p : {"/usr/local/cuda/lib64/libnvrtc.so.13",
                        "/usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.13",
                        "/usr/local/cuda/targets/sbsa-linux/lib/libnvrtc.so.13"})
    paths.push_back(p);
  paths.push_back("libnvrtc.so");
  return open_first(paths);
}

Nvrtc& nvrtc() {
  static Nvrtc* n = [] {
    auto* n = new Nvrtc();
    void* h = open_nvrtc();
    if (!h) {
      n->error = "libnvrtc.so.13 was not found (install nvidia-cuda-nvrtc or set OXMLX_NVRTC)";
      return n;
    }
    auto sym = [&](auto& fn, const char* name) { bind_symbol(h, fn, name, "NVRTC", n->error); };
    sym(n->create, "nvrtcCreateProgram");
    sym(n->compile, "nvrtcCompileProgram");
    sym(n->cubin_size, "nvrtcGetCUBINSize");
    sym(n->cubin, "nvrtcGetCUBIN");
    sym(n->log_size, "nvrtcGetProgramLogSize");
    sym(n->log, "nvrtcGetProgramLog");
    sym(n->destroy, "nvrtcDestroyProgram");
    sym(n->error_string, "nvrtcGetErrorString");
    if (n->create) preload_builtins(dir_of(reinterpret_cast<void*>(n->create)));
    void* cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cu && n->error.empty()) n->error = "libcuda.so.1 could not be opened";
    if (cu) {
      auto dsym = [&](auto& fn, const char* name) { bind_symbol(cu, fn, name, "libcuda", n->error); };
      dsym(n->module_load, "cuModuleLoadData");
      dsym(n->get_function, "cuModuleGetFunction");
      dsym(n->launch, "cuLaunchKernel");
      dsym(n->ctx_current, "cuCtxGetCurrent");
    }
    int dev = 0, major = 0, minor = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
    n->arch = "--gpu-architecture=sm_" + std::to_string(major * 10 + minor);
    return n;
  }();
  return *n;
}

bool strict() {
  const char* s = std::getenv("OXMLX_CUDA_STRICT");
  return s && *s && std::strcmp(s, "0") != 0;
}

// The driver calls need the runtime's (primary) context current on this thread.
void ensure_context() {
  void* ctx = nullptr;
  if (nvrtc().ctx_current(&ctx) != 0 || !ctx) cudaSetDevice(0);
}

// Compiles `src` and returns its kernel `name` (nullptr and `log` on failure).
void* build(const std::string& src, const char* name, std::string& log) {
  Nvrtc& n = nvrtc();
  nvrtcProgram prog = nullptr;
  int r = n.create(&prog, src.c_str(), "oxmlx_fused.cu", 0, nullptr, nullptr);
  if (r != 0) {
    log = std::string("nvrtcCreateProgram: ") + n.error_string(r);
    return nullptr;
  }
  // No FMA contraction: a fused chain rounds every op as the unfused
  // kernels do (eager fusion relies on equal values).
  const char* opts[] = {n.arch.c_str(), "--std=c++17", "-default-device", "--fmad=false"};
  r = n.compile(prog, 4, opts);
  size_t ls = 0;
  n.log_size(prog, &ls);
  std::string lg(ls, '\0');
  if (ls) n.log(prog, lg.data());
  if (r != 0) {
    log = std::string(n.error_string(r)) + "\n" + lg;
    n.destroy(&prog);
    return nullptr;
  }
  size_t cs = 0;
  n.cubin_size(prog, &cs);
  std::vector<char> bin(cs);
  n.cubin(prog, bin.data());
  n.destroy(&prog);
  if (bin.empty()) {
    log = "NVRTC produced no cubin";
    return nullptr;
  }
  ensure_context();
  void* mod = nullptr;
  int e = n.module_load(&mod, bin.data());
  if (e != 0) {
    log = "cuModuleLoadData failed (CUresult " + std::to_string(e) + ")";
    return nullptr;
  }
  void* fn = nullptr;
  e = n.get_function(&fn, mod, name);
  if (e != 0) {
    log = "cuModuleGetFunction failed (CUresult " + std::to_string(e) + ")";
    return nullptr;
  }
  return fn;  // the module stays loaded for the process
}

// ---------------------------------------------------------------- codegen

const char* ctype(Dtype d) {
  switch (d.val) {
    case Dtype::Val::bool_: return "bool";
    case Dtype::Val::uint8: return "u8";
    case Dtype::Val::uint16: return "u16";
    case Dtype::Val::uint32: return "u32";
    case Dtype::Val::uint64: return "u64";
    case Dtype::Val::int8: return "i8";
    case Dtype::Val::int16: return "i16";
    case Dtype::Val::int32: return "i32";
    case Dtype::Val::int64: return "i64";
    case Dtype::Val::float16: return "f16";
    case Dtype::Val::float32: return "float";
    case Dtype::Val::float64: return "double";
    case Dtype::Val::bfloat16: return "bf16";
    default: return nullptr;
  }
}

enum Kind : char { Dense = 'd', Single = 's', Strided = 'x' };

struct Plan {
  std::vector<Kind> kind;
  int vec = 1;          // elements per thread and step (dense path)
  int unroll = 1;       // vectors per thread and step (dense path)
  int nd = 0;           // merged dims of the strided inputs
  bool idx32 = true;    // the element count fits 32-bit index math
  Shape shape;          // merged
  std::vector<Strides> st;  // per strided input, merged
};

// The kernel's source for program p under plan.
std::string generate(const FusedProgram& p, const Plan& pl, std::string* err) {
  const int nin = int(p.input_dtypes.size()), nout = int(p.outputs.size());
  std::vector<Dtype> rd(p.input_dtypes);
  for (auto& ins : p.instrs) rd.push_back(ins.dtype);
  for (auto d : rd)
    if (!ctype(d)) {
      *err = "unsupported dtype";
      return {};
    }
  int ns = 0;
  for (auto k : pl.kind) ns += k == Strided;
  std::string s = kPrelude;
  s += "struct Args { const void* in[" + std::to_string(nin) + "]; void* out[" +
       std::to_string(nout) + "]; i64 n; i64 shape[" + std::to_string(std::max(pl.nd, 1)) +
       "]; i64 st[" + std::to_string(std::max(ns, 1)) + "][" + std::to_string(std::max(pl.nd, 1)) +
       "]; };\n";
  // The program: inputs by value, outputs by reference.
  s += "__device__ __forceinline__ void prog(";
  for (int i = 0; i < nin; ++i) s += std::string(i ? ", " : "") + ctype(rd[i]) + " r" + std::to_string(i);
  for (int o = 0; o < nout; ++o) s += std::string(", ") + ctype(rd[p.outputs[o]]) + "& y" + std::to_string(o);
  s += ") {\n";
  auto R = [](int r) { return "r" + std::to_string(r); };
  for (size_t k = 0; k < p.instrs.size(); ++k) {
    const FusedInstr& ins = p.instrs[k];
    int r = nin + int(k);
    std::string t = ctype(ins.dtype);
    std::string ta = ins.a >= 0 ? ctype(rd[ins.a]) : "";
    std::string op = std::to_string(int(ins.op));
    std::string e;
    switch (ins.kind) {
      case FusedInstr::Kind::Unary: {
        bool pred = ins.op == uint8_t(UnaryOp::LogicalNot) || ins.op >= uint8_t(UnaryOp::IsNan);
        if (ins.op > uint8_t(UnaryOp::IsNegInf)) {
          *err = "unsupported unary op";
          return {};
        }
        e = std::string(pred ? "pr<" : "un<") + op + ", " + ta + ">(" + R(ins.a) + ")";
        break;
      }
      case FusedInstr::Kind::Binary: {
        bool c = ins.op >= uint8_t(BinaryOp::Equal) && ins.op <= uint8_t(BinaryOp::LogicalOr);
        e = std::string(c ? "cmp<" : "bi<") + op + ", " + ta + ">(" + R(ins.a) + ", " + R(ins.b) + ")";
        break;
      }
      case FusedInstr::Kind::Select:
        e = "cv<bool>(" + R(ins.a) + ") ? " + R(ins.b) + " : " + R(ins.c);
        break;
      case FusedInstr::Kind::Cast:
        e = "cv<" + t + ">(" + R(ins.a) + ")";
        break;
    }
    s += "  " + t + " " + R(r) + " = " + e + ";\n";
  }
  for (int o = 0; o < nout; ++o) s += "  y" + std::to_string(o) + " = " + R(p.outputs[o]) + ";\n";
  s += "}\n";
  // The kernel.
  s += "extern \"C\" __global__ void __launch_bounds__(256) ox_fused(const Args a) {\n";
  s += "  const i64 tid = i64(blockIdx.x) * blockDim.x + threadIdx.x, step = i64(gridDim.x) * blockDim.x;\n";
  for (int i = 0; i < nin; ++i) {
    std::string t = ctype(rd[i]), I = std::to_string(i);
    if (pl.kind[i] == Single) s += "  const " + t + " s" + I + " = *(const " + t + "*)a.in[" + I + "];\n";
    else s += "  const " + t + "* __restrict__ p" + I + " = (const " + t + "*)a.in[" + I + "];\n";
  }
  for (int o = 0; o < nout; ++o) {
    std::string t = ctype(rd[p.outputs[o]]), O = std::to_string(o);
    s += "  " + t + "* __restrict__ q" + O + " = (" + t + "*)a.out[" + O + "];\n";
  }
  // Arguments of prog for element index expression `ix` (dense) with
  // strided inputs at offsets x<k>.
  auto call = [&](const std::string& ix) {
    std::string c = "prog(";
    int sk = 0;
    for (int i = 0; i < nin; ++i) {
      std::string I = std::to_string(i);
      if (i) c += ", ";
      if (pl.kind[i] == Single) c += "s" + I;
      else if (pl.kind[i] == Dense) c += "p" + I + "[" + ix + "]";
      else c += "p" + I + "[x" + std::to_string(sk++) + "]";
    }
    for (int o = 0; o < nout; ++o) c += ", q" + std::to_string(o) + "[" + ix + "]";
    return c + ");";
  };
  if (ns == 0) {
    const std::string V = std::to_string(pl.vec);
    if (pl.vec > 1) {
      // Tiles of U x 256 vectors per block and step: every thread issues
      // its U vector loads of each input before computing (more bytes in
      // flight than one vector per step); the last, partial tile is guarded.
      const std::string U = std::to_string(pl.unroll);
      auto body = [&](const std::string& ind, const std::string& uu) {
        std::string b;
        for (int i = 0; i < nin; ++i) {
          if (pl.kind[i] != Dense) continue;
          std::string t = ctype(rd[i]), I = std::to_string(i);
          b += ind + "Pack<" + t + ", " + V + "> v" + I + "[" + uu + "];\n";
          b += ind + "#pragma unroll\n" + ind + "for (int u = 0; u < " + uu +
               "; ++u) v" + I + "[u] = ((const Pack<" + t + ", " + V + ">*)p" + I +
               ")[c + u * 256];\n";
        }
        for (int o = 0; o < nout; ++o)
          b += ind + "Pack<" + std::string(ctype(rd[p.outputs[o]])) + ", " + V + "> w" +
               std::to_string(o) + "[" + uu + "];\n";
        b += ind + "#pragma unroll\n" + ind + "for (int u = 0; u < " + uu + "; ++u)\n";
        b += ind + "#pragma unroll\n" + ind + "  for (int e = 0; e < " + V + "; ++e) prog(";
        for (int i = 0; i < nin; ++i) {
          std::string I = std::to_string(i);
          b += std::string(i ? ", " : "") + (pl.kind[i] == Single ? "s" + I : "v" + I + "[u].v[e]");
        }
        for (int o = 0; o < nout; ++o) b += ", w" + std::to_string(o) + "[u].v[e]";
        b += ");\n";
        for (int o = 0; o < nout; ++o) {
          std::string O = std::to_string(o);
          b += ind + "#pragma unroll\n" + ind + "for (int u = 0; u < " + uu + "; ++u) ((Pack<" +
               ctype(rd[p.outputs[o]]) + ", " + V + ">*)q" + O + ")[c + u * 256] = w" + O + "[u];\n";
        }
        return b;
      };
      s += "  const i64 nc = a.n / " + V + ", tile = i64(256) * " + U + ";\n";
      s += "  i64 c = i64(blockIdx.x) * tile + threadIdx.x;\n";
      s += "  for (; c + (" + U + " - 1) * 256 < nc; c += i64(gridDim.x) * tile) {\n";
      s += body("    ", U);
      s += "  }\n";
      s += "  for (; c < nc; c += 256) {\n" + body("    ", "1") + "  }\n";
      s += "  for (i64 i = nc * " + V + " + tid; i < a.n; i += step) " + call("i") + "\n";
    } else {
      s += "  for (i64 i = tid; i < a.n; i += step) " + call("i") + "\n";
    }
  } else {
    const std::string ND = std::to_string(pl.nd);
    s += "  for (i64 i = tid; i < a.n; i += step) {\n";
    for (int k = 0; k < ns; ++k) s += "    i64 x" + std::to_string(k) + " = 0;\n";
    const char* it = pl.idx32 ? "u32" : "i64";
    s += std::string("    ") + it + " j = (" + it + ")i;\n";
    s += "#pragma unroll\n    for (int d = " + ND + " - 1; d >= 0; --d) {\n";
    s += std::string("      const ") + it + " sh = (" + it + ")a.shape[d], q = j / sh, r = j - q * sh;\n";
    for (int k = 0; k < ns; ++k)
      s += "      x" + std::to_string(k) + " += i64(r) * a.st[" + std::to_string(k) + "][d];\n";
    s += "      j = q;\n    }\n";
    s += "    " + call("i") + "\n  }\n";
  }
  s += "}\n";
  return s;
}

// The signature a compiled kernel is cached under.
std::string signature(const FusedProgram& p, const Plan& pl) {
  std::string k;
  k.reserve(16 + p.instrs.size() * 8 + p.input_dtypes.size() * 2);
  for (auto d : p.input_dtypes) k += char('A' + int(d.val));
  k += '|';
  for (auto c : pl.kind) k += char(c);
  k += '|';
  for (auto& ins : p.instrs) {
    k += char('0' + int(ins.kind));
    k += char(ins.op);
    k += char('A' + int(ins.dtype.val));
    for (int32_t r : {ins.a, ins.b, ins.c}) k.append(reinterpret_cast<const char*>(&r), 4);
  }
  k += '|';
  for (int32_t r : p.outputs) k.append(reinterpret_cast<const char*>(&r), 4);
  k += '|' + std::to_string(pl.vec) + ',' + std::to_string(pl.unroll) + ',' +
       std::to_string(pl.nd) + ',' + char('0' + pl.idx32);
  return k;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, void*> kernels;  // nullptr: failed to build
};
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

int sm_count() {
  static int n = [] {
    int dev = 0, v = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev);
    return v > 0 ? v : 1;
  }();
  return n;
}

}  // namespace

void CudaBackend::fused(const FusedProgram& program, const std::vector<array>& inputs_h,
                        std::vector<array>& outputs) {
  Nvrtc& n = nvrtc();
  if (!n.error.empty()) {
    if (strict()) throw RuntimeError(msg("[cuda] fused: ", n.error, "."));
    // FusedPrim then runs the program's ordinary nodes (on this backend).
    throw RuntimeError("[cuda] fused is not implemented by the cuda backend without NVRTC.");
  }
  const Shape shape = outputs[0].shape();
  const int64_t total = outputs[0].size();
  const int nin = int(inputs_h.size());
  std::vector<array> in;
  for (auto& a : inputs_h) in.push_back(on_gpu(a));
  for (auto& o : outputs) alloc_out(o);
  if (total == 0) return;

  // Classify the inputs over the output's shape.
  Plan pl;
  pl.kind.resize(nin);
  const int nd = int(shape.size());
  Strides rm = row_major_strides(shape);
  std::vector<Strides> bst(nin);
  for (int i = 0; i < nin; ++i) {
    const array& a = in[i];
    Strides st(nd, 0);
    int diff = nd - a.ndim();
    bool single = true, dense = true;
    for (int d = 0; d < a.ndim(); ++d) st[d + diff] = a.shape(d) == 1 ? 0 : a.strides()[d];
    for (int d = 0; d < nd; ++d) {
      if (shape[d] == 1) continue;
      single &= st[d] == 0;
      dense &= st[d] == rm[d];
    }
    pl.kind[i] = single ? Single : dense ? Dense : Strided;
    bst[i] = std::move(st);
  }
  std::vector<int> sx;
  for (int i = 0; i < nin; ++i)
    if (pl.kind[i] == Strided) sx.push_back(i);
  if (!sx.empty()) {
    // Merge dims (size-1 dims dropped; neighbours merged when every strided
    // input steps through them as one).
    std::vector<int64_t> sh;
    std::vector<std::vector<int64_t>> ms(sx.size());
    for (int d = 0; d < nd; ++d) {
      if (shape[d] == 1) continue;
      bool merge = !sh.empty();
      for (size_t k = 0; k < sx.size() && merge; ++k)
        merge = ms[k].back() == bst[sx[k]][d] * shape[d];
      if (merge) {
        sh.back() *= shape[d];
        for (size_t k = 0; k < sx.size(); ++k) ms[k].back() = bst[sx[k]][d];
        continue;
      }
      sh.push_back(shape[d]);
      for (size_t k = 0; k < sx.size(); ++k) ms[k].push_back(bst[sx[k]][d]);
    }
    pl.nd = int(sh.size());
    pl.shape = Shape(sh.begin(), sh.end());
    for (auto& v : ms) pl.st.push_back(Strides(v.begin(), v.end()));
    pl.idx32 = total < (int64_t(1) << 32);
  } else {
    // Widest vector that every dense pointer is aligned for.
    size_t min_sz = 16;
    for (int i = 0; i < nin; ++i)
      if (pl.kind[i] == Dense) min_sz = std::min(min_sz, in[i].itemsize());
    for (auto& o : outputs) min_sz = std::min(min_sz, o.itemsize());
    int v = int(16 / std::max<size_t>(min_sz, 1));
    auto aligned = [&](const void* ptr, size_t isz, int v) {
      return reinterpret_cast<uintptr_t>(ptr) % (isz * size_t(v)) == 0;
    };
    while (v > 1) {
      bool ok = true;
      for (int i = 0; i < nin && ok; ++i)
        if (pl.kind[i] == Dense) ok = aligned(in[i].raw_ptr(), in[i].itemsize(), v);
      for (size_t o = 0; o < outputs.size() && ok; ++o)
        ok = aligned(outputs[o].raw_ptr(), outputs[o].itemsize(), v);
      if (ok) break;
      v /= 2;
    }
    pl.vec = v;
    // Vectors per thread: about four 16-byte loads in flight per thread.
    int dense = 0;
    for (int i = 0; i < nin; ++i) dense += pl.kind[i] == Dense;
    pl.unroll = v == 1 ? 1 : dense <= 1 ? 4 : dense == 2 ? 2 : 1;
    if (const char* e = std::getenv("OXMLX_CUDA_FUSED_UNROLL"))  // tuning hook (bench)
      if (int u = std::atoi(e); u >= 1 && u <= 8 && v > 1) pl.unroll = u;
  }

  std::string sig = signature(program, pl);
  void* k = nullptr;
  bool known = false;
  {
    std::lock_guard<std::mutex> lk(cache().mu);
    auto it = cache().kernels.find(sig);
    if (it != cache().kernels.end()) known = true, k = it->second;
  }
  if (!known) {
    std::string err, log;
    std::string src = generate(program, pl, &err);
    if (!src.empty()) k = build(src, "ox_fused", log);
    else log = err;
    if (!k && strict())
      throw RuntimeError(msg("[cuda] fused: the generated kernel did not build: ", log, "\n", src));
    std::lock_guard<std::mutex> lk(cache().mu);
    cache().kernels[sig] = k;
  }
  if (!k) {
    // Run on the CPU backend through host copies.
    std::vector<array> ts;
    for (auto& o : outputs) ts.push_back(fresh_like(o));
    cpu_backend().fused(program, host_arrays(in), ts);
    for (size_t i = 0; i < outputs.size(); ++i) {
      ts[i].set_status(Status::available);
      check(cudaMemcpyAsync(outputs[i].raw_ptr(), ts[i].raw_ptr(), outputs[i].nbytes(),
                            cudaMemcpyHostToDevice, stream_),
            "upload");
      check(cudaStreamSynchronize(stream_), "synchronize");  // ts is pageable and freed next
    }
    return;
  }

  // Arguments, laid out as the generated struct Args (all 8-byte fields).
  const int ns = int(sx.size()), dims = std::max(pl.nd, 1);
  std::vector<int64_t> args;
  args.reserve(size_t(nin + outputs.size() + 1 + dims + std::max(ns, 1) * dims));
  for (auto& a : in) args.push_back(int64_t(reinterpret_cast<uintptr_t>(a.raw_ptr())));
  for (auto& o : outputs) args.push_back(int64_t(reinterpret_cast<uintptr_t>(o.raw_ptr())));
  args.push_back(total);
  for (int d = 0; d < dims; ++d) args.push_back(d < pl.nd ? pl.shape[d] : 1);
  for (int s = 0; s < std::max(ns, 1); ++s)
    for (int d = 0; d < dims; ++d) args.push_back(s < ns && d < pl.nd ? pl.st[s][d] : 0);
  int64_t work = sx.empty() && pl.vec > 1 ? std::max<int64_t>(total / pl.vec, 1) : total;
  int64_t blocks = (work + 256 * pl.unroll - 1) / (256 * pl.unroll);
  // Grid-stride beyond many waves.
  blocks = std::min<int64_t>(blocks, int64_t(sm_count()) * 256);
  void* argp = args.data();
  void* params[] = {argp};
  ensure_context();
  int e = n.launch(k, unsigned(std::max<int64_t>(blocks, 1)), 1, 1, 256, 1, 1, 0, stream_, params,
                   nullptr);
  if (e != 0) throw RuntimeError(msg("[cuda] fused: cuLaunchKernel failed (CUresult ", e, ")."));
}

}  // namespace oxmlx::cuda
