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
#include "util/pool.h"
#include "util/str.h"


/* a lookup step that does not know the answer: the next one asks */
enum { LOOKUP_UNKNOWN = 1 };

/* dir_attr: a directory that has names below it; its attributes are
 * those of its marker blob (props, NULL when none) when it has one */
static void dir_attr(const struct meta *m, const struct blob_props *props,
		     struct attr *a)
{
	if (props) {
		core_attr_from_props(props, a);
		if (a->kind == ATTR_DIR)
			return;
	}
	memset(a, 0, sizeof(*a));
	a->kind = ATTR_DIR;
	a->mtime = m->o->mounted; /* the same at every look (tar checks) */
}

/* saw_child: meta_saw of entry name of directory dir */
static void saw_child(struct meta *m, const char *dir, const char *name,
		      const struct blob_props *p)
{
	char *path;

	if (p->copy.status == BLOB_COPY_NONE || !(path = core_child_path(dir, name)))
		return;
	meta_saw(m, path, p);
	free(path);
}

/* marker_dir: whether pg holds a blob named full[0..len) that is a
 * directory's marker (its attributes win over the bare prefix's) */
static int marker_dir(const struct blob_list_page *pg, const char *full,
		      size_t len)
{
	size_t lo = 0, hi = pg->n_items;
	struct attr a;

	/* List Blobs returns names in order */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *n = pg->items[mid].name;
		int c = strncmp(n, full, len);

		if (c == 0 && n[len] == '\0') {
			core_attr_from_props(&pg->items[mid].props, &a);
			return a.kind == ATTR_DIR;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * snapshot: one List Blobs page of path's directory: its entries go into
 * the attribute cache like a readdir's, and its names to
 * meta_dir_snapshot, which answers for absent ones for a second; the
 * page is kept for a readdir. A directory with more names is marked too
 * big; a failed listing leaves the lookups to the server.
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
	int rc, current = 0;

	dir = slash == path ? str_ndup("/", 1) : str_ndup(path, (size_t)(slash - path));
	if (!dir || !(name = core_blob_name(m->o, dir, &rc)) ||
	    !(prefix = core_dir_prefix(name)))
		goto out_free;
	plen = strlen(prefix);
	memset(&pg, 0, sizeof(pg));
	if (blob_list(m->blob, prefix, "/", NULL, CORE_LIST_PAGE, &pg, &e) < 0) {
		core_fail("List Blobs", prefix, &e);
		goto out_free;
	}
	if (pg.next_marker) {
		current = meta_dir_snapshot(m, dir, NULL, 0, taken);
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
			saw_child(m, dir, names[n], &pg.items[i].props);
		} else if (marker_dir(&pg, full, plen + l)) {
			n++;
			continue;
		} else {
			a.kind = ATTR_DIR;
			a.mtime = m->o->mounted;
		}
		meta_remember(m, dir, names[n], &a, taken);
		n++;
	}
	if (i == pg.n_items + pg.n_prefixes) {
		current = meta_dir_snapshot(m, dir, names, n, taken);
		names = NULL;
	}
out_release:
	/* kept for a readdir of dir that follows (ls after stat) */
	if (current)
		meta_stash_put(m, dir, &pg, taken);
	else
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
 * LOOKUP_UNKNOWN when the cache does not know it.
 */
static int cached(struct meta *m, const char *path, struct attr *a)
{
	if (!meta_get(m, path, a))
		return LOOKUP_UNKNOWN;
	return a->kind == ATTR_NONE ? -ENOENT : 0;
}

/* the two requests of a lookup, made at once (ask_server) */
struct ask {
	struct meta *m;
	const char *name;
	char *prefix;
	struct blob_list_page pg;
	struct blob_props p;
	struct blob_error le, he;
	int list_rc, head_rc;
};

static int ask_one(void *ctx, size_t i)
{
	struct ask *q = ctx;

	if (i == 0)
		q->list_rc = blob_list(q->m->blob, q->prefix, "/", NULL,
				       CORE_LIST_PAGE, &q->pg, &q->le);
	else
		q->head_rc = blob_get_props(q->m->blob, q->name, &q->p, &q->he);
	return 0;
}

/*
 * ask_server: what blob name (path) is, from a List Blobs of "name/" and
 * a Get Blob Properties of "name" sent at once: a directory when the
 * listing shows names below it (its first page kept for the readdir),
 * else the blob. 0 with *a, -ENOENT with *a cleared, or -errno.
 */
static int ask_server(struct meta *m, const char *path, const char *name,
		      struct attr *a)
{
	struct ask q;
	double taken;
	int rc;

	memset(&q, 0, sizeof(q));
	q.m = m;
	q.name = name;
	if (asprintf(&q.prefix, "%s/", name) < 0)
		return -ENOMEM;
	taken = core_mono();
	pool_run(2, 2, ask_one, &q);
	if (q.list_rc < 0) {
		rc = core_fail("List Blobs", q.prefix, &q.le);
	} else if (q.pg.n_items || q.pg.n_prefixes) {
		dir_attr(m, q.head_rc == 0 ? &q.p : NULL, a);
		meta_stash_put(m, path, &q.pg, taken);
		rc = 0;
	} else if (q.head_rc == 0) {
		core_attr_from_props(&q.p, a);
		meta_saw(m, path, &q.p);
		rc = 0;
	} else if (q.he.kind == BLOB_E_NOT_FOUND) {
		memset(a, 0, sizeof(*a));
		rc = -ENOENT;
	} else {
		rc = core_fail("Get Blob Properties", name, &q.he);
	}
	if (q.head_rc == 0)
		blob_props_release(&q.p);
	blob_list_page_release(&q.pg);
	free(q.prefix);
	return rc;
}

int meta_lookup(struct meta *m, const char *path, struct attr *a)
{
	enum meta_absence answer;
	char *name;
	int rc;

	memset(a, 0, sizeof(*a));
	if (strcmp(path, "/") == 0) {
		a->kind = ATTR_DIR;
		a->mtime = m->o->mounted;
		return 0;
	}
	if (m->staged && m->staged(m->staged_arg, path, a))
		return 0;
	rc = cached(m, path, a);
	if (rc != LOOKUP_UNKNOWN)
		return rc;
	name = core_blob_name(m->o, path, &rc);
	if (!name)
		return rc;
	/* the directory's listing answers: one List Blobs for all its
	 * names, and for a second which are free */
	answer = meta_dir_answer(m, path);
	if (answer == META_LIST_FIRST) {
		snapshot(m, path);
		rc = cached(m, path, a);
		if (rc != LOOKUP_UNKNOWN)
			goto out_free;
		answer = meta_dir_answer(m, path);
	}
	if (answer == META_ABSENT) {
		rc = -ENOENT;
		goto out_free;
	}
	/* a List Blobs of "name/" and a HEAD of "name", at once */
	rc = ask_server(m, path, name, a);
	if (rc == 0 || rc == -ENOENT)
		meta_put(m, path, a);
	if (rc == 0)
		meta_dir_found(m, path);
out_free:
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

/* type_bits: the file type of a as st_mode bits */
static mode_t type_bits(const struct attr *a)
{
	switch (a->kind) {
	case ATTR_DIR:
		return S_IFDIR;
	case ATTR_LINK:
		return S_IFLNK;
	case ATTR_SPECIAL:
		return a->mode & S_IFMT;
	default:
		return S_IFREG;
	}
}

void meta_fill_stat(const struct core_opts *o, const struct attr *a,
		    struct stat *st)
{
	mode_t perm;

	memset(st, 0, sizeof(*st));
	st->st_mode = type_bits(a);
	st->st_nlink = a->kind == ATTR_DIR ? 2 : 1;
	/* the stored mode, unless umask= was given; else the defaults */
	if (a->kind == ATTR_LINK)
		perm = 0777;
	else if (a->mode && !o->umask_given)
		perm = a->mode & 07777;
	else
		perm = (a->kind == ATTR_DIR ? 0777 : 0666) & ~o->umask;
	st->st_mode |= perm;
	st->st_uid = a->has_uid && !o->uid_given ? a->uid : o->uid;
	st->st_gid = a->has_gid && !o->gid_given ? a->gid : o->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	/* cp treats st_blocks < st_size/512 as sparse and avoids
	 * copy_file_range: report every byte as allocated. */
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_blksize = 4096;
	st->st_mtim = a->mtime;
	st->st_atim = a->atime.tv_sec || a->atime.tv_nsec ? a->atime : a->mtime;
	st->st_ctim = a->ctime.tv_sec || a->ctime.tv_nsec ? a->ctime : a->mtime;
}
