/* The batch loader: shuffling, batching, decoding, transforms, and optional
 * worker threads (see tc_data.h).
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
 * Workers. With W worker threads the loader has W + 1 batch slots in a ring:
 * an epoch started at batch f puts batch b in slot (b - f) mod (W + 1). While
 * the caller holds batch b, slots hold b + 1 .. b + W, queued or being filled
 * or done; each worker takes the lowest queued batch and fills it whole. When
 * the caller asks for the next batch it gives b's slot back, which is queued
 * with b + W + 1, and waits for b + 1. Workers and caller share the slot
 * states under one mutex; the permutation and the epoch are rewritten only
 * when no slot is queued or being filled. Without workers one slot is filled
 * inside tc_loader_next. Every path runs the same fill_batch, and a batch's
 * bytes depend only on (seed, epoch, batch), so batches are equal byte for
 * byte whatever the worker count. */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#include "tc_data.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE } slot_state;

typedef struct slot {
  tc_batch batch;   /* what tc_loader_next hands out */
  tc_field *fields; /* [nfields], data [batch_size, shape...] */
  tc_transform_scratch *scratch;
  tc_sample_buffer decoded; /* one decoded sample on its way to the batch */
  slot_state state; /* threaded loaders only; under mu */
  int64_t job;      /* the batch the slot holds or is to hold */
  tc_status status; /* of the fill that produced `batch` */
  tc_error err;
} slot;

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
  int64_t first_batch; /* where the current epoch started */
  int64_t next_batch;  /* index of the batch the next tc_loader_next returns */
  int last_slot;       /* slot handed out last, -1 if none */
  int nslots;          /* workers + 1, or 1 without workers */
  slot *slots;         /* [nslots] */

  /* worker threads */
  int nworkers;        /* 0: synchronous */
  int nstarted;        /* threads running */
  pthread_t *threads;  /* [nworkers] */
  pthread_mutex_t mu;
  pthread_cond_t work; /* a slot was queued, or quit */
  pthread_cond_t done; /* a slot was filled */
  bool quit;
};

int tc_loader_default_workers(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores >= 2 ? 2 : 1;
}

/* Sample `i` of field k into `to`, which has room for desc[k].sample_bytes:
 * a decoded field must decode to exactly the described dims. */
static tc_status copy_decoded(tc_loader *l, slot *sl, int k, int64_t i, char *to) {
  tc_image im;
  tc_status st = tc_dataset_read_image(l->ds, k, i, &im, &sl->decoded, &sl->err);
  if (st) return st;
  const tc_field *d = &l->desc[k];
  bool chw = d->rank == 3;
  if (im.dtype != d->dtype || im.c != (chw ? d->shape[0] : 1) ||
      im.h != d->shape[chw ? 1 : 0] || im.w != d->shape[chw ? 2 : 1])
    return tc_fail(&sl->err, TC_ERR_INPUT, "%s: field '%s': sample %" PRId64 " decodes to "
                   "[%" PRId64 ",%" PRId64 ",%" PRId64 "] %s, not the size the dataset "
                   "described (did the file change?)", tc_dataset_source(l->ds), d->name, i,
                   im.c, im.h, im.w, tc_data_dtype_name(im.dtype));
  memcpy(to, im.data, d->sample_bytes);
  return TC_OK;
}

/* Fills slot s with batch b of the current epoch; a failure is kept in the
 * slot for tc_loader_next to report. */
static void fill_batch(tc_loader *l, int s, int64_t b) {
  slot *sl = &l->slots[s];
  int64_t first = b * l->batch_size;
  int64_t size = l->n - first < l->batch_size ? l->n - first : l->batch_size;
  const int64_t *idx = l->perm + first;
  uint64_t tseed = tc_rng_mix64(l->seed) ^ tc_rng_mix64(~(uint64_t)l->epoch);
  sl->status = TC_OK;
  for (int k = 0; k < l->nfields && !sl->status; k++) {
    const tc_field *src = tc_dataset_field_at(l->ds, k);
    const char *from = src->data;
    char *to = sl->fields[k].data;
    size_t in_bytes = src->sample_bytes, out_bytes = l->desc[k].sample_bytes;
    for (int64_t j = 0; j < size && !sl->status; j++) {
      char *dst = to + (size_t)j * out_bytes;
      if (k == l->tf) {
        tc_rng rng;
        tc_rng_init(&rng, tseed, (uint64_t)idx[j]);
        tc_image im;
        sl->status = tc_dataset_read_image(l->ds, k, idx[j], &im, &sl->decoded, &sl->err);
        if (sl->status) break; /* the decoder names the file */
        sl->status = tc_transform_plan_apply(l->plan, &im, dst, &sl->scratch, &rng, &sl->err);
        if (sl->status)
          tc_fail_context(&sl->err, sl->status, "%s: sample %" PRId64,
                          tc_dataset_source(l->ds), idx[j]);
      } else if (!from) {
        sl->status = copy_decoded(l, sl, k, idx[j], dst);
      } else {
        memcpy(dst, from + (size_t)idx[j] * in_bytes, in_bytes);
      }
    }
  }
  sl->batch.epoch = l->epoch;
  sl->batch.index = b;
  sl->batch.size = size;
}

/* The queued slot with the lowest batch number, or -1. Under mu. */
static int next_queued(const tc_loader *l) {
  int best = -1;
  for (int s = 0; s < l->nslots; s++)
    if (l->slots[s].state == SLOT_QUEUED && (best < 0 || l->slots[s].job < l->slots[best].job))
      best = s;
  return best;
}

static void *worker_main(void *arg) {
  tc_loader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    int s;
    while ((s = next_queued(l)) < 0 && !l->quit) pthread_cond_wait(&l->work, &l->mu);
    if (l->quit) break;
    l->slots[s].state = SLOT_RUNNING;
    int64_t b = l->slots[s].job;
    pthread_mutex_unlock(&l->mu);
    fill_batch(l, s, b);
    pthread_mutex_lock(&l->mu);
    l->slots[s].state = SLOT_DONE;
    pthread_cond_broadcast(&l->done);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static int slot_of(const tc_loader *l, int64_t b) {
  return (int)((b - l->first_batch) % l->nslots);
}

/* Queues batch b (if the epoch has it) into its slot. Under mu. */
static void queue_batch(tc_loader *l, int64_t b) {
  if (b >= l->nbatches) return;
  slot *sl = &l->slots[slot_of(l, b)];
  sl->job = b;
  sl->state = SLOT_QUEUED;
  pthread_cond_signal(&l->work);
}

/* Drops queued batches and waits for those being filled. Under mu. */
static void drain(tc_loader *l) {
  for (;;) {
    bool running = false;
    for (int s = 0; s < l->nslots; s++) {
      if (l->slots[s].state == SLOT_QUEUED) l->slots[s].state = SLOT_FREE;
      running |= l->slots[s].state == SLOT_RUNNING;
    }
    if (!running) break;
    pthread_cond_wait(&l->done, &l->mu);
  }
  for (int s = 0; s < l->nslots; s++) l->slots[s].state = SLOT_FREE;
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
  if (cfg->num_workers < 0 || cfg->num_workers > TC_LOADER_MAX_WORKERS)
    return tc_fail(err, TC_ERR_INPUT, "%s: num_workers must be 0 .. %d, not %d", src,
                   TC_LOADER_MAX_WORKERS, cfg->num_workers);
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
    const tc_field *f = tc_dataset_field_at(ds, k);
    l->desc[k] = k == l->tf ? *tc_transform_plan_output(l->plan) : *f;
    l->desc[k].data = NULL;
    if (k != l->tf && !f->data && f->sample_bytes == 0 && f->rank > 0) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: the images of field '%s' differ in size; a batch "
                   "needs one size: add transforms that give them one (Resize to [h, w], "
                   "a crop)", src, f->name);
      goto fail;
    }
  }
  l->nworkers = cfg->num_workers;
  l->nslots = l->nworkers ? l->nworkers + 1 : 1;
  l->slots = calloc((size_t)l->nslots, sizeof *l->slots);
  if (!l->slots) goto oom;
  /* buffers: the number of samples a batch can really hold */
  int64_t cap = l->n < l->batch_size ? l->n : l->batch_size;
  uint64_t buffers = 0;
  for (int k = 0; k < l->nfields; k++) {
    uint64_t bytes;
    if (__builtin_mul_overflow((uint64_t)l->desc[k].sample_bytes, (uint64_t)cap, &bytes) ||
        __builtin_add_overflow(buffers, bytes, &buffers))
      goto oom;
  }
  if (__builtin_mul_overflow(buffers, (uint64_t)l->nslots, &buffers)) goto oom;
  char what[600];
  snprintf(what, sizeof what, "the batch buffers for %s", src);
  if ((st = tc_mem_budget_charge(cfg->budget, TC_BUDGET_LOADERS, buffers, what, err))) goto fail;
  for (int s = 0; s < l->nslots; s++) {
    slot *sl = &l->slots[s];
    sl->fields = calloc((size_t)(l->nfields ? l->nfields : 1), sizeof *sl->fields);
    if (!sl->fields) goto oom;
    for (int k = 0; k < l->nfields; k++) {
      sl->fields[k] = l->desc[k];
      size_t bytes;
      if (__builtin_mul_overflow(l->desc[k].sample_bytes, (size_t)cap, &bytes)) goto oom;
      if (!(sl->fields[k].data = malloc(bytes ? bytes : 1))) goto oom;
    }
    sl->batch.nfields = l->nfields;
    sl->batch.fields = sl->fields;
  }
  if (l->nworkers) {
    if (!(l->threads = calloc((size_t)l->nworkers, sizeof *l->threads))) goto oom;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->done, NULL);
    for (; l->nstarted < l->nworkers; l->nstarted++) {
      int rc = pthread_create(&l->threads[l->nstarted], NULL, worker_main, l);
      if (rc != 0) {
        st = tc_fail(err, TC_ERR_INTERNAL, "%s: cannot start loader worker %d: %s", src,
                     l->nstarted + 1, strerror(rc));
        goto fail;
      }
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
  if (l->nworkers) {
    pthread_mutex_lock(&l->mu);
    drain(l);
  }
  for (int64_t i = 0; i < l->n; i++) l->perm[i] = i;
  if (l->shuffle) {
    tc_rng rng;
    tc_rng_init(&rng, l->seed, (uint64_t)epoch);
    tc_rng_shuffle(&rng, l->perm, l->n);
  }
  l->epoch = epoch;
  l->first_batch = first_batch;
  l->next_batch = first_batch;
  l->last_slot = -1;
  if (l->nworkers) {
    for (int64_t b = first_batch; b < first_batch + l->nslots; b++) queue_batch(l, b);
    pthread_mutex_unlock(&l->mu);
  }
  return TC_OK;
}

tc_status tc_loader_next(tc_loader *l, const tc_batch **batch, tc_error *err) {
  *batch = NULL;
  if (l->epoch < 0)
    return tc_fail(err, TC_ERR_INTERNAL, "%s: tc_loader_next before tc_loader_start",
                   tc_dataset_source(l->ds));
  if (l->next_batch >= l->nbatches) return TC_OK;
  int s = slot_of(l, l->next_batch);
  if (l->nworkers) {
    pthread_mutex_lock(&l->mu);
    /* the caller is done with the batch before this one: its slot takes the
     * batch nslots ahead */
    if (l->last_slot >= 0) {
      l->slots[l->last_slot].state = SLOT_FREE;
      queue_batch(l, l->next_batch - 1 + l->nslots);
    }
    while (l->slots[s].state != SLOT_DONE) pthread_cond_wait(&l->done, &l->mu);
    pthread_mutex_unlock(&l->mu);
  } else {
    fill_batch(l, s, l->next_batch);
  }
  l->next_batch++;
  l->last_slot = s;
  if (l->slots[s].status) {
    if (err) *err = l->slots[s].err;
    return l->slots[s].status;
  }
  *batch = &l->slots[s].batch;
  return TC_OK;
}

const int64_t *tc_loader_batch_indices(const tc_loader *l) {
  if (l->last_slot < 0) return NULL;
  return l->perm + l->slots[l->last_slot].batch.index * l->batch_size;
}

void tc_loader_free(tc_loader *l) {
  if (!l) return;
  if (l->threads) {
    pthread_mutex_lock(&l->mu);
    l->quit = true;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->nstarted; i++) pthread_join(l->threads[i], NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->done);
    free(l->threads);
  }
  for (int s = 0; l->slots && s < l->nslots; s++) {
    if (l->slots[s].fields)
      for (int k = 0; k < l->nfields; k++) free(l->slots[s].fields[k].data);
    free(l->slots[s].fields);
    tc_transform_scratch_free(l->slots[s].scratch);
    tc_sample_buffer_free(&l->slots[s].decoded);
  }
  free(l->slots);
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
