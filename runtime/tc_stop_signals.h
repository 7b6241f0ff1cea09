/* SIGINT and SIGTERM as requests to stop training cleanly: the first one
 * sets tc_stop_signal, which the training loop checks between steps (it
 * then writes a checkpoint and returns); a second one while it finishes
 * gets the default action. `trainc train` and standalone trainers share it. */
#ifndef TC_STOP_SIGNALS_H
#define TC_STOP_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/* 0, or the number of the first SIGINT/SIGTERM since install. */
extern volatile sig_atomic_t tc_stop_signal;

typedef struct tc_stop_signals {
  struct sigaction old_int, old_term;
  bool installed;
} tc_stop_signals;

/* Clears tc_stop_signal and installs the handler. A process that ignores
 * SIGINT (started in the background) keeps ignoring it. */
void tc_stop_signals_install(tc_stop_signals *s);
/* Puts the previous handlers back (nothing if not installed). */
void tc_stop_signals_restore(tc_stop_signals *s);

#endif
