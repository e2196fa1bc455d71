/*
 * attr.c -- blob properties to attributes, and the clocks (core.h).
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "copy/copy.h"
#include "core/core.h"
#include "util/str.h"

struct timespec core_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

double core_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int core_is_internal_meta(const char *name)
{
	return strcasecmp(name, CORE_KEY_MTIME) == 0 ||
	       strcasecmp(name, CORE_KEY_FOLDER) == 0 ||
	       strcasecmp(name, CORE_KEY_SYMLINK) == 0;
}

struct timespec core_mtime_of(const struct blob_props *p)
{
	const char *m = blob_meta_get(p, CORE_KEY_MTIME);
	struct timespec ts;

	if (m && str_rfc3339_parse(m, &ts) == 0)
		return ts;
	return p->last_modified;
}

void core_attr_from_props(const struct blob_props *p, struct attr *a)
{
	const char *v;

	memset(a, 0, sizeof(*a));
	a->kind = ATTR_FILE;
	v = blob_meta_get(p, CORE_KEY_FOLDER);
	if (v && strcasecmp(v, "true") == 0) {
		a->kind = ATTR_DIR;
		a->explicit_dir = 1;
	}
	v = blob_meta_get(p, CORE_KEY_SYMLINK);
	if (a->kind == ATTR_FILE && v && strcasecmp(v, "true") == 0)
		a->kind = ATTR_LINK;
	a->size = a->kind == ATTR_DIR ? 0 : p->size;
	a->mtime = core_mtime_of(p);
	memcpy(a->etag, p->etag, sizeof(a->etag));
	a->copy_broken = p->copy.status == BLOB_COPY_FAILED ||
			 p->copy.status == BLOB_COPY_ABORTED;
	if (p->copy.status == BLOB_COPY_PENDING) {
		long long total = copy_progress_total(p->copy.progress);

		a->copy_pending = 1;
		if (total > 0)
			a->size = (uint64_t)total;
	}
}
