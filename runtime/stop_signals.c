/* Clean stops on SIGINT/SIGTERM (see tc_stop_signals.h). */
#include "tc_stop_signals.h"

#include <stddef.h>

volatile sig_atomic_t tc_stop_signal;

static void on_stop_signal(int sig) {
  if (tc_stop_signal) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  tc_stop_signal = sig;
}

void tc_stop_signals_install(tc_stop_signals *s) {
  struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  tc_stop_signal = 0;
  sigaction(SIGINT, &sa, &s->old_int);
  if (s->old_int.sa_handler == SIG_IGN) sigaction(SIGINT, &s->old_int, NULL);
  sigaction(SIGTERM, &sa, &s->old_term);
  s->installed = true;
}

void tc_stop_signals_restore(tc_stop_signals *s) {
  if (!s->installed) return;
  sigaction(SIGINT, &s->old_int, NULL);
  sigaction(SIGTERM, &s->old_term, NULL);
  s->installed = false;
}
