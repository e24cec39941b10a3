/* The oxmlx C ABI in one page: arrays from C memory, a few ops, evaluation,
 * copying results out, a gradient through a C callback, and error handling.
 *
 *   cc hello.c -I$(python -c 'import oxmlx; print(oxmlx.get_include())') \
 *      -L$(python -c 'import oxmlx; print(oxmlx.get_lib_dir())') -loxmlx \
 *      -Wl,-rpath,$(python -c 'import oxmlx; print(oxmlx.get_lib_dir())') -o hello
 */
#include <stdio.h>
#include <stdlib.h>

#include <oxmlx/oxmlx.h>

/* Stop on the first failure, printing the library's message. */
#define CHECK(call)                                                              \
  do {                                                                           \
    oxmlx_status st_ = (call);                                                   \
    if (st_ != OXMLX_OK) {                                                       \
      fprintf(stderr, "%s failed: %s: %s\n", #call, oxmlx_status_name(st_),      \
              oxmlx_last_error());                                               \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

static void print_array(const char* name, oxmlx_array a) {
  oxmlx_array f64 = NULL;
  int64_t n = 0;
  CHECK(oxmlx_astype(&f64, a, OXMLX_FLOAT64, NULL));
  CHECK(oxmlx_array_size(f64, &n));
  double* buf = malloc(sizeof(double) * (n ? n : 1));
  CHECK(oxmlx_array_to_buffer(f64, buf, sizeof(double) * (size_t)n));
  printf("%s:", name);
  for (int64_t i = 0; i < n; ++i) printf(" %.9g", buf[i]);
  printf("\n");
  free(buf);
  oxmlx_array_free(f64);
}

/* loss(x) = sum(sin(x) * x): the callback builds outputs from inputs. */
static oxmlx_status loss(const oxmlx_vector_array inputs, oxmlx_vector_array* outputs,
                         void* payload) {
  (void)payload;
  oxmlx_array x = NULL, s = NULL, p = NULL, l = NULL;
  oxmlx_status st = oxmlx_vector_array_get(&x, inputs, 0);
  if (st == OXMLX_OK) st = oxmlx_sin(&s, x, NULL);
  if (st == OXMLX_OK) st = oxmlx_multiply(&p, s, x, NULL);
  if (st == OXMLX_OK) st = oxmlx_sum(&l, p, NULL, 0, false, NULL);
  if (st == OXMLX_OK) st = oxmlx_vector_array_new_from(outputs, &l, 1);
  oxmlx_array_free(x);
  oxmlx_array_free(s);
  oxmlx_array_free(p);
  oxmlx_array_free(l);
  return st;
}

int main(void) {
  if ((oxmlx_abi_version() >> 16) != OXMLX_ABI_VERSION_MAJOR) {
    fprintf(stderr, "incompatible liboxmlx\n");
    return 1;
  }
  const float data[6] = {0.5f, -1.0f, 2.0f, 3.0f, -0.25f, 1.5f};
  const int64_t shape[2] = {2, 3};
  oxmlx_array x = NULL, y = NULL, sm = NULL, mm = NULL, xt = NULL;
  CHECK(oxmlx_array_new_data(&x, data, shape, 2, OXMLX_FLOAT32));

  /* Lazy graph: nothing runs until a result is needed. */
  int axis = 1;
  CHECK(oxmlx_softmax(&sm, x, &axis, 1, false, NULL));
  CHECK(oxmlx_transpose(&xt, x, NULL, 0, NULL));
  CHECK(oxmlx_matmul(&mm, x, xt, NULL));
  CHECK(oxmlx_exp(&y, x, NULL));
  print_array("softmax", sm);
  print_array("matmul", mm);
  print_array("exp", y);

  /* Gradient of a C function. */
  oxmlx_vector_array in = NULL, values = NULL, grads = NULL;
  oxmlx_array g = NULL, v = NULL;
  CHECK(oxmlx_vector_array_new_from(&in, &x, 1));
  CHECK(oxmlx_value_and_grad(&values, &grads, loss, NULL, in, NULL, 0));
  CHECK(oxmlx_vector_array_get(&v, values, 0));
  CHECK(oxmlx_vector_array_get(&g, grads, 0));
  print_array("loss", v);
  print_array("grad", g);

  /* Errors come back as status codes with a message. */
  oxmlx_array bad = NULL;
  const int64_t wrong[1] = {4};
  oxmlx_status st = oxmlx_reshape(&bad, x, wrong, 1, NULL);
  printf("reshape_error: %s %s\n", oxmlx_status_name(st), oxmlx_last_error());

  oxmlx_array_free(x);
  oxmlx_array_free(y);
  oxmlx_array_free(sm);
  oxmlx_array_free(mm);
  oxmlx_array_free(xt);
  oxmlx_array_free(g);
  oxmlx_array_free(v);
  oxmlx_vector_array_free(in);
  oxmlx_vector_array_free(values);
  oxmlx_vector_array_free(grads);
  return 0;
}
