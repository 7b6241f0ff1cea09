/* Losses of distances between embeddings: CosineEmbeddingLoss,
 * TripletMarginLoss, TripletMarginWithDistanceLoss. */
#include "losses.h"

#define NOT_YET(fn)                                            \
  tc_status fn(tc_loss_ctx *c, tc_value **loss) {              \
    (void)loss;                                                \
    return tc_loss_fail(c, "this loss is not supported yet"); \
  }
NOT_YET(tc_loss_cosine_embedding)
NOT_YET(tc_loss_triplet_margin)
NOT_YET(tc_loss_triplet_margin_with_distance)
