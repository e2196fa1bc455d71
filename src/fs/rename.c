/*
 * rename.c -- rename(2): a blob is moved by Copy Blob (on the server, no
 * bytes through this machine) and Delete Blob; a directory by moving every
 * blob below it, in parallel. Neither is atomic: a failed copy keeps the
 * source and removes the half-made destination.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

struct mv {
	struct azfs *fs;
	char **src;
	char **dst;
	struct attr *known;    /* each source's attributes from the listing */
	size_t n;
	int interrupted;       /* a wait of one of its blobs was interrupted */
};

/* drop_source: Delete Blob of src after its copy; with the source lease
 * of how, the delete carries it (the lease goes with the blob) */
static int drop_source(struct azfs *fs, const char *src,
		       const struct azfs_copy_how *how)
{
	struct blob_error e;

	if (!how->lease_ticket)
		return azfs_delete_if_exists(fs, src);
	if (blob_delete_leased(&fs->blob, src, how->lease_id, &e) == 0 ||
	    e.kind == BLOB_E_NOT_FOUND) {
		copy_lease_forget(fs->leases, how->lease_ticket);
		return 0;
	}
	copy_lease_release(fs->leases, how->lease_ticket);
	return core_fail("Delete Blob", src, &e);
}

/*
 * move_blob: Copy Blob src -> dst (waiting for its end), then Delete src.
 * known: src's attributes from a lookup, or NULL. Their ETag is the Copy
 * Blob's source condition as it stands, which saves a Get Blob Properties;
 * a stale one fails that condition (412), and the move then asks the
 * server as it does without them. A wait interrupted (*interrupted, may
 * be NULL, shared by the blobs of one move) aborts the copy and keeps
 * the source: -EINTR.
 */
static int move_blob(struct azfs *fs, const char *src, const char *dst,
		     const struct attr *known, int *interrupted)
{
	struct azfs_copy_how how = { .wait = 1, .keep_lease = 1,
				     .interrupted = interrupted };
	struct blob_props p;
	struct blob_error e;
	int rc = -ESTALE;

	if (known && known->etag[0] && !known->copy_pending) {
		how.src_etag = known->etag;
		rc = azfs_server_copy(fs, src, dst, &how);
	}
	if (rc == -ESTALE) {
		memset(&p, 0, sizeof(p));
		if (blob_get_props(&fs->blob, src, &p, &e) < 0)
			return core_fail("Get Blob Properties", src, &e);
		if (p.copy.status == BLOB_COPY_PENDING) {
			blob_props_release(&p);
			return -EBUSY;
		}
		how.src_etag = p.etag;
		rc = azfs_server_copy(fs, src, dst, &how);
		blob_props_release(&p);
	}
	if (rc == -EIO) {
		/* the copy failed or was aborted: its destination holds no
		 * usable data, and the source stays where it is */
		azfs_delete_if_exists(fs, dst);
		return rc;
	}
	/* (interrupted: the destination stays, an aborted copy to see) */
	if (rc < 0)
		return rc;
	return drop_source(fs, src, &how);
}

static int mv_one(void *ctx, size_t i)
{
	struct mv *m = ctx;

	return move_blob(m->fs, m->src[i], m->dst[i], &m->known[i],
			 &m->interrupted);
}

static int mv_add(struct mv *m, size_t *cap, const char *src, const char *dst,
		  const struct blob_props *p)
{
	if (m->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **s = realloc(m->src, nc * sizeof(*s));
		struct attr *k;

		if (!s)
			return -ENOMEM;
		m->src = s;
		s = realloc(m->dst, nc * sizeof(*s));
		if (!s)
			return -ENOMEM;
		m->dst = s;
		k = realloc(m->known, nc * sizeof(*k));
		if (!k)
			return -ENOMEM;
		m->known = k;
		*cap = nc;
	}
	m->src[m->n] = str_ndup(src, strlen(src));
	m->dst[m->n] = str_ndup(dst, strlen(dst));
	core_attr_from_props(p, &m->known[m->n]);
	m->n++;
	return m->src[m->n - 1] && m->dst[m->n - 1] ? 0 : -ENOMEM;
}

static int rename_dir(struct azfs *fs, const char *from, const char *to,
		      const struct attr *fa)
{
	struct mv m = { fs, NULL, NULL, NULL, 0, 0 };
	char *marker = NULL, *prefix = NULL, *dst = NULL;
	size_t cap = 0, plen, i;
	struct blob_error e;
	int rc = 0;

	if (asprintf(&prefix, "%s/", from) < 0)
		return -ENOMEM;
	plen = strlen(prefix);
	do {
		struct blob_list_page pg;

		memset(&pg, 0, sizeof(pg));
		if (blob_list(&fs->blob, prefix, NULL, marker, CORE_LIST_PAGE, &pg, &e) < 0) {
			rc = core_fail("List Blobs", prefix, &e);
			goto out_free;
		}
		free(marker);
		marker = pg.next_marker;
		pg.next_marker = NULL;
		for (i = 0; i < pg.n_items && rc == 0; i++) {
			free(dst);
			dst = NULL;
			if (asprintf(&dst, "%s/%s", to, pg.items[i].name + plen) < 0)
				rc = -ENOMEM;
			else
				rc = mv_add(&m, &cap, pg.items[i].name, dst,
					    &pg.items[i].props);
		}
		blob_list_page_release(&pg);
		if (rc < 0)
			goto out_free;
	} while (marker);
	rc = pool_run(m.n, fs->o.parallel, mv_one, &m);
	/* the marker last, with the ETag its lookup gave */
	if (rc == 0 && fa->explicit_dir) {
		rc = move_blob(fs, from, to, fa, &m.interrupted);
		if (rc == -ENOENT)
			rc = 0; /* gone meanwhile: nothing to move */
	}
out_free:
	for (i = 0; i < m.n; i++) {
		free(m.src[i]);
		free(m.dst[i]);
	}
	free(m.src);
	free(m.dst);
	free(m.known);
	free(dst);
	free(marker);
	free(prefix);
	return rc;
}

/* follow_one: the node of open file from (if any) goes with its blob to
 * path to, at the version the move made there */
static void follow_one(struct azfs *fs, const char *from, const char *to)
{
	struct blob_props p;
	struct blob_error e;
	struct node *n = stage_find(&fs->stage, from);
	char *name;
	int rc;

	if (!n)
		return;
	stage_put(&fs->stage, n);
	name = core_blob_name(&fs->o, to, &rc);
	if (!name)
		return;
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) == 0) {
		stage_rename(&fs->stage, from, to, name, p.etag);
		blob_props_release(&p);
	} else {
		stage_rename(&fs->stage, from, to, name, NULL);
	}
	free(name);
}

/*
 * follow: files open under their old name (or below the old directory)
 * go on under the new one: their handles write to the moved blob, as
 * with a rename on a local disk (log rotation renames the file a daemon
 * writes to).
 */
static void follow(struct azfs *fs, const char *from, const char *to,
		   int dir)
{
	size_t n = 0, i, fl = strlen(from);
	char **open = NULL, *np;

	if (!dir) {
		follow_one(fs, from, to);
		return;
	}
	if (stage_open_under(&fs->stage, from, 0, &open, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (asprintf(&np, "%s%s", to, open[i] + fl) >= 0) {
			follow_one(fs, open[i], np);
			free(np);
		}
		free(open[i]);
	}
	free(open);
}

/*
 * hide: libfuse renames a file removed while open to a hidden name
 * (".fuse_hidden...", hard_remove off) so that its handles go on with
 * it and fstat still works. The blob goes now, as rm asked; the node
 * stays under the hidden name, its content staged, until the last
 * handle closes (and unlink of the hidden name ends it).
 */
static int hide(struct azfs *fs, const char *from, const char *to)
{
	struct node *n = stage_find(&fs->stage, from);
	char *name;
	int rc;

	if (!n)
		return -ENOENT;
	name = core_blob_name(&fs->o, from, &rc);
	if (!name)
		goto out_put;
	rc = stage_keep(&fs->stage, n);
	if (rc < 0)
		log_warn("%s removed while open: its content is not kept (%s)",
			 name, strerror(-rc));
	rc = azfs_delete_blob(fs, name);
	if (rc == -ENOENT)
		rc = 0; /* never uploaded */
	if (rc == 0) {
		struct attr a;

		stage_hide(&fs->stage, n, to);
		memset(&a, 0, sizeof(a));
		meta_put(&fs->meta, from, &a);
	} else {
		meta_drop(&fs->meta, from);
	}
	meta_dir_changed(&fs->meta, from);
	free(name);
out_put:
	stage_put(&fs->stage, n);
	return rc;
}

int azfs_rename(const char *from, const char *to, unsigned int flags)
{
	struct azfs *fs = azfs_get();
	char *src = NULL, *dst = NULL;
	struct attr fa, ta;
	struct node *n;
	int rc, to_exists;

	if (fs->o.read_only)
		return -EROFS;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (core_is_hidden(to))
		return hide(fs, from, to);
	rc = meta_lookup(&fs->meta, from, &fa);
	if (rc < 0)
		return rc;
	to_exists = meta_lookup(&fs->meta, to, &ta) == 0;
	if (to_exists) {
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (ta.kind == ATTR_DIR && fa.kind != ATTR_DIR)
			return -EISDIR;
		if (ta.kind != ATTR_DIR && fa.kind == ATTR_DIR)
			return -ENOTDIR;
	}
	src = core_blob_name(&fs->o, from, &rc);
	if (!src)
		return rc;
	dst = core_blob_name(&fs->o, to, &rc);
	if (!dst)
		goto out_free;
	if (to_exists && ta.kind == ATTR_DIR) {
		int any = 0;

		rc = azfs_dir_has_entries(fs, to, dst, &any);
		if (rc == 0 && any)
			rc = -ENOTEMPTY;
		if (rc < 0)
			goto out_free;
	}
	/* an open file with unsaved data is uploaded first */
	n = stage_find(&fs->stage, from);
	if (n) {
		rc = stage_flush(&fs->stage, n);
		stage_put(&fs->stage, n);
		if (rc < 0)
			goto out_free;
	}
	if (fa.kind == ATTR_DIR)
		rc = rename_dir(fs, src, dst, &fa);
	else
		rc = move_blob(fs, src, dst, &fa, NULL);
	if (rc == 0)
		follow(fs, from, to, fa.kind == ATTR_DIR);
	meta_drop_tree(&fs->meta, from);
	meta_drop_tree(&fs->meta, to);
	meta_dir_changed(&fs->meta, from);
	meta_dir_changed(&fs->meta, to);
out_free:
	free(src);
	free(dst);
	return rc;
}
