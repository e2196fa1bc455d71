/*
 * dir.c -- directory listings: the entries of every List Blobs page of a
 * directory (delimiter '/'), sorted, into the attribute cache, and handed
 * to the kernel with their attributes.
 *
 * An open directory holds the listing it read at offset 0 and serves it by
 * offset (rewinddir reads anew). With offsets, libfuse's high-level API
 * gives the kernel each entry's node and attributes in its READDIRPLUS
 * replies, so "ls -l" needs no LOOKUP per name; filled without offsets
 * (libfuse 3.14) it sends names alone and the kernel looks each up. The
 * listing is the handle's own: libfuse serializes the readdirs of one
 * handle, and nothing else touches it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "util/str.h"

static int dent_cmp(const void *x, const void *y)
{
	const struct dent *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	/* a marker blob and a prefix of the same name: keep the blob's attrs */
	return c ? c : (int)(b->a.explicit_dir) - (int)(a->a.explicit_dir);
}

static int dent_cmp_name(const void *x, const void *y)
{
	return strcmp(((const struct dent *)x)->name, ((const struct dent *)y)->name);
}

static void dents_free(struct dent *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(d[i].name);
	free(d);
}

static int dents_add(struct dent **d, size_t *n, size_t *cap, const char *name,
		     size_t len, const struct attr *a)
{
	if (len == 0 || len > 255 || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct dent *nd = realloc(*d, nc * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		*d = nd;
		*cap = nc;
	}
	(*d)[*n].name = str_ndup(name, len);
	if (!(*d)[*n].name)
		return -ENOMEM;
	(*d)[*n].a = *a;
	(*d)[*n].stale = 0;
	(*n)++;
	return 0;
}

/*
 * dir_scan: the entries of directory path from every List Blobs page (the
 * first may come from the stash). *d (sorted by name, the caller frees),
 * *n and *taken (when the first page was asked for) are set on success.
 * 0 or -errno.
 */
static int dir_scan(struct azfs *fs, const char *path, struct dent **d,
		    size_t *n, double *taken)
{
	size_t cap = 0, i, plen;
	char *name, *prefix = NULL, *marker = NULL;
	int rc;

	*d = NULL;
	*n = 0;
	*taken = core_mono();
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	if (!(prefix = core_dir_prefix(name))) {
		rc = -ENOMEM;
		goto out_free;
	}
	plen = strlen(prefix);
	do {
		struct blob_list_page pg;
		struct blob_error e;
		struct attr a;

		memset(&pg, 0, sizeof(pg));
		if ((marker || !meta_stash_take(&fs->meta, path, &pg, taken)) &&
		    blob_list(&fs->blob, prefix, "/", marker, CORE_LIST_PAGE, &pg, &e) < 0) {
			rc = core_fail("List Blobs", prefix, &e);
			goto out_free;
		}
		free(marker);
		marker = pg.next_marker;
		pg.next_marker = NULL;
		for (i = 0; i < pg.n_prefixes; i++) {
			const char *rel = pg.prefixes[i] + plen;
			size_t l = strlen(rel);

			if (strncmp(pg.prefixes[i], prefix, plen) != 0)
				continue;
			memset(&a, 0, sizeof(a));
			a.kind = ATTR_DIR;
			a.mtime = fs->o.mounted;
			if (l && rel[l - 1] == '/')
				l--;
			if (dents_add(d, n, &cap, rel, l, &a) < 0)
				goto out_nomem;
		}
		for (i = 0; i < pg.n_items; i++) {
			const char *rel = pg.items[i].name + plen;

			if (strncmp(pg.items[i].name, prefix, plen) != 0 || !*rel)
				continue;
			core_attr_from_props(&pg.items[i].props, &a);
			if (pg.items[i].props.copy.status != BLOB_COPY_NONE) {
				char *cp = core_child_path(path, rel);

				if (cp)
					meta_saw(&fs->meta, cp, &pg.items[i].props);
				free(cp);
			}
			if (dents_add(d, n, &cap, rel, strlen(rel), &a) < 0)
				goto out_nomem;
		}
		blob_list_page_release(&pg);
	} while (marker);
	if (*n)
		qsort(*d, *n, sizeof(**d), dent_cmp);
	rc = 0;
	goto out_free;
out_nomem:
	rc = -ENOMEM;
out_free:
	if (rc < 0) {
		dents_free(*d, *n);
		*d = NULL;
		*n = 0;
	}
	free(marker);
	free(prefix);
	free(name);
	return rc;
}

/*
 * dir_remember: the entries of dir (sorted) go into the attribute cache;
 * what an open file has staged wins over the listing. A name missing from
 * the listing is not remembered as absent: another client may add it at
 * any time.
 */
static int dir_remember(struct azfs *fs, const char *dir, struct dent *d,
			size_t n, double taken)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int rc = meta_remember(&fs->meta, dir, d[i].name, &d[i].a, taken);

		if (rc < 0)
			return -ENOMEM;
		d[i].stale = rc == 1;
	}
	return 0;
}

/*
 * dents_uniq: drops the second of two equal names (d is sorted; the first,
 * a marker blob before a prefix of its name, counts).
 */
static void dents_uniq(struct dent *d, size_t *n)
{
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		if (k > 0 && strcmp(d[i].name, d[k - 1].name) == 0) {
			free(d[i].name);
			continue;
		}
		d[k++] = d[i];
	}
	*n = k;
}

/* an open directory: its listing; offsets 1 and 2 come after "." and
 * "..", k + 3 after entry k */
struct dirh {
	struct dent *d;
	size_t n;
	int listed;
};

static struct dirh *dh_of(struct fuse_file_info *fi)
{
	return (struct dirh *)(uintptr_t)fi->fh;
}

int azfs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct dirh *dh = calloc(1, sizeof(*dh));

	(void)path;
	if (!dh)
		return -ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)dh;
	return 0;
}

int azfs_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct dirh *dh = dh_of(fi);

	(void)path;
	if (dh) {
		dents_free(dh->d, dh->n);
		free(dh);
	}
	return 0;
}

/*
 * add_unsaved: files created here in directory path that are still open
 * and not on the server yet (a create makes its blob at once, but not
 * for a name this mount had staged already) join the listing: this
 * mount's own view never misses them.
 */
static int add_unsaved(struct azfs *fs, const char *path, struct dent **d,
		       size_t *n)
{
	const char *dir = strcmp(path, "/") == 0 ? "" : path;
	size_t k = 0, i, cap = *n, dl = strlen(dir);
	char **open = NULL;
	struct attr a;
	int rc;

	rc = stage_open_under(&fs->stage, dir, 1, &open, &k);
	for (i = 0; i < k; i++) {
		const char *base = open[i] + dl + 1;
		struct dent key = { .name = (char *)base };

		if (rc == 0 && !strchr(base, '/') &&
		    !bsearch(&key, *d, *n, sizeof(**d), dent_cmp_name) &&
		    stage_attr(&fs->stage, open[i], &a))
			rc = dents_add(d, n, &cap, base, strlen(base), &a);
		free(open[i]);
	}
	free(open);
	if (rc == 0 && k)
		qsort(*d, *n, sizeof(**d), dent_cmp);
	return rc;
}

int azfs_dir_read(struct azfs *fs, const char *path, struct dent **d,
		  size_t *n)
{
	double taken;
	int rc = dir_scan(fs, path, d, n, &taken);

	if (rc < 0)
		return rc;
	dents_uniq(*d, n);
	rc = add_unsaved(fs, path, d, n);
	if (rc < 0) {
		dents_free(*d, *n);
		*d = NULL;
		*n = 0;
		return rc;
	}
	rc = dir_remember(fs, path, *d, *n, taken);
	if (rc < 0) {
		dents_free(*d, *n);
		*d = NULL;
		*n = 0;
	}
	return rc;
}

void azfs_dents_free(struct dent *d, size_t n)
{
	dents_free(d, n);
}

/* dir_list: a fresh listing of path into dh (rewinddir reads anew) */
static int dir_list(struct azfs *fs, const char *path, struct dirh *dh)
{
	struct dent *d = NULL;
	size_t n = 0;
	int rc;

	rc = azfs_dir_read(fs, path, &d, &n);
	if (rc < 0)
		return rc;
	ra_listed(&fs->ra, path, d, n);
	dents_free(dh->d, dh->n);
	dh->d = d;
	dh->n = n;
	dh->listed = 1;
	return 0;
}

int azfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		 off_t off, struct fuse_file_info *fi,
		 enum fuse_readdir_flags flags)
{
	struct azfs *fs = azfs_get();
	struct dirh *dh = dh_of(fi);
	struct stat st;
	size_t i;
	int rc;

	(void)flags;
	if (!dh || off < 0)
		return -EBADF;
	if (off == 0 || !dh->listed) {
		rc = dir_list(fs, path, dh);
		if (rc < 0)
			return rc;
	}
	if (off == 0 && filler(buf, ".", NULL, 1, 0))
		return 0;
	if (off <= 1 && filler(buf, "..", NULL, 2, 0))
		return 0;
	for (i = off > 2 ? (size_t)off - 2 : 0; i < dh->n; i++) {
		/* the control directory is reached by name only: find, cp -r
		 * and rsync of the root never walk into it */
		if (fs->o.control && path[0] == '/' && !path[1] &&
		    strcmp(dh->d[i].name, fs->o.control) == 0)
			continue;
		meta_fill_stat(&fs->o, &dh->d[i].a, &st);
		/* stale attributes stay out of the kernel: a stat looks up */
		if (filler(buf, dh->d[i].name, &st, (off_t)i + 3,
			   dh->d[i].stale ? 0 : FUSE_FILL_DIR_PLUS))
			break;
	}
	return 0;
}

