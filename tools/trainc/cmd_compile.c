/* trainc compile: the training step ahead of time, as an object file (or
 * assembly, LLVM IR, trainc IR) plus a C header describing its layout, for
 * programs that link it against the runtime alone (DESIGN.md "The compiled
 * step"). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aot.h"
#include "aot_args.h"
#include "trainc.h"

const char cmd_compile_usage[] =
    "usage: trainc compile MODEL.onnx [--spec SPEC.json] -o OUT [--header STEP.h]\n"
    "                      [--emit obj|asm|llvm|ir] [--target TRIPLE] [--cpu NAME]\n"
    "                      [--features +f,-g] [--prefix NAME] [--weights FILE] [--KEY VALUE]...\n"
    "\n"
    "Compiles forward, loss, backward and optimizer update into an object file whose\n"
    "entry points NAME_train_step, NAME_grad_step, NAME_apply_update, NAME_eval_step\n"
    "and NAME_infer have the C ABI of the JIT's (NAME: --prefix, default the model's\n"
    "file name), and --header writes a C header that declares them, describes the\n"
    "arena layout and fills a tc_step for the runtime (see trainc_runtime.h).\n"
    "The initial weights are embedded in the object (NAME_init_arena copies them\n"
    "into a fresh arena), or with --weights written to FILE instead (format in\n"
    "tc_step_weights.h; load with tc_step_load_weights).\n"
    "  --emit      obj (default), asm (the target's assembly), llvm (optimized LLVM\n"
    "              IR text) or ir (trainc's training graph, printed)\n"
    "  --target    an LLVM target triple (default: this machine), e.g.\n"
    "              aarch64-linux-gnu; --cpu and --features then default to generic\n"
    "              and none, otherwise to this machine's CPU\n"
    "  --cpu       an LLVM CPU name (x86-64-v3, znver4, ...); its own features\n"
    "              unless --features names others\n"
    "The spec's batch_size is the largest batch the step takes; any spec value can\n"
    "be overridden (--batch_size 128).\n";

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool parse_emit(const char *s, int *kind) {
  if (strcmp(s, "obj") == 0) *kind = TC_EMIT_OBJ;
  else if (strcmp(s, "asm") == 0) *kind = TC_EMIT_ASM;
  else if (strcmp(s, "llvm") == 0) *kind = TC_EMIT_LLVM;
  else if (strcmp(s, "ir") == 0) *kind = -1;
  else return false;
  return true;
}

static tc_status print_ir(const train_setup *t, const char *path, tc_error *err) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot write", path);
  tc_graph_print(f, t->graph);
  bool bad = ferror(f);
  if (f != stdout && fclose(f) != 0) bad = true;
  return bad ? tc_fail(err, TC_ERR_INPUT, "%s: cannot write", path) : TC_OK;
}

int cmd_compile(int argc, char **argv) {
  const char *out = NULL, *header = NULL, *emit = "obj", *target = NULL, *cpu = NULL,
             *features = NULL, *prefix = NULL, *weights = NULL;
  aot_option opts[] = {{"-o", &out, NULL},           {"--header", &header, NULL},
                       {"--emit", &emit, NULL},      {"--target", &target, NULL},
                       {"--cpu", &cpu, NULL},        {"--features", &features, NULL},
                       {"--prefix", &prefix, NULL},  {"--weights", &weights, NULL}};
  aot_args a;
  tc_spec *spec = NULL;
  train_setup *t = NULL;
  char *prefix_alloc = NULL;
  tc_error err = {{0}};
  tc_status st;
  int kind = TC_EMIT_OBJ;
  int rc = aot_parse(argc, argv, cmd_compile_usage, opts, (int)(sizeof opts / sizeof *opts), &a);
  if (rc >= 0) goto done;
  if (!out) {
    rc = cli_usage_error(cmd_compile_usage, "no output given (-o FILE)");
    goto done;
  }
  if (!parse_emit(emit, &kind)) {
    rc = cli_usage_error(cmd_compile_usage, "--emit: expected obj, asm, llvm or ir, got '%s'",
                         emit);
    goto done;
  }
  if (!prefix) prefix = prefix_alloc = aot_default_prefix(a.model);
  if (!prefix) {
    rc = cli_report(tc_fail(&err, TC_ERR_INTERNAL, "out of memory"), &err);
    goto done;
  }
  if (!aot_is_identifier(prefix)) {
    rc = cli_usage_error(cmd_compile_usage, "--prefix: '%s' is not a C identifier (letters, "
                         "digits and _, not starting with a digit)", prefix);
    goto done;
  }
  if ((header || weights) && kind != TC_EMIT_OBJ && kind != TC_EMIT_ASM) {
    rc = cli_usage_error(cmd_compile_usage, "--header and --weights go with --emit obj or asm");
    goto done;
  }
  if ((st = aot_load_spec(&a, &spec, &err))) goto fail;
  if ((st = train_setup_prepare(a.model, spec, &t, &err))) goto fail;
  if (kind < 0) {
    if ((st = print_ir(t, out, &err))) goto fail;
    rc = 0;
    goto done;
  }
  tc_codegen_options o;
  tc_codegen_options_init(&o);
  o.max_batch = spec->batch_size;
  o.triple = target;
  o.cpu = cpu;
  o.features = features;
  double t0 = now();
  if ((st = train_setup_emit(t, &o, prefix, (tc_emit_kind)kind, !weights, out, &err))) goto fail;
  fprintf(stderr, "trainc: wrote %s (%s, symbols %s_*, arena %.1f MiB, compiled in %.2f s)\n",
          out, target ? target : "this machine", prefix,
          (double)t->step.arena_bytes / (1 << 20), now() - t0);
  if (weights) {
    if ((st = aot_write_weights(t->program, weights, &err))) goto fail;
    fprintf(stderr, "trainc: wrote %s\n", weights);
  }
  if (header) {
    if ((st = aot_write_header(t, prefix, !weights, header, &err))) goto fail;
    fprintf(stderr, "trainc: wrote %s\n", header);
  }
  rc = 0;
  goto done;
fail:
  rc = cli_report(st, &err);
done:
  train_setup_free(t);
  tc_spec_free(spec);
  free(prefix_alloc);
  aot_args_free(&a);
  return rc;
}
