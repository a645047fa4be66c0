#include "webpath.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int webpath_resolve(const char *root, const char *url_path, char *out, size_t out_size)
{
	if (!url_path || url_path[0] != '/')
		return -1;
	for (const char *p = url_path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return -1;
	/* Every segment must be a plain name: not empty (//), not ".", "..",
	 * nor any other dot-file (.git, .env, .bin). */
	const char *seg = url_path + 1;
	while (*seg) {
		size_t n = strcspn(seg, "/");
		if (n == 0 && seg[0] == '/')
			return -1;
		if (n && seg[0] == '.')
			return -1;
		seg += n;
		if (*seg == '/')
			seg++;
	}
	const char *rel = url_path;
	if (!strcmp(url_path, "/"))
		rel = "/index.html";
	int n = snprintf(out, out_size, "%s%s", root, rel);
	if (n < 0 || (size_t)n >= out_size)
		return -1;
	return 0;
}

const char *webpath_mime(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".map", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".jpg", "image/jpeg"},
	    {".jpeg", "image/jpeg"},
	    {".ico", "image/x-icon"},
	    {".webp", "image/webp"},
	    {".webmanifest", "application/manifest+json"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".woff2", "font/woff2"},
	};
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}
