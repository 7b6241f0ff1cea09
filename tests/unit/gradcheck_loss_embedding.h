/* Gradient checks of the embedding loss kernels (included in the case table of
 * test_gradcheck.c).
 * cosine_embedding: x1, x2, target (int64 or float 1/-1); params={margin}.
 *   margin -2 keeps every t = -1 row on the active side of max(cos - margin,
 *   0), margin 0.95 mostly on the flat side (zero gradient there).
 * triplet: anchor, positive, negative; params={margin, p, eps, swap,
 *   distance (0 pairwise, 1 cosine), python order}. margin 5 keeps every row
 *   on the active side of max(z, 0). */
/* a LOSS case with a note; the output is a scalar (reduction 1 or 2) */
#define EMB_CASE(note_, attrs_, ...) \
  {.op = TC_OP_LOSS, .attrs = attrs_, .in = {__VA_ARGS__}, .out = "", .note = note_}
CASE_OUT(LOSS, "", "kernel=cosine_embedding reduction=2 params={-2.0}", P("4x5", R_ANY),
         P("4x5", R_ANY), I64("4", 1, -1, 1, -1)),
CASE_OUT(LOSS, "4", "kernel=cosine_embedding reduction=0 params={0.95}", P("4x5", R_ANY),
         P("4x5", R_ANY), I64("4", 1, -1, -1, 1)),
CASE_OUT(LOSS, "", "kernel=cosine_embedding reduction=1 params={-2.0}", P("5", R_ANY),
         P("5", R_ANY), I64("", -1)),
CASE_OUT(LOSS, "", "kernel=cosine_embedding reduction=1 params={-1.5}", P("5", R_ANY),
         P("5", R_ANY), FIX("", 1)),
EMB_CASE("broadcast rows and columns", "kernel=cosine_embedding reduction=1 params={-2.0}",
          P("1x5", R_ANY), P("3x1", R_ANY), I64("3", -1, 1, -1)),
/* pairwise distances, every branch of torch's norm_backward */
CASE_OUT(LOSS, "", "kernel=triplet reduction=2 params={5.0,2.0,1e-6,0,0,0}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "3", "kernel=triplet reduction=0 params={5.0,1.0,1e-6,0,0,0}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=1 params={5.0,3.0,0.0,0,0,0}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=1 params={5.0,1.5,1e-6,0,0,0}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=2 params={5.0,0.5,1e-6,0,0,0}", P("3x4", R_KINK),
         K("3x4", R_FIXED), P("3x4", R_KINK)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=2 params={5.0,inf,1e-6,0,0,0}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=2 params={5.0,-inf,1e-6,0,0,0}", P("3x4", R_KINK),
         K("3x4", R_FIXED), P("3x4", R_KINK)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=1 params={5.0,-1.5,1e-6,0,0,0}", P("3x4", R_KINK),
         K("3x4", R_FIXED), P("3x4", R_KINK)),
EMB_CASE("swap", "kernel=triplet reduction=1 params={5.0,2.0,1e-6,1,0,0}",
          P("4x3", R_ANY), P("4x3", R_ANY), P("4x3", R_ANY)),
EMB_CASE("rank 1", "kernel=triplet reduction=1 params={5.0,2.0,1e-6,0,0,0}",
          P("4", R_ANY), P("4", R_ANY), P("4", R_ANY)),
EMB_CASE("rank 0 (one element each)", "kernel=triplet reduction=2 params={5.0,2.0,1e-6,1,0,0}",
         P("", R_ANY), P("", R_ANY), P("", R_ANY)),
EMB_CASE("broadcast anchor rows, positive columns",
          "kernel=triplet reduction=1 params={5.0,2.0,1e-6,1,0,0}", P("1x4", R_ANY),
          P("3x1", R_ANY), P("3x4", R_ANY)),
/* TripletMarginWithDistanceLoss: pairwise (p 2, eps 1e-6) and cosine (eps 1e-8) */
CASE_OUT(LOSS, "3", "kernel=triplet reduction=0 params={5.0,2.0,1e-6,1,0,1}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
CASE_OUT(LOSS, "", "kernel=triplet reduction=2 params={5.0,2.0,1e-8,0,1,1}", P("3x4", R_ANY),
         P("3x4", R_ANY), P("3x4", R_ANY)),
EMB_CASE("cosine, swap, broadcast", "kernel=triplet reduction=1 params={5.0,2.0,1e-8,1,1,1}",
          P("2x1x4", R_ANY), P("3x1", R_ANY), P("2x3x4", R_ANY)),
#undef EMB_CASE
