/* trainc build: a standalone training binary. The step is compiled ahead
 * of time and linked, with the spec's settings baked in as C tables, against
 * the runtime library alone (aot_trainer.c). */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "aot.h"
#include "aot_args.h"
#include "trainc.h"

const char cmd_build_usage[] =
    "usage: trainc build MODEL.onnx [--spec SPEC.json] -o TRAINER [--cc COMPILER]\n"
    "                    [--cpu NAME] [--features +f,-g] [--keep-dir DIR] [--KEY VALUE]...\n"
    "\n"
    "Builds a standalone executable that trains MODEL with the spec's data, loss,\n"
    "optimizer, schedule, clipping and checkpoints, and writes the trained model as\n"
    "ONNX. It needs neither trainc nor LLVM: the training step is compiled ahead of\n"
    "time for this machine and linked with the trainc runtime by the system's C\n"
    "compiler (--cc, else $CC, else cc, gcc, clang-19 or clang).\n"
    "  ./TRAINER [--out TRAINED.onnx] [--epochs N] [--metrics FILE.jsonl]\n"
    "            [--train PATH [--train-labels PATH]] [--valid PATH [--valid-labels PATH]]\n"
    "            [--checkpoint-dir DIR [--resume]] [--quiet]\n"
    "(default --out: the spec's \"out\", else trained.onnx; data paths: the IDX images\n"
    "and labels files, or the NPZ archive, in the spec's format).\n"
    "  --keep-dir DIR  keep the generated sources (main.c, step.o, step.h) in DIR\n"
    "  --cpu, --features  the CPU the step is compiled for (default: this machine's),\n"
    "                  for a trainer that runs on an older CPU of this architecture,\n"
    "                  e.g. --cpu x86-64-v3 (AVX2, no AVX-512)\n"
    "Any spec value can be overridden: --epochs 3 --optimizer.lr 0.1\n";

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cmd_build(int argc, char **argv) {
  const char *out = NULL, *cc = NULL, *keep = NULL, *cpu = NULL, *features = NULL;
  aot_option opts[] = {{"-o", &out, NULL},
                       {"--cc", &cc, NULL},
                       {"--keep-dir", &keep, NULL},
                       {"--cpu", &cpu, NULL},
                       {"--features", &features, NULL}};
  aot_args a;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  tc_error err = {{0}};
  tc_status st;
  int rc = aot_parse(argc, argv, cmd_build_usage, opts, (int)(sizeof opts / sizeof *opts), &a);
  if (rc >= 0) goto done;
  if (!out) {
    rc = cli_usage_error(cmd_build_usage, "no output given (-o TRAINER)");
    goto done;
  }
  double t0 = now();
  if ((st = aot_load_spec(&a, &spec, &err))) goto fail;
  fprintf(stderr, "trainc: building a trainer for %s with %s\n", a.model, a.spec_path);
  if ((st = train_setup_prepare(a.model, spec, &t, &err))) goto fail;
  aot_trainer_options o = {.cc = cc, .keep_dir = keep, .cpu = cpu, .features = features};
  if ((st = aot_build_trainer(t, &o, out, &err))) goto fail;
  struct stat sb;
  fprintf(stderr, "trainc: wrote %s (%.1f MiB, arena %.1f MiB) in %.2f s\n", out,
          stat(out, &sb) == 0 ? (double)sb.st_size / (1 << 20) : 0.0,
          (double)t->step.arena_bytes / (1 << 20), now() - t0);
  rc = 0;
  goto done;
fail:
  rc = cli_report(st, &err);
done:
  train_setup_free(t);
  tc_spec_free(spec);
  aot_args_free(&a);
  return rc;
}
