/* Linear regression by gradient descent from C: the loss is a C callback,
 * oxmlx_value_and_grad differentiates it, and the parameters are updated
 * with ordinary ops. Fits y = 2 x - 1 + noise; prints the final parameters
 * and loss.   usage: train [iterations (300)] */
#include <stdio.h>
#include <stdlib.h>

#include <oxmlx/oxmlx.h>

#define CHECK(call)                                                                      \
  do {                                                                                   \
    oxmlx_status st_ = (call);                                                           \
    if (st_ != OXMLX_OK) {                                                               \
      fprintf(stderr, "%s failed: %s\n", #call, oxmlx_last_error());                     \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

/* inputs: w (1,), b (1,), x (n,), y (n,); output: mean((w x + b - y)^2). */
static oxmlx_status mse(const oxmlx_vector_array in, oxmlx_vector_array* out, void* p) {
  (void)p;
  oxmlx_array w = NULL, b = NULL, x = NULL, y = NULL, wx = NULL, pred = NULL, d = NULL, sq = NULL,
              l = NULL;
  oxmlx_status st = oxmlx_vector_array_get(&w, in, 0);
  if (!st) st = oxmlx_vector_array_get(&b, in, 1);
  if (!st) st = oxmlx_vector_array_get(&x, in, 2);
  if (!st) st = oxmlx_vector_array_get(&y, in, 3);
  if (!st) st = oxmlx_multiply(&wx, w, x, NULL);
  if (!st) st = oxmlx_add(&pred, wx, b, NULL);
  if (!st) st = oxmlx_subtract(&d, pred, y, NULL);
  if (!st) st = oxmlx_square(&sq, d, NULL);
  if (!st) st = oxmlx_mean(&l, sq, NULL, 0, false, NULL);
  if (!st) st = oxmlx_vector_array_new_from(out, &l, 1);
  oxmlx_array all[] = {w, b, x, y, wx, pred, d, sq, l};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) oxmlx_array_free(all[i]);
  return st;
}

/* p - lr * g, as a new handle (p is freed). */
static oxmlx_array step(oxmlx_array p, oxmlx_array g, oxmlx_array lr) {
  oxmlx_array scaled = NULL, next = NULL;
  CHECK(oxmlx_multiply(&scaled, g, lr, NULL));
  CHECK(oxmlx_subtract(&next, p, scaled, NULL));
  CHECK(oxmlx_array_eval(next));
  oxmlx_array_free(scaled);
  oxmlx_array_free(p);
  return next;
}

int main(int argc, char** argv) {
  const int iters = argc > 1 ? atoi(argv[1]) : 300;
  const int64_t n[1] = {64}, one[1] = {1};
  oxmlx_array key = NULL, x = NULL, noise = NULL, y = NULL, t = NULL, w = NULL, b = NULL, lr = NULL,
              two = NULL, minus1 = NULL, sig = NULL;
  CHECK(oxmlx_random_key(&key, 0));
  CHECK(oxmlx_random_uniform(&x, NULL, NULL, n, 1, OXMLX_FLOAT32, key, NULL));
  oxmlx_array k2 = NULL;
  CHECK(oxmlx_random_split(&k2, key, 1, NULL));
  oxmlx_array k2r = NULL;
  CHECK(oxmlx_reshape(&k2r, k2, (const int64_t[]){2}, 1, NULL));
  CHECK(oxmlx_random_normal(&noise, n, 1, OXMLX_FLOAT32, 0.0, 0.01, k2r, NULL));
  CHECK(oxmlx_array_new_float(&two, 2.0, OXMLX_FLOAT32));
  CHECK(oxmlx_array_new_float(&minus1, -1.0, OXMLX_FLOAT32));
  CHECK(oxmlx_multiply(&t, x, two, NULL));
  CHECK(oxmlx_add(&sig, t, minus1, NULL));
  CHECK(oxmlx_add(&y, sig, noise, NULL));
  CHECK(oxmlx_zeros(&w, one, 1, OXMLX_FLOAT32, NULL));
  CHECK(oxmlx_zeros(&b, one, 1, OXMLX_FLOAT32, NULL));
  CHECK(oxmlx_array_new_float(&lr, 0.5, OXMLX_FLOAT32));
  const int argnums[2] = {0, 1};
  double loss = 0;
  for (int it = 0; it < iters; ++it) {
    oxmlx_array ins[4] = {w, b, x, y};
    oxmlx_vector_array in = NULL, vals = NULL, grads = NULL;
    oxmlx_array l = NULL, gw = NULL, gb = NULL;
    CHECK(oxmlx_vector_array_new_from(&in, ins, 4));
    CHECK(oxmlx_value_and_grad(&vals, &grads, mse, NULL, in, argnums, 2));
    CHECK(oxmlx_vector_array_get(&l, vals, 0));
    CHECK(oxmlx_vector_array_get(&gw, grads, 0));
    CHECK(oxmlx_vector_array_get(&gb, grads, 1));
    w = step(w, gw, lr);
    b = step(b, gb, lr);
    CHECK(oxmlx_array_item_float64(l, &loss));
    oxmlx_array_free(l);
    oxmlx_array_free(gw);
    oxmlx_array_free(gb);
    oxmlx_vector_array_free(in);
    oxmlx_vector_array_free(vals);
    oxmlx_vector_array_free(grads);
  }
  double wv = 0, bv = 0;
  CHECK(oxmlx_array_item_float64(w, &wv));
  CHECK(oxmlx_array_item_float64(b, &bv));
  printf("w: %.6f\nb: %.6f\nloss: %.9g\n", wv, bv, loss);
  oxmlx_array all[] = {key, x, noise, y, t, w, b, lr, two, minus1, sig, k2, k2r};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) oxmlx_array_free(all[i]);
  return 0;
}
