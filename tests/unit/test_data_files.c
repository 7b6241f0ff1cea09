/* Unit tests of the file-backed datasets: image folders (listing, classes
 * and decoded pixels against torchvision's ImageFolder and PIL, run live by
 * data_files_gen.py) and CSV tables; decoded fields through the loader with
 * 0 to 3 workers; every bad input failing with the file (and line) named.
 *
 * Pixels: PNG, BMP (and the grey / alpha / palette conversions) must equal
 * PIL's convert("RGB") exactly. JPEG: stb_image and libjpeg (PIL) use
 * different IDCT and chroma upsampling code, so decoded values may differ
 * by a few levels; the bound checked is JPEG_TOLERANCE, and the mean
 * absolute difference must stay under 1 level. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "tc_data.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define JPEG_TOLERANCE 3 /* measured: 2 levels on these fixtures */

static char tmpdir[256];

static const char *tmp_path(const char *name) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "%s/%s", tmpdir, name);
  return p;
}

static void *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc((size_t)len + 1);
  *n = fread(p, 1, (size_t)len, f);
  fclose(f);
  ((char *)p)[*n] = 0;
  return p;
}

static void expect_error(int line, tc_status st, const tc_error *err, const char *what1,
                         const char *what2) {
  bool ok = st == TC_ERR_INPUT && strstr(err->msg, what1) && strstr(err->msg, what2);
  if (ok) {
    passed++;
    return;
  }
  failed++;
  fprintf(stderr, "%s:%d: expected an input error naming '%s' and '%s', got status %d: %s\n",
          __FILE__, line, what1, what2, (int)st, st ? err->msg : "(none)");
}
#define EXPECT_ERROR(st, err, a, b) expect_error(__LINE__, (st), &(err), (a), (b))

/* ---- image folders ------------------------------------------------------------- */

typedef struct ref_sample {
  char path[512];
  int64_t label, h, w;
  int jpeg;
  char ref[64];
} ref_sample;

static int read_manifest(ref_sample *v, int cap) {
  FILE *f = fopen(tmp_path("manifest.txt"), "r");
  if (!f) return 0;
  int n = 0;
  char line[1024];
  while (n < cap && fgets(line, sizeof line, f)) {
    /* the path may hold spaces: the last five fields are space-free */
    char *p = line + strlen(line);
    char *fields[5];
    for (int k = 4; k >= 0; k--) {
      while (p > line && (p[-1] == '\n' || p[-1] == ' ')) *--p = 0;
      while (p > line && p[-1] != ' ') p--;
      fields[k] = p;
    }
    p[-1] = 0;
    snprintf(v[n].path, sizeof v[n].path, "%s", line);
    v[n].label = atoll(fields[0]);
    v[n].h = atoll(fields[1]);
    v[n].w = atoll(fields[2]);
    v[n].jpeg = atoi(fields[3]);
    snprintf(v[n].ref, sizeof v[n].ref, "%s", fields[4]);
    n++;
  }
  fclose(f);
  return n;
}

static void test_imagefolder(void) {
  ref_sample refs[32];
  int n = read_manifest(refs, 32);
  CHECK(n == 14);
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  CHECK_OK(tc_dataset_load_imagefolder(tmp_path("ok"), &ds, &err), err);
  if (!ds || n == 0) return;
  CHECK(tc_dataset_size(ds) == n);
  int nc;
  const char *const *classes = tc_dataset_class_names(ds, &nc);
  CHECK(nc == 3 && classes && strcmp(classes[0], "bird") == 0 &&
        strcmp(classes[1], "cat") == 0 && strcmp(classes[2], "dog") == 0);
  const tc_field *img = tc_dataset_field(ds, "image");
  const tc_field *lab = tc_dataset_field(ds, "label");
  CHECK(img && img->dtype == TC_DATA_U8 && img->rank == 3 && img->shape[0] == 3 &&
        img->shape[1] == TC_DIM_VARIES && img->shape[2] == TC_DIM_VARIES && !img->data);
  CHECK(lab && lab->dtype == TC_DATA_I64 && lab->rank == 0);
  if (!img || !lab) goto done;
  tc_sample_buffer buf = {0};
  int img_index = img == tc_dataset_field_at(ds, 0) ? 0 : 1;
  int worst_jpeg = 0;
  for (int i = 0; i < n && i < tc_dataset_size(ds); i++) {
    CHECKF(((const int64_t *)lab->data)[i] == refs[i].label, "sample %d label", i);
    tc_image im;
    tc_status st = tc_dataset_read_image(ds, img_index, i, &im, &buf, &err);
    CHECK_OK(st, err);
    if (st) continue;
    CHECKF(im.dtype == TC_DATA_U8 && im.c == 3 && im.h == refs[i].h && im.w == refs[i].w,
           "%s: decoded [%" PRId64 ",%" PRId64 ",%" PRId64 "], PIL [3,%" PRId64 ",%" PRId64 "]",
           refs[i].path, im.c, im.h, im.w, refs[i].h, refs[i].w);
    size_t rn = 0;
    unsigned char *ref = read_all(tmp_path(refs[i].ref), &rn);
    size_t bytes = (size_t)(3 * im.h * im.w);
    if (ref && rn == bytes) {
      const unsigned char *px = im.data;
      int maxd = 0;
      double sum = 0;
      for (size_t k = 0; k < bytes; k++) {
        int d = abs((int)px[k] - (int)ref[k]);
        if (d > maxd) maxd = d;
        sum += d;
      }
      if (refs[i].jpeg) {
        if (maxd > worst_jpeg) worst_jpeg = maxd;
        CHECKF(maxd <= JPEG_TOLERANCE && sum / (double)bytes < 1.0,
               "%s: JPEG differs from PIL by up to %d levels (mean %.3f)", refs[i].path, maxd,
               sum / (double)bytes);
      } else {
        CHECKF(maxd == 0, "%s: differs from PIL by up to %d levels", refs[i].path, maxd);
      }
    } else {
      CHECKF(false, "%s: reference %s has %zu bytes, want %zu", refs[i].path, refs[i].ref, rn,
             bytes);
    }
    free(ref);
  }
  printf("JPEG: largest difference from PIL %d levels\n", worst_jpeg);
  tc_sample_buffer_free(&buf);
done:
  tc_dataset_free(ds);
}

/* A folder of one image size: a fixed field that batches without transforms;
 * any worker count gives the same bytes. With varying sizes and no
 * transform fixing them, the loader refuses. */
static void test_imagefolder_loader(void) {
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  CHECK_OK(tc_dataset_load_imagefolder(tmp_path("same"), &ds, &err), err);
  if (!ds) return;
  const tc_field *img = tc_dataset_field(ds, "image");
  CHECK(img->shape[0] == 3 && img->shape[1] == 6 && img->shape[2] == 5 &&
        img->sample_bytes == 90);
  tc_transform ts[2] = {{.kind = TC_TRANSFORM_TO_TENSOR},
                        {.kind = TC_TRANSFORM_NORMALIZE, .nmean = 1, .nstd = 1,
                         .mean = {0.5f}, .std = {0.25f}}};
  for (int nt = 0; nt <= 2; nt += 2) {
    unsigned char first[2][3 * 4 * 90];
    for (int workers = 0; workers <= 3; workers++) {
      tc_loader_config cfg = {.batch_size = 2, .shuffle = true, .seed = 3,
                              .num_workers = workers, .transforms = ts, .ntransforms = nt};
      tc_loader *l = NULL;
      CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
      if (!l) continue;
      CHECK_OK(tc_loader_start(l, 1, 0, &err), err);
      const tc_batch *b;
      for (int k = 0; k < 2; k++) {
        CHECK_OK(tc_loader_next(l, &b, &err), err);
        if (!b) continue;
        const tc_field *f = tc_batch_field(b, "image");
        size_t bytes = (size_t)b->size * f->sample_bytes;
        CHECK(bytes <= sizeof first[k]);
        if (workers == 0) memcpy(first[k], f->data, bytes);
        else CHECKF(memcmp(first[k], f->data, bytes) == 0, "%d workers: batch %d differs",
                    workers, k);
      }
      CHECK_OK(tc_loader_next(l, &b, &err), err);
      CHECK(b == NULL);
      tc_loader_free(l);
    }
  }
  tc_dataset_free(ds);

  CHECK_OK(tc_dataset_load_imagefolder(tmp_path("ok"), &ds, &err), err);
  if (!ds) return;
  tc_loader_config cfg = {.batch_size = 2};
  tc_loader *l = NULL;
  EXPECT_ERROR(tc_loader_create(ds, &cfg, &l, &err), err, "images of field 'image' differ in "
               "size", "Resize");
  tc_dataset_free(ds);
}

static void test_imagefolder_errors(void) {
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("does-not-exist"), &ds, &err), err,
               tmp_path("does-not-exist"), "No such file");
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("ok/cat/a.png"), &ds, &err), err,
               "a.png", "not a folder");
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("noclass"), &ds, &err), err,
               tmp_path("noclass"), "no class folder");
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("empty"), &ds, &err), err,
               tmp_path("empty/b"), tmp_path("empty/c"));
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("empty"), &ds, &err), err,
               "no image file", "class folders");
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("badhdr"), &ds, &err), err,
               tmp_path("badhdr/b/broken.png"), "not an image stb_image can read");
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("tif"), &ds, &err), err,
               tmp_path("tif/a/y.tif"), "convert it");
  EXPECT_ERROR(tc_dataset_load_imagefolder(tmp_path("huge"), &ds, &err), err,
               tmp_path("huge/b/huge.png"), "10000x10000");
  tc_image img;
  tc_sample_buffer buf = {0};
  EXPECT_ERROR(tc_image_load_rgb(tmp_path("huge/b/huge.png"), &img, &buf, &err), err,
               "huge.png", "at most 67108864 pixels");
  EXPECT_ERROR(tc_image_load_rgb(tmp_path("badjpeg/short.jpg"), &img, &buf, &err), err,
               tmp_path("badjpeg/short.jpg"), "a truncated JPEG (its header says 4000x3000 "
               "pixels, more than");
  EXPECT_ERROR(tc_image_load_rgb(tmp_path("badjpeg/dht.jpg"), &img, &buf, &err), err,
               tmp_path("badjpeg/dht.jpg"), "cannot decode the image: bad DHT header");
  tc_sample_buffer_free(&buf);
  CHECK(ds == NULL);

  /* a header that reads but pixels that do not: the loader reports the file */
  CHECK_OK(tc_dataset_load_imagefolder(tmp_path("badpix"), &ds, &err), err);
  if (!ds) return;
  tc_transform tt = {.kind = TC_TRANSFORM_TO_TENSOR};
  for (int workers = 0; workers <= 2; workers += 2) {
    for (int nt = 0; nt <= 1; nt++) {
      tc_loader_config cfg = {.batch_size = 1, .num_workers = workers, .transforms = &tt,
                              .ntransforms = nt};
      tc_loader *l = NULL;
      CHECK_OK(tc_loader_create(ds, &cfg, &l, &err), err);
      if (!l) continue;
      const tc_batch *b = NULL;
      CHECK_OK(tc_loader_start(l, 0, 0, &err), err);
      CHECK_OK(tc_loader_next(l, &b, &err), err); /* good.png */
      EXPECT_ERROR(tc_loader_next(l, &b, &err), err, tmp_path("badpix/b/corrupt.png"),
                   "cannot decode the image");
      CHECK(b == NULL);
      tc_loader_free(l);
    }
  }
  tc_dataset_free(ds);
}

/* ---- CSV ------------------------------------------------------------------------- */

static void test_csv(void) {
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  CHECK_OK(tc_dataset_load_csv(tmp_path("ok.csv"), "label", 0, true, &ds, &err), err);
  if (ds) {
    const tc_field *x = tc_dataset_field(ds, "features"), *y = tc_dataset_field(ds, "label");
    CHECK(tc_dataset_size(ds) == 4);
    CHECK(x && x->dtype == TC_DATA_F32 && x->rank == 1 && x->shape[0] == 2);
    CHECK(y && y->dtype == TC_DATA_I64 && y->rank == 0);
    size_t nf = 0, nl = 0;
    void *ref_x = read_all(tmp_path("ok_features.bin"), &nf);
    void *ref_y = read_all(tmp_path("ok_labels.bin"), &nl);
    if (x && y && ref_x && ref_y) {
      CHECK(nf == 32 && memcmp(x->data, ref_x, 32) == 0);
      CHECK(nl == 32 && memcmp(y->data, ref_y, 32) == 0);
    }
    free(ref_x);
    free(ref_y);
    tc_dataset_free(ds);
  }
  /* by index, counting from the end, without a header */
  CHECK_OK(tc_dataset_load_csv(tmp_path("noheader.csv"), NULL, -1, false, &ds, &err), err);
  if (ds) {
    const float *x = tc_dataset_field(ds, "features")->data;
    const int64_t *y = tc_dataset_field(ds, "label")->data;
    CHECK(tc_dataset_size(ds) == 2 && x[0] == 1 && x[1] == 2 && x[2] == 4 && x[3] == 5 &&
          y[0] == 3 && y[1] == 6);
    tc_dataset_free(ds);
  }
  CHECK_OK(tc_dataset_load_csv(tmp_path("noheader.csv"), NULL, 0, false, &ds, &err), err);
  if (ds) {
    const int64_t *y = tc_dataset_field(ds, "label")->data;
    CHECK(y[0] == 1 && y[1] == 4);
    tc_dataset_free(ds);
  }
}

static void test_csv_errors(void) {
  tc_error err = {{0}};
  tc_dataset *ds = NULL;
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("missing.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("missing.csv"), "cannot open");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("empty.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("empty.csv"), "the file is empty");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("blank.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("blank.csv"), "the file is empty");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("nonnum.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("nonnum.csv"), "line 3, column 2 ('b'): 'abc' is not a number");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("emptycell.csv"), "label", 0, true, &ds, &err),
               err, tmp_path("emptycell.csv"), "line 2, column 2 ('b'): '' is not a number");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("ragged.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("ragged.csv"), "line 4: 2 fields, but the header has 3");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("nolabel.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("nolabel.csv"), "no label column 'label' in the header (its columns: "
               "'a', 'b', 'c')");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("nolabel.csv"), NULL, 5, true, &ds, &err), err,
               tmp_path("nolabel.csv"), "label column 5 does not exist");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("nonint.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("nonint.csv"), "line 3, column 2 ('label'): the label '1.5' is not an "
               "integer");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("quote.csv"), "label", 0, true, &ds, &err), err,
               tmp_path("quote.csv"), "line 3, column 1: the quote opened here is never closed");
  EXPECT_ERROR(tc_dataset_load_csv(tmp_path("headonly.csv"), "label", 0, true, &ds, &err),
               err, tmp_path("headonly.csv"), "no data rows");
  CHECK(ds == NULL);
}

static bool run_generator(void) {
  const char *src = getenv("TC_SOURCE_DIR");
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/data_files_gen.py %s",
           src ? src : ".", tmpdir);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "the generator script failed (%d): %s\n", rc, cmd);
  return rc == 0;
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_test_data_files_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  if (run_generator()) {
    test_imagefolder();
    test_imagefolder_loader();
    test_imagefolder_errors();
    test_csv();
    test_csv_errors();
  } else {
    failed++;
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (getenv("TC_TEST_KEEP")) fprintf(stderr, "kept %s\n", tmpdir);
  else if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  return check_summary();
}
