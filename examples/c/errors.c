/* Error paths of the C ABI: each case prints "case: STATUS | message" and the
 * output handle is checked to be NULL after a failure. */
#include <stdio.h>
#include <stdlib.h>

#include <oxmlx/oxmlx.h>

static int failures = 0;

static void report(const char* name, oxmlx_status st, const void* out) {
  printf("%s: %s | %s\n", name, oxmlx_status_name(st), st ? oxmlx_last_error() : "");
  if (st != OXMLX_OK && out != NULL) {
    printf("%s: output handle not NULL after failure\n", name);
    ++failures;
  }
}

static oxmlx_status failing_fn(const oxmlx_vector_array in, oxmlx_vector_array* out, void* p) {
  (void)in;
  (void)out;
  (void)p;
  oxmlx_set_error("user callback refused");
  return OXMLX_ERROR_VALUE;
}

static oxmlx_status vector_fn(const oxmlx_vector_array in, oxmlx_vector_array* out, void* p) {
  (void)p;
  return oxmlx_vector_array_copy(out, in); /* returns its (non-scalar) input */
}

static oxmlx_status forgetful_fn(const oxmlx_vector_array in, oxmlx_vector_array* out, void* p) {
  (void)in;
  (void)out;
  (void)p;
  return OXMLX_OK; /* never sets *out */
}

int main(void) {
  const float d[6] = {1, 2, 3, 4, 5, 6};
  const int64_t s23[2] = {2, 3};
  oxmlx_array a = NULL, out = NULL, b = NULL;
  if (oxmlx_array_new_data(&a, d, s23, 2, OXMLX_FLOAT32)) return 2;

  const int64_t s5[1] = {5};
  report("bad_reshape", oxmlx_reshape(&out, a, s5, 1, NULL), out);
  const int64_t neg[2] = {2, -3};
  report("negative_shape", oxmlx_array_new_data(&out, d, neg, 2, OXMLX_FLOAT32), out);
  report("bad_dtype", oxmlx_array_new_data(&out, d, s23, 2, (oxmlx_dtype)99), out);
  report("bad_astype_dtype", oxmlx_astype(&out, a, (oxmlx_dtype)-1, NULL), out);
  int ax = 5;
  report("axis_out_of_range", oxmlx_sum(&out, a, &ax, 1, false, NULL), out);
  report("softmax_axis_out_of_range", oxmlx_softmax(&out, a, &ax, 1, false, NULL), out);
  report("argmax_axis_out_of_range", oxmlx_argmax(&out, a, -3, false, NULL), out);
  const int64_t s32[2] = {3, 2};
  if (oxmlx_ones(&b, s32, 2, OXMLX_FLOAT32, NULL)) return 2;
  report("broadcast_mismatch", oxmlx_add(&out, a, b, NULL), out);
  report("matmul_mismatch", oxmlx_matmul(&out, a, a, NULL), out);
  report("bitwise_on_float", oxmlx_bitwise_and(&out, a, a, NULL), out);
  report("null_array", oxmlx_exp(&out, NULL, NULL), out);
  report("null_out", oxmlx_exp(NULL, a, NULL), NULL);
  report("unknown_unary", oxmlx_unary(&out, "no_such_op", a, NULL), out);
  report("clip_no_bounds", oxmlx_clip(&out, a, NULL, NULL, NULL), out);
  oxmlx_vector_array v = NULL, r1 = NULL, r2 = NULL;
  oxmlx_vector_array_new(&v);
  report("concatenate_empty", oxmlx_concatenate(&out, v, 0, NULL), out);
  report("vector_get_out_of_range", oxmlx_vector_array_get(&out, v, 3), out);
  float buf[2];
  report("to_buffer_wrong_size", oxmlx_array_to_buffer(a, buf, sizeof buf), NULL);
  double item;
  report("item_not_scalar", oxmlx_array_item_float64(a, &item), NULL);
  report("load_missing_file", oxmlx_load(&out, "/nonexistent/dir/file.npy"), out);
  oxmlx_vector_array_append(v, a);
  report("callback_error", oxmlx_value_and_grad(&r1, &r2, failing_fn, NULL, v, NULL, 0), r1);
  report("grad_of_non_scalar", oxmlx_value_and_grad(&r1, &r2, vector_fn, NULL, v, NULL, 0), r1);
  report("callback_without_outputs", oxmlx_vjp(&r1, &r2, forgetful_fn, NULL, v, NULL), r1);
  int bad_argnum = 3;
  report("bad_argnum", oxmlx_value_and_grad(&r1, &r2, vector_fn, NULL, v, &bad_argnum, 1), r1);

  oxmlx_stream st = NULL;
  report("unknown_backend", oxmlx_stream_new_on_backend(&st, NULL, "no_such_backend"), st);
  oxmlx_device dev = NULL;
  report("bad_device_type", oxmlx_device_new(&dev, (oxmlx_device_type)7, 0), dev);

  const int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
  report("shape_overflow", oxmlx_zeros(&out, huge, 2, OXMLX_FLOAT32, NULL), out);
  const int64_t big[1] = {(int64_t)1 << 45}; /* 128 TiB: builds lazily, fails when evaluated */
  oxmlx_array lazy = NULL;
  if (oxmlx_zeros(&lazy, big, 1, OXMLX_FLOAT32, NULL)) return 2;
  report("allocation_failure", oxmlx_array_eval(lazy), NULL);
  oxmlx_array_free(lazy);

  /* Success clears nothing, clear_error does. */
  oxmlx_clear_error();
  printf("cleared: [%s]\n", oxmlx_last_error());
  oxmlx_vector_array_free(v);
  oxmlx_array_free(a);
  oxmlx_array_free(b);
  printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
