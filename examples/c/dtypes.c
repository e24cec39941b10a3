/* Every dtype in and out of caller memory: bytes in == bytes out, for 0-d,
 * empty and n-d arrays, through a transposed (non-contiguous) view and a
 * conversion; plus a few threads that each see only their own error. Prints
 * one line per check and "failures: N". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oxmlx/oxmlx.h>

static int failures = 0;

static void expect(int ok, const char* what, const char* dtype) {
  printf("%s %s: %s\n", what, dtype, ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}

static void roundtrip(oxmlx_dtype dt) {
  const char* name = oxmlx_dtype_name(dt);
  size_t item = oxmlx_dtype_size(dt);
  unsigned char in[2 * 3 * 8], out[2 * 3 * 8], tr[2 * 3 * 8];
  for (size_t i = 0; i < sizeof in; ++i) in[i] = (unsigned char)(i * 37 + 11);
  if (dt == OXMLX_BOOL)
    for (size_t i = 0; i < sizeof in; ++i) in[i] &= 1;
  const int64_t shape[2] = {2, 3};
  oxmlx_array a = NULL, t = NULL, s = NULL, e = NULL, c = NULL, back = NULL;
  oxmlx_dtype got;
  int ok = oxmlx_array_new_data(&a, in, shape, 2, dt) == OXMLX_OK;
  ok = ok && oxmlx_array_dtype(a, &got) == OXMLX_OK && got == dt;
  ok = ok && oxmlx_array_to_buffer(a, out, 6 * item) == OXMLX_OK && memcmp(in, out, 6 * item) == 0;
  expect(ok, "roundtrip", name);

  /* Transposed view copied out: element (j, i) of the input. */
  ok = oxmlx_transpose(&t, a, NULL, 0, NULL) == OXMLX_OK &&
       oxmlx_array_to_buffer(t, tr, 6 * item) == OXMLX_OK;
  for (int i = 0; ok && i < 3; ++i)
    for (int j = 0; j < 2; ++j)
      ok = ok && memcmp(tr + (i * 2 + j) * item, in + (j * 3 + i) * item, item) == 0;
  expect(ok, "transposed", name);

  /* 0-d and empty arrays. */
  ok = oxmlx_array_new_data(&s, in, NULL, 0, dt) == OXMLX_OK &&
       oxmlx_array_to_buffer(s, out, item) == OXMLX_OK && memcmp(in, out, item) == 0;
  const int64_t empty[2] = {0, 4};
  int64_t size = -1;
  ok = ok && oxmlx_array_new_data(&e, NULL, empty, 2, dt) == OXMLX_OK &&
       oxmlx_array_size(e, &size) == OXMLX_OK && size == 0 &&
       oxmlx_array_to_buffer(e, NULL, 0) == OXMLX_OK;
  expect(ok, "scalar_and_empty", name);

  /* Through another dtype and back (exact for small integers). */
  const int8_t small[4] = {0, 1, 3, 5};
  const int64_t s4[1] = {4};
  unsigned char sb[4 * 8];
  oxmlx_array src = NULL;
  ok = oxmlx_array_new_data(&src, small, s4, 1, OXMLX_INT8) == OXMLX_OK &&
       oxmlx_astype(&c, src, dt, NULL) == OXMLX_OK &&
       oxmlx_astype(&back, c, OXMLX_INT8, NULL) == OXMLX_OK &&
       oxmlx_array_to_buffer(back, sb, 4) == OXMLX_OK;
  if (dt == OXMLX_BOOL) ok = ok && sb[0] == 0 && sb[1] == 1 && sb[2] == 1 && sb[3] == 1;
  else ok = ok && memcmp(sb, small, 4) == 0;
  expect(ok, "astype_roundtrip", name);
  oxmlx_array arrays[] = {a, t, s, e, c, back, src};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i) oxmlx_array_free(arrays[i]);
}

/* Each thread fails with its own axis and must read back its own message. */
static void* worker(void* arg) {
  int axis = *(int*)arg;
  const float d[4] = {1, 2, 3, 4};
  const int64_t shape[1] = {4};
  oxmlx_array a = NULL, r = NULL;
  char want[64];
  int* ok = malloc(sizeof(int));
  *ok = oxmlx_array_new_data(&a, d, shape, 1, OXMLX_FLOAT32) == OXMLX_OK;
  snprintf(want, sizeof want, "Invalid axis %d", axis);
  for (int k = 0; k < 50 && *ok; ++k) {
    *ok = oxmlx_sum(&r, a, &axis, 1, false, NULL) == OXMLX_ERROR_INDEX &&
          strstr(oxmlx_last_error(), want) != NULL;
    /* and a successful op in between */
    oxmlx_array e = NULL;
    double v = 0;
    *ok = *ok && oxmlx_exp(&e, a, NULL) == OXMLX_OK && oxmlx_sum(&r, e, NULL, 0, false, NULL) == OXMLX_OK &&
          oxmlx_array_item_float64(r, &v) == OXMLX_OK && v > 84.0 && v < 85.0;
    oxmlx_array_free(e);
    oxmlx_array_free(r);
    r = NULL;
  }
  oxmlx_array_free(a);
  return ok;
}

static int released = 0;
static void on_release(void* ctx) { released += *(int*)ctx; }

/* Zero-copy input: the result sees the caller's values, the buffer is never
 * written (an elementwise op must not donate it), release runs exactly once
 * after the last reference is gone. */
static void managed(void) {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  int one = 1;
  const int64_t shape[2] = {2, 3};
  oxmlx_array a = NULL, b = NULL, c = NULL;
  float out[6];
  int ok = oxmlx_array_new_data_managed(&a, buf, shape, 2, OXMLX_FLOAT32, on_release, &one) == OXMLX_OK;
  ok = ok && oxmlx_negative(&b, a, NULL) == OXMLX_OK;
  oxmlx_array_free(a); /* b's graph still holds the buffer */
  ok = ok && released == 0 && oxmlx_exp(&c, b, NULL) == OXMLX_OK && oxmlx_array_eval(c) == OXMLX_OK;
  ok = ok && oxmlx_array_to_buffer(b, out, sizeof out) == OXMLX_OK && out[5] == -6.0f && buf[5] == 6.0f;
  oxmlx_array_free(b);
  oxmlx_array_free(c);
  expect(ok && released == 1, "managed_zero_copy", "float32");
  oxmlx_array bad = NULL;
  const int64_t neg[1] = {-1};
  ok = oxmlx_array_new_data_managed(&bad, buf, neg, 1, OXMLX_FLOAT32, on_release, &one) == OXMLX_ERROR_VALUE;
  expect(ok && released == 1 && bad == NULL, "managed_bad_shape_not_released", "float32");
}

int main(void) {
  for (int d = OXMLX_BOOL; d <= OXMLX_COMPLEX64; ++d) roundtrip((oxmlx_dtype)d);
  managed();
  pthread_t th[4];
  int axes[4] = {3, 4, 5, 6};
  for (int i = 0; i < 4; ++i) pthread_create(&th[i], NULL, worker, &axes[i]);
  for (int i = 0; i < 4; ++i) {
    void* r = NULL;
    pthread_join(th[i], &r);
    expect(*(int*)r, "thread_local_errors", "float32");
    free(r);
  }
  printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
