/* Durable file replacement, shared by everything trainc writes that must
 * never be seen half-written (trained models, checkpoints): write a temp
 * file beside the target, fsync it, rename it over the target, fsync the
 * folder. */
#ifndef TC_FILE_H
#define TC_FILE_H

#include <stddef.h>

/* The folder part of `path` ("." for a bare name, "/" for "/x"); malloc'd,
 * NULL when out of memory. */
char *tc_file_folder(const char *path);

/* Creates "<folder>/.<name>.tmp-<pid>-<n>" with O_EXCL, trying new names
 * while they exist. On success *tmp (malloc'd) names the file and the
 * returned descriptor is open for writing; on failure -1 with errno set and
 * *tmp NULL. */
int tc_file_create_temp(const char *path, char **tmp);

/* write() of all n bytes, retrying interrupted and short writes; 0, or
 * the errno of the failure (EIO if write() made no progress). */
int tc_file_write_all(int fd, const void *p, size_t n);

/* fsync of a folder, so that a rename in it is durable. File systems that
 * cannot sync folders say EINVAL; that counts as success. 0 or -1 (errno). */
int tc_file_sync_folder(const char *dir);

#endif
