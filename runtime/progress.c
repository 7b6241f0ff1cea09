/* The per-epoch progress bar on a terminal (see tc_progress.h). */
#define _POSIX_C_SOURCE 200809L
#include "tc_progress.h"

#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int terminal_columns(FILE *f) {
  struct winsize ws;
  if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

bool tc_progress_is_terminal(FILE *f) { return f && isatty(fileno(f)); }

void tc_progress_begin(tc_progress *p, FILE *out, int64_t epoch, int64_t epochs,
                       int64_t nbatches, int64_t first) {
  *p = (tc_progress){.out = out, .epoch = epoch, .epochs = epochs, .nbatches = nbatches,
                     .first = first, .start = now_seconds(), .last_draw = -1};
}

static void format_duration(char *buf, size_t n, double s) {
  long long t = isfinite(s) && s >= 0 ? (long long)(s + 0.5) : 0;
  if (t >= 3600)
    snprintf(buf, n, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, n, "%lld:%02lld", t / 60, t % 60);
}

static void draw(tc_progress *p, double mean_loss, double acc, double t) {
  int64_t at = p->first + p->done;
  double elapsed = t - p->start;
  double rate = elapsed > 0 ? (double)p->samples / elapsed : 0;
  double eta = p->done ? elapsed / (double)p->done * (double)(p->nbatches - at) : NAN;
  char eta_s[32], tail[160], acc_s[32] = "";
  format_duration(eta_s, sizeof eta_s, eta);
  if (!isnan(acc)) snprintf(acc_s, sizeof acc_s, "  acc %.2f%%", 100.0 * acc);
  int ndigits = snprintf(NULL, 0, "%lld", (long long)p->nbatches);
  snprintf(tail, sizeof tail, " %*lld/%lld  %.0f samples/s  ETA %s  loss %.4f%s", ndigits,
           (long long)at, (long long)p->nbatches, rate, eta_s, mean_loss, acc_s);
  char head[64];
  snprintf(head, sizeof head, "Epoch %03lld/%03lld ", (long long)p->epoch, (long long)p->epochs);
  /* the bar takes what the text leaves of the line (the last column stays
   * free: writing it wraps on some terminals) */
  int bar = terminal_columns(p->out) - 1 - (int)strlen(head) - (int)strlen(tail) - 2;
  if (bar > 40) bar = 40;
  fprintf(p->out, "\r%s", head);
  if (bar >= 10) {
    int filled = p->nbatches ? (int)((double)bar * (double)at / (double)p->nbatches) : bar;
    fputc('[', p->out);
    for (int i = 0; i < bar; i++)
      fputc(i < filled ? '=' : i == filled ? '>' : ' ', p->out);
    fputc(']', p->out);
  }
  fprintf(p->out, "%s\033[K", tail);
  fflush(p->out);
  p->drawn = true;
  p->last_draw = t;
}

void tc_progress_batch(tc_progress *p, int64_t index, int64_t size, double mean_loss,
                       double acc) {
  p->done++;
  p->samples += size;
  double t = now_seconds();
  if (index + 1 == p->nbatches || p->last_draw < 0 || t - p->last_draw >= 0.1)
    draw(p, mean_loss, acc, t);
}

void tc_progress_status(tc_progress *p, const char *text) {
  fprintf(p->out, "\r%s\033[K", text);
  fflush(p->out);
  p->drawn = true;
}

void tc_progress_clear(tc_progress *p) {
  if (!p->drawn) return;
  fputs("\r\033[K", p->out);
  fflush(p->out);
  p->drawn = false;
  p->last_draw = -1;
}

void tc_progress_end(tc_progress *p, double mean_loss, double acc) {
  double elapsed = now_seconds() - p->start;
  fprintf(p->out, "\r\033[KTraining:Epoch[%03lld/%03lld] Iteration[%03lld/%03lld] Loss: %.4f",
          (long long)p->epoch, (long long)p->epochs, (long long)(p->first + p->done),
          (long long)p->nbatches, mean_loss);
  if (!isnan(acc)) fprintf(p->out, " Acc:%.2f%%", 100.0 * acc);
  fprintf(p->out, " (%.1f s, %.0f samples/s)\n", elapsed,
          elapsed > 0 ? (double)p->samples / elapsed : 0.0);
  fflush(p->out);
  p->drawn = false;
}
