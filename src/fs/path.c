/*
 * path.c -- FUSE paths to blob names, and blob properties to struct stat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "copy/copy.h"
#include "fs/azfs.h"
#include "util/str.h"

char *azfs_blob_name(const struct azfs *fs, const char *path, int *err)
{
	size_t pl = strlen(fs->o.prefix), l;
	char *name;

	while (*path == '/')
		path++;
	l = strlen(path);
	if (pl + l > BLOB_NAME_MAX) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	if (!str_utf8_valid(path, l)) {
		*err = -EINVAL;
		return NULL;
	}
	name = malloc(pl + l + 1);
	if (!name) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(name, fs->o.prefix, pl);
	memcpy(name + pl, path, l + 1);
	if (l == 0 && pl > 0)
		name[pl - 1] = '\0'; /* the root: the prefix itself */
	return name;
}

struct timespec azfs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

int azfs_is_internal_meta(const char *name)
{
	return strcasecmp(name, "mtime") == 0 ||
	       strcasecmp(name, "hdi_isfolder") == 0 ||
	       strcasecmp(name, "is_symlink") == 0;
}

struct timespec azfs_mtime_of(const struct blob_props *p)
{
	const char *m = blob_meta_get(p, "mtime");
	struct timespec ts;

	if (m && str_rfc3339_parse(m, &ts) == 0)
		return ts;
	return p->last_modified;
}

void azfs_attr_from_props(const struct blob_props *p, struct attr *a)
{
	const char *v;

	memset(a, 0, sizeof(*a));
	a->kind = ATTR_FILE;
	v = blob_meta_get(p, "hdi_isfolder");
	if (v && strcasecmp(v, "true") == 0) {
		a->kind = ATTR_DIR;
		a->explicit_dir = 1;
	}
	v = blob_meta_get(p, "is_symlink");
	if (a->kind == ATTR_FILE && v && strcasecmp(v, "true") == 0)
		a->kind = ATTR_LINK;
	a->size = a->kind == ATTR_DIR ? 0 : p->size;
	a->mtime = azfs_mtime_of(p);
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

void azfs_fill_stat(const struct azfs *fs, const struct attr *a,
		    struct stat *st)
{
	mode_t perm;

	memset(st, 0, sizeof(*st));
	switch (a->kind) {
	case ATTR_DIR:
		st->st_mode = S_IFDIR;
		perm = 0777;
		st->st_nlink = 2;
		break;
	case ATTR_LINK:
		st->st_mode = S_IFLNK;
		perm = 0777;
		st->st_nlink = 1;
		break;
	default:
		st->st_mode = S_IFREG;
		perm = 0666;
		st->st_nlink = 1;
		break;
	}
	st->st_mode |= a->kind == ATTR_LINK ? perm : perm & ~fs->o.umask;
	st->st_uid = fs->o.uid;
	st->st_gid = fs->o.gid;
	st->st_size = (off_t)a->size;
	/* cp treats st_blocks < st_size/512 as sparse and avoids
	 * copy_file_range: report every byte as allocated. */
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_blksize = 4096;
	st->st_mtim = a->mtime;
	st->st_ctim = a->mtime;
	st->st_atim = a->mtime;
}

char *azfs_dir_prefix(const char *name)
{
	char *prefix = NULL;

	if (asprintf(&prefix, "%s%s", name, *name ? "/" : "") < 0)
		return NULL;
	return prefix;
}

char *azfs_child_path(const char *dir, const char *name)
{
	char *child = NULL;

	if (asprintf(&child, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0)
		return NULL;
	return child;
}
