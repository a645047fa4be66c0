/*
 * tz — the home's time zone as an IANA name ("Europe/Paris"), for info's "tz"
 * (a dashboard elsewhere shows this home's times in it).
 *
 * iod_tz_resolve() takes the first of these that gives a valid name:
 *   1. tz_env, the TZ environment value, when set and not empty: a leading
 *      ':' is stripped; a path with "zoneinfo/" in it gives what follows the
 *      last "zoneinfo/"; any other path (a '/' first) is not a name.
 *   2. the target of the symlink localtime_path (/etc/localtime), after the
 *      last "zoneinfo/" (a copied file, not a link, gives nothing);
 *   3. the first line of timezone_path (/etc/timezone), blanks around it
 *      stripped;
 *   4. "UTC".
 * A leading "posix/" or "right/" (zoneinfo's variants of the same zones) is
 * dropped. Valid: 1-64 of [A-Za-z0-9_+-/], a letter or digit first, no empty
 * component ("a//b", a trailing '/'). So a POSIX rule that is a plain word
 * (EST5EDT, UTC0) passes as it is, and one with ',', '.', ':' or '<'
 * ("CET-1CEST,M3.5.0,M10.5.0/3") is not a name and falls through: the
 * dashboard needs a zone, not a rule. Any path argument may be NULL (skipped).
 *
 * out gets the name, NUL-terminated; size must be at least IOD_TZ_SIZE.
 * Returns the source used (enum iod_tz_source), or -1 when size is too small
 * (out then "" if it has room for that).
 */
#ifndef IOD_TZ_H
#define IOD_TZ_H

#include <stdbool.h>
#include <stddef.h>

#define IOD_TZ_MAX  64
#define IOD_TZ_SIZE (IOD_TZ_MAX + 1)

enum iod_tz_source {
	IOD_TZ_FROM_ENV,
	IOD_TZ_FROM_LOCALTIME,
	IOD_TZ_FROM_TIMEZONE,
	IOD_TZ_FROM_DEFAULT,
};

int iod_tz_resolve(const char *tz_env, const char *localtime_path, const char *timezone_path,
		   char *out, size_t size);

/* Is s[0..len) a name as above (after the stripping)? */
bool iod_tz_name_valid(const char *s, size_t len);

#endif
