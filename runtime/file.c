/* Durable file replacement helpers (see tc_file.h). */
#define _GNU_SOURCE
#include "tc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *tc_file_folder(const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
  char *dir = malloc(n ? n + 1 : 2);
  if (!dir) return NULL;
  if (n) {
    memcpy(dir, path, n);
    dir[n] = '\0';
  } else {
    strcpy(dir, ".");
  }
  return dir;
}

int tc_file_create_temp(const char *path, char **tmp) {
  *tmp = NULL;
  const char *slash = strrchr(path, '/');
  size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dir;
  int base_len = (int)strnlen(base, 200); /* room for the suffix in NAME_MAX */
  size_t size = dir + (size_t)base_len + 64;
  char *name = malloc(size);
  if (!name) {
    errno = ENOMEM;
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned long salt = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20);
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(name, size, "%.*s.%.*s.tmp-%ld-%lx", (int)dir, path, base_len, base,
             (long)getpid(), (salt + (unsigned long)attempt * 7919u) & 0xffffffu);
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      *tmp = name;
      return fd;
    }
    if (errno != EEXIST) break;
  }
  int saved = errno;
  free(name);
  errno = saved;
  return -1;
}

int tc_file_sync_folder(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  if (rc != 0 && saved == EINVAL) rc = 0;
  errno = saved;
  return rc;
}

int tc_file_write_all(int fd, const void *p, size_t n) {
  const unsigned char *at = p;
  while (n > 0) {
    ssize_t w = write(fd, at, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    at += w;
    n -= (size_t)w;
  }
  return 0;
}
