/* A tour of the C ABI: creation from caller memory in several dtypes,
 * elementwise ops by function and by name, reductions, shape ops,
 * compositions, indexing, matmul, random, I/O and transforms. Each result is
 * printed as "name: v0 v1 ..." (row-major, as float64) so that
 * tests/test_capi.py can check it against numpy.
 *
 * usage: ops <directory for temporary files>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oxmlx/oxmlx.h>

#define CHECK(call)                                                                      \
  do {                                                                                   \
    oxmlx_status st_ = (call);                                                           \
    if (st_ != OXMLX_OK) {                                                               \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call,           \
              oxmlx_status_name(st_), oxmlx_last_error());                               \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

/* Prints and frees a. */
static void show(const char* name, oxmlx_array a) {
  oxmlx_array f = NULL;
  int64_t n = 0, shape[8];
  size_t nd = 0;
  CHECK(oxmlx_array_ndim(a, &nd));
  CHECK(oxmlx_array_shape(a, shape, 8));
  CHECK(oxmlx_astype(&f, a, OXMLX_FLOAT64, NULL));
  CHECK(oxmlx_array_size(f, &n));
  double* buf = malloc(sizeof(double) * (size_t)(n ? n : 1));
  CHECK(oxmlx_array_to_buffer(f, buf, sizeof(double) * (size_t)n));
  printf("%s: shape=", name);
  for (size_t i = 0; i < nd; ++i) printf("%s%lld", i ? "," : "", (long long)shape[i]);
  printf(" values=");
  for (int64_t i = 0; i < n; ++i) printf("%s%.17g", i ? "," : "", buf[i]);
  printf("\n");
  free(buf);
  oxmlx_array_free(f);
  oxmlx_array_free(a);
}

static void show_vector(const char* name, oxmlx_vector_array v) {
  size_t n = 0;
  char label[64];
  CHECK(oxmlx_vector_array_size(v, &n));
  for (size_t i = 0; i < n; ++i) {
    oxmlx_array a = NULL;
    CHECK(oxmlx_vector_array_get(&a, v, i));
    snprintf(label, sizeof label, "%s[%zu]", name, i);
    show(label, a);
  }
  oxmlx_vector_array_free(v);
}

/* f(x, y) = (sum(x * y + exp(x)), x * y): two outputs, the first a scalar. */
static oxmlx_status two_outputs(const oxmlx_vector_array in, oxmlx_vector_array* out, void* p) {
  int* calls = p;
  ++*calls;
  oxmlx_array x = NULL, y = NULL, xy = NULL, e = NULL, s = NULL, l = NULL;
  oxmlx_status st = oxmlx_vector_array_get(&x, in, 0);
  if (!st) st = oxmlx_vector_array_get(&y, in, 1);
  if (!st) st = oxmlx_multiply(&xy, x, y, NULL);
  if (!st) st = oxmlx_exp(&e, x, NULL);
  if (!st) st = oxmlx_add(&s, xy, e, NULL);
  if (!st) st = oxmlx_sum(&l, s, NULL, 0, false, NULL);
  if (!st) {
    oxmlx_array outs[2] = {l, xy};
    st = oxmlx_vector_array_new_from(out, outs, 2);
  }
  oxmlx_array_free(x);
  oxmlx_array_free(y);
  oxmlx_array_free(xy);
  oxmlx_array_free(e);
  oxmlx_array_free(s);
  oxmlx_array_free(l);
  return st;
}

/* g(x) = tanh(x) elementwise. */
static oxmlx_status tanh_fn(const oxmlx_vector_array in, oxmlx_vector_array* out, void* p) {
  (void)p;
  oxmlx_array x = NULL, t = NULL;
  oxmlx_status st = oxmlx_vector_array_get(&x, in, 0);
  if (!st) st = oxmlx_tanh(&t, x, NULL);
  if (!st) st = oxmlx_vector_array_new_from(out, &t, 1);
  oxmlx_array_free(x);
  oxmlx_array_free(t);
  return st;
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : ".";
  char path[4096];
  printf("abi: %u.%u\n", oxmlx_abi_version() >> 16, oxmlx_abi_version() & 0xffff);

  /* Inputs: X (3, 4) float32 = (i * 4 + j) * 0.5 - 2.5, Y (4,) float64, I (3, 4) int32. */
  float xd[12];
  double yd[4] = {1.5, -2.0, 0.25, 3.0};
  int32_t id[12];
  for (int i = 0; i < 12; ++i) {
    xd[i] = (float)i * 0.5f - 2.5f;
    id[i] = i * 7 - 30;
  }
  const int64_t s34[2] = {3, 4}, s4[1] = {4};
  oxmlx_array X = NULL, Y = NULL, I = NULL, t = NULL, u = NULL;
  CHECK(oxmlx_array_new_data(&X, xd, s34, 2, OXMLX_FLOAT32));
  CHECK(oxmlx_array_new_data(&Y, yd, s4, 1, OXMLX_FLOAT64));
  CHECK(oxmlx_array_new_data(&I, id, s34, 2, OXMLX_INT32));
  oxmlx_dtype dt;
  CHECK(oxmlx_array_dtype(Y, &dt));
  printf("dtype_Y: %s %zu\n", oxmlx_dtype_name(dt), oxmlx_dtype_size(dt));

  /* Elementwise (broadcasting float32 x float64 -> float64). */
  CHECK(oxmlx_add(&t, X, Y, NULL));
  show("add", t);
  CHECK(oxmlx_binary(&t, "maximum", X, Y, NULL));
  show("maximum", t);
  CHECK(oxmlx_unary(&t, "sigmoid", X, NULL));
  show("sigmoid", t);
  CHECK(oxmlx_abs(&t, X, NULL));
  show("abs", t);
  CHECK(oxmlx_square(&u, X, NULL));
  CHECK(oxmlx_sqrt(&t, u, NULL));
  oxmlx_array_free(u);
  show("sqrt_square", t);
  oxmlx_array three = NULL;
  CHECK(oxmlx_array_new_int(&three, 3, OXMLX_INT32));
  CHECK(oxmlx_remainder(&t, I, three, NULL));
  show("remainder_int", t);
  CHECK(oxmlx_floor_divide(&t, I, three, NULL));
  show("floor_divide_int", t);
  CHECK(oxmlx_right_shift(&t, I, three, NULL));
  show("right_shift_int", t);
  oxmlx_array zero = NULL, cond = NULL;
  CHECK(oxmlx_array_new_float(&zero, 0.0, OXMLX_FLOAT32));
  CHECK(oxmlx_greater(&cond, X, zero, NULL));
  CHECK(oxmlx_where(&t, cond, X, zero, NULL));
  show("where_relu", t);
  CHECK(oxmlx_astype(&t, X, OXMLX_FLOAT16, NULL));
  show("astype_f16", t);
  CHECK(oxmlx_astype(&t, X, OXMLX_INT8, NULL));
  show("astype_i8", t);

  /* Reductions. */
  int ax1 = 1, ax0 = 0, axes01[2] = {0, 1};
  CHECK(oxmlx_sum(&t, X, &ax1, 1, false, NULL));
  show("sum_axis1", t);
  CHECK(oxmlx_mean(&t, X, NULL, 0, false, NULL));
  show("mean_all", t);
  CHECK(oxmlx_max(&t, I, &ax0, 1, true, NULL));
  show("max_axis0_keep", t);
  CHECK(oxmlx_var(&t, X, &ax1, 1, false, 1, NULL));
  show("var_axis1_ddof1", t);
  CHECK(oxmlx_std(&t, X, axes01, 2, false, 0, NULL));
  show("std_all", t);
  CHECK(oxmlx_logsumexp(&t, X, &ax1, 1, false, NULL));
  show("logsumexp_axis1", t);
  CHECK(oxmlx_softmax(&t, X, &ax0, 1, false, NULL));
  show("softmax_axis0", t);
  CHECK(oxmlx_argmax(&t, I, 1, false, NULL));
  show("argmax_axis1", t);
  CHECK(oxmlx_argmin(&t, X, OXMLX_AXIS_NONE, false, NULL));
  show("argmin_flat", t);
  CHECK(oxmlx_cumsum(&t, X, 1, false, true, NULL));
  show("cumsum_axis1", t);
  CHECK(oxmlx_cumprod(&t, Y, 0, true, true, NULL));
  show("cumprod_reverse", t);
  CHECK(oxmlx_all(&t, cond, NULL, 0, false, NULL));
  show("all", t);
  CHECK(oxmlx_count_nonzero(&t, I, &ax1, 1, false, NULL));
  show("count_nonzero_axis1", t);

  /* Shape ops and non-contiguous inputs. */
  oxmlx_array XT = NULL;
  CHECK(oxmlx_transpose(&XT, X, NULL, 0, NULL));
  CHECK(oxmlx_copy(&t, XT, NULL));
  show("transpose", t);
  const int64_t st[2] = {2, INT64_MAX}, sp[2] = {INT64_MIN, 0}, sd[2] = {-1, -2};
  CHECK(oxmlx_slice(&t, X, st, sp, sd, 2, NULL));
  show("slice_rev", t); /* X[2::-1, :0:-2] */
  const int64_t r26[2] = {2, 6}, r_1[1] = {-1};
  CHECK(oxmlx_reshape(&t, XT, r26, 2, NULL));
  show("reshape_transposed", t);
  CHECK(oxmlx_reshape(&t, X, r_1, 1, NULL));
  show("reshape_flat", t);
  CHECK(oxmlx_expand_dims(&u, Y, &ax0, 1, NULL));
  CHECK(oxmlx_squeeze(&t, u, NULL, 0, NULL));
  oxmlx_array_free(u);
  show("expand_squeeze", t);
  const int64_t b34[2] = {3, 4};
  CHECK(oxmlx_broadcast_to(&t, Y, b34, 2, NULL));
  show("broadcast_to", t);
  CHECK(oxmlx_moveaxis(&t, X, 0, 1, NULL));
  show("moveaxis", t);

  /* Compositions. */
  oxmlx_vector_array vs = NULL;
  oxmlx_array pair[2];
  pair[0] = X;
  pair[1] = XT; /* (3,4) and (4,3): concat of X with XT^T along 0 below */
  oxmlx_array XTT = NULL;
  CHECK(oxmlx_transpose(&XTT, XT, NULL, 0, NULL));
  pair[1] = XTT;
  CHECK(oxmlx_vector_array_new_from(&vs, pair, 2));
  CHECK(oxmlx_concatenate(&t, vs, 0, NULL));
  show("concatenate_axis0", t);
  CHECK(oxmlx_concatenate(&t, vs, OXMLX_AXIS_NONE, NULL));
  show("concatenate_flat", t);
  CHECK(oxmlx_stack(&t, vs, 1, NULL));
  show("stack_axis1", t);
  oxmlx_vector_array_free(vs);
  CHECK(oxmlx_split_sections(&vs, X, 2, 1, NULL));
  show_vector("split2_axis1", vs);
  const int64_t cuts[2] = {1, 3};
  CHECK(oxmlx_split_indices(&vs, X, cuts, 2, 1, NULL));
  show_vector("split_idx_axis1", vs);
  const int64_t widths[4] = {1, 0, 2, 1};
  oxmlx_array seven = NULL;
  CHECK(oxmlx_array_new_float(&seven, 7.0, OXMLX_FLOAT32));
  CHECK(oxmlx_pad(&t, X, widths, 2, seven, "constant", NULL));
  show("pad_constant", t);
  CHECK(oxmlx_pad(&t, X, widths, 2, NULL, "edge", NULL));
  show("pad_edge", t);
  oxmlx_array lo = NULL, hi = NULL;
  CHECK(oxmlx_array_new_float(&lo, -1.0, OXMLX_FLOAT32));
  CHECK(oxmlx_array_new_float(&hi, 1.5, OXMLX_FLOAT32));
  CHECK(oxmlx_clip(&t, X, lo, hi, NULL));
  show("clip", t);
  CHECK(oxmlx_clip(&t, X, NULL, hi, NULL));
  show("clip_max_only", t);
  CHECK(oxmlx_repeat(&t, Y, 2, 0, NULL));
  show("repeat", t);
  const int64_t reps[2] = {2, 1};
  CHECK(oxmlx_tile(&t, Y, reps, 2, NULL));
  show("tile", t);
  CHECK(oxmlx_flip(&t, X, &ax1, 1, NULL));
  show("flip_axis1", t);
  const int64_t shift[1] = {-5};
  CHECK(oxmlx_roll(&t, X, shift, 1, NULL, 0, NULL));
  show("roll_flat", t);
  CHECK(oxmlx_tril(&t, X, 0, NULL));
  show("tril", t);
  CHECK(oxmlx_triu(&t, X, 1, NULL));
  show("triu_k1", t);
  CHECK(oxmlx_diagonal(&t, X, 1, 0, 1, NULL));
  show("diagonal_k1", t);
  CHECK(oxmlx_trace(&t, X, 0, 0, 1, NULL));
  show("trace", t);
  CHECK(oxmlx_diff(&t, X, 1, 1, NULL));
  show("diff_axis1", t);
  CHECK(oxmlx_outer(&t, Y, Y, NULL));
  show("outer", t);
  CHECK(oxmlx_linspace(&t, 0.0, 1.0, 5, OXMLX_FLOAT32, NULL));
  show("linspace", t);
  CHECK(oxmlx_arange(&t, 1.0, 10.0, 3.0, OXMLX_INT32, NULL));
  show("arange", t);
  CHECK(oxmlx_eye(&t, 3, 4, 1, OXMLX_FLOAT32, NULL));
  show("eye_k1", t);
  CHECK(oxmlx_full_like(&t, X, seven, OXMLX_INT16, NULL));
  show("full_like_i16", t);
  CHECK(oxmlx_contiguous(&t, XT, false, NULL));
  show("contiguous_transposed", t);
  CHECK(oxmlx_tri(&t, 3, 3, 0, OXMLX_INT32, NULL));
  show("tri", t);
  CHECK(oxmlx_identity(&t, 2, OXMLX_FLOAT64, NULL));
  show("identity", t);
  CHECK(oxmlx_logaddexp(&t, X, X, NULL));
  show("logaddexp", t);
  CHECK(oxmlx_round(&t, X, 0, NULL));
  show("round", t);
  CHECK(oxmlx_logcumsumexp(&t, X, 1, false, true, NULL));
  show("logcumsumexp_axis1", t);
  CHECK(oxmlx_swapaxes(&t, X, 0, 1, NULL));
  show("swapaxes", t);
  CHECK(oxmlx_flatten(&t, X, 0, -1, NULL));
  show("flatten", t);
  CHECK(oxmlx_kron(&t, Y, Y, NULL));
  show("kron", t);
  {
    oxmlx_array c33 = NULL;
    CHECK(oxmlx_matmul(&c33, X, XT, NULL));
    CHECK(oxmlx_addmm(&t, c33, X, XT, 0.5, 2.0, NULL));
    show("addmm", t);
    oxmlx_array_free(c33);
  }
  {
    oxmlx_vector_array grid_in = NULL, grid = NULL;
    oxmlx_array yv[2] = {Y, Y};
    CHECK(oxmlx_vector_array_new_from(&grid_in, yv, 2));
    CHECK(oxmlx_meshgrid(&grid, grid_in, false, "ij", NULL));
    show_vector("meshgrid_ij", grid);
    oxmlx_vector_array_free(grid_in);
  }
  const int64_t uf[2] = {2, -1};
  CHECK(oxmlx_unflatten(&t, X, 1, uf, 2, NULL));
  show("unflatten", t);
  CHECK(oxmlx_isclose(&t, X, XTT, 1e-5, 1e-8, false, NULL));
  show("isclose_self", t);

  /* Matmul and tensordot. */
  CHECK(oxmlx_matmul(&t, X, Y, NULL));
  show("matvec", t);
  CHECK(oxmlx_matmul(&t, XT, X, NULL));
  show("matmul_xtx", t);
  int ta[1] = {1}, tb[1] = {0};
  CHECK(oxmlx_tensordot(&t, X, XT, ta, tb, 1, NULL));
  show("tensordot", t);

  /* Indexing. */
  const int32_t idx[3] = {3, 0, -1};
  const int64_t s3[1] = {3};
  oxmlx_array IDX = NULL;
  CHECK(oxmlx_array_new_data(&IDX, idx, s3, 1, OXMLX_INT32));
  CHECK(oxmlx_take(&t, X, IDX, 1, NULL));
  show("take_axis1", t);
  CHECK(oxmlx_take(&t, X, IDX, OXMLX_AXIS_NONE, NULL));
  show("take_flat", t);
  const int32_t tal[3] = {1, 2, 0};
  const int64_t s31[2] = {3, 1};
  oxmlx_array TAL = NULL;
  CHECK(oxmlx_array_new_data(&TAL, tal, s31, 2, OXMLX_INT32));
  CHECK(oxmlx_take_along_axis(&t, X, TAL, 1, NULL));
  show("take_along_axis1", t);
  CHECK(oxmlx_put_along_axis(&t, X, TAL, seven, 1, NULL));
  show("put_along_axis1", t);
  oxmlx_vector_array gi = NULL;
  CHECK(oxmlx_vector_array_new_from(&gi, &IDX, 1));
  const int64_t upd_shape[3] = {3, 1, 4};
  oxmlx_array UPD = NULL;
  CHECK(oxmlx_ones(&UPD, upd_shape, 3, OXMLX_FLOAT32, NULL));
  const int64_t rows3[1] = {3};
  oxmlx_array R = NULL;
  CHECK(oxmlx_arange(&R, 0, 3, 1, OXMLX_INT32, NULL));
  oxmlx_vector_array ri = NULL;
  CHECK(oxmlx_vector_array_new_from(&ri, &R, 1));
  (void)rows3;
  CHECK(oxmlx_scatter(&t, OXMLX_SCATTER_SUM, X, ri, UPD, &ax0, 1, NULL));
  show("scatter_add_rows", t);
  const int64_t gsz[2] = {1, 4};
  CHECK(oxmlx_gather(&t, X, ri, &ax0, 1, gsz, 2, NULL));
  show("gather_rows", t);
  oxmlx_vector_array_free(gi);
  oxmlx_vector_array_free(ri);
  oxmlx_array_free(UPD);
  oxmlx_array_free(R);
  const int64_t upd2[2] = {2, 2};
  oxmlx_array Z22 = NULL, START = NULL;
  CHECK(oxmlx_zeros(&Z22, upd2, 2, OXMLX_FLOAT32, NULL));
  const int32_t start[2] = {1, 2};
  const int64_t s2[1] = {2};
  CHECK(oxmlx_array_new_data(&START, start, s2, 1, OXMLX_INT32));
  CHECK(oxmlx_dynamic_slice(&t, X, START, axes01, 2, upd2, 2, NULL));
  show("dynamic_slice", t);
  CHECK(oxmlx_dynamic_slice_update(&t, X, Z22, START, axes01, 2, NULL));
  show("dynamic_slice_update", t);
  const int64_t us[2] = {0, 1}, ue[2] = {3, 4}, uk[2] = {2, 2};
  CHECK(oxmlx_slice_update(&t, X, seven, us, ue, uk, 2, NULL));
  show("slice_update_strided", t);

  /* Random (same numbers as oxmlx.core.random for the same key). */
  oxmlx_array key = NULL;
  CHECK(oxmlx_random_key(&key, 42));
  const int64_t s5[1] = {5};
  CHECK(oxmlx_random_uniform(&t, NULL, NULL, s5, 1, OXMLX_FLOAT32, key, NULL));
  show("uniform_key42", t);
  CHECK(oxmlx_random_normal(&t, s5, 1, OXMLX_FLOAT32, 0.0, 1.0, key, NULL));
  show("normal_key42", t);
  oxmlx_array l0 = NULL, l10 = NULL;
  CHECK(oxmlx_array_new_int(&l0, 0, OXMLX_INT32));
  CHECK(oxmlx_array_new_int(&l10, 10, OXMLX_INT32));
  CHECK(oxmlx_random_randint(&t, l0, l10, s5, 1, OXMLX_INT32, key, NULL));
  show("randint_key42", t);
  CHECK(oxmlx_random_split(&t, key, 2, NULL));
  show("split_key42", t);
  oxmlx_array_free(l0);
  oxmlx_array_free(l10);
  CHECK(oxmlx_random_seed(7));
  CHECK(oxmlx_random_bits(&t, s5, 1, NULL, NULL));
  oxmlx_array_free(t);

  /* I/O round trips. */
  snprintf(path, sizeof path, "%s/x.npy", dir);
  CHECK(oxmlx_save(path, XT)); /* non-contiguous: written row-major */
  CHECK(oxmlx_load(&t, path));
  show("npy_roundtrip", t);
  snprintf(path, sizeof path, "%s/w.safetensors", dir);
  oxmlx_vector_array w = NULL;
  oxmlx_array ws[2] = {X, I};
  const char* names[2] = {"x", "ints"};
  CHECK(oxmlx_vector_array_new_from(&w, ws, 2));
  CHECK(oxmlx_save_safetensors(path, names, w));
  oxmlx_vector_array_free(w);
  oxmlx_names nm = NULL;
  CHECK(oxmlx_load_safetensors(&w, &nm, path));
  size_t nn = 0;
  CHECK(oxmlx_names_size(nm, &nn));
  for (size_t i = 0; i < nn; ++i) {
    const char* n = NULL;
    CHECK(oxmlx_names_get(nm, i, &n));
    oxmlx_array a = NULL;
    CHECK(oxmlx_vector_array_get(&a, w, i));
    char label[80];
    snprintf(label, sizeof label, "safetensors_%s", n);
    show(label, a);
  }
  oxmlx_names_free(nm);
  oxmlx_vector_array_free(w);

  /* Transforms. */
  int calls = 0;
  oxmlx_vector_array in = NULL, vals = NULL, grads = NULL;
  oxmlx_array xy[2] = {X, X};
  oxmlx_array Yf = NULL;
  CHECK(oxmlx_astype(&Yf, Y, OXMLX_FLOAT32, NULL));
  xy[1] = Yf;
  CHECK(oxmlx_vector_array_new_from(&in, xy, 2));
  int argnums[2] = {0, 1};
  CHECK(oxmlx_value_and_grad(&vals, &grads, two_outputs, &calls, in, argnums, 2));
  show_vector("vag_values", vals);
  show_vector("vag_grads", grads);
  printf("callback_calls: %d\n", calls);
  oxmlx_vector_array outs = NULL, cots = NULL, vj = NULL;
  oxmlx_vector_array_free(in);
  CHECK(oxmlx_vector_array_new_from(&in, &X, 1));
  oxmlx_array ct = NULL;
  CHECK(oxmlx_full(&ct, s34, 2, seven, OXMLX_FLOAT32, NULL));
  CHECK(oxmlx_vector_array_new_from(&cots, &ct, 1));
  CHECK(oxmlx_vjp(&outs, &vj, tanh_fn, NULL, in, cots));
  show_vector("vjp_out", outs);
  show_vector("vjp_tanh", vj);
  oxmlx_vector_array jv = NULL;
  CHECK(oxmlx_jvp(&outs, &jv, tanh_fn, NULL, in, cots));
  show_vector("jvp_out", outs);
  show_vector("jvp_tanh", jv);
  oxmlx_vector_array_free(in);
  oxmlx_vector_array_free(cots);

  /* Streams and devices. */
  oxmlx_device dev = NULL;
  oxmlx_stream s = NULL;
  oxmlx_device_type dty;
  CHECK(oxmlx_default_device(&dev));
  CHECK(oxmlx_device_get_type(dev, &dty));
  CHECK(oxmlx_stream_new(&s, dev));
  CHECK(oxmlx_multiply(&t, X, X, s));
  CHECK(oxmlx_synchronize(s));
  show("on_new_stream", t);
  printf("device: %s\n", dty == OXMLX_CPU ? "cpu" : "gpu");
  oxmlx_stream_free(s);
  CHECK(oxmlx_stream_new_on_backend(&s, dev, "cpu"));
  CHECK(oxmlx_subtract(&t, X, X, s));
  show("on_cpu_backend_stream", t);
  int sidx = -1;
  CHECK(oxmlx_stream_get_index(s, &sidx));
  printf("stream_index_positive: %d\n", sidx > 0);
  oxmlx_stream_free(s);
  oxmlx_device_free(dev);

  oxmlx_array to_free[] = {X, Y, I, three, zero, cond, XT, XTT, seven, lo, hi, IDX, TAL, Z22,
                           START, key, Yf, ct};
  for (size_t i = 0; i < sizeof to_free / sizeof to_free[0]; ++i) oxmlx_array_free(to_free[i]);
  printf("done\n");
  return 0;
}
