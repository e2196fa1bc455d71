/*
 * lookup.c -- what a path is: an open file, the attribute cache, or the
 * server (List Blobs of the directory it would be, then Get Blob
 * Properties; in a busy directory one List Blobs of the name).
 *
 * Locks: none held across requests; the caches take fs->lock themselves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/azfs.h"
#include "util/str.h"

#define LOOKUP_PEEK 32 /* entries a lookup's List Blobs asks for */
/* names a directory may have for a listing to answer for absent names in
 * a loop creating files (one page; bigger directories are not listed) */
#define SNAP_MAX 2000

/*
 * lookup_peek: what blob name is, from the first LOOKUP_PEEK entries of a
 * List Blobs of prefix name with delimiter '/'. In the service's order a
 * blob "name" comes first of all, and a directory "name/" comes after only
 * the names that continue name with a character below '/' ("name 2",
 * "name-1", "name.txt"); a directory wins over a blob of the same name,
 * as everywhere here. Returns 0 with *a (a file or a directory), -ENOENT
 * with *a cleared when neither can exist, 1 when the page does not tell
 * (too many such names), or -errno.
 */
static int lookup_peek(struct azfs *fs, const char *name, struct attr *a)
{
	struct blob_list_page pg;
	struct blob_error e;
	const struct blob_item *file = NULL;
	char *dir = NULL;
	size_t i;
	int rc = -ENOENT, past = 0;

	memset(a, 0, sizeof(*a));
	if (asprintf(&dir, "%s/", name) < 0)
		return -ENOMEM;
	memset(&pg, 0, sizeof(pg));
	if (blob_list(&fs->blob, name, "/", NULL, LOOKUP_PEEK, &pg, &e) < 0) {
		rc = azfs_fail("List Blobs", name, &e);
		goto out_free;
	}
	/* a directory "name/" wins over a blob "name", as with List name/ */
	for (i = 0; i < pg.n_prefixes; i++) {
		if (strcmp(pg.prefixes[i], dir) == 0) {
			a->kind = ATTR_DIR;
			a->mtime = azfs_now();
			rc = 0;
			goto out_release;
		}
		past |= strcmp(pg.prefixes[i], dir) > 0;
	}
	for (i = 0; i < pg.n_items; i++) {
		if (strcmp(pg.items[i].name, name) == 0)
			file = &pg.items[i];
		past |= strcmp(pg.items[i].name, dir) > 0;
	}
	if (pg.next_marker && !past)
		rc = 1; /* the page stopped short of where "name/" would be */
	else if (file) {
		azfs_attr_from_props(&file->props, a);
		rc = 0;
	}
out_release:
	blob_list_page_release(&pg);
out_free:
	free(dir);
	return rc;
}

/*
 * snapshot: one List Blobs page (at most SNAP_MAX) of path's directory,
 * handed to cache_dir_snapshot: for a second, the names a loop creating
 * files asks for are answered from it; its entries go into the attribute
 * cache like a readdir's. A directory with more names is
 * marked too big; a failed listing leaves the lookups to the server.
 */
static void snapshot(struct azfs *fs, const char *path)
{
	struct blob_list_page pg;
	struct blob_error e;
	const char *slash = strrchr(path, '/');
	char *dir, *name = NULL, *prefix = NULL, **names = NULL;
	size_t plen, i, n = 0;
	double taken = cache_now();
	struct attr a;
	int rc;

	dir = slash == path ? str_ndup("/", 1) : str_ndup(path, (size_t)(slash - path));
	if (!dir || !(name = azfs_blob_name(fs, dir, &rc)) ||
	    !(prefix = azfs_dir_prefix(name)))
		goto out_free;
	plen = strlen(prefix);
	memset(&pg, 0, sizeof(pg));
	if (blob_list(&fs->blob, prefix, "/", NULL, SNAP_MAX, &pg, &e) < 0) {
		azfs_fail("List Blobs", prefix, &e);
		goto out_free;
	}
	if (pg.next_marker) {
		cache_dir_snapshot(fs, dir, NULL, 0, taken);
		goto out_release;
	}
	names = calloc(pg.n_items + pg.n_prefixes + 1, sizeof(*names));
	if (!names)
		goto out_release;
	for (i = 0; i < pg.n_items + pg.n_prefixes; i++) {
		const char *full = i < pg.n_items ? pg.items[i].name : pg.prefixes[i - pg.n_items];
		size_t l;

		if (strncmp(full, prefix, plen) != 0)
			continue;
		l = strlen(full + plen);
		if (l && full[plen + l - 1] == '/')
			l--; /* "sub/": a prefix, or a marker blob */
		if (l == 0)
			continue;
		if (!(names[n] = str_ndup(full + plen, l)))
			break;
		/* like a readdir's: the blobs come first, so a directory
		 * wins over a blob of the same name */
		memset(&a, 0, sizeof(a));
		if (i < pg.n_items && !full[plen + l]) {
			azfs_attr_from_props(&pg.items[i].props, &a);
		} else {
			a.kind = ATTR_DIR;
			a.mtime = azfs_now();
		}
		cache_remember(fs, dir, names[n], &a);
		n++;
	}
	if (i == pg.n_items + pg.n_prefixes) {
		cache_dir_snapshot(fs, dir, names, n, taken);
		names = NULL;
	}
out_release:
	blob_list_page_release(&pg);
out_free:
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	free(prefix);
	free(name);
	free(dir);
}

/*
 * cached: path from the attribute cache: 0 with *a, -ENOENT, or 1 when the
 * cache does not know it. An existing name ends a loop of new ones in its
 * directory, as one found on the server does, also when the cache learnt
 * it from the loop's own listing.
 */
static int cached(struct azfs *fs, const char *path, struct attr *a)
{
	if (!cache_get(fs, path, a))
		return 1;
	if (a->kind == ATTR_NONE)
		return -ENOENT;
	cache_dir_looked_up(fs, path, 0);
	return 0;
}

int azfs_lookup(struct azfs *fs, const char *path, struct attr *a)
{
	struct blob_list_page pg;
	struct blob_props p;
	struct blob_error e;
	uint64_t size;
	char *name, *prefix = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	if (strcmp(path, "/") == 0) {
		a->kind = ATTR_DIR;
		a->mtime = azfs_now();
		return 0;
	}
	if (node_size(fs, path, &size)) {
		if (!cache_get(fs, path, a) || a->kind != ATTR_FILE) {
			a->kind = ATTR_FILE;
			a->mtime = azfs_now();
		}
		a->size = size;
		return 0;
	}
	rc = cached(fs, path, a);
	if (rc <= 0)
		return rc;
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	/* files are being created here one after another: a listing of the
	 * directory at most a second old says which names are still free */
	rc = cache_dir_absent(fs, path);
	if (rc == 2) {
		snapshot(fs, path);
		rc = cached(fs, path, a);
		if (rc <= 0)
			goto out_free;
		rc = cache_dir_absent(fs, path);
	}
	if (rc == 1) {
		rc = -ENOENT;
		goto out_free;
	}
	/* lookups keep coming in this directory (a loop creating or reading
	 * files): one List Blobs answers most of them. Not for a name with
	 * a backslash: URL paths may turn it into '/' (Azurite does, for
	 * Put Blob and Get Blob alike), a listing prefix does not. */
	if (!strchr(name, '\\') && cache_dir_busy(fs, path)) {
		rc = lookup_peek(fs, name, a);
		if (rc != 1) {
			if (rc == 0 || rc == -ENOENT)
				cache_put(fs, path, a);
			goto out_asked;
		}
	}
	/* A directory's first page answers the lookup and is kept for the
	 * readdir that usually follows ("ls -l dir": no HEAD, and no List
	 * twice); a file costs the List and a HEAD. */
	if (asprintf(&prefix, "%s/", name) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	memset(&pg, 0, sizeof(pg));
	if (blob_list(&fs->blob, prefix, "/", NULL, AZFS_LIST_PAGE, &pg, &e) < 0) {
		rc = azfs_fail("List Blobs", prefix, &e);
		goto out_free;
	}
	if (pg.n_items || pg.n_prefixes) {
		memset(a, 0, sizeof(*a));
		a->kind = ATTR_DIR;
		a->mtime = azfs_now();
		cache_put(fs, path, a);
		stash_put(fs, path, &pg);
		rc = 0;
		goto out_asked;
	}
	blob_list_page_release(&pg);
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) == 0) {
		azfs_attr_from_props(&p, a);
		blob_props_release(&p);
		cache_put(fs, path, a);
		rc = 0;
		goto out_asked;
	}
	if (e.kind != BLOB_E_NOT_FOUND) {
		rc = azfs_fail("Get Blob Properties", name, &e);
		goto out_free;
	}
	memset(a, 0, sizeof(*a));
	cache_put(fs, path, a);
	rc = -ENOENT;
out_asked:
	if (rc == 0 || rc == -ENOENT)
		cache_dir_looked_up(fs, path, rc == -ENOENT);
out_free:
	free(prefix);
	free(name);
	return rc;
}

/* azfs_has_children: *out = 1 if anything but the "name/" marker is stored
 * under name + "/". 0 or -errno. */
int azfs_has_children(struct azfs *fs, const char *name, int *out)
{
	struct blob_list_page pg;
	struct blob_error e;
	char *prefix = NULL;
	size_t i;
	int rc;

	if (!(prefix = azfs_dir_prefix(name)))
		return -ENOMEM;
	memset(&pg, 0, sizeof(pg));
	rc = blob_list(&fs->blob, prefix, "/", NULL, 3, &pg, &e);
	if (rc < 0) {
		rc = azfs_fail("List Blobs", prefix, &e);
		goto out_free;
	}
	*out = pg.n_prefixes > 0;
	for (i = 0; i < pg.n_items; i++)
		if (strcmp(pg.items[i].name, prefix) != 0)
			*out = 1;
	blob_list_page_release(&pg);
out_free:
	free(prefix);
	return rc;
}

int azfs_delete_if_exists(struct azfs *fs, const char *name)
{
	struct blob_error e;

	if (blob_delete(&fs->blob, name, &e) == 0 || e.kind == BLOB_E_NOT_FOUND)
		return 0;
	return azfs_fail("Delete Blob", name, &e);
}
