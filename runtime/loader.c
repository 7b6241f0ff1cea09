/* The batch loader: shuffling, batching, transforms, and an optional worker
 * thread (see tc_data.h).
 *
 * Sample order. Epoch e visits the samples in the order perm_e, where perm_e
 * is 0..n-1 shuffled by tc_rng_shuffle under tc_rng_init(seed, e) (or left
 * as is without shuffle). Batch b holds perm_e[b*B .. min((b+1)*B, n)). So
 * any batch of any epoch can be recomputed from (seed, e, b) alone, which is
 * what makes runs reproducible and resumable (tc_loader_start's first_batch).
 *
 * Random transforms. Sample i in epoch e is transformed with its own
 * generator, tc_rng_init(tc_rng_mix64(seed) ^ tc_rng_mix64(~e), i), so what a
 * sample becomes does not depend on the batch size, the batch it lands in, or
 * which thread prepares it.
 *
 * Double buffering. Each loader has two batch slots. Synchronously, slot 0 is
 * filled inside tc_loader_next. With a worker thread, tc_loader_next waits for
 * the slot being prepared, hands it out, and queues the next batch into the
 * other slot, whose previous batch the caller has just given back by calling
 * tc_loader_next again. The worker and the caller share only the job record
 * below, under one mutex; the permutation is rewritten only when the worker
 * is idle. Both paths run the same fill_batch, so their batches are equal
 * byte for byte. */
#include "tc_data.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
  tc_batch batch;   /* what tc_loader_next hands out */
  tc_field *fields; /* [nfields], data [batch_size, shape...] */
  void *scratch;    /* transform scratch */
} slot;

typedef enum job_state { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

struct tc_loader {
  const tc_dataset *ds;
  int64_t n;           /* samples */
  int64_t batch_size;
  int64_t nbatches;    /* per epoch */
  bool shuffle;
  uint64_t seed;
  int nfields;
  int tf;              /* index of the transformed field, or -1 */
  tc_transform_plan *plan; /* NULL when tf < 0 */
  tc_field *desc;      /* [nfields] output descriptions, data NULL */
  int64_t *perm;       /* [n] sample order of the current epoch */
  int64_t epoch;       /* current epoch, -1 before tc_loader_start */
  int64_t next_batch;  /* index of the batch the next tc_loader_next returns */
  int last_slot;       /* slot handed out last, -1 if none */
  slot slots[2];

  /* worker thread (background only) */
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_state state;     /* of the one job: fill slots[job_slot] with job_batch */
  int job_slot;
  int64_t job_batch;
  bool quit;
};

/* Fills slot s with batch b of the current epoch. */
static void fill_batch(tc_loader *l, int s, int64_t b) {
  slot *sl = &l->slots[s];
  int64_t first = b * l->batch_size;
  int64_t size = l->n - first < l->batch_size ? l->n - first : l->batch_size;
  const int64_t *idx = l->perm + first;
  uint64_t tseed = tc_rng_mix64(l->seed) ^ tc_rng_mix64(~(uint64_t)l->epoch);
  for (int k = 0; k < l->nfields; k++) {
    const tc_field *src = tc_dataset_field_at(l->ds, k);
    const char *from = src->data;
    char *to = sl->fields[k].data;
    size_t in_bytes = src->sample_bytes, out_bytes = l->desc[k].sample_bytes;
    if (k == l->tf) {
      for (int64_t j = 0; j < size; j++) {
        tc_rng rng;
        tc_rng_init(&rng, tseed, (uint64_t)idx[j]);
        tc_transform_plan_apply(l->plan, from + (size_t)idx[j] * in_bytes,
                                to + (size_t)j * out_bytes, sl->scratch, &rng);
      }
    } else {
      for (int64_t j = 0; j < size; j++)
        memcpy(to + (size_t)j * out_bytes, from + (size_t)idx[j] * in_bytes, in_bytes);
    }
  }
  sl->batch.epoch = l->epoch;
  sl->batch.index = b;
  sl->batch.size = size;
}

static void *worker_main(void *arg) {
  tc_loader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (l->state != JOB_QUEUED && !l->quit) pthread_cond_wait(&l->cv, &l->mu);
    if (l->quit) break;
    l->state = JOB_RUNNING;
    int s = l->job_slot;
    int64_t b = l->job_batch;
    pthread_mutex_unlock(&l->mu);
    fill_batch(l, s, b);
    pthread_mutex_lock(&l->mu);
    l->state = JOB_DONE;
    pthread_cond_broadcast(&l->cv);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static void queue_job(tc_loader *l, int s, int64_t b) {
  pthread_mutex_lock(&l->mu);
  l->job_slot = s;
  l->job_batch = b;
  l->state = JOB_QUEUED;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
}

/* Waits until the worker has no job queued or running. */
static void wait_idle(tc_loader *l) {
  pthread_mutex_lock(&l->mu);
  while (l->state == JOB_QUEUED || l->state == JOB_RUNNING) pthread_cond_wait(&l->cv, &l->mu);
  l->state = JOB_IDLE;
  pthread_mutex_unlock(&l->mu);
}

tc_status tc_loader_create(const tc_dataset *ds, const tc_loader_config *cfg,
                           tc_loader **out, tc_error *err) {
  *out = NULL;
  const char *src = tc_dataset_source(ds);
  if (cfg->batch_size < 1)
    return tc_fail(err, TC_ERR_INPUT, "%s: batch_size must be at least 1, not %" PRId64,
                   src, cfg->batch_size);
  if (cfg->ntransforms < 0 || (cfg->ntransforms > 0 && !cfg->transforms))
    return tc_fail(err, TC_ERR_INTERNAL, "%s: bad transform list", src);
  tc_loader *l = calloc(1, sizeof *l);
  if (!l) return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", src);
  tc_status st = TC_OK;
  l->ds = ds;
  l->n = tc_dataset_size(ds);
  l->batch_size = cfg->batch_size;
  l->nbatches = cfg->drop_last ? l->n / l->batch_size
                               : l->n / l->batch_size + (l->n % l->batch_size != 0);
  l->shuffle = cfg->shuffle;
  l->seed = cfg->seed;
  l->nfields = tc_dataset_num_fields(ds);
  l->tf = -1;
  l->epoch = -1;
  l->last_slot = -1;

  if (cfg->ntransforms > 0) {
    const char *name = cfg->transform_field ? cfg->transform_field : "image";
    const tc_field *f = NULL;
    for (int k = 0; k < l->nfields && !f; k++) {
      if (strcmp(tc_dataset_field_at(ds, k)->name, name) == 0) {
        f = tc_dataset_field_at(ds, k);
        l->tf = k;
      }
    }
    if (!f) {
      char have[512] = "";
      for (int k = 0; k < l->nfields; k++) {
        size_t used = strlen(have);
        snprintf(have + used, sizeof have - used, "%s'%s'", k ? ", " : "",
                 tc_dataset_field_at(ds, k)->name);
      }
      st = tc_fail(err, TC_ERR_INPUT, "%s: the transforms apply to field '%s', but the "
                   "dataset has no such field (its fields: %s)", src, name, have);
      goto fail;
    }
    if ((st = tc_transform_plan_create(cfg->transforms, cfg->ntransforms, f, &l->plan,
                                       err))) {
      tc_fail_context(err, st, "%s", src);
      goto fail;
    }
  }

  l->desc = calloc((size_t)(l->nfields ? l->nfields : 1), sizeof *l->desc);
  l->perm = malloc((size_t)(l->n ? l->n : 1) * sizeof *l->perm);
  if (!l->desc || !l->perm) goto oom;
  for (int64_t i = 0; i < l->n; i++) l->perm[i] = i;
  for (int k = 0; k < l->nfields; k++) {
    l->desc[k] = k == l->tf ? *tc_transform_plan_output(l->plan) : *tc_dataset_field_at(ds, k);
    l->desc[k].data = NULL;
  }
  l->threaded = cfg->background;
  /* buffers: the number of samples a batch can really hold */
  int64_t cap = l->n < l->batch_size ? l->n : l->batch_size;
  uint64_t buffers = 0;
  for (int k = 0; k < l->nfields; k++) {
    uint64_t bytes;
    if (__builtin_mul_overflow((uint64_t)l->desc[k].sample_bytes, (uint64_t)cap, &bytes) ||
        __builtin_add_overflow(buffers, bytes, &buffers))
      goto oom;
  }
  if (__builtin_add_overflow(buffers, l->plan ? tc_transform_plan_scratch_bytes(l->plan) : 0,
                             &buffers) ||
      __builtin_mul_overflow(buffers, l->threaded ? 2u : 1u, &buffers))
    goto oom;
  char what[600];
  snprintf(what, sizeof what, "the batch buffers for %s", src);
  if ((st = tc_mem_budget_charge(cfg->budget, TC_BUDGET_LOADERS, buffers, what, err))) goto fail;
  for (int s = 0; s < (l->threaded ? 2 : 1); s++) {
    slot *sl = &l->slots[s];
    sl->fields = calloc((size_t)(l->nfields ? l->nfields : 1), sizeof *sl->fields);
    if (!sl->fields) goto oom;
    for (int k = 0; k < l->nfields; k++) {
      sl->fields[k] = l->desc[k];
      size_t bytes;
      if (__builtin_mul_overflow(l->desc[k].sample_bytes, (size_t)cap, &bytes)) goto oom;
      if (!(sl->fields[k].data = malloc(bytes ? bytes : 1))) goto oom;
    }
    size_t scratch = l->plan ? tc_transform_plan_scratch_bytes(l->plan) : 0;
    if (scratch && !(sl->scratch = malloc(scratch))) goto oom;
    sl->batch.nfields = l->nfields;
    sl->batch.fields = sl->fields;
  }
  if (l->threaded) {
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    int rc = pthread_create(&l->thread, NULL, worker_main, l);
    if (rc != 0) {
      pthread_mutex_destroy(&l->mu);
      pthread_cond_destroy(&l->cv);
      l->threaded = false;
      st = tc_fail(err, TC_ERR_INTERNAL, "%s: cannot start the loader thread: %s", src,
                   strerror(rc));
      goto fail;
    }
  }
  *out = l;
  return TC_OK;
oom:
  st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory for the loader's batch buffers",
               src);
fail:
  tc_loader_free(l);
  return st;
}

int64_t tc_loader_num_batches(const tc_loader *l) { return l->nbatches; }
int tc_loader_num_fields(const tc_loader *l) { return l->nfields; }

const tc_field *tc_loader_field_at(const tc_loader *l, int i) {
  return i >= 0 && i < l->nfields ? &l->desc[i] : NULL;
}

const tc_field *tc_loader_field(const tc_loader *l, const char *name) {
  for (int k = 0; k < l->nfields; k++)
    if (strcmp(l->desc[k].name, name) == 0) return &l->desc[k];
  return NULL;
}

tc_status tc_loader_start(tc_loader *l, int64_t epoch, int64_t first_batch,
                          tc_error *err) {
  if (first_batch < 0 || first_batch > l->nbatches)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot start epoch %" PRId64 " at batch %" PRId64
                   " (an epoch has %" PRId64 " batches)", tc_dataset_source(l->ds), epoch,
                   first_batch, l->nbatches);
  if (l->threaded) wait_idle(l);
  for (int64_t i = 0; i < l->n; i++) l->perm[i] = i;
  if (l->shuffle) {
    tc_rng rng;
    tc_rng_init(&rng, l->seed, (uint64_t)epoch);
    tc_rng_shuffle(&rng, l->perm, l->n);
  }
  l->epoch = epoch;
  l->next_batch = first_batch;
  l->last_slot = -1;
  if (l->threaded && first_batch < l->nbatches) queue_job(l, 0, first_batch);
  return TC_OK;
}

tc_status tc_loader_next(tc_loader *l, const tc_batch **batch, tc_error *err) {
  *batch = NULL;
  if (l->epoch < 0)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: tc_loader_next before tc_loader_start",
                   tc_dataset_source(l->ds));
  if (l->next_batch >= l->nbatches) return TC_OK;
  int s;
  if (l->threaded) {
    pthread_mutex_lock(&l->mu);
    while (l->state != JOB_DONE) pthread_cond_wait(&l->cv, &l->mu);
    s = l->job_slot;
    l->state = JOB_IDLE;
    pthread_mutex_unlock(&l->mu);
    if (l->next_batch + 1 < l->nbatches) queue_job(l, 1 - s, l->next_batch + 1);
  } else {
    s = 0;
    fill_batch(l, s, l->next_batch);
  }
  l->next_batch++;
  l->last_slot = s;
  *batch = &l->slots[s].batch;
  return TC_OK;
}

const int64_t *tc_loader_batch_indices(const tc_loader *l) {
  if (l->last_slot < 0) return NULL;
  return l->perm + l->slots[l->last_slot].batch.index * l->batch_size;
}

void tc_loader_free(tc_loader *l) {
  if (!l) return;
  if (l->threaded) {
    pthread_mutex_lock(&l->mu);
    l->quit = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
  }
  for (int s = 0; s < 2; s++) {
    if (l->slots[s].fields)
      for (int k = 0; k < l->nfields; k++) free(l->slots[s].fields[k].data);
    free(l->slots[s].fields);
    free(l->slots[s].scratch);
  }
  tc_transform_plan_free(l->plan);
  free(l->desc);
  free(l->perm);
  free(l);
}

const tc_field *tc_batch_field(const tc_batch *b, const char *name) {
  for (int k = 0; k < b->nfields; k++)
    if (strcmp(b->fields[k].name, name) == 0) return &b->fields[k];
  return NULL;
}
