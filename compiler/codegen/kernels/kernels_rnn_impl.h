/* The body of the recurrent kernels (kernels_rnn.h), included by
 * kernels_rnn.c once per data type with
 *   RT        the element type (float, double)
 *   RNN_FN(x) x with the type suffix (x##_f32)
 *   R_EXP, R_LOG, R_TANH, R_SIGMOID   the elementary functions
 *   R_MATMUL  tc_k_matmul_f32 / _f64
 *
 * Notation (per direction d, batch entry b, step s): rows are X's rows
 * (t, b) in X's own order, so one matrix product over all rows gives the
 * input projections X W^T and, backwards, dX and dW. Step s of entry b
 * reads time t = s (forward) or len_b - 1 - s (reverse) and is active when
 * s < len_b. Gate pre-activations a are kept unclipped; the activation sees
 * clip(a), and the gradient is zero where the clip is active.
 *
 * The cells (ONNX; x W^T and h R^T per gate, Wb and Rb the two bias halves):
 *   RNN   h' = f(xWi + hRi + Wbi + Rbi)
 *   GRU   z = f(xWz + hRz + Wbz + Rbz), r = f(xWr + hRr + Wbr + Rbr)
 *         n = g(xWh + (r*h)Rh + Rbh + Wbh)            linear_before_reset 0
 *         n = g(xWh + r*(hRh + Rbh) + Wbh)            linear_before_reset 1
 *         h' = (1 - z) n + z h
 *   LSTM  i = f(xWi + hRi + Pi c + bi), f = f(xWf + hRf + Pf c + bf)
 *         (f = 1 - i with input_forget), u = g(xWc + hRc + bc)
 *         c' = f c + i u, o = f(xWo + hRo + Po c' + bo), h' = o h(c') */

/* ---- activations ---- */

static inline RT RNN_FN(rnn_act)(int64_t code, double alpha, double beta, RT x) {
  RT a = (RT)alpha, b = (RT)beta;
  switch (code) {
  case TC_K_RNN_ACT_SIGMOID: return R_SIGMOID(x);
  case TC_K_RNN_ACT_TANH: return R_TANH(x);
  case TC_K_RNN_ACT_RELU: return x > 0 ? x : 0;
  case TC_K_RNN_ACT_AFFINE: return a * x + b;
  case TC_K_RNN_ACT_LEAKY_RELU: return x >= 0 ? x : a * x;
  case TC_K_RNN_ACT_THRESHOLDED_RELU: return x > a ? x : 0;
  case TC_K_RNN_ACT_SCALED_TANH: return a * R_TANH(b * x);
  case TC_K_RNN_ACT_HARD_SIGMOID: {
    RT v = a * x + b;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }
  case TC_K_RNN_ACT_ELU: return x >= 0 ? x : a * (R_EXP(x) - 1);
  case TC_K_RNN_ACT_SOFTSIGN: return x / (1 + (x < 0 ? -x : x));
  default: /* TC_K_RNN_ACT_SOFTPLUS, stable for large |x| */
    return (x > 0 ? x : 0) + R_LOG(1 + R_EXP(x > 0 ? -x : x));
  }
}

/* d act / dx at x */
static inline RT RNN_FN(rnn_dact)(int64_t code, double alpha, double beta, RT x) {
  RT a = (RT)alpha, b = (RT)beta;
  switch (code) {
  case TC_K_RNN_ACT_SIGMOID: {
    RT s = R_SIGMOID(x);
    return s * (1 - s);
  }
  case TC_K_RNN_ACT_TANH: {
    RT t = R_TANH(x);
    return 1 - t * t;
  }
  case TC_K_RNN_ACT_RELU: return x > 0 ? 1 : 0;
  case TC_K_RNN_ACT_AFFINE: return a;
  case TC_K_RNN_ACT_LEAKY_RELU: return x >= 0 ? 1 : a;
  case TC_K_RNN_ACT_THRESHOLDED_RELU: return x > a ? 1 : 0;
  case TC_K_RNN_ACT_SCALED_TANH: {
    RT t = R_TANH(b * x);
    return a * b * (1 - t * t);
  }
  case TC_K_RNN_ACT_HARD_SIGMOID: {
    RT v = a * x + b;
    return v > 0 && v < 1 ? a : 0;
  }
  case TC_K_RNN_ACT_ELU: return x >= 0 ? 1 : a * R_EXP(x);
  case TC_K_RNN_ACT_SOFTSIGN: {
    RT d = 1 + (x < 0 ? -x : x);
    return 1 / (d * d);
  }
  default: return R_SIGMOID(x); /* softplus */
  }
}

/* One activation of one direction, with the clip folded in. */
typedef struct RNN_FN(rnn_fn) {
  int64_t code;
  double alpha, beta;
  RT clip; /* 0: none */
} RNN_FN(rnn_fn);

/* The activations run over whole rows of gates: the loop sits inside the
 * switch on the function, so each case is a plain elementwise loop that
 * the JIT vectorizes (rnn_act inlined with a constant code). Every element
 * gets the same scalar arithmetic as one call of rnn_act would give it. */
#if defined(__clang__)
#define RNN_INLINE __attribute__((always_inline)) inline
#else
#define RNN_INLINE inline
#endif

static RNN_INLINE void RNN_FN(rnn_act_loop)(int64_t code, double alpha, double beta,
                                            const RT *a, RT *y, int64_t n) {
  for (int64_t j = 0; j < n; j++) y[j] = RNN_FN(rnn_act)(code, alpha, beta, a[j]);
}

static RNN_INLINE void RNN_FN(rnn_dact_loop)(int64_t code, double alpha, double beta,
                                             const RT *a, RT *y, int64_t n) {
  for (int64_t j = 0; j < n; j++) y[j] = RNN_FN(rnn_dact)(code, alpha, beta, a[j]);
}

/* y[j] = f(clip(a[j])) for j < n (y may be a) */
static void RNN_FN(rnn_apply_row)(const RNN_FN(rnn_fn) *f, const RT *a, RT *y, int64_t n) {
  if (f->clip > 0) {
    RT c = f->clip;
    for (int64_t j = 0; j < n; j++) y[j] = a[j] < -c ? -c : a[j] > c ? c : a[j];
    a = y;
  }
  double al = f->alpha, be = f->beta;
  switch (f->code) {
  case TC_K_RNN_ACT_SIGMOID: RNN_FN(rnn_act_loop)(TC_K_RNN_ACT_SIGMOID, al, be, a, y, n); break;
  case TC_K_RNN_ACT_TANH: RNN_FN(rnn_act_loop)(TC_K_RNN_ACT_TANH, al, be, a, y, n); break;
  case TC_K_RNN_ACT_RELU: RNN_FN(rnn_act_loop)(TC_K_RNN_ACT_RELU, al, be, a, y, n); break;
  default: RNN_FN(rnn_act_loop)(f->code, al, be, a, y, n); break; /* the rarer ones */
  }
}

/* y[j] = f'(a[j]) for j < n, 0 where the clip is active (y may be a) */
static void RNN_FN(rnn_deriv_row)(const RNN_FN(rnn_fn) *f, const RT *a, RT *y, int64_t n) {
  double al = f->alpha, be = f->beta;
  RT c = f->clip;
  if (c > 0) {
    for (int64_t j = 0; j < n; j++) {
      RT d = RNN_FN(rnn_dact)(f->code, al, be, a[j]);
      y[j] = a[j] < -c || a[j] > c ? 0 : d;
    }
    return;
  }
  switch (f->code) {
  case TC_K_RNN_ACT_SIGMOID: RNN_FN(rnn_dact_loop)(TC_K_RNN_ACT_SIGMOID, al, be, a, y, n); break;
  case TC_K_RNN_ACT_TANH: RNN_FN(rnn_dact_loop)(TC_K_RNN_ACT_TANH, al, be, a, y, n); break;
  case TC_K_RNN_ACT_RELU: RNN_FN(rnn_dact_loop)(TC_K_RNN_ACT_RELU, al, be, a, y, n); break;
  default: RNN_FN(rnn_dact_loop)(f->code, al, be, a, y, n); break;
  }
}

/* dy[j] = f'(a[j]) (0 where the clip is active) for j < n, given
 * y[j] = f(clip(a[j])) from the forward pass: sigmoid and tanh take their
 * derivative from their value, as rnn_dact does (the same arithmetic, to
 * the bit), so they do not run again. */
static void RNN_FN(rnn_deriv_act_row)(const RNN_FN(rnn_fn) *f, const RT *a, const RT *y, RT *dy,
                                      int64_t n) {
  RT c = f->clip;
  if (f->code == TC_K_RNN_ACT_SIGMOID) {
    for (int64_t j = 0; j < n; j++) {
      int clipped = c > 0 && (a[j] < -c || a[j] > c);
      dy[j] = clipped ? 0 : y[j] * (1 - y[j]);
    }
  } else if (f->code == TC_K_RNN_ACT_TANH) {
    for (int64_t j = 0; j < n; j++) {
      int clipped = c > 0 && (a[j] < -c || a[j] > c);
      dy[j] = clipped ? 0 : 1 - y[j] * y[j];
    }
  } else {
    RNN_FN(rnn_deriv_row)(f, a, dy, n);
  }
}

/* ---- the problem ---- */

typedef struct RNN_FN(rnn_view) {
  int64_t cell, T, B, I, H, D, G, GH, layout, lbr, input_forget;
  int64_t GR; /* gates whose recurrent product is h R^T (GRU lbr 0: z, r only) */
  const RT *x, *w, *r, *bias, *h0, *c0, *peep;
  const int32_t *lens;
  RNN_FN(rnn_fn) fn[6]; /* per direction d: fn[d * functions + k] */
} RNN_FN(rnn_view);

static int32_t RNN_FN(rnn_view_of)(const void *const *in, const int64_t *cfg, const double *p,
                                   RNN_FN(rnn_view) *v) {
  v->cell = cfg[TC_K_RNN_CFG_CELL];
  v->T = cfg[TC_K_RNN_CFG_T], v->B = cfg[TC_K_RNN_CFG_B];
  v->I = cfg[TC_K_RNN_CFG_I], v->H = cfg[TC_K_RNN_CFG_H];
  v->D = cfg[TC_K_RNN_CFG_DIRECTION] == TC_K_RNN_BIDIRECTIONAL ? 2 : 1;
  v->G = tc_k_rnn_gates(v->cell), v->GH = v->G * v->H;
  v->layout = cfg[TC_K_RNN_CFG_LAYOUT];
  v->lbr = cfg[TC_K_RNN_CFG_LINEAR_BEFORE_RESET];
  v->input_forget = cfg[TC_K_RNN_CFG_INPUT_FORGET];
  v->GR = v->cell == TC_K_RNN_CELL_GRU && !v->lbr ? 2 : v->G;
  v->x = in[TC_K_RNN_IN_X], v->w = in[TC_K_RNN_IN_W], v->r = in[TC_K_RNN_IN_R];
  v->bias = in[TC_K_RNN_IN_B], v->lens = in[TC_K_RNN_IN_SEQ_LENS];
  v->h0 = in[TC_K_RNN_IN_INITIAL_H], v->c0 = in[TC_K_RNN_IN_INITIAL_C];
  v->peep = in[TC_K_RNN_IN_P];
  int64_t nf = tc_k_rnn_functions(v->cell);
  for (int64_t k = 0; k < v->D * nf; k++)
    v->fn[k] = (RNN_FN(rnn_fn)){cfg[TC_K_RNN_CFG_ACT + k], p[1 + 2 * k], p[2 + 2 * k],
                                (RT)p[0]};
  if (v->lens)
    for (int64_t b = 0; b < v->B; b++)
      if (v->lens[b] < 0 || v->lens[b] > v->T) return 1;
  return 0;
}

static inline int64_t RNN_FN(rnn_len)(const RNN_FN(rnn_view) *v, int64_t b) {
  return v->lens ? v->lens[b] : v->T;
}
static inline int RNN_FN(rnn_reverse)(const int64_t *cfg, int64_t d) {
  return cfg[TC_K_RNN_CFG_DIRECTION] == TC_K_RNN_REVERSE || d == 1;
}
/* X's row of (t, b); Y's offset of (t, d, b); Y_h's (and the states') of (d, b) */
static inline int64_t RNN_FN(rnn_row)(const RNN_FN(rnn_view) *v, int64_t t, int64_t b) {
  return v->layout ? b * v->T + t : t * v->B + b;
}
static inline int64_t RNN_FN(rnn_yoff)(const RNN_FN(rnn_view) *v, int64_t t, int64_t d,
                                       int64_t b) {
  return (v->layout ? (b * v->T + t) * v->D + d : (t * v->D + d) * v->B + b) * v->H;
}
static inline int64_t RNN_FN(rnn_hoff)(const RNN_FN(rnn_view) *v, int64_t d, int64_t b) {
  return (v->layout ? b * v->D + d : d * v->B + b) * v->H;
}

static void RNN_FN(rnn_zero)(RT *p, int64_t n) {
  for (int64_t i = 0; i < n; i++) p[i] = 0;
}
/* dst[0:n] = src[0:n], the two disjoint */
static void RNN_FN(rnn_copy)(RT *dst, const RT *src, int64_t n) {
  memcpy(dst, src, (size_t)n * sizeof(RT));
}

/* C[M, N] (+)= A[M, K] B[K, N] with row strides lda, ldb; ta/tb: A, B
 * stored transposed. */
static void RNN_FN(rnn_mm)(const RT *A, const RT *B, RT *C, int64_t M, int64_t N, int64_t K,
                           int64_t lda, int64_t ldb, int ta, int tb, int acc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!acc) RNN_FN(rnn_zero)(C, M * N);
    return;
  }
  R_MATMUL(A, B, C, M, N, K, lda, ldb, ta, tb, 1, acc, 0, 0, 0, 0);
}

/* What one direction keeps for the gradient (NULL in a plain forward):
 * per X row, the gate pre-activations [GH], the hidden state before the
 * step, and aux1, aux2: LSTM the cell state before and after the step; GRU
 * h Rh^T + Rbh (lbr 1) or r * h (lbr 0); all zero at inactive rows. And
 * the gate activations act [GH + H] (rnn_cell_a, rnn_gru_b; GRU and LSTM
 * only) at active rows. */
typedef struct RNN_FN(rnn_saved) {
  RT *pre, *hprev, *aux1, *aux2, *act;
} RNN_FN(rnn_saved);

/* Forward temporaries: XW [rows, GH], HR [B, GR*H], the pre-activations
 * of a step when nothing is saved [B, GH], hcur, ccur, rh, tmp [B, H], and
 * the gate activations of one entry act [GH + H]. */
typedef struct RNN_FN(rnn_work) {
  RT *xw, *hr, *pre, *hcur, *ccur, *rh, *tmp, *act;
} RNN_FN(rnn_work);

static RNN_FN(rnn_work) RNN_FN(rnn_work_at)(const RNN_FN(rnn_view) *v, RT *s) {
  RNN_FN(rnn_work) w;
  int64_t rows = v->T * v->B;
  w.xw = s, s += rows * v->GH;
  w.hr = s, s += v->B * v->GH;
  w.pre = s, s += v->B * v->GH;
  w.hcur = s, s += v->B * v->H;
  w.ccur = s, s += v->B * v->H;
  w.rh = s, s += v->B * v->H;
  w.tmp = s, s += v->B * v->H;
  w.act = s;
  return w;
}

/* One step of direction d's cell for entry b (first part: for GRU lbr 0
 * everything up to r * h, which then goes through one product). act is a
 * row of GH + H temporaries. */
static void RNN_FN(rnn_cell_a)(const RNN_FN(rnn_view) *v, int64_t d, const RT *xw, const RT *hr,
                               RT *h, RT *c, RT *rh, RT *pre, RT *act) {
  int64_t H = v->H, GH = v->GH, nf = tc_k_rnn_functions(v->cell);
  const RNN_FN(rnn_fn) *fn = &v->fn[d * nf];
  const RT *wb = v->bias ? v->bias + d * 2 * GH : 0, *rb = wb ? wb + GH : 0;
  int64_t direct = v->cell == TC_K_RNN_CELL_GRU ? 2 * H : GH; /* gates taking h R^T as is */
  for (int64_t j = 0; j < direct; j++) pre[j] = xw[j] + hr[j];
  for (int64_t j = direct; j < GH; j++) pre[j] = xw[j] + 0;
  if (wb) {
    for (int64_t j = 0; j < direct; j++) pre[j] += wb[j] + rb[j];
    for (int64_t j = direct; j < GH; j++) pre[j] += wb[j] + 0;
  }
  if (v->cell == TC_K_RNN_CELL_RNN) {
    RNN_FN(rnn_apply_row)(&fn[0], pre, h, H);
  } else if (v->cell == TC_K_RNN_CELL_GRU) {
    if (!v->lbr) {
      RNN_FN(rnn_apply_row)(&fn[0], pre + H, rh, H);
      for (int64_t j = 0; j < H; j++) rh[j] = rh[j] * h[j];
    }
  } else {
    const RT *pp = v->peep ? v->peep + d * 3 * H : 0;
    RT *ai = act, *ao = act + H, *af = act + 2 * H, *au = act + 3 * H, *hc = act + GH;
    if (pp)
      for (int64_t j = 0; j < H; j++)
        pre[j] += pp[j] * c[j], pre[2 * H + j] += pp[2 * H + j] * c[j];
    RNN_FN(rnn_apply_row)(&fn[0], pre, ai, H);
    if (v->input_forget)
      for (int64_t j = 0; j < H; j++) af[j] = 1 - ai[j];
    else
      RNN_FN(rnn_apply_row)(&fn[0], pre + 2 * H, af, H);
    RNN_FN(rnn_apply_row)(&fn[1], pre + 3 * H, au, H);
    for (int64_t j = 0; j < H; j++) c[j] = af[j] * c[j] + ai[j] * au[j];
    if (pp)
      for (int64_t j = 0; j < H; j++) pre[H + j] += pp[H + j] * c[j];
    RNN_FN(rnn_apply_row)(&fn[0], pre + H, ao, H);
    RNN_FN(rnn_apply_row)(&fn[2], c, hc, H);
    for (int64_t j = 0; j < H; j++) h[j] = ao[j] * hc[j];
  }
}

/* The GRU's second part: rhr is (r * h) Rh^T (lbr 0) or h Rh^T (lbr 1);
 * *aux receives what the gradient needs of it; act as for rnn_cell_a. */
static void RNN_FN(rnn_gru_b)(const RNN_FN(rnn_view) *v, int64_t d, const RT *rhr, RT *h,
                              const RT *rh, RT *pre, RT *aux, RT *act) {
  int64_t H = v->H;
  const RNN_FN(rnn_fn) *fn = &v->fn[d * 2];
  const RT *rbh = v->bias ? v->bias + d * 2 * v->GH + v->GH + 2 * H : 0;
  RT *z = act, *r = act + H, *n = act + 2 * H, *lin = act + 3 * H;
  RNN_FN(rnn_apply_row)(&fn[0], pre, z, 2 * H); /* z, r */
  for (int64_t j = 0; j < H; j++) lin[j] = rhr[j] + (rbh ? rbh[j] : 0);
  if (v->lbr) {
    for (int64_t j = 0; j < H; j++) pre[2 * H + j] += r[j] * lin[j];
    if (aux)
      for (int64_t j = 0; j < H; j++) aux[j] = lin[j];
  } else {
    for (int64_t j = 0; j < H; j++) pre[2 * H + j] += lin[j];
    if (aux)
      for (int64_t j = 0; j < H; j++) aux[j] = rh[j];
  }
  RNN_FN(rnn_apply_row)(&fn[1], pre + 2 * H, n, H);
  for (int64_t j = 0; j < H; j++) h[j] = (1 - z[j]) * n[j] + z[j] * h[j];
}

/* Runs direction d: writes Y, Y_h, Y_c (any may be NULL) and, if sv, what
 * the gradient needs. */
static void RNN_FN(rnn_direction)(const RNN_FN(rnn_view) *v, const int64_t *cfg, int64_t d,
                                  const RNN_FN(rnn_work) *w, RT *y, RT *yh, RT *yc,
                                  const RNN_FN(rnn_saved) *sv) {
  int64_t T = v->T, B = v->B, H = v->H, GH = v->GH, rows = T * B;
  int rev = RNN_FN(rnn_reverse)(cfg, d);
  const RT *wd = v->w + d * GH * v->I, *rd = v->r + d * GH * H;
  RNN_FN(rnn_mm)(v->x, wd, w->xw, rows, GH, v->I, v->I, v->I, 0, 1, 0);
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < H; j++) {
      int64_t o = RNN_FN(rnn_hoff)(v, d, b) + j;
      w->hcur[b * H + j] = v->h0 ? v->h0[o] : 0;
      w->ccur[b * H + j] = v->c0 ? v->c0[o] : 0;
    }
  if (y)
    for (int64_t b = 0; b < B; b++)
      for (int64_t t = RNN_FN(rnn_len)(v, b); t < T; t++)
        RNN_FN(rnn_zero)(y + RNN_FN(rnn_yoff)(v, t, d, b), H);
  for (int64_t s = 0; s < T; s++) {
    RNN_FN(rnn_mm)(w->hcur, rd, w->hr, B, v->GR * H, H, H, H, 0, 1, 0);
    for (int64_t b = 0; b < B; b++) {
      int64_t len = RNN_FN(rnn_len)(v, b);
      if (s >= len) {
        RNN_FN(rnn_zero)(w->rh + b * H, H);
        continue;
      }
      int64_t t = rev ? len - 1 - s : s, k = RNN_FN(rnn_row)(v, t, b);
      RT *pre = sv ? sv->pre + k * GH : w->pre + b * GH;
      RT *act = sv ? sv->act + k * (GH + H) : w->act;
      if (sv) {
        RNN_FN(rnn_copy)(sv->hprev + k * H, w->hcur + b * H, H);
        if (v->cell == TC_K_RNN_CELL_LSTM) RNN_FN(rnn_copy)(sv->aux1 + k * H, w->ccur + b * H, H);
      }
      const RT *hr = w->hr + b * v->GR * H;
      RNN_FN(rnn_cell_a)(v, d, w->xw + k * GH, hr, w->hcur + b * H, w->ccur + b * H,
                         w->rh + b * H, pre, act);
      if (v->cell == TC_K_RNN_CELL_GRU && v->lbr)
        RNN_FN(rnn_gru_b)(v, d, hr + 2 * H, w->hcur + b * H, 0, pre,
                          sv ? sv->aux1 + k * H : 0, act);
      if (sv && v->cell == TC_K_RNN_CELL_LSTM)
        RNN_FN(rnn_copy)(sv->aux2 + k * H, w->ccur + b * H, H);
    }
    if (v->cell == TC_K_RNN_CELL_GRU && !v->lbr) {
      RNN_FN(rnn_mm)(w->rh, rd + 2 * H * H, w->tmp, B, H, H, H, H, 0, 1, 0);
      for (int64_t b = 0; b < B; b++) {
        int64_t len = RNN_FN(rnn_len)(v, b);
        if (s >= len) continue;
        int64_t t = rev ? len - 1 - s : s, k = RNN_FN(rnn_row)(v, t, b);
        RT *pre = sv ? sv->pre + k * GH : w->pre + b * GH;
        RNN_FN(rnn_gru_b)(v, d, w->tmp + b * H, w->hcur + b * H, w->rh + b * H, pre,
                          sv ? sv->aux1 + k * H : 0, sv ? sv->act + k * (GH + H) : w->act);
      }
    }
    if (y)
      for (int64_t b = 0; b < B; b++) {
        int64_t len = RNN_FN(rnn_len)(v, b);
        if (s >= len) continue;
        int64_t t = rev ? len - 1 - s : s;
        RNN_FN(rnn_copy)(y + RNN_FN(rnn_yoff)(v, t, d, b), w->hcur + b * H, H);
      }
  }
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < H; j++) {
      int64_t o = RNN_FN(rnn_hoff)(v, d, b) + j;
      if (yh) yh[o] = w->hcur[b * H + j];
      if (yc) yc[o] = w->ccur[b * H + j];
    }
}

int32_t RNN_FN(tc_k_rnn)(const void *const *in, const int64_t *cfg, const double *p,
                         void *const *out, void *scratch) {
  RNN_FN(rnn_view) v;
  if (RNN_FN(rnn_view_of)(in, cfg, p, &v)) return 1;
  RNN_FN(rnn_work) w = RNN_FN(rnn_work_at)(&v, scratch);
  for (int64_t d = 0; d < v.D; d++) RNN_FN(rnn_direction)(&v, cfg, d, &w, out[0], out[1], out[2], 0);
  return 0;
}

/* ---- backpropagation through time ---- */

/* Gradient temporaries: the gate gradients of every row as the input and
 * weight products see them (dA) and as the recurrent ones do (dAR: GRU lbr
 * 1's h gate is scaled by r there), the same of one step [B, GH], and the
 * state gradients dh, dc, the elementwise part of dh_prev and a product
 * [B, H]; the derivatives of the gate activations of one entry der
 * [GH + H]. */
typedef struct RNN_FN(rnn_bwork) {
  RT *da, *dar, *da_step, *dar_step, *dh, *dc, *dh_el, *tmp, *der;
} RNN_FN(rnn_bwork);

/* The LSTM's step backwards for one entry, elementwise once act and der
 * hold the gates' activations and derivatives (rnn_cell_back); inlined
 * with peep a constant, so that the loop vectorizes without the peephole
 * terms' loads where there are none. */
static RNN_INLINE void RNN_FN(rnn_lstm_back_loop)(
    int64_t H, int peep, int input_forget, const RT *restrict g, const RT *restrict aux1,
    const RT *restrict pp, const RT *restrict act, const RT *restrict der, RT *restrict da,
    RT *restrict dar, RT *restrict dh_el, RT *restrict dc) {
  const RT *gi = act, *go = act + H, *gf = act + 2 * H, *gu = act + 3 * H, *hc = act + 4 * H;
  const RT *di_a = der, *do_a = der + H, *df_a = der + 2 * H, *du_a = der + 3 * H;
  const RT *dhc = der + 4 * H;
  for (int64_t j = 0; j < H; j++) {
    RT cprev = aux1[j];
    RT dao = g[j] * hc[j] * do_a[j];
    RT dct = dc[j] + g[j] * go[j] * dhc[j] + (peep ? dao * pp[H + j] : 0);
    RT di = dct * gu[j], df = dct * cprev;
    RT daf = input_forget ? 0 : df * df_a[j];
    di = input_forget ? di - df : di;
    RT dai = di * di_a[j];
    RT dau = dct * gi[j] * du_a[j];
    dc[j] = dct * gf[j] + (peep ? dai * pp[j] + daf * pp[2 * H + j] : 0);
    da[j] = dar[j] = dai;
    da[H + j] = dar[H + j] = dao;
    da[2 * H + j] = dar[2 * H + j] = daf;
    da[3 * H + j] = dar[3 * H + j] = dau;
    dh_el[j] = 0;
  }
}

/* Step s of entry b backwards (all but GRU lbr 0's reset gate): from the
 * gradient g of the step's output and dc of its cell state, the gate
 * gradients, dh_el, and dc of the previous cell state. der is a row of
 * GH + H temporaries. */
static void RNN_FN(rnn_cell_back)(const RNN_FN(rnn_view) *v, int64_t d, int64_t k,
                                  const RT *restrict g, const RNN_FN(rnn_saved) *sv,
                                  RT *restrict da, RT *restrict dar, RT *restrict dh_el,
                                  RT *restrict dc, RT *restrict dp, RT *restrict der) {
  int64_t H = v->H, GH = v->GH, nf = tc_k_rnn_functions(v->cell);
  const RNN_FN(rnn_fn) *fn = &v->fn[d * nf];
  const RT *pre = sv->pre + k * GH, *hp = sv->hprev + k * H;
  const RT *aux1 = sv->aux1 + k * H, *aux2 = sv->aux2 + k * H, *act = sv->act + k * (GH + H);
  if (v->cell == TC_K_RNN_CELL_RNN) {
    RNN_FN(rnn_deriv_row)(&fn[0], pre, der, H);
    for (int64_t j = 0; j < H; j++) {
      da[j] = dar[j] = g[j] * der[j];
      dh_el[j] = 0;
    }
  } else if (v->cell == TC_K_RNN_CELL_GRU) {
    /* act: z, r, n; der: their derivatives */
    RNN_FN(rnn_deriv_act_row)(&fn[0], pre, act, der, 2 * H);
    RNN_FN(rnn_deriv_act_row)(&fn[1], pre + 2 * H, act + 2 * H, der + 2 * H, H);
    const RT *z = act, *r = act + H, *n = act + 2 * H;
    const RT *dz = der, *dr = der + H, *dn = der + 2 * H;
    for (int64_t j = 0; j < H; j++) {
      RT dah = g[j] * (1 - z[j]) * dn[j];
      da[j] = dar[j] = g[j] * (hp[j] - n[j]) * dz[j];
      dh_el[j] = g[j] * z[j];
      da[2 * H + j] = dah;
    }
    if (v->lbr) {
      for (int64_t j = 0; j < H; j++) {
        RT dah = da[2 * H + j];
        dar[2 * H + j] = dah * r[j];
        da[H + j] = dar[H + j] = dah * aux1[j] * dr[j];
      }
    } else {
      for (int64_t j = 0; j < H; j++) dar[2 * H + j] = da[2 * H + j];
    }
  } else {
    int peep = v->peep != 0, input_forget = v->input_forget != 0;
    const RT *pp = peep ? v->peep + d * 3 * H : 0;
    /* act: i, o, f (1 - i with input_forget), u, h(c); der: their
     * derivatives (f's unused with input_forget) */
    RNN_FN(rnn_deriv_act_row)(&fn[0], pre, act, der, 3 * H);
    RNN_FN(rnn_deriv_act_row)(&fn[1], pre + 3 * H, act + 3 * H, der + 3 * H, H);
    RNN_FN(rnn_deriv_act_row)(&fn[2], aux2, act + GH, der + GH, H);
    if (peep) /* two copies of the loop, each with its selects folded */
      RNN_FN(rnn_lstm_back_loop)(H, 1, input_forget, g, aux1, pp, act, der, da, dar, dh_el, dc);
    else
      RNN_FN(rnn_lstm_back_loop)(H, 0, input_forget, g, aux1, pp, act, der, da, dar, dh_el, dc);
    if (dp)
      for (int64_t j = 0; j < H; j++)
        dp[j] += da[j] * aux1[j], dp[H + j] += da[H + j] * aux2[j],
            dp[2 * H + j] += da[2 * H + j] * aux1[j];
  }
}

/* GRU lbr 0's reset gate, once drh = d(r * h) is known; der as for
 * rnn_cell_back. */
static void RNN_FN(rnn_gru_back_b)(const RNN_FN(rnn_view) *v, int64_t d, int64_t k,
                                   const RT *drh, const RNN_FN(rnn_saved) *sv, RT *da, RT *dar,
                                   RT *dh_el, RT *der) {
  int64_t H = v->H;
  const RNN_FN(rnn_fn) *fn = &v->fn[d * 2];
  const RT *pre = sv->pre + k * v->GH, *hp = sv->hprev + k * H;
  const RT *r = sv->act + k * (v->GH + H) + H;
  RNN_FN(rnn_deriv_act_row)(&fn[0], pre + H, r, der, H);
  for (int64_t j = 0; j < H; j++) {
    dh_el[j] += drh[j] * r[j];
    da[H + j] = dar[H + j] = drh[j] * hp[j] * der[j];
  }
}

static void RNN_FN(rnn_back_direction)(const RNN_FN(rnn_view) *v, const int64_t *cfg, int64_t d,
                                       const RT *const *dy, const RNN_FN(rnn_saved) *sv,
                                       const RNN_FN(rnn_bwork) *w, RT *const *dx) {
  int64_t T = v->T, B = v->B, H = v->H, GH = v->GH, I = v->I, rows = T * B;
  int rev = RNN_FN(rnn_reverse)(cfg, d);
  const RT *wd = v->w + d * GH * I, *rd = v->r + d * GH * H;
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < H; j++) {
      int64_t o = RNN_FN(rnn_hoff)(v, d, b) + j;
      w->dh[b * H + j] = dy[1] ? dy[1][o] : 0;
      w->dc[b * H + j] = dy[2] ? dy[2][o] : 0;
    }
  if (v->lens) { /* rows past a length stay 0; without lengths every row is written */
    RNN_FN(rnn_zero)(w->da, rows * GH);
    RNN_FN(rnn_zero)(w->dar, rows * GH);
  }
  RT *dp = dx[6] ? dx[6] + d * 3 * H : 0;
  if (dp) RNN_FN(rnn_zero)(dp, 3 * H);
  for (int64_t s = T - 1; s >= 0; s--) {
    if (v->lens) {
      RNN_FN(rnn_zero)(w->da_step, B * GH);
      RNN_FN(rnn_zero)(w->dar_step, B * GH);
    }
    for (int64_t b = 0; b < B; b++) {
      int64_t len = RNN_FN(rnn_len)(v, b);
      if (s >= len) continue;
      int64_t t = rev ? len - 1 - s : s, k = RNN_FN(rnn_row)(v, t, b);
      RT *g = w->dh + b * H;
      if (dy[0]) {
        const RT *gy = dy[0] + RNN_FN(rnn_yoff)(v, t, d, b);
        for (int64_t j = 0; j < H; j++) g[j] += gy[j];
      }
      RNN_FN(rnn_cell_back)(v, d, k, g, sv, w->da_step + b * GH, w->dar_step + b * GH,
                            w->dh_el + b * H, w->dc + b * H, dp, w->der);
    }
    if (v->cell == TC_K_RNN_CELL_GRU && !v->lbr) {
      RNN_FN(rnn_mm)(w->da_step + 2 * H, rd + 2 * H * H, w->tmp, B, H, H, GH, H, 0, 0, 0);
      for (int64_t b = 0; b < B; b++) {
        int64_t len = RNN_FN(rnn_len)(v, b);
        if (s >= len) continue;
        int64_t t = rev ? len - 1 - s : s, k = RNN_FN(rnn_row)(v, t, b);
        RNN_FN(rnn_gru_back_b)(v, d, k, w->tmp + b * H, sv, w->da_step + b * GH,
                               w->dar_step + b * GH, w->dh_el + b * H, w->der);
      }
    }
    RNN_FN(rnn_mm)(w->dar_step, rd, w->tmp, B, H, v->GR * H, GH, H, 0, 0, 0);
    for (int64_t b = 0; b < B; b++) {
      int64_t len = RNN_FN(rnn_len)(v, b);
      if (s >= len) continue;
      int64_t t = rev ? len - 1 - s : s, k = RNN_FN(rnn_row)(v, t, b);
      for (int64_t j = 0; j < H; j++) w->dh[b * H + j] = w->dh_el[b * H + j] + w->tmp[b * H + j];
      RNN_FN(rnn_copy)(w->da + k * GH, w->da_step + b * GH, GH);
      RNN_FN(rnn_copy)(w->dar + k * GH, w->dar_step + b * GH, GH);
    }
  }
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < H; j++) {
      int64_t o = RNN_FN(rnn_hoff)(v, d, b) + j;
      if (dx[4]) dx[4][o] = w->dh[b * H + j];
      if (dx[5]) dx[5][o] = w->dc[b * H + j];
    }
  if (dx[0]) RNN_FN(rnn_mm)(w->da, wd, dx[0], rows, I, GH, GH, I, 0, 0, d > 0);
  if (dx[1]) RNN_FN(rnn_mm)(w->da, v->x, dx[1] + d * GH * I, GH, I, rows, GH, I, 1, 0, 0);
  if (dx[2]) {
    RT *dr = dx[2] + d * GH * H;
    RNN_FN(rnn_mm)(w->dar, sv->hprev, dr, v->GR * H, H, rows, GH, H, 1, 0, 0);
    if (v->GR < v->G) /* GRU lbr 0: the h gate multiplies r * h */
      RNN_FN(rnn_mm)(w->dar + 2 * H, sv->aux1, dr + 2 * H * H, H, H, rows, GH, H, 1, 0, 0);
  }
  if (dx[3]) {
    RT *db = dx[3] + d * 2 * GH;
    for (int64_t j = 0; j < 2 * GH; j++) db[j] = 0;
    for (int64_t k = 0; k < rows; k++)
      for (int64_t j = 0; j < GH; j++) {
        db[j] += w->da[k * GH + j];
        db[GH + j] += w->dar[k * GH + j];
      }
  }
}

int32_t RNN_FN(tc_k_rnn_grad)(const void *const *dy, const void *const *in, const int64_t *cfg,
                              const double *p, void *const *dx, void *scratch) {
  RNN_FN(rnn_view) v;
  if (RNN_FN(rnn_view_of)(in, cfg, p, &v)) return 1;
  int64_t rows = v.T * v.B, H = v.H, GH = v.GH, B = v.B;
  RT *s = scratch;
  RNN_FN(rnn_work) w = RNN_FN(rnn_work_at)(&v, s);
  s += tc_k_rnn_scratch(v.cell, v.D, v.T, v.B, v.H, 0);
  RNN_FN(rnn_saved) sv[2];
  if (v.lens) /* rows past a length stay 0; without lengths every row is written */
    RNN_FN(rnn_zero)(s, v.D * rows * (GH + 3 * H));
  RT *acts = s + v.D * rows * (GH + 3 * H); /* read at active rows only */
  for (int64_t d = 0; d < v.D; d++) {
    sv[d].pre = s, s += rows * GH;
    sv[d].hprev = s, s += rows * H;
    sv[d].aux1 = s, s += rows * H;
    sv[d].aux2 = s, s += rows * H;
    sv[d].act = acts + d * rows * (GH + H);
    RNN_FN(rnn_direction)(&v, cfg, d, &w, 0, 0, 0, &sv[d]);
  }
  s = acts + v.D * rows * (GH + H);
  RNN_FN(rnn_bwork) bw;
  bw.da = s, s += rows * GH;
  bw.dar = s, s += rows * GH;
  bw.da_step = s, s += B * GH;
  bw.dar_step = s, s += B * GH;
  bw.dh = s, s += B * H;
  bw.dc = s, s += B * H;
  bw.dh_el = s, s += B * H;
  bw.tmp = s, s += B * H;
  bw.der = s;
  const RT *dys[3] = {dy[0], dy[1], dy[2]};
  RT *dxs[7];
  for (int i = 0; i < 7; i++) dxs[i] = dx[i];
  for (int64_t d = 0; d < v.D; d++) RNN_FN(rnn_back_direction)(&v, cfg, d, dys, &sv[d], &bw, dxs);
  return 0;
}
