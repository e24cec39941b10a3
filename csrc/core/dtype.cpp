#include "core/dtype.h"

namespace oxmlx {

namespace {

constexpr Dtype kAll[Dtype::count] = {bool_,   uint8,   uint16,  uint32,  uint64,
                                      int8,    int16,   int32,   int64,   float16,
                                      float32, float64, bfloat16, complex64};

// Promotion table in Dtype::Val order (MLX's rules).
#define B Dtype::Val::bool_
#define U8 Dtype::Val::uint8
#define U16 Dtype::Val::uint16
#define U32 Dtype::Val::uint32
#define U64 Dtype::Val::uint64
#define I8 Dtype::Val::int8
#define I16 Dtype::Val::int16
#define I32 Dtype::Val::int32
#define I64 Dtype::Val::int64
#define F16 Dtype::Val::float16
#define F32 Dtype::Val::float32
#define F64 Dtype::Val::float64
#define BF Dtype::Val::bfloat16
#define C64 Dtype::Val::complex64
constexpr Dtype::Val kPromote[Dtype::count][Dtype::count] = {
    // b   u8   u16  u32  u64  i8   i16  i32  i64  f16  f32  f64  bf16 c64
    {B, U8, U16, U32, U64, I8, I16, I32, I64, F16, F32, F64, BF, C64},             // bool
    {U8, U8, U16, U32, U64, I16, I16, I32, I64, F16, F32, F64, BF, C64},           // u8
    {U16, U16, U16, U32, U64, I32, I32, I32, I64, F16, F32, F64, BF, C64},         // u16
    {U32, U32, U32, U32, U64, I64, I64, I64, I64, F16, F32, F64, BF, C64},         // u32
    {U64, U64, U64, U64, U64, F32, F32, F32, F32, F16, F32, F64, BF, C64},         // u64
    {I8, I16, I32, I64, F32, I8, I16, I32, I64, F16, F32, F64, BF, C64},           // i8
    {I16, I16, I32, I64, F32, I16, I16, I32, I64, F16, F32, F64, BF, C64},         // i16
    {I32, I32, I32, I64, F32, I32, I32, I32, I64, F16, F32, F64, BF, C64},         // i32
    {I64, I64, I64, I64, F32, I64, I64, I64, I64, F16, F32, F64, BF, C64},         // i64
    {F16, F16, F16, F16, F16, F16, F16, F16, F16, F16, F32, F64, F32, C64},        // f16
    {F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F64, F32, C64},        // f32
    {F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, C64},        // f64
    {BF, BF, BF, BF, BF, BF, BF, BF, BF, F32, F32, F64, BF, C64},                  // bf16
    {C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64},        // c64
};
#undef B
#undef U8
#undef U16
#undef U32
#undef U64
#undef I8
#undef I16
#undef I32
#undef I64
#undef F16
#undef F32
#undef F64
#undef BF
#undef C64

const char* kNames[Dtype::count] = {"bool",    "uint8",   "uint16",  "uint32",  "uint64",
                                    "int8",    "int16",   "int32",   "int64",   "float16",
                                    "float32", "float64", "bfloat16", "complex64"};

DtypeCategory leaf_category(Dtype d) {
  if (is_complex(d)) return DtypeCategory::complexfloating;
  if (is_floating(d)) return DtypeCategory::floating;
  if (is_unsigned(d)) return DtypeCategory::unsignedinteger;
  if (d == bool_) return DtypeCategory::generic;
  return DtypeCategory::signedinteger;
}

DtypeCategory parent(DtypeCategory c) {
  switch (c) {
    case DtypeCategory::complexfloating:
    case DtypeCategory::floating: return DtypeCategory::inexact;
    case DtypeCategory::signedinteger:
    case DtypeCategory::unsignedinteger: return DtypeCategory::integer;
    case DtypeCategory::inexact:
    case DtypeCategory::integer: return DtypeCategory::number;
    default: return DtypeCategory::generic;
  }
}

}  // namespace

Dtype dtype_from_val(Dtype::Val v) { return kAll[int(v)]; }

Dtype::Kind kind(Dtype d) {
  if (d == bool_) return Dtype::Kind::b;
  if (is_unsigned(d)) return Dtype::Kind::u;
  if (is_integral(d)) return Dtype::Kind::i;
  if (d == bfloat16) return Dtype::Kind::V;
  if (is_complex(d)) return Dtype::Kind::c;
  return Dtype::Kind::f;
}

const char* dtype_name(Dtype d) { return kNames[int(d.val)]; }

Dtype promote_types(Dtype a, Dtype b) { return dtype_from_val(kPromote[int(a.val)][int(b.val)]); }

bool issubdtype(Dtype a, Dtype b) { return a == b; }

bool issubdtype(DtypeCategory a, DtypeCategory b) {
  for (;;) {
    if (a == b) return true;
    if (a == DtypeCategory::generic) return false;
    a = parent(a);
  }
}

bool issubdtype(Dtype a, DtypeCategory c) {
  if (a == bool_) return c == DtypeCategory::generic;
  return issubdtype(leaf_category(a), c);
}

bool issubdtype(DtypeCategory, Dtype) { return false; }

}  // namespace oxmlx
