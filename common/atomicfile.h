/*
 * atomicfile — replacing a small file whole, so that after a crash or power
 * cut it holds either the old contents or the new ones, never a mix: the
 * bytes go to <path>.tmp, which is synced, renamed over <path>, and the
 * directory synced so the rename itself is durable. Plain blocking POSIX
 * calls on the caller's thread; in iod_common_base (no libuv, no Paho) so a
 * pure core's store may use it.
 */
#ifndef IOD_COMMON_ATOMICFILE_H
#define IOD_COMMON_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes of buf to fd, again after a short write or EINTR.
 * 0, or -errno (-EIO if write() wrote nothing). */
int atomicfile_write_all(int fd, const void *buf, size_t len);

/* fsync the directory that holds path ("." for a bare name): what makes a
 * create or rename in it durable. 0 or -errno. */
int atomicfile_sync_dir_of(const char *path);

/* Replace path with the len bytes of buf, created with mode (before the
 * umask): a leftover <path>.tmp is removed (one that cannot be, such as a
 * directory, is the error), the new one is made with O_EXCL and O_NOFOLLOW,
 * written, fsynced, renamed over path, then the directory is fsynced. 0, or
 * -errno: if the rename did not happen the temp file is gone and path is as
 * it was; if only the directory sync failed, path holds the new bytes but
 * the rename may not survive a power cut. */
int atomicfile_replace(const char *path, const void *buf, size_t len, mode_t mode);

#endif
