/*
 * attrs.c -- what a file is besides its bytes: mode, owner, times. They
 * live in blob metadata under rclone's --metadata keys (core.h), so the
 * FUSE operations chmod, chown and utimens are metadata changes: in
 * memory for an open file whose data is not uploaded yet (it takes them
 * along), else one Set Blob Metadata over the version read (If-Match). A
 * directory that exists only because names lie below it gets a marker
 * blob to carry its mode and owner. New entries get the caller's uid and
 * gid and the mode it asked for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "util/log.h"
#include "util/str.h"

/* changes asked of one path: the POSIX keys and times to set */
struct change {
	int mode_set, uid_set, gid_set, mtime_set, atime_set;
	mode_t mode;           /* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	struct timespec mtime, atime;
};

void azfs_creator(mode_t mode, dev_t rdev, struct attr *a)
{
	struct fuse_context *ctx = fuse_get_context();

	memset(a, 0, sizeof(*a));
	a->kind = S_ISDIR(mode) ? ATTR_DIR : S_ISLNK(mode) ? ATTR_LINK
		: S_ISREG(mode) ? ATTR_FILE : ATTR_SPECIAL;
	a->explicit_dir = a->kind == ATTR_DIR;
	a->mode = mode;
	a->rdev = rdev;
	a->uid = ctx ? ctx->uid : getuid();
	a->gid = ctx ? ctx->gid : getgid();
	a->has_uid = 1;
	a->has_gid = 1;
	a->mtime = core_now();
	a->ctime = a->mtime;
}

int azfs_entry_meta(const struct attr *a, const char *key,
		    struct blob_meta **m, size_t *n)
{
	char tbuf[48];
	int rc;

	*m = NULL;
	*n = 0;
	str_rfc3339_format(&a->mtime, tbuf, sizeof(tbuf));
	rc = core_meta_set(m, n, CORE_KEY_MTIME, tbuf);
	if (rc == 0 && key)
		rc = core_meta_set(m, n, key, "true");
	if (rc == 0)
		rc = core_meta_posix(m, n, a);
	if (rc < 0) {
		core_meta_free(*m, *n);
		*m = NULL;
		*n = 0;
	}
	return rc;
}

/*
 * own_entry: a Put Blob with If-None-Match: * answered "already exists":
 * whether the blob there is the one this put made, when an earlier try
 * reached the service but its answer was lost and the client sent it
 * again. The mtime it carries (nanoseconds) tells. Fills etag (may be
 * NULL) when so.
 */
static int own_entry(struct azfs *fs, const char *name, const struct blob_meta *m,
		     size_t n, size_t len, char *etag)
{
	/* the metadata sent, borrowed as properties to look it up */
	const struct blob_props sent = { .meta = (struct blob_meta *)m, .n_meta = n };
	const char *ours = blob_meta_get(&sent, CORE_KEY_MTIME), *theirs;
	struct blob_props p;
	struct blob_error e;
	int own;

	memset(&p, 0, sizeof(p));
	if (!ours || blob_get_props(&fs->blob, name, &p, &e) < 0)
		return 0;
	theirs = blob_meta_get(&p, CORE_KEY_MTIME);
	own = theirs && strcmp(ours, theirs) == 0 && p.size == len;
	if (own && etag)
		snprintf(etag, BLOB_ETAG_MAX, "%s", p.etag);
	blob_props_release(&p);
	return own;
}

int azfs_put_entry(struct azfs *fs, const char *name, const char *key,
		   const char *body, const struct attr *a, char *etag)
{
	char made[BLOB_ETAG_MAX];
	struct blob_put_opts po;
	struct blob_error e;
	struct blob_meta *m;
	size_t n;
	int rc;

	rc = azfs_entry_meta(a, key, &m, &n);
	if (rc < 0)
		return rc;
	memset(&po, 0, sizeof(po));
	po.meta = m;
	po.n_meta = n;
	po.if_none_match_any = 1;
	if (!etag)
		etag = made;
	if (blob_put(&fs->blob, name, body ? body : "", body ? strlen(body) : 0,
		     &po, etag, &e) < 0) {
		if (core_errno(&e) == EEXIST &&
		    own_entry(fs, name, m, n, body ? strlen(body) : 0, etag))
			log_info("Put Blob %s: made by a try whose answer was lost", name);
		else
			rc = core_fail("Put Blob", name, &e);
	}
	if (rc == 0)
		meta_known_put(&fs->meta, name, etag, m, n);
	core_meta_free(m, n);
	return rc;
}

/* apply: the changes to attributes *a (mode keeps a's type) */
static void apply(const struct change *c, struct attr *a)
{
	if (c->mode_set) {
		mode_t type = a->mode & S_IFMT;

		if (!type)
			type = a->kind == ATTR_DIR ? S_IFDIR : a->kind == ATTR_LINK
				? S_IFLNK : S_IFREG;
		a->mode = type | (c->mode & 07777);
	}
	if (c->uid_set) {
		a->uid = c->uid;
		a->has_uid = 1;
	}
	if (c->gid_set) {
		a->gid = c->gid;
		a->has_gid = 1;
	}
	if (c->mtime_set)
		a->mtime = c->mtime;
	if (c->atime_set)
		a->atime = c->atime;
	a->ctime = core_now();
}

/* change_list: the metadata of a blob (m, n entries) with the changes
 * made, as new attributes a. 0 or -ENOMEM. */
static int change_list(const struct change *c, const struct attr *a,
		       struct blob_meta **m, size_t *n)
{
	char tbuf[48];
	int rc = core_meta_posix(m, n, a);

	if (rc == 0 && c->mtime_set) {
		str_rfc3339_format(&c->mtime, tbuf, sizeof(tbuf));
		rc = core_meta_set(m, n, CORE_KEY_MTIME, tbuf);
	}
	if (rc == 0 && c->atime_set) {
		str_rfc3339_format(&c->atime, tbuf, sizeof(tbuf));
		rc = core_meta_set(m, n, CORE_KEY_ATIME, tbuf);
	}
	return rc;
}

/*
 * change_open: the changes to an open file whose data is not uploaded
 * yet go up with it: 0 (done), STAGE_CLEAN (the blob is as staged: the
 * caller sets them on the server) or -errno.
 */
static int change_open(struct azfs *fs, const char *path,
		       const struct change *c, const struct attr *a)
{
	struct blob_meta *m = NULL;
	struct node *n = stage_find(&fs->stage, path);
	size_t k = 0, i;
	int rc;

	if (!n)
		return STAGE_CLEAN;
	rc = change_list(c, a, &m, &k);
	for (i = 0; rc == 0 && i < k; i++) {
		if (strcmp(m[i].name, CORE_KEY_MTIME) == 0)
			continue; /* stage_set_mtime below */
		rc = stage_meta_set(&fs->stage, n, m[i].name, m[i].value, 0);
		if (rc == STAGE_CLEAN)
			break;
	}
	if (rc == 0 && c->mtime_set && !stage_set_mtime(&fs->stage, n, &c->mtime))
		rc = STAGE_CLEAN;
	core_meta_free(m, k);
	stage_put(&fs->stage, n);
	return rc;
}

/*
 * change_base: the metadata and ETag of name to change, into *p: what
 * this mount wrote last when *known (no request; *known stays 1), else
 * Get Blob Properties (*known becomes 0). 0, -ENOENT or -errno.
 */
static int change_base(struct azfs *fs, const char *name, int *known,
		       struct blob_props *p)
{
	struct blob_error e;

	memset(p, 0, sizeof(*p));
	if (*known && meta_known_get(&fs->meta, name, p->etag, &p->meta, &p->n_meta))
		return 0;
	*known = 0;
	if (blob_get_props(&fs->blob, name, p, &e) < 0)
		return e.kind == BLOB_E_NOT_FOUND ? -ENOENT
			: core_fail("Get Blob Properties", name, &e);
	return 0;
}

/*
 * change_blob: Set Blob Metadata of name with the changes, over the
 * version it knows or reads (If-Match; read again when another writer
 * came between, twice at most). 0, -ENOENT when there is no such blob,
 * or -errno.
 */
static int change_blob(struct azfs *fs, const char *name,
		       const struct change *c, const struct attr *a)
{
	char etag[BLOB_ETAG_MAX];
	struct blob_props p;
	struct blob_error e;
	struct blob_meta *m = NULL;
	size_t k = 0;
	int rc, tries = 0, known = 1;

	for (;;) {
		rc = change_base(fs, name, &known, &p);
		if (rc < 0)
			return rc;
		k = p.n_meta;
		rc = core_meta_dup(p.meta, p.n_meta, &m);
		if (rc == 0)
			rc = change_list(c, a, &m, &k);
		if (rc == 0 && blob_set_metadata(&fs->blob, name, m, k,
						 p.etag[0] ? p.etag : NULL, etag, &e) < 0)
			rc = e.kind == BLOB_E_CONDITION && (known || tries == 0) ? -ESTALE
				: e.kind == BLOB_E_NOT_FOUND ? -ENOENT
				: core_fail("Set Blob Metadata", name, &e);
		if (rc == 0)
			meta_known_put(&fs->meta, name, etag, m, k);
		core_meta_free(m, k);
		m = NULL;
		blob_props_release(&p);
		if (rc != -ESTALE)
			return rc;
		/* what was known is stale: read it; what was read: once more */
		meta_known_drop(&fs->meta, name);
		if (!known)
			tries++;
		known = 0;
	}
}

/*
 * change: applies c to path (NULL: the file of fi, removed since it was
 * opened). The attributes cache learns the result.
 */
static int change(const char *path, struct fuse_file_info *fi,
		  const struct change *c)
{
	struct azfs *fs = azfs_get();
	char *p = NULL, *name = NULL;
	struct attr a;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	if (!path && fi)
		path = p = stage_path_of(&fs->stage, azfs_handle(fi)->node);
	if (!path)
		return 0; /* removed: nothing left to keep the change */
	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		goto out_free;
	apply(c, &a);
	rc = change_open(fs, path, c, &a);
	if (rc != STAGE_CLEAN)
		goto out_cache;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		goto out_free;
	if (!*name) {
		rc = -EPERM; /* the container itself has no blob to hold them */
		goto out_free;
	}
	rc = change_blob(fs, name, c, &a);
	/* a directory without a marker blob: one is made to hold them */
	if (rc == -ENOENT && a.kind == ATTR_DIR && (c->mode_set || c->uid_set || c->gid_set))
		rc = azfs_put_entry(fs, name, CORE_KEY_FOLDER, NULL, &a, NULL);
	else if (rc == -ENOENT && a.kind == ATTR_DIR)
		rc = 0; /* no time to keep either */
	if (rc == 0)
		stage_invalidate(&fs->stage, path);
out_cache:
	if (rc == 0) {
		a.etag[0] = '\0'; /* a new version, not known */
		meta_put(&fs->meta, path, &a);
	} else {
		meta_drop(&fs->meta, path);
	}
out_free:
	free(name);
	free(p);
	return rc;
}

int azfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct change c = { .mode_set = 1, .mode = mode & 07777 };

	return change(path, fi, &c);
}

int azfs_chown(const char *path, uid_t uid, gid_t gid,
	       struct fuse_file_info *fi)
{
	struct change c = { .uid_set = uid != (uid_t)-1, .uid = uid,
			    .gid_set = gid != (gid_t)-1, .gid = gid };

	if (!c.uid_set && !c.gid_set)
		return 0;
	return change(path, fi, &c);
}

int azfs_utimens(const char *path, const struct timespec tv[2],
		 struct fuse_file_info *fi)
{
	struct timespec now = core_now();
	struct change c = { 0 };

	if (!tv || tv[1].tv_nsec != UTIME_OMIT) {
		c.mtime_set = 1;
		c.mtime = !tv || tv[1].tv_nsec == UTIME_NOW ? now : tv[1];
	}
	if (!tv || tv[0].tv_nsec != UTIME_OMIT) {
		c.atime_set = 1;
		c.atime = !tv || tv[0].tv_nsec == UTIME_NOW ? now : tv[0];
	}
	if (!c.mtime_set && !c.atime_set)
		return 0;
	return change(path, fi, &c);
}
