/*
 * history.c -- the snapshot and version trees of the control directory:
 * snapshots/PATH/ and versions/PATH/ (ctl.c routes them here).
 *
 * Each tree mirrors the mount: a directory of the mount is a directory
 * there, and so is every file, whose entries are its snapshots (List
 * Blobs include=snapshots) or versions (include=versions), read-only
 * files named by the snapshot time or version id exactly as the service
 * writes it, with the size and Last-Modified of the listing. A path that
 * is gone from the mount but still has versions (a deleted blob keeps
 * its previous versions) is a directory too. An account without
 * versioning lists no version: versions/PATH/ of an existing PATH is then
 * empty.
 *
 * Nothing is cached: every lookup of a snapshot or version lists the
 * history of its blob anew (the kernel keeps the attributes for
 * attr_timeout), so a snapshot taken or deleted by another client shows
 * at once. Reading a snapshot or version is a ranged Get Blob of it
 * (?snapshot=, ?versionid=); copying one is a Copy Blob from its URL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/copy.h"
#include "fs/fs.h"
#include "util/log.h"
#include "util/str.h"

void azfs_hist_entry_release(struct hist_entry *e)
{
	free(e->name);
	free(e->id);
	memset(e, 0, sizeof(*e));
}

static int dent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct dent *)x)->name,
		      ((const struct dent *)y)->name);
}

/*
 * hist_scan: the snapshots or versions of blob name as entries (named by
 * their id, sorted, attributes from the listing): *d, *n. 0 or -errno.
 */
static int hist_scan(struct azfs *fs, enum blob_at_kind kind,
		     const char *name, struct dent **d, size_t *n)
{
	struct dent *v = NULL, *nv;
	size_t k = 0, cap = 0, i;
	char *marker = NULL;
	int rc = 0;

	do {
		struct blob_list_page pg;
		struct blob_error e;

		memset(&pg, 0, sizeof(pg));
		if (blob_list_history(&fs->blob, name, kind, marker, &pg, &e) < 0) {
			rc = core_fail("List Blobs", name, &e);
			break;
		}
		free(marker);
		marker = pg.next_marker;
		pg.next_marker = NULL;
		for (i = 0; rc == 0 && i < pg.n_items; i++) {
			const struct blob_item *it = &pg.items[i];

			if (!blob_history_keep(it, name, kind))
				continue;
			if (k == cap) {
				cap = cap ? cap * 2 : 16;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				v = nv;
			}
			memset(&v[k], 0, sizeof(v[k]));
			v[k].name = strdup(kind == BLOB_AT_VERSION ? it->version_id
					   : it->snapshot);
			if (!v[k].name) {
				rc = -ENOMEM;
				break;
			}
			v[k].a.kind = ATTR_FILE;
			v[k].a.size = it->props.size;
			v[k].a.mtime = it->props.last_modified;
			v[k].a.ctime = it->props.last_modified;
			snprintf(v[k].a.etag, sizeof(v[k].a.etag), "%s", it->props.etag);
			k++;
		}
		blob_list_page_release(&pg);
	} while (rc == 0 && marker);
	free(marker);
	if (rc < 0) {
		azfs_dents_free(v, k);
		return rc;
	}
	if (k)
		qsort(v, k, sizeof(*v), dent_cmp);
	*d = v;
	*n = k;
	return 0;
}

/* path_history: hist_scan of mount path path */
static int path_history(struct azfs *fs, enum blob_at_kind kind,
			const char *path, struct dent **d, size_t *n)
{
	char *name;
	int rc;

	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	rc = hist_scan(fs, kind, name, d, n);
	free(name);
	return rc;
}

/* is_control: path is the control directory itself, which the trees do
 * not mirror */
static int is_control(struct azfs *fs, const char *path)
{
	return fs->o.control && strcmp(path + 1, fs->o.control) == 0;
}

/*
 * find_entry: the snapshot or version base of mount path parent into *e;
 * 0, -ENOENT (no such one) or -errno
 */
static int find_entry(struct azfs *fs, enum blob_at_kind kind,
		      const char *parent, const char *base,
		      struct hist_entry *e)
{
	struct dent *d = NULL, key = { .name = (char *)base }, *hit;
	size_t n = 0;
	int rc;

	rc = path_history(fs, kind, parent, &d, &n);
	if (rc < 0)
		return rc;
	hit = n ? bsearch(&key, d, n, sizeof(*d), dent_cmp) : NULL;
	rc = -ENOENT;
	if (hit) {
		memset(e, 0, sizeof(*e));
		e->kind = kind;
		e->name = core_blob_name(&fs->o, parent, &rc);
		e->id = strdup(base);
		e->size = hit->a.size;
		e->mtime = hit->a.mtime;
		rc = e->name && e->id ? 0 : -ENOMEM;
		if (rc < 0)
			azfs_hist_entry_release(e);
	}
	azfs_dents_free(d, n);
	return rc;
}

int azfs_hist_resolve(struct azfs *fs, enum blob_at_kind kind,
		      const char *rest, enum hist_what *what,
		      struct hist_entry *e)
{
	struct dent *d = NULL;
	struct attr a;
	char parent[4096];
	const char *base;
	size_t n = 0;
	int rc;

	if (strcmp(rest, "/") == 0) {
		*what = HIST_DIR;
		return 0;
	}
	if (is_control(fs, rest))
		return -ENOENT;
	/* a path of the mount: its directory */
	rc = meta_lookup(&fs->meta, rest, &a);
	if (rc == 0) {
		*what = HIST_DIR;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	/* PATH/ID: a snapshot or version of PATH */
	base = strrchr(rest, '/') + 1;
	if (blob_at_id_valid(base) && core_parent(rest, parent, sizeof(parent)) == 0 &&
	    strcmp(parent, "/") != 0) {
		rc = find_entry(fs, kind, parent, base, e);
		if (rc == 0)
			*what = HIST_FILE;
		if (rc != -ENOENT)
			return rc;
	}
	/* a path gone from the mount whose history stays */
	rc = path_history(fs, kind, rest, &d, &n);
	if (rc < 0)
		return rc;
	azfs_dents_free(d, n);
	if (n == 0)
		return -ENOENT;
	*what = HIST_DIR;
	return 0;
}

int azfs_hist_dir(struct azfs *fs, enum blob_at_kind kind, const char *rest,
		  struct dent **d, size_t *n)
{
	enum hist_what what;
	struct hist_entry e;
	struct attr a;
	size_t i;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = azfs_hist_resolve(fs, kind, rest, &what, &e);
	if (rc < 0)
		return rc;
	if (what == HIST_FILE) {
		azfs_hist_entry_release(&e);
		return -ENOTDIR;
	}
	/* a directory of the mount: its entries, each a directory here */
	if (strcmp(rest, "/") == 0 ||
	    (meta_lookup(&fs->meta, rest, &a) == 0 && a.kind == ATTR_DIR)) {
		rc = azfs_dir_read(fs, rest, d, n);
		for (i = 0; rc == 0 && i < *n; i++) {
			memset(&(*d)[i].a, 0, sizeof((*d)[i].a));
			(*d)[i].a.kind = ATTR_DIR;
		}
		return rc;
	}
	return path_history(fs, kind, rest, d, n);
}

int azfs_hist_read(struct azfs *fs, const struct hist_entry *e, char *buf,
		   size_t size, off_t off)
{
	struct blob_at at = { e->kind, e->id };
	struct blob_error err;
	size_t done = 0, got;

	/* a short read is the end of the file to the kernel */
	while (done < size && (uint64_t)off + done < e->size) {
		got = 0;
		if (blob_read_at(&fs->blob, e->name, &at, (uint64_t)off + done,
				 size - done, buf + done, &got, &err) < 0)
			return core_fail("Get Blob", e->name, &err);
		if (got == 0)
			break;
		done += got;
	}
	return (int)done;
}

int azfs_hist_url(struct azfs *fs, const struct hist_entry *e, struct buf *url)
{
	struct blob_at at = { e->kind, e->id };

	return copy_source_url_at(&fs->blob, e->name, &at, url) < 0 ? -ENOMEM : 0;
}

int azfs_hist_source(struct azfs *fs, const char *path, struct buf *url)
{
	enum blob_at_kind kind;
	enum hist_what what;
	struct hist_entry e;
	char *rest = NULL;
	int rc;

	switch (azfs_ctl_kind(fs, path, &rest)) {
	case CTL_SNAPSHOTS:
		kind = BLOB_AT_SNAPSHOT;
		break;
	case CTL_VERSIONS:
		kind = BLOB_AT_VERSION;
		break;
	case CTL_NONE:
		free(rest);
		return 0;
	default:
		free(rest);
		return -ENOENT;
	}
	memset(&e, 0, sizeof(e));
	rc = azfs_hist_resolve(fs, kind, rest, &what, &e);
	free(rest);
	if (rc < 0)
		return rc;
	if (what != HIST_FILE)
		return -EISDIR;
	rc = url ? azfs_hist_url(fs, &e, url) : 0;
	azfs_hist_entry_release(&e);
	return rc < 0 ? rc : 1;
}
