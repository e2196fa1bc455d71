/*
 * attr.c -- blob properties to attributes, and the clocks (core.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
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
	static const char *const keys[] = {
		CORE_KEY_MTIME, CORE_KEY_FOLDER, CORE_KEY_SYMLINK, CORE_KEY_MODE,
		CORE_KEY_UID, CORE_KEY_GID, CORE_KEY_RDEV, CORE_KEY_ATIME,
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcasecmp(name, keys[i]) == 0)
			return 1;
	return 0;
}

/* number: metadata key of p as an unsigned number in base; 1 and *out,
 * or 0 when absent or not a number. */
static int number(const struct blob_props *p, const char *key, int base,
		  unsigned long long *out)
{
	const char *v = blob_meta_get(p, key);
	char *end;

	if (!v || !*v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, base);
	return !errno && !*end;
}

/* posix_from_props: mode, owner, rdev and atime stored in p. */
static void posix_from_props(const struct blob_props *p, struct attr *a)
{
	unsigned long long v;
	const char *t;

	if (number(p, CORE_KEY_MODE, 8, &v) && v <= 0177777)
		a->mode = (mode_t)v;
	if (number(p, CORE_KEY_UID, 10, &v) && v < 0xffffffffULL) {
		a->uid = (uid_t)v;
		a->has_uid = 1;
	}
	if (number(p, CORE_KEY_GID, 10, &v) && v < 0xffffffffULL) {
		a->gid = (gid_t)v;
		a->has_gid = 1;
	}
	if (number(p, CORE_KEY_RDEV, 16, &v))
		a->rdev = (dev_t)v;
	t = blob_meta_get(p, CORE_KEY_ATIME);
	if (t)
		str_rfc3339_parse(t, &a->atime);
}

/* kind_of_mode: what a blob without folder or symlink metadata is, by
 * its stored mode: a zero-length blob may be a fifo, socket, device
 * node or (rclone's) directory */
static enum attr_kind kind_of_mode(mode_t mode, uint64_t size)
{
	if (size != 0)
		return ATTR_FILE;
	if (S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode) || S_ISBLK(mode))
		return ATTR_SPECIAL;
	if (S_ISDIR(mode))
		return ATTR_DIR;
	return ATTR_FILE;
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
	posix_from_props(p, a);
	if (a->kind == ATTR_FILE)
		a->kind = kind_of_mode(a->mode, p->size);
	if (a->kind == ATTR_DIR && S_ISDIR(a->mode))
		a->explicit_dir = 1;
	/* a mode whose type disagrees with what the blob is: keep its
	 * permissions only */
	if (a->mode && ((a->kind == ATTR_FILE && !S_ISREG(a->mode)) ||
			(a->kind == ATTR_DIR && !S_ISDIR(a->mode)) ||
			(a->kind == ATTR_LINK && !S_ISLNK(a->mode))))
		a->mode &= 07777;
	a->size = a->kind == ATTR_DIR || a->kind == ATTR_SPECIAL ? 0 : p->size;
	a->mtime = core_mtime_of(p);
	a->ctime = p->last_modified;
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
