/*
 * lookup.c -- what a path is: an open file, the attribute cache, or the
 * server (List Blobs of the directory it would be, then Get Blob
 * Properties; in a busy directory one List Blobs of the name); and
 * attributes as struct stat.
 *
 * Locks: none held across requests; the cache takes meta.lock itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/str.h"

#define LOOKUP_PEEK 32 /* entries a lookup's List Blobs asks for */
/* names a directory may have for a listing to answer for absent names in
 * a loop creating files (one page; bigger directories are not listed) */
#define SNAP_MAX 2000

/* a lookup step that does not know the answer: the next one asks */
enum { LOOKUP_UNKNOWN = 1 };

/*
 * lookup_peek: what blob name is, from the first LOOKUP_PEEK entries of a
 * List Blobs of prefix name with delimiter '/'. In the service's order a
 * blob "name" comes first of all, and a directory "name/" comes after only
 * the names that continue name with a character below '/' ("name 2",
 * "name-1", "name.txt"); a directory wins over a blob of the same name,
 * as everywhere here. Returns 0 with *a (a file or a directory), -ENOENT
 * with *a cleared when neither can exist, LOOKUP_UNKNOWN when the page
 * does not tell (too many such names), or -errno.
 */
static int lookup_peek(struct meta *m, const char *name, struct attr *a)
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
	if (blob_list(m->blob, name, "/", NULL, LOOKUP_PEEK, &pg, &e) < 0) {
		rc = core_fail("List Blobs", name, &e);
		goto out_free;
	}
	/* a directory "name/" wins over a blob "name", as with List name/ */
	for (i = 0; i < pg.n_prefixes; i++) {
		if (strcmp(pg.prefixes[i], dir) == 0) {
			a->kind = ATTR_DIR;
			a->mtime = core_now();
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
		rc = LOOKUP_UNKNOWN; /* the page stopped short of "name/" */
	else if (file) {
		core_attr_from_props(&file->props, a);
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
 * handed to meta_dir_snapshot: for a second, the names a loop creating
 * files asks for are answered from it; its entries go into the attribute
 * cache like a readdir's. A directory with more names is
 * marked too big; a failed listing leaves the lookups to the server.
 */
static void snapshot(struct meta *m, const char *path)
{
	struct blob_list_page pg;
	struct blob_error e;
	const char *slash = strrchr(path, '/');
	char *dir, *name = NULL, *prefix = NULL, **names = NULL;
	size_t plen, i, n = 0;
	double taken = core_mono();
	struct attr a;
	int rc;

	dir = slash == path ? str_ndup("/", 1) : str_ndup(path, (size_t)(slash - path));
	if (!dir || !(name = core_blob_name(m->o, dir, &rc)) ||
	    !(prefix = core_dir_prefix(name)))
		goto out_free;
	plen = strlen(prefix);
	memset(&pg, 0, sizeof(pg));
	if (blob_list(m->blob, prefix, "/", NULL, SNAP_MAX, &pg, &e) < 0) {
		core_fail("List Blobs", prefix, &e);
		goto out_free;
	}
	if (pg.next_marker) {
		meta_dir_snapshot(m, dir, NULL, 0, taken);
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
			core_attr_from_props(&pg.items[i].props, &a);
		} else {
			a.kind = ATTR_DIR;
			a.mtime = core_now();
		}
		meta_remember(m, dir, names[n], &a);
		n++;
	}
	if (i == pg.n_items + pg.n_prefixes) {
		meta_dir_snapshot(m, dir, names, n, taken);
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
 * cached: path from the attribute cache: 0 with *a, -ENOENT, or
 * LOOKUP_UNKNOWN when the cache does not know it. An existing name ends a loop of new ones in its
 * directory, as one found on the server does, also when the cache learnt
 * it from the loop's own listing.
 */
static int cached(struct meta *m, const char *path, struct attr *a)
{
	if (!meta_get(m, path, a))
		return LOOKUP_UNKNOWN;
	if (a->kind == ATTR_NONE)
		return -ENOENT;
	meta_dir_looked_up(m, path, 0);
	return 0;
}

int meta_lookup(struct meta *m, const char *path, struct attr *a)
{
	enum meta_absence absence;
	struct blob_list_page pg;
	struct blob_props p;
	struct blob_error e;
	uint64_t size;
	char *name, *prefix = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	if (strcmp(path, "/") == 0) {
		a->kind = ATTR_DIR;
		a->mtime = core_now();
		return 0;
	}
	if (m->staged_size && m->staged_size(m->staged_arg, path, &size)) {
		if (!meta_get(m, path, a) || a->kind != ATTR_FILE) {
			a->kind = ATTR_FILE;
			a->mtime = core_now();
		}
		a->size = size;
		return 0;
	}
	rc = cached(m, path, a);
	if (rc != LOOKUP_UNKNOWN)
		return rc;
	name = core_blob_name(m->o, path, &rc);
	if (!name)
		return rc;
	/* files are being created here one after another: a listing of the
	 * directory at most a second old says which names are still free */
	absence = meta_dir_absent(m, path);
	if (absence == META_LIST_FIRST) {
		snapshot(m, path);
		rc = cached(m, path, a);
		if (rc != LOOKUP_UNKNOWN)
			goto out_free;
		absence = meta_dir_absent(m, path);
	}
	if (absence == META_ABSENT) {
		rc = -ENOENT;
		goto out_free;
	}
	/* lookups keep coming in this directory (a loop creating or reading
	 * files): one List Blobs answers most of them. Not for a name with
	 * a backslash: URL paths may turn it into '/' (Azurite does, for
	 * Put Blob and Get Blob alike), a listing prefix does not. */
	if (!strchr(name, '\\') && meta_dir_busy(m, path)) {
		rc = lookup_peek(m, name, a);
		if (rc != LOOKUP_UNKNOWN) {
			if (rc == 0 || rc == -ENOENT)
				meta_put(m, path, a);
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
	if (blob_list(m->blob, prefix, "/", NULL, CORE_LIST_PAGE, &pg, &e) < 0) {
		rc = core_fail("List Blobs", prefix, &e);
		goto out_free;
	}
	if (pg.n_items || pg.n_prefixes) {
		memset(a, 0, sizeof(*a));
		a->kind = ATTR_DIR;
		a->mtime = core_now();
		meta_put(m, path, a);
		meta_stash_put(m, path, &pg);
		rc = 0;
		goto out_asked;
	}
	blob_list_page_release(&pg);
	memset(&p, 0, sizeof(p));
	if (blob_get_props(m->blob, name, &p, &e) == 0) {
		core_attr_from_props(&p, a);
		blob_props_release(&p);
		meta_put(m, path, a);
		rc = 0;
		goto out_asked;
	}
	if (e.kind != BLOB_E_NOT_FOUND) {
		rc = core_fail("Get Blob Properties", name, &e);
		goto out_free;
	}
	memset(a, 0, sizeof(*a));
	meta_put(m, path, a);
	rc = -ENOENT;
out_asked:
	if (rc == 0 || rc == -ENOENT)
		meta_dir_looked_up(m, path, rc == -ENOENT);
out_free:
	free(prefix);
	free(name);
	return rc;
}

int meta_has_children(struct meta *m, const char *name, int *out)
{
	struct blob_list_page pg;
	struct blob_error e;
	char *prefix = NULL;
	size_t i;
	int rc;

	if (!(prefix = core_dir_prefix(name)))
		return -ENOMEM;
	memset(&pg, 0, sizeof(pg));
	rc = blob_list(m->blob, prefix, "/", NULL, 3, &pg, &e);
	if (rc < 0) {
		rc = core_fail("List Blobs", prefix, &e);
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

void meta_fill_stat(const struct core_opts *o, const struct attr *a,
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
	st->st_mode |= a->kind == ATTR_LINK ? perm : perm & ~o->umask;
	st->st_uid = o->uid;
	st->st_gid = o->gid;
	st->st_size = (off_t)a->size;
	/* cp treats st_blocks < st_size/512 as sparse and avoids
	 * copy_file_range: report every byte as allocated. */
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_blksize = 4096;
	st->st_mtim = a->mtime;
	st->st_ctim = a->mtime;
	st->st_atim = a->mtime;
}
