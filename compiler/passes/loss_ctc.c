/* CTCLoss. */
#include "losses.h"

tc_status tc_loss_ctc(tc_loss_ctx *c, tc_value **loss) {
  (void)loss;
  return tc_loss_fail(c, "this loss is not supported yet");
}
