/* Image folders like torchvision.datasets.ImageFolder (see tc_data.h).
 *
 * Loading lists the files and reads each header with stbi_info (a few bytes
 * per file) for the image's size; nothing is decoded. The "image" field is a
 * decoded field: the loader's workers call decode_sample, which decodes one
 * file with stb_image to interleaved RGB and writes it channel-first.
 *
 * The listing follows torchvision 0.14's find_classes and make_dataset:
 *   classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
 *   for each class: for root, _, fnames in sorted(os.walk(dir, followlinks=True)):
 *                     for fname in sorted(fnames): keep it if its extension fits
 * so a class's files are sorted by (folder path, file name) as strings, which
 * is what compare_entries does. Python compares str by code point, and
 * strcmp on UTF-8 bytes gives the same order. is_dir() follows symlinks, so
 * stat() (not lstat) decides what is a folder; a broken symlink is a file,
 * as in os.walk. Unlike os.walk, which skips folders it cannot read, an
 * unreadable folder is an error here. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "tc_data.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

/* Symlinked folders can form loops, which os.walk(followlinks=True) would
 * walk forever; deeper than this is an error. */
#define MAX_DEPTH 64

typedef struct entry {
  char *dir;  /* folder path, as os.walk's root */
  char *name; /* file name */
} entry;

typedef struct entry_list {
  entry *v;
  size_t n, cap;
} entry_list;

/* What decode_sample reads: per sample the path and the size stbi_info
 * gave. Read-only once loading is done, so workers share it freely. */
typedef struct folder {
  int64_t n;
  char **paths;    /* [n] */
  int32_t *height; /* [n] */
  int32_t *width;  /* [n] */
} folder;

static void folder_free(void *ctx) {
  folder *f = ctx;
  if (!f) return;
  for (int64_t i = 0; i < f->n; i++) free(f->paths[i]);
  free(f->paths);
  free(f->height);
  free(f->width);
  free(f);
}

static bool ends_with_ci(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

bool tc_image_file_name(const char *name) {
  static const char *const exts[] = {".png", ".jpg", ".jpeg", ".bmp"};
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
    if (ends_with_ci(name, exts[i])) return true;
  return false;
}

/* Extensions torchvision's IMG_EXTENSIONS has and trainc does not decode:
 * stb_image has no TIFF or WebP, and its PNM parser (PPM, PGM) has undefined
 * behaviour on crafted headers that fuzzing found, so it is not compiled. */
static bool undecodable_image_name(const char *name) {
  static const char *const exts[] = {".tif", ".tiff", ".webp", ".ppm", ".pgm"};
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
    if (ends_with_ci(name, exts[i])) return true;
  return false;
}

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  bool slash = a > 0 && dir[a - 1] == '/';
  char *p = malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  if (!slash) p[a++] = '/';
  memcpy(p + a, name, b + 1);
  return p;
}

static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static tc_status oom(tc_error *err, const char *where) {
  return tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory", where);
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_entries(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = strcmp(x->dir, y->dir);
  return c ? c : strcmp(x->name, y->name);
}

/* The names in `dir` (without . and ..), unsorted; dirs_only keeps folders. */
static tc_status list_dir(const char *dir, bool dirs_only, char ***out, size_t *n,
                          tc_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot read the folder: %s", dir, strerror(errno));
  size_t cap = 0;
  char **v = NULL;
  tc_status st = TC_OK;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (dirs_only) {
      char *p = join(dir, e->d_name);
      if (!p) {
        st = oom(err, dir);
        break;
      }
      bool keep = is_dir(p);
      free(p);
      if (!keep) continue;
    }
    if (*n == cap) {
      size_t c = cap ? 2 * cap : 16;
      char **w = realloc(v, c * sizeof *w);
      if (!w) {
        st = oom(err, dir);
        break;
      }
      v = w;
      cap = c;
    }
    if (!(v[*n] = strdup(e->d_name))) {
      st = oom(err, dir);
      break;
    }
    (*n)++;
    errno = 0;
  }
  if (!st && errno)
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read the folder: %s", dir, strerror(errno));
  closedir(d);
  if (st) {
    for (size_t i = 0; i < *n; i++) free(v[i]);
    free(v);
    *n = 0;
    return st;
  }
  *out = v;
  return TC_OK;
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* Every image file below `dir` into `list` (os.walk with followlinks). */
static tc_status walk(const char *dir, int depth, entry_list *list, tc_error *err) {
  if (depth > MAX_DEPTH)
    return tc_fail(err, TC_ERR_INPUT, "%s: folders nested more than %d deep (a symlink "
                   "loop?)", dir, MAX_DEPTH);
  char **names;
  size_t n;
  tc_status st = list_dir(dir, false, &names, &n, err);
  if (st) return st;
  for (size_t i = 0; i < n && !st; i++) {
    char *path = join(dir, names[i]);
    if (!path) {
      st = oom(err, dir);
      break;
    }
    if (is_dir(path)) {
      st = walk(path, depth + 1, list, err);
    } else if (undecodable_image_name(names[i])) {
      st = tc_fail(err, TC_ERR_INPUT, "%s: torchvision's ImageFolder would load this file, "
                   "but trainc decodes PNG, JPEG and BMP only (stb_image): convert "
                   "it or move it out of the folder", path);
    } else if (tc_image_file_name(names[i])) {
      if (list->n == list->cap) {
        size_t c = list->cap ? 2 * list->cap : 64;
        entry *w = realloc(list->v, c * sizeof *w);
        if (!w) {
          free(path);
          st = oom(err, dir);
          break;
        }
        list->v = w;
        list->cap = c;
      }
      entry *e = &list->v[list->n];
      e->dir = strdup(dir);
      e->name = strdup(names[i]);
      if (!e->dir || !e->name) {
        free(e->dir);
        free(e->name);
        st = oom(err, dir);
      } else {
        list->n++;
      }
    }
    free(path);
  }
  free_names(names, n);
  return st;
}

static void entries_free(entry_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].dir);
    free(l->v[i].name);
  }
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

/* stb_image's reason for a failure, as a phrase. */
static const char *stb_reason(void) {
  const char *r = stbi_failure_reason();
  return r ? r : "unknown error";
}

/* The largest image decoded: 8192 x 8192 pixels. A few bytes of header can
 * claim any size, and stb_image allocates the whole image before reading
 * its data; training images are far smaller. */
#define MAX_IMAGE_PIXELS ((int64_t)1 << 26)
#define MAX_IMAGE_FILE_BYTES ((size_t)1 << 30)

static tc_status too_large(const char *path, int w, int h, tc_error *err) {
  return tc_fail(err, TC_ERR_INPUT, "%s: the image is %dx%d (width x height); trainc decodes "
                 "images of at most %lld pixels", path, w, h, (long long)MAX_IMAGE_PIXELS);
}

/* Whether every chunk of a PNG lies within the file. stb_image allocates
 * what a chunk's length field claims before reading it, so a few bytes
 * could make it allocate gigabytes. */
static bool png_chunks_fit(const unsigned char *p, size_t n) {
  static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n < 8 || memcmp(p, magic, 8) != 0) return true; /* not a PNG */
  for (size_t at = 8; at + 8 <= n;) {
    size_t len = (size_t)p[at] << 24 | (size_t)p[at + 1] << 16 | (size_t)p[at + 2] << 8 |
                 p[at + 3];
    if (len > n - at - 8) return false;
    if (memcmp(p + at + 4, "IEND", 4) == 0) return true;
    at += 12 + len;
  }
  return true;
}

/* Whether a BMP file holds the pixel rows its header promises. stb_image
 * (which reads uncompressed BMPs only) allocates and fills the whole image
 * from the header's size, so a 50-byte file could cost a 100 MB decode. */
static bool bmp_pixels_fit(const unsigned char *p, size_t n, int w, int h) {
  if (n < 30 || p[0] != 'B' || p[1] != 'M') return true; /* not a BMP */
  uint32_t header = (uint32_t)p[14] | (uint32_t)p[15] << 8 | (uint32_t)p[16] << 16 |
                    (uint32_t)p[17] << 24;
  size_t at = header == 12 ? 24 : 28; /* OS/2 or Windows header: bits per pixel */
  int bpp = p[at] | p[at + 1] << 8;
  if (bpp < 1) return true; /* stb refuses it */
  uint64_t row = ((uint64_t)w * (uint64_t)bpp + 31) / 32 * 4;
  return row * (uint64_t)h <= n;
}

/* Whether a JPEG file is large enough for the pixels its header promises.
 * Every 8x8 block's DC coefficient is coded in some scan with a Huffman
 * code of at least one bit, and no scan has fewer MCUs than
 * ceil(w / 32) * ceil(h / 32) (sampling factors are at most 4), so a
 * complete file holds at least that many bits. stb_image decodes a file
 * whose data ends early as if zeros followed (libjpeg too, with a warning
 * PIL ignores), so a 655-byte file made it decode 15 million pixels; such a
 * file is corrupt, and refused. */
static bool jpeg_data_fits(const unsigned char *p, size_t n, int w, int h) {
  /* stb takes any run of FF bytes and then D8 for the start of a JPEG */
  size_t start = 0;
  while (start < n && p[start] == 0xFF) start++;
  if (start == 0 || start >= n || p[start] != 0xD8) return true; /* not a JPEG */
  uint64_t mcus = ((uint64_t)w + 31) / 32 * (((uint64_t)h + 31) / 32);
  return mcus <= (uint64_t)n * 8;
}

/* The bytes of `path` in *data (malloc'd), at most MAX_IMAGE_FILE_BYTES. */
static tc_status read_image_file(const char *path, unsigned char **data, size_t *n,
                                 tc_error *err) {
  *data = NULL;
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return tc_fail(err, TC_ERR_INPUT, "%s: cannot open the image: %s", path,
                         strerror(errno));
  size_t cap = 0;
  tc_status st = TC_OK;
  for (;;) {
    if (*n == cap) {
      if (cap >= MAX_IMAGE_FILE_BYTES) {
        st = tc_fail(err, TC_ERR_INPUT, "%s: the file is larger than %zu bytes, more than "
                     "any image trainc decodes", path, MAX_IMAGE_FILE_BYTES);
        break;
      }
      size_t grown = cap ? 2 * cap : 1 << 16;
      unsigned char *p = realloc(*data, grown);
      if (!p) {
        st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory reading the image", path);
        break;
      }
      *data = p;
      cap = grown;
    }
    size_t got = fread(*data + *n, 1, cap - *n, f);
    *n += got;
    if (got == 0) {
      if (ferror(f))
        st = tc_fail(err, TC_ERR_INPUT, "%s: cannot read the image: %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (st) {
    free(*data);
    *data = NULL;
  }
  return st;
}

/* The bytes of image file `path`, checked for what stb_image would take at
 * too high a cost or differently from PIL: PNG chunks longer than the file
 * (png_chunks_fit) and 16-bit samples (PIL clips 16-bit grey to 255 where
 * stb keeps the high byte). Memory errors in stb itself are fixed in the
 * vendored copy (third_party/stb/README.md). */
static tc_status load_image_bytes(const char *path, unsigned char **bytes, size_t *n,
                                  tc_error *err) {
  tc_status st = read_image_file(path, bytes, n, err);
  if (st) return st;
  if (!png_chunks_fit(*bytes, *n))
    st = tc_fail(err, TC_ERR_INPUT, "%s: cannot decode the image: a corrupt PNG (a chunk "
                 "longer than the file)", path);
  else if (stbi_is_16_bit_from_memory(*bytes, (int)*n))
    st = tc_fail(err, TC_ERR_INPUT, "%s: a 16-bit image; trainc reads 8-bit images (PIL and "
                 "stb_image reduce 16-bit samples differently): convert it to 8 bits", path);
  if (st) {
    free(*bytes);
    *bytes = NULL;
  }
  return st;
}

/* Decodes `path` to u8 [3, h, w] in buf. want_h/want_w > 0: the size the
 * header said at load time, which the pixels must still have. */
static tc_status decode_file(const char *path, int want_h, int want_w, tc_image *out,
                             tc_sample_buffer *buf, tc_error *err) {
  int w, h, comp;
  unsigned char *bytes;
  size_t nbytes;
  tc_status rs = load_image_bytes(path, &bytes, &nbytes, err);
  if (rs) return rs;
  if (stbi_info_from_memory(bytes, (int)nbytes, &w, &h, &comp)) {
    tc_status bad = TC_OK;
    if ((int64_t)w * h > MAX_IMAGE_PIXELS) bad = too_large(path, w, h, err);
    else if (!bmp_pixels_fit(bytes, nbytes, w, h))
      bad = tc_fail(err, TC_ERR_INPUT, "%s: cannot decode the image: a truncated BMP (its "
                    "header says %dx%d pixels, more than the file holds)", path, w, h);
    else if (!jpeg_data_fits(bytes, nbytes, w, h))
      bad = tc_fail(err, TC_ERR_INPUT, "%s: cannot decode the image: a truncated JPEG (its "
                    "header says %dx%d pixels, more than %zu bytes can hold)", path, w, h,
                    nbytes);
    if (bad) {
      free(bytes);
      return bad;
    }
  }
  /* req_comp 3: stb expands grey (replicated), drops alpha and expands
   * palettes, as PIL's convert("RGB") does */
  unsigned char *px = stbi_load_from_memory(bytes, (int)nbytes, &w, &h, &comp, 3);
  free(bytes);
  if (!px)
    return tc_fail(err, TC_ERR_INPUT, "%s: cannot decode the image: %s", path, stb_reason());
  tc_status st = TC_OK;
  size_t plane = (size_t)w * (size_t)h;
  if (want_h > 0 && (h != want_h || w != want_w)) {
    st = tc_fail(err, TC_ERR_INPUT, "%s: the image is now %dx%d (width x height) but was "
                 "%dx%d when the folder was loaded", path, w, h, want_w, want_h);
  } else if (!tc_sample_buffer_reserve(buf, 3 * plane)) {
    st = tc_fail(err, TC_ERR_INTERNAL, "%s: out of memory for a %dx%d image", path, w, h);
  } else {
    /* interleaved RGB -> channel planes */
    unsigned char *dst = buf->data;
    for (size_t p = 0; p < plane; p++) {
      dst[p] = px[3 * p];
      dst[plane + p] = px[3 * p + 1];
      dst[2 * plane + p] = px[3 * p + 2];
    }
    *out = (tc_image){.dtype = TC_DATA_U8, .c = 3, .h = h, .w = w, .data = buf->data};
  }
  stbi_image_free(px);
  return st;
}

tc_status tc_image_load_rgb(const char *path, tc_image *out, tc_sample_buffer *buf,
                            tc_error *err) {
  return decode_file(path, 0, 0, out, buf, err);
}

static tc_status decode_sample(const void *ctx, int64_t i, tc_image *out,
                               tc_sample_buffer *buf, tc_error *err) {
  const folder *f = ctx;
  return decode_file(f->paths[i], f->height[i], f->width[i], out, buf, err);
}

/* Appends class `c`'s files (already sorted) to f and labels, reading each
 * header. */
static tc_status add_class_files(folder *f, int64_t *labels, int c, const entry_list *files,
                                 tc_error *err) {
  for (size_t k = 0; k < files->n; k++) {
    char *path = join(files->v[k].dir, files->v[k].name);
    if (!path) return oom(err, files->v[k].dir);
    int w, h, comp, ok = 0;
    unsigned char *bytes;
    size_t nbytes;
    tc_status rs = load_image_bytes(path, &bytes, &nbytes, err);
    if (rs) {
      free(path);
      return rs;
    }
    ok = stbi_info_from_memory(bytes, (int)nbytes, &w, &h, &comp);
    free(bytes);
    if (!ok) {
      tc_status st = tc_fail(err, TC_ERR_INPUT, "%s: not an image stb_image can read "
                             "(PNG, JPEG, BMP): %s", path, stb_reason());
      free(path);
      return st;
    }
    if ((int64_t)w * h > MAX_IMAGE_PIXELS) {
      tc_status st = too_large(path, w, h, err);
      free(path);
      return st;
    }
    f->paths[f->n] = path;
    f->height[f->n] = h;
    f->width[f->n] = w;
    labels[f->n] = c;
    f->n++;
  }
  return TC_OK;
}

/* Grows f and labels to hold `more` samples. */
static bool folder_grow(folder *f, int64_t **labels, size_t *cap, size_t more) {
  size_t need = (size_t)f->n + more;
  if (need <= *cap) return true;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  char **p = realloc(f->paths, c * sizeof *p);
  if (p) f->paths = p;
  int32_t *h = p ? realloc(f->height, c * sizeof *h) : NULL;
  if (h) f->height = h;
  int32_t *w = h ? realloc(f->width, c * sizeof *w) : NULL;
  if (w) f->width = w;
  int64_t *l = w ? realloc(*labels, c * sizeof *l) : NULL;
  if (l) *labels = l;
  if (!l) return false;
  *cap = c;
  return true;
}

tc_status tc_dataset_load_imagefolder(const char *root, tc_dataset **out, tc_error *err) {
  *out = NULL;
  struct stat sb;
  if (stat(root, &sb) != 0)
    return tc_fail(err, TC_ERR_INPUT, "%s: image folder root: %s", root, strerror(errno));
  if (!S_ISDIR(sb.st_mode))
    return tc_fail(err, TC_ERR_INPUT, "%s: image folder root is not a folder", root);
  char **classes;
  size_t nclasses;
  tc_status st = list_dir(root, true, &classes, &nclasses, err);
  if (st) return st;
  if (nclasses == 0) {
    free(classes);
    return tc_fail(err, TC_ERR_INPUT, "%s: no class folder in the image folder (expected "
                   "root/<class>/<image>, as torchvision's ImageFolder)", root);
  }
  qsort(classes, nclasses, sizeof *classes, compare_strings);

  folder *f = calloc(1, sizeof *f);
  int64_t *labels = NULL;
  size_t cap = 0;
  entry_list files = {0};
  char empty[1024] = "";
  size_t nempty = 0;
  if (!f) {
    st = oom(err, root);
    goto done;
  }
  for (size_t c = 0; c < nclasses && !st; c++) {
    char *dir = join(root, classes[c]);
    if (!dir) {
      st = oom(err, root);
      break;
    }
    entries_free(&files);
    st = walk(dir, 0, &files, err);
    if (!st && files.n == 0) {
      size_t used = strlen(empty);
      snprintf(empty + used, sizeof empty - used, "%s%s", nempty++ ? ", " : "", dir);
    }
    free(dir);
    if (st) break;
    if (files.n) qsort(files.v, files.n, sizeof *files.v, compare_entries);
    if (!folder_grow(f, &labels, &cap, files.n)) {
      st = oom(err, root);
      break;
    }
    st = add_class_files(f, labels, (int)c, &files, err);
  }
  if (!st && nempty)
    st = tc_fail(err, TC_ERR_INPUT, "no image file (.png .jpg .jpeg .bmp) in the "
                 "class folder%s %s (torchvision's ImageFolder refuses empty classes too)",
                 nempty > 1 ? "s" : "", empty);
  if (st) goto done;

  /* One size for all, or TC_DIM_VARIES where the images differ. */
  int64_t shape[3] = {3, f->height[0], f->width[0]};
  for (int64_t i = 1; i < f->n; i++) {
    if (f->height[i] != shape[1]) shape[1] = TC_DIM_VARIES;
    if (f->width[i] != shape[2]) shape[2] = TC_DIM_VARIES;
  }
  tc_dataset *ds = NULL;
  int64_t n = f->n;
  if ((st = tc_dataset_create(root, n, &ds, err))) goto done;
  tc_field_decoder dec = {.decode = decode_sample, .free_ctx = folder_free, .ctx = f};
  f = NULL; /* the dataset owns it from here, also on failure */
  st = tc_dataset_add_decoded_field(ds, "image", TC_DATA_U8, 3, shape, dec, err);
  int64_t *label_data = labels;
  labels = NULL;
  if (!st) st = tc_dataset_add_field(ds, "label", TC_DATA_I64, 0, NULL, label_data, err);
  else free(label_data);
  if (!st) st = tc_dataset_set_class_names(ds, (int)nclasses, (const char *const *)classes, err);
  if (st) {
    tc_dataset_free(ds);
    goto done;
  }
  *out = ds;
done:
  entries_free(&files);
  free_names(classes, nclasses);
  folder_free(f);
  free(labels);
  return st;
}

tc_status tc_image_files_find(const char *dir, char ***paths, int64_t *n, tc_error *err) {
  *paths = NULL;
  *n = 0;
  entry_list files = {0};
  tc_status st = walk(dir, 0, &files, err);
  char **v = NULL;
  if (!st) {
    if (files.n) qsort(files.v, files.n, sizeof *files.v, compare_entries);
    v = calloc(files.n ? files.n : 1, sizeof *v);
    if (!v) st = oom(err, dir);
  }
  for (size_t i = 0; !st && i < files.n; i++)
    if (!(v[i] = join(files.v[i].dir, files.v[i].name))) st = oom(err, dir);
  if (st) {
    for (size_t i = 0; v && i < files.n; i++) free(v[i]);
    free(v);
  } else {
    *paths = v;
    *n = (int64_t)files.n;
  }
  entries_free(&files);
  return st;
}

tc_status tc_imagefolder_classes(const char *root, char ***names, int *n, tc_error *err) {
  size_t count;
  tc_status st = list_dir(root, true, names, &count, err);
  if (st) return st;
  if (count) qsort(*names, count, sizeof **names, compare_strings);
  *n = (int)count;
  return TC_OK;
}
