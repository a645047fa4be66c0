/*
 * tz — the home's time zone name (see tz.h).
 */
#include "tz.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool iod_tz_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > IOD_TZ_MAX || !isalnum((unsigned char)s[0]) || s[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '_' || c == '+' || c == '-' || c == '/'))
			return false;
		if (c == '/' && s[i + 1] == '/')
			return false;
	}
	return true;
}

/* A candidate: after the last "zoneinfo/" when there is one, without a
 * leading posix/ or right/; copied to out when valid. */
static bool take(const char *s, size_t len, bool need_zoneinfo, char *out)
{
	const char *end = s + len, *z = NULL;

	for (const char *p = s; p + 9 <= end; p++)
		if (memcmp(p, "zoneinfo/", 9) == 0)
			z = p + 9;
	if (z)
		s = z;
	else if (need_zoneinfo || (len > 0 && s[0] == '/'))
		return false;
	if (end - s > 6 && memcmp(s, "posix/", 6) == 0)
		s += 6;
	else if (end - s > 6 && memcmp(s, "right/", 6) == 0)
		s += 6;
	len = (size_t)(end - s);
	if (!iod_tz_name_valid(s, len))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static bool from_env(const char *v, char *out)
{
	if (!v || !*v)
		return false;
	if (*v == ':')
		v++;
	return take(v, strlen(v), false, out);
}

static bool from_localtime(const char *path, char *out)
{
	char target[4096];
	ssize_t n;

	if (!path || (n = readlink(path, target, sizeof(target))) <= 0 ||
	    (size_t)n >= sizeof(target))
		return false;
	return take(target, (size_t)n, true, out);
}

static bool from_timezone(const char *path, char *out)
{
	char line[256];
	FILE *f;
	size_t len;
	const char *s = line;

	if (!path || (f = fopen(path, "r")) == NULL)
		return false;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	len = strlen(line);
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	return take(s, len, false, out);
}

int iod_tz_resolve(const char *tz_env, const char *localtime_path, const char *timezone_path,
		   char *out, size_t size)
{
	if (size < IOD_TZ_SIZE) {
		if (size > 0)
			out[0] = '\0';
		return -1;
	}
	if (from_env(tz_env, out))
		return IOD_TZ_FROM_ENV;
	if (from_localtime(localtime_path, out))
		return IOD_TZ_FROM_LOCALTIME;
	if (from_timezone(timezone_path, out))
		return IOD_TZ_FROM_TIMEZONE;
	strcpy(out, "UTC");
	return IOD_TZ_FROM_DEFAULT;
}
