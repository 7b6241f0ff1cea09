/* The standalone trainer (aot_build_trainer): the step compiled ahead of
 * time, the model's bytes and the spec's settings as C tables, compiled by
 * the system's C compiler and linked with the runtime library alone, so the
 * binary has no LLVM and no protobuf-c in it.
 *
 * In a work folder: step.o + step.h (trainc compile's outputs), model.onnx
 * (the model with any external data inlined, so the trainer is
 * self-contained) embedded through model.S (.incbin), and main.c: the
 * tables and a call to tc_trainer_main (runtime/tc_trainer.h), which does
 * what `trainc train` does around the training loop. */
#define _GNU_SOURCE /* mkdtemp */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aot.h"
#include "onnx_export.h"
#include "sched_config.h"

#ifndef TC_RUNTIME_LIB
#define TC_RUNTIME_LIB ""
#endif
#ifndef TC_RUNTIME_INCLUDE
#define TC_RUNTIME_INCLUDE ""
#endif

static bool executable(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

/* A program on PATH (or a path), into buf. */
static bool find_program(const char *name, char *buf, size_t cap) {
  if (strchr(name, '/')) {
    snprintf(buf, cap, "%s", name);
    return executable(buf);
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    size_t n = strcspn(path, ":");
    if (n > 0 && (size_t)snprintf(buf, cap, "%.*s/%s", (int)n, path, name) < cap &&
        executable(buf))
      return true;
    path += n + (path[n] == ':');
  }
  return false;
}

static tc_status find_cc(const aot_trainer_options *o, char *cc, size_t cap, tc_error *err) {
  const char *env = getenv("CC");
  const char *asked = o->cc ? o->cc : env && *env ? env : NULL;
  if (asked) {
    if (find_program(asked, cc, cap)) return TC_OK;
    return tc_fail(err, TC_ERR_USAGE, "C compiler '%s' (%s) not found", asked,
                   o->cc ? "--cc" : "$CC");
  }
  static const char *const names[] = {"cc", "gcc", "clang-19", "clang"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (find_program(names[i], cc, cap)) return TC_OK;
  return tc_fail(err, TC_ERR_USAGE, "trainc build needs a C compiler to link the trainer, and "
                 "none of cc, gcc, clang-19, clang is on PATH (install gcc, or name one with "
                 "--cc or $CC)");
}

/* The runtime's library and headers: $TRAINC_RUNTIME_LIB/_INCLUDE, else an
 * installation next to this trainc (bin/../lib, bin/../include/trainc),
 * else the build tree this trainc was built in. */
static tc_status find_runtime(char *lib, char *inc, size_t cap, tc_error *err) {
  const char *l = getenv("TRAINC_RUNTIME_LIB"), *i = getenv("TRAINC_RUNTIME_INCLUDE");
  if (l && *l && i && *i) {
    snprintf(lib, cap, "%s", l);
    snprintf(inc, cap, "%s", i);
  } else {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    bool installed = false;
    if (n > 0) {
      exe[n] = 0;
      char *slash = strrchr(exe, '/');
      if (slash) {
        *slash = 0;
        installed = snprintf(lib, cap, "%s/../lib/libtrainc_runtime.a", exe) < (int)cap &&
                    snprintf(inc, cap, "%s/../include/trainc", exe) < (int)cap &&
                    access(lib, R_OK) == 0 && access(inc, R_OK) == 0;
      }
    }
    if (!installed) {
      snprintf(lib, cap, "%s", TC_RUNTIME_LIB);
      snprintf(inc, cap, "%s", TC_RUNTIME_INCLUDE);
    }
  }
  if (access(lib, R_OK) != 0)
    return tc_fail(err, TC_ERR_INTERNAL, "the trainc runtime library is not at '%s' (set "
                   "TRAINC_RUNTIME_LIB and TRAINC_RUNTIME_INCLUDE)", lib);
  return TC_OK;
}

static tc_status run(char *const *argv, tc_error *err) {
  pid_t pid = fork();
  if (pid < 0) return tc_fail(err, TC_ERR_INTERNAL, "cannot start %s: %s", argv[0], strerror(errno));
  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return tc_fail(err, TC_ERR_INTERNAL, "waitpid: %s", strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return TC_OK;
  char cmd[4096];
  size_t at = 0;
  for (int i = 0; argv[i] && at < sizeof cmd; i++)
    at += (size_t)snprintf(cmd + at, sizeof cmd - at, "%s%s", i ? " " : "", argv[i]);
  return tc_fail(err, TC_ERR_INTERNAL, "the C compiler failed (%s %d): %s",
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), cmd);
}

/* A list of doubles as a C initializer, exactly (hex floats). */
static void put_doubles(FILE *f, const char *field, const double *v, int n) {
  fprintf(f, ", .%s = {", field);
  for (int k = 0; k < n; k++) fprintf(f, "%s%a", k ? ", " : "", v[k]);
  fputs("}", f);
}

static void put_floats(FILE *f, const char *field, const float *v, int n) {
  fprintf(f, ", .%s = {", field);
  for (int k = 0; k < n; k++) fprintf(f, "%s%af", k ? ", " : "", (double)v[k]);
  fputs("}", f);
}

/* Every field of each tc_transform that is not zero, so the generated
 * trainer's transforms equal the ones trainc train builds. */
static void put_transforms(FILE *f, const char *name, const tc_transform *ts, int n) {
  fprintf(f, "static const tc_transform %s[] = {\n", name);
  for (int i = 0; i < n; i++) {
    const tc_transform *t = &ts[i];
    fprintf(f, "    {.kind = %d", (int)t->kind);
    if (t->nmean) {
      fprintf(f, ", .nmean = %d", t->nmean);
      put_floats(f, "mean", t->mean, t->nmean);
    }
    if (t->nstd) {
      fprintf(f, ", .nstd = %d", t->nstd);
      put_floats(f, "std", t->std, t->nstd);
    }
    if (t->nsize)
      fprintf(f, ", .nsize = %d, .size = {%" PRId64 ", %" PRId64 "}", t->nsize, t->size[0],
              t->size[1]);
    fprintf(f, ", .interpolation = %d, .max_size = %" PRId64 ", .antialias = %d",
            t->interpolation, t->max_size, t->antialias);
    fprintf(f, ", .has_padding = %d, .padding = {%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            "}, .pad_if_needed = %d, .padding_mode = %d", t->has_padding, t->padding[0],
            t->padding[1], t->padding[2], t->padding[3], t->pad_if_needed, t->padding_mode);
    if (t->nfill) {
      fprintf(f, ", .nfill = %d", t->nfill);
      put_doubles(f, "fill", t->fill, t->nfill);
    }
    put_doubles(f, "scale", t->scale, 2);
    put_doubles(f, "ratio", t->ratio, 2);
    fprintf(f, ", .p = %a, .num_output_channels = %d", t->p, t->num_output_channels);
    fprintf(f, ", .jitter_on = {%d, %d, %d, %d}, .jitter = {", t->jitter_on[0], t->jitter_on[1],
            t->jitter_on[2], t->jitter_on[3]);
    for (int k = 0; k < 4; k++)
      fprintf(f, "%s{%a, %a}", k ? ", " : "", t->jitter[k][0], t->jitter[k][1]);
    fputs("}", f);
    put_doubles(f, "degrees", t->degrees, 2);
    fprintf(f, ", .expand = %d, .has_center = %d", t->expand, t->has_center);
    put_doubles(f, "center", t->center, 2);
    fputs("},\n", f);
  }
  if (n == 0) fputs("    {0},\n", f);
  fputs("};\n", f);
}

static void put_ints(FILE *f, const char *name, const int *v, int n) {
  fprintf(f, "static const int %s[] = {", name);
  for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", v[i]);
  if (n == 0) fputs("0", f);
  fputs("};\n", f);
}

static const char *opt_str(const tc_spec_dataset *d, const char *name) {
  return tc_spec_get(&d->opts, name) ? tc_spec_hp_str(&d->opts, name) : NULL;
}

static tc_status put_data(FILE *f, const train_setup *t, const tc_spec_dataset *d,
                          const char *split, tc_error *err) {
  tc_transform ts[32];
  int nt = 0;
  char name[64];
  snprintf(name, sizeof name, "%s_transforms", split);
  if (d->n_transforms > 32)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.data.%s: too many transforms", t->spec->source, split);
  tc_status st = train_setup_transforms(t->spec, d, split, ts, &nt, err);
  if (st) return st;
  put_transforms(f, name, ts, nt);
  bool idx = strcmp(d->opts.type, "idx") == 0;
  bool folder = strcmp(d->opts.type, "imagefolder") == 0;
  if (strcmp(d->opts.type, "csv") == 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.data.%s: a standalone trainer (trainc build) does "
                   "not read csv data yet (trainc train does)", t->spec->source, split);
  fprintf(f, "#define %s_DATA {.format = ", split);
  aot_c_string(f, d->opts.type);
  fputs(", .path = ", f);
  aot_c_string(f, idx ? opt_str(d, "images") : folder ? opt_str(d, "root") : opt_str(d, "path"));
  fputs(", .labels = ", f);
  if (idx && opt_str(d, "labels")) aot_c_string(f, opt_str(d, "labels"));
  else fputs("NULL", f);
  fprintf(f, ", .transforms = %s, .ntransforms = %d}\n", name, nt);
  return TC_OK;
}

static bool default_group_empty(const train_setup *t) {
  for (int p = 0; p < t->train.nparams; p++)
    if (t->train.group[p] == t->ngroups - 1) return false;
  return true;
}

static tc_status write_main(const train_setup *t, const char *path, tc_error *err) {
  FILE *f = fopen(path, "w");
  if (!f) return tc_fail(err, TC_ERR_INTERNAL, "%s: cannot write: %s", path, strerror(errno));
  const tc_spec *spec = t->spec;
  const char *base = strrchr(t->model_path, '/');
  base = base ? base + 1 : t->model_path;
  fprintf(f, "/* Generated by trainc build from %s with %s. */\n", t->model_path, spec->source);
  fputs("#include <math.h>\n#include <stddef.h>\n\n#include \"step.h\"\n"
        "#include \"trainc_runtime.h\"\n\n"
        "extern const unsigned char trainc_model[], trainc_model_end[];\n\n", f);
  tc_status st = put_data(f, t, spec->data.train, "train", err);
  if (!st && spec->data.valid) st = put_data(f, t, spec->data.valid, "valid", err);
  if (!st) {
    put_ints(f, "bind", t->bind, t->step.ninputs);
    put_ints(f, "valid_bind", t->valid_loader ? t->valid_bind : t->bind, t->step.ninputs);
    int64_t planned = spec->epochs;
    if (spec->lr_scheduler && spec->lr_scheduler->interval == TC_SPEC_STEP)
      planned *= tc_loader_num_batches(t->train_loader);
    st = aot_write_sched(f, "sched", spec, t->ngroups, default_group_empty(t), planned, err);
  }
  if (!st) {
    fputs("\nint main(int argc, char **argv) {\n  const tc_trainer_config cfg = {\n      .name = ", f);
    aot_c_string(f, base);
    fprintf(f, ",\n      .step = step_step(),\n"
            "      .model = trainc_model,\n"
            "      .model_bytes = (size_t)(trainc_model_end - trainc_model),\n"
            "      .train = train_DATA,\n");
    if (spec->data.valid) fputs("      .valid = valid_DATA,\n", f);
    fprintf(f, "      .batch_size = %lld, .epochs = %lld, .log_interval = %lld, .val_interval = %lld,\n"
            "      .shuffle = %d, .drop_last = %d, .seed = %lluu,\n"
            "      .bind = bind, .valid_bind = valid_bind,\n"
            "      .acc_output = %d, .acc_target = %d,\n"
            "      .sched = &sched, .base_lrs = sched_lrs,\n",
            (long long)spec->batch_size, (long long)spec->epochs, (long long)spec->log_interval,
            (long long)spec->val_interval, spec->shuffle, spec->drop_last,
            (unsigned long long)spec->seed, t->acc_output, t->acc_target);
    char norm_type[64];
    if (isinf(spec->clip_grad_norm.norm_type)) snprintf(norm_type, sizeof norm_type, "INFINITY");
    else snprintf(norm_type, sizeof norm_type, "%a", spec->clip_grad_norm.norm_type);
    fprintf(f, "      .grad_accumulation = %lld, .nonfinite_skip = %d,\n",
            (long long)spec->grad_accumulation, spec->nonfinite_skip);
    fprintf(f, "      .clip_norm = %a, .clip_norm_type = %s, .clip_value = %a,\n"
            "      .clip_error_if_nonfinite = %d,\n",
            spec->clip_grad_norm.enabled ? spec->clip_grad_norm.max_norm : 0.0, norm_type,
            spec->clip_grad_value.enabled ? spec->clip_grad_value.value : 0.0,
            spec->clip_grad_norm.error_if_nonfinite);
    fputs("      .checkpoint_dir = ", f);
    if (spec->checkpoint.dir) aot_c_string(f, spec->checkpoint.dir);
    else fputs("NULL", f);
    fprintf(f, ", .checkpoint_every_epochs = %lld,\n      .out = ",
            (long long)spec->checkpoint.every_epochs);
    aot_c_string(f, spec->out ? spec->out : "trained.onnx");
    fputs(", .metrics = ", f);
    if (spec->metrics) aot_c_string(f, spec->metrics);
    else fputs("NULL", f);
    fputs(",\n  };\n  return tc_trainer_main(&cfg, argc, argv);\n}\n", f);
  }
  bool bad = ferror(f);
  if (fclose(f) != 0 || bad)
    if (!st) st = tc_fail(err, TC_ERR_INTERNAL, "%s: cannot write: %s", path, strerror(errno));
  return st;
}

static tc_status write_text(const char *path, const char *text, tc_error *err) {
  FILE *f = fopen(path, "w");
  if (!f) return tc_fail(err, TC_ERR_INTERNAL, "%s: cannot write: %s", path, strerror(errno));
  fputs(text, f);
  bool bad = ferror(f);
  if (fclose(f) != 0 || bad)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: cannot write: %s", path, strerror(errno));
  return TC_OK;
}

static void remove_dir(const char *dir) {
  static const char *const files[] = {"step.o", "step.h", "model.onnx", "model.S", "main.c"};
  char p[PATH_MAX];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    if (snprintf(p, sizeof p, "%s/%s", dir, files[i]) < (int)sizeof p) unlink(p);
  }
  rmdir(dir);
}

tc_status aot_build_trainer(train_setup *t, const aot_trainer_options *o, const char *out,
                            tc_error *err) {
  const tc_spec *spec = t->spec;
  if (strcmp(spec->optimizer.opts.type, "LBFGS") == 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: $.optimizer.type: LBFGS runs in trainc train's "
                   "runtime loop; trainc build does not support it yet", spec->source);
  tc_status st = sched_refuse_momentum_cycling(spec, err);
  if (st) return st;
  char cc[PATH_MAX], lib[PATH_MAX], inc[PATH_MAX], dir[PATH_MAX];
  if ((st = find_cc(o, cc, sizeof cc, err)) || (st = find_runtime(lib, inc, sizeof lib, err)))
    return st;
  if (o->keep_dir) {
    snprintf(dir, sizeof dir, "%s", o->keep_dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
      return tc_fail(err, TC_ERR_INPUT, "%s: cannot create: %s", dir, strerror(errno));
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/trainc-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
      return tc_fail(err, TC_ERR_INTERNAL, "cannot create a work folder %s: %s", dir,
                     strerror(errno));
  }
  char obj[PATH_MAX + 16], hdr[PATH_MAX + 16], model[PATH_MAX + 16], blob[PATH_MAX + 16],
      main_c[PATH_MAX + 16], blob_src[PATH_MAX + 512];
  snprintf(obj, sizeof obj, "%s/step.o", dir);
  snprintf(hdr, sizeof hdr, "%s/step.h", dir);
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  snprintf(blob, sizeof blob, "%s/model.S", dir);
  snprintf(main_c, sizeof main_c, "%s/main.c", dir);
  snprintf(blob_src, sizeof blob_src,
           "/* The model the trained weights are written into. */\n"
           "  .section .rodata\n  .balign 16\n  .globl trainc_model\n  .globl trainc_model_end\n"
           "trainc_model:\n  .incbin \"%s\"\ntrainc_model_end:\n"
           "  .section .note.GNU-stack,\"\",@progbits\n",
           model);
  tc_codegen_options co;
  tc_codegen_options_init(&co);
  co.max_batch = spec->batch_size;
  co.cpu = o->cpu;
  co.features = o->features;
  if ((st = train_setup_emit(t, &co, "step", TC_EMIT_OBJ, true, obj, err)) ||
      (st = aot_write_header(t, "step", true, hdr, err)) ||
      (st = tc_onnx_save_trained_with(t->model_path, &train_setup_get_limits()->onnx, model, 0,
                                      NULL, NULL, 0, NULL, NULL, err)) ||
      (st = write_text(blob, blob_src, err)) || (st = write_main(t, main_c, err)))
    goto done;
  char incflag[PATH_MAX + 4], dirflag[PATH_MAX + 4];
  snprintf(incflag, sizeof incflag, "-I%s", inc);
  snprintf(dirflag, sizeof dirflag, "-I%s", dir);
  char *argv[] = {cc, "-std=gnu17", "-O2", dirflag, incflag, main_c, blob, obj, lib, "-lz", "-lm",
                  "-lpthread", "-o", (char *)out, NULL};
  st = run(argv, err);
done:
  if (!o->keep_dir) remove_dir(dir);
  return st;
}
