/*
 * webpath — map a request path to a file under the web root, safely:
 * "/" is index.html, only absolute paths of printable characters, no ".."
 * or "." segments, no hidden (dot) segments except none, no backslashes.
 * The caller also checks, after realpath(), that the file is a regular file
 * inside the root (symlinks out of it are refused).
 */
#ifndef IOD_BRIDGE_WEBPATH_H
#define IOD_BRIDGE_WEBPATH_H

#include <stddef.h>

/* root + url_path into out: 0, or -1 when the path is refused or too long. */
int webpath_resolve(const char *root, const char *url_path, char *out, size_t out_size);
/* Content type for a file name by its extension ("application/octet-stream"
 * when unknown). */
const char *webpath_mime(const char *path);

#endif
