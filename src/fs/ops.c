/*
 * ops.c -- the FUSE operations: lookup, listing, files, directories,
 * symlinks, times. Server-side copies live in copy.c, xattrs in xattr.c.
 *
 * Every operation returns 0 or -errno; errors from the service are turned
 * into errno by azfs_errno() alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "copy/copy.h"
#include "fs/azfs.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"


static int op_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct attr a;
	int rc;

	(void)fi;
	rc = azfs_lookup(fs, path, &a);
	if (rc < 0)
		return rc;
	azfs_fill_stat(fs, &a, st);
	return 0;
}

/* ---- files ---- */

static struct handle *fh(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* files from this size on may keep their page cache from one read-only
 * open to the next; smaller ones are read again (and prefetched) */
#define KEEP_PAGES_MIN (1u << 20)

/*
 * keep_pages: whether a read-only open of path (blob name, cached
 * attributes *a) lets the kernel keep the page cache it holds of the file,
 * which it drops at an open otherwise: when the blob still is the version
 * the last read-only open saw, so a file read again unchanged costs one
 * Get Blob Properties and no Get Blob. The first open asks nothing and
 * remembers the version its attributes show.
 */
static int keep_pages(struct azfs *fs, const char *path, const char *name,
		      const struct attr *a)
{
	char kept[BLOB_ETAG_MAX];
	struct blob_props p;
	struct blob_error e;
	struct attr now;

	if (!cache_kept_pages(fs, path, kept, sizeof(kept))) {
		cache_set_kept_pages(fs, path, a->etag);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) < 0) {
		cache_forget_pages(fs, path);
		return 0;
	}
	azfs_attr_from_props(&p, &now);
	blob_props_release(&p);
	cache_put(fs, path, &now);
	if (now.copy_pending || !now.etag[0]) {
		cache_forget_pages(fs, path);
		return 0;
	}
	cache_set_kept_pages(fs, path, now.etag);
	return strcmp(kept, now.etag) == 0;
}

/*
 * create_blob: makes the zero-length blob of a new file on the server
 * (Put Blob with If-None-Match: *), so a create never leaves a file that
 * only this mount believes in: one opened O_RDONLY|O_CREAT (flock) has no
 * later write to carry it up. Its ETag goes to etag (BLOB_ETAG_MAX).
 * 0, -EEXIST when a blob of that name exists already, or -errno.
 */
static int create_blob(struct azfs *fs, const char *name, char *etag)
{
	struct blob_meta m;
	struct blob_put_opts po;
	struct blob_error e;
	struct timespec now = azfs_now();
	char tbuf[48];

	str_rfc3339_format(&now, tbuf, sizeof(tbuf));
	m.name = (char *)"mtime";
	m.value = tbuf;
	memset(&po, 0, sizeof(po));
	po.meta = &m;
	po.n_meta = 1;
	po.if_none_match_any = 1;
	if (blob_put(&fs->blob, name, "", 0, &po, etag, &e) < 0)
		return azfs_fail("Put Blob", name, &e);
	return 0;
}

static int open_common(const char *path, struct fuse_file_info *fi, int create)
{
	struct azfs *fs = azfs_get();
	int acc = fi->flags & O_ACCMODE, rc, known, changed, made = 0;
	char etag[BLOB_ETAG_MAX] = "";
	uint64_t size_now;
	struct handle *h;
	struct attr a;
	char *name;

	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	if ((acc != O_RDONLY || create) && fs->o.read_only) {
		free(name);
		return -EROFS;
	}
	/* a read-only create has no later write or close to carry the file
	 * up: it is made now. A writable one goes up at its first flush (one
	 * Put Blob for a small file, If-None-Match: * unless O_TRUNC). */
	if (create && acc == O_RDONLY && !node_size(fs, path, &size_now)) {
		rc = create_blob(fs, name, etag);
		/* another client made it since the kernel looked: O_EXCL
		 * fails, a plain O_CREAT opens what is there */
		if (rc == -EEXIST && !(fi->flags & O_EXCL)) {
			cache_drop(fs, path);
			create = 0;
		} else if (rc < 0) {
			free(name);
			return rc;
		} else {
			made = 1;
		}
	}
	if (!create && acc != O_RDONLY) {
		cache_drop(fs, path);
		rc = azfs_lookup(fs, path, &a);
		if (rc == 0 && a.copy_pending)
			rc = -EBUSY;
		if (rc < 0) {
			free(name);
			return rc;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		free(name);
		return -ENOMEM;
	}
	h->flags = fi->flags;
	h->writable = acc != O_RDONLY;
	azfs_ra_init(h);
	/* the kernel looked the file up just before: the size is cached */
	known = !create && cache_get(fs, path, &a) && a.kind == ATTR_FILE &&
		!a.copy_pending;
	if (known) {
		h->size_hint = a.size;
		if (!h->writable)
			pf_open(fs, path, &a, &h->pf_data, &h->pf_len);
	}
	h->node = node_get(fs, path, name);
	if (!h->node) {
		free(name);
		free(h->pf_data);
		free(h);
		return -ENOMEM;
	}
	pthread_mutex_lock(&fs->lock);
	h->pf_gen = h->node->gen;
	changed = h->node->dirty || h->node->is_new;
	pthread_mutex_unlock(&fs->lock);
	/* a writable handle may put bytes of no known version into the page
	 * cache, and its uploads make a new one */
	if (h->writable)
		cache_forget_pages(fs, path);
	else if (known && !changed && a.size >= KEEP_PAGES_MIN)
		fi->keep_cache = (unsigned)keep_pages(fs, path, name, &a);
	free(name);
	if (create) {
		pthread_mutex_lock(&fs->lock);
		if (!made && !h->node->loaded) {
			h->node->is_new = 1;
			h->node->no_clobber = !(fi->flags & O_TRUNC);
			h->node->loaded = 1;
			h->node->size = 0;
			h->node->unlinked = 0;
		} else if (made) {
			/* the empty blob is on the server: writes stage on top
			 * of it and go up over this version (If-Match) */
			h->node->is_new = 0;
			h->node->dirty = 0;
			h->node->no_clobber = 0;
			h->node->loaded = 1;
			h->node->size = 0;
			h->node->unlinked = 0;
			h->node->gen++;
			memcpy(h->node->etag, etag, sizeof(h->node->etag));
		}
		pthread_mutex_unlock(&fs->lock);
		if (made) {
			memset(&a, 0, sizeof(a));
			a.kind = ATTR_FILE;
			a.mtime = azfs_now();
			memcpy(a.etag, etag, sizeof(a.etag));
			cache_put(fs, path, &a);
		} else {
			cache_drop(fs, path);
		}
		cache_dir_created(fs, path);
	} else if ((fi->flags & O_TRUNC) && h->writable) {
		node_begin(fs, h->node, 1);
		rc = node_load(fs, h->node, 1);
		node_end(fs, h->node, 1);
		if (rc < 0) {
			node_put(fs, h->node);
			azfs_ra_release(fs, h);
			free(h);
			return rc;
		}
	}
	/*
	 * A write-only handle bypasses the kernel's page cache: the bytes go
	 * from the writer's buffer to us in one copy, and no page cache is
	 * filled with data nobody reads through this handle. Nothing is lost:
	 * such a handle cannot be mapped (mmap needs read access) and reads
	 * through other handles see the data staged here.
	 */
	if (acc == O_WRONLY)
		fi->direct_io = 1;
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	return open_common(path, fi, 0);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	return open_common(path, fi, 1);
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct handle *h = fh(fi);
	struct node *n = h->node;
	struct blob_error e;
	size_t got = 0;
	uint64_t gen;
	int staged, rc;

	node_begin(fs, n, 0);
	pthread_mutex_lock(&fs->lock);
	staged = n->loaded || n->is_new;
	gen = n->gen;
	pthread_mutex_unlock(&fs->lock);
	if (staged) {
		ssize_t r = node_read_staged(fs, n, buf, size, (uint64_t)off);

		node_end(fs, n, 0);
		return (int)r;
	}
	node_end(fs, n, 0);
	if (h->pf_data && gen == h->pf_gen) {
		/* prefetched whole (prefetch.c) */
		got = (uint64_t)off < h->pf_len ? h->pf_len - (size_t)off : 0;
		if (got > size)
			got = size;
		memcpy(buf, h->pf_data + off, got);
		return (int)got;
	}
	rc = azfs_read_remote(fs, h, n->name, gen, buf, size, (uint64_t)off, &got);
	if (rc < 0)
		return rc;
	if (got == 0 && size > 0) {
		/* the kernel expected bytes: a pending copy (wait for its end)
		 * or one that failed (its data never arrived: EIO) */
		struct attr a;

		cache_drop(fs, path);
		rc = azfs_lookup(fs, path, &a);
		if (rc == 0 && a.copy_broken && a.size == 0)
			return -EIO;
		if (rc == 0 && a.copy_pending) {
			enum blob_copy_status st;

			if (copy_wait(&fs->blob, n->name, NULL, &st, &e) < 0)
				return azfs_fail("Get Blob Properties", n->name, &e);
			if (st != BLOB_COPY_SUCCESS)
				return -EIO;
			/* the content arrived: read-ahead of the empty blob
			 * is stale */
			pthread_mutex_lock(&fs->lock);
			n->gen++;
			pthread_mutex_unlock(&fs->lock);
			if (blob_read(&fs->blob, n->name, (uint64_t)off, size,
				      buf, &got, NULL, &e) < 0)
				return azfs_fail("Get Blob", n->name, &e);
		}
	}
	return (int)got;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct node *n = fh(fi)->node;
	int append = fh(fi)->flags & O_APPEND, ready, rc;
	uint64_t base;
	ssize_t w;

	(void)path;
	for (;;) {
		pthread_mutex_lock(&fs->lock);
		ready = n->loaded && n->fd >= 0 &&
			(!n->tail || append || (uint64_t)off >= n->base);
		pthread_mutex_unlock(&fs->lock);
		if (!ready) {
			node_begin(fs, n, 1);
			rc = node_prepare_write(fs, n, append ? -1 : (int64_t)off);
			node_end(fs, n, 1);
			if (rc < 0)
				return rc;
		}
		node_begin(fs, n, 0);
		pthread_mutex_lock(&fs->lock);
		if (append)
			off = (off_t)n->size;
		base = n->tail ? n->base : 0;
		ready = n->loaded && n->fd >= 0 && (uint64_t)off >= base;
		pthread_mutex_unlock(&fs->lock);
		if (ready)
			break;
		/* another thread changed the node meanwhile: again */
		node_end(fs, n, 0);
	}
	w = pwrite(n->fd, buf, size, off - (off_t)base);
	if (w < 0) {
		rc = -errno;
		node_end(fs, n, 0);
		return rc;
	}
	pthread_mutex_lock(&fs->lock);
	if ((uint64_t)off + (uint64_t)w > n->size)
		n->size = (uint64_t)off + (uint64_t)w;
	n->dirty = 1;
	n->copied_size = 0;
	pthread_mutex_unlock(&fs->lock);
	node_end(fs, n, 0);
	node_wrote(fs, n, (uint64_t)off, (size_t)w);
	return (int)w;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = fh(fi);

	(void)path;
	if (!h->writable)
		return 0;
	return node_flush_maybe_empty(azfs_get(), h->node, 0);
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = fh(fi);

	(void)path;
	(void)datasync;
	/* unsaved data of the file goes up whichever descriptor asks */
	return node_flush(azfs_get(), h->node);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct handle *h = fh(fi);
	int rc = 0;

	(void)path;
	if (h->writable)
		rc = node_flush(fs, h->node);
	if (rc < 0)
		log_error("data of %s could not be uploaded at close (%s); it stays in %s until unmount",
			  h->node->name, strerror(-rc), fs->o.cache_dir);
	node_put(fs, h->node);
	azfs_ra_release(fs, h);
	free(h->pf_data);
	free(h);
	return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct node *n;
	struct attr a;
	char *name = NULL;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	if (fi) {
		n = fh(fi)->node;
		pthread_mutex_lock(&fs->lock);
		n->refs++;
		pthread_mutex_unlock(&fs->lock);
	} else {
		cache_drop(fs, path);
		rc = azfs_lookup(fs, path, &a);
		if (rc == 0 && a.kind == ATTR_DIR)
			rc = -EISDIR;
		if (rc == 0 && a.copy_pending)
			rc = -EBUSY;
		if (rc < 0)
			return rc;
		name = azfs_blob_name(fs, path, &rc);
		if (!name)
			return rc;
		n = node_get(fs, path, name);
		free(name);
		if (!n)
			return -ENOMEM;
	}
	node_begin(fs, n, 1);
	rc = size == 0 ? node_load(fs, n, 1) : node_prepare_write(fs, n, 0);
	if (rc == 0 && size != 0) {
		if (ftruncate(n->fd, size) < 0) {
			rc = -errno;
		} else {
			pthread_mutex_lock(&fs->lock);
			n->size = (uint64_t)size;
			n->dirty = 1;
			node_blocks_reset(n);
			pthread_mutex_unlock(&fs->lock);
		}
	}
	node_end(fs, n, 1);
	if (rc == 0 && !fi)
		rc = node_flush(fs, n);
	cache_drop(fs, path);
	node_put(fs, n);
	return rc;
}

static int op_unlink(const char *path)
{
	struct azfs *fs = azfs_get();
	struct node *n;
	char *name;
	int rc, was_new = 0;

	if (fs->o.read_only)
		return -EROFS;
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	n = node_find(fs, path);
	if (n) {
		node_unlinked(fs, n, &was_new);
		node_put(fs, n);
	}
	rc = azfs_delete_blob(fs, name);
	if (rc == -ENOENT && was_new)
		rc = 0;
	if (rc == 0) {
		/* gone: absent, for as long as absence is remembered */
		struct attr a;

		memset(&a, 0, sizeof(a));
		cache_put(fs, path, &a);
	} else {
		cache_drop(fs, path);
	}
	cache_dir_changed(fs, path);
	free(name);
	return rc;
}

/* put_marker: a zero-length blob with metadata (directory or symlink). */
static int put_special(struct azfs *fs, const char *name, const char *key,
		       const char *body)
{
	struct blob_meta m[2];
	struct blob_put_opts po;
	struct blob_error e;
	struct timespec now = azfs_now();
	char tbuf[48];

	str_rfc3339_format(&now, tbuf, sizeof(tbuf));
	m[0].name = (char *)key;
	m[0].value = (char *)"true";
	m[1].name = (char *)"mtime";
	m[1].value = tbuf;
	memset(&po, 0, sizeof(po));
	po.meta = m;
	po.n_meta = 2;
	if (blob_put(&fs->blob, name, body, body ? strlen(body) : 0, &po, NULL,
		     &e) < 0)
		return azfs_fail("Put Blob", name, &e);
	return 0;
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct azfs *fs = azfs_get();
	char *name;
	int rc;

	(void)mode;
	if (fs->o.read_only)
		return -EROFS;
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	rc = put_special(fs, name, "hdi_isfolder", NULL);
	if (rc < 0)
		cache_drop(fs, path);
	if (rc == 0) {
		struct attr a;

		memset(&a, 0, sizeof(a));
		a.kind = ATTR_DIR;
		a.explicit_dir = 1;
		a.mtime = azfs_now();
		cache_put(fs, path, &a);
		cache_dir_created(fs, path);
	}
	free(name);
	return rc;
}

static int op_rmdir(const char *path)
{
	struct azfs *fs = azfs_get();
	char *name, *slash = NULL;
	struct attr a;
	int rc, any = 0;

	if (fs->o.read_only)
		return -EROFS;
	rc = azfs_lookup(fs, path, &a);
	if (rc < 0)
		return rc;
	if (a.kind != ATTR_DIR)
		return -ENOTDIR;
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	rc = azfs_has_children(fs, name, &any);
	if (rc < 0)
		goto out_free;
	if (any) {
		rc = -ENOTEMPTY;
		goto out_free;
	}
	if (asprintf(&slash, "%s/", name) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = azfs_delete_if_exists(fs, name);
	if (rc == 0)
		rc = azfs_delete_if_exists(fs, slash);
	cache_drop_tree(fs, path);
	cache_dir_changed(fs, path);
out_free:
	free(slash);
	free(name);
	return rc;
}

static int op_symlink(const char *target, const char *path)
{
	struct azfs *fs = azfs_get();
	char *name;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	rc = put_special(fs, name, "is_symlink", target);
	if (rc == 0) {
		struct attr a;

		memset(&a, 0, sizeof(a));
		a.kind = ATTR_LINK;
		a.size = strlen(target);
		a.mtime = azfs_now();
		cache_put(fs, path, &a);
	} else {
		cache_drop(fs, path);
	}
	cache_dir_changed(fs, path);
	free(name);
	return rc;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct azfs *fs = azfs_get();
	struct blob_error e;
	size_t got = 0;
	char *name;
	int rc;

	if (size == 0)
		return -EINVAL;
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	rc = 0;
	if (blob_read(&fs->blob, name, 0, size - 1, buf, &got, NULL, &e) < 0)
		rc = azfs_fail("Get Blob", name, &e);
	else
		buf[got] = '\0';
	free(name);
	return rc;
}

static int op_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct timespec mt;
	struct blob_props p;
	struct blob_error e;
	struct blob_meta *m = NULL;
	struct node *n;
	char tbuf[48];
	char *name;
	size_t i, k = 0;
	int rc;

	(void)fi;
	if (fs->o.read_only)
		return -EROFS;
	if (tv && tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	mt = (!tv || tv[1].tv_nsec == UTIME_NOW) ? azfs_now() : tv[1];
	n = node_find(fs, path);
	if (n) {
		int pending;

		pthread_mutex_lock(&fs->lock);
		pending = n->dirty || n->is_new;
		if (pending) {
			n->mtime = mt;
			n->mtime_set = 1;
		}
		pthread_mutex_unlock(&fs->lock);
		node_put(fs, n);
		if (pending) {
			cache_drop(fs, path);
			return 0;
		}
	}
	name = azfs_blob_name(fs, path, &rc);
	if (!name)
		return rc;
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) < 0) {
		struct attr a;

		/* a directory without a marker blob has no time to set */
		rc = e.kind == BLOB_E_NOT_FOUND && azfs_lookup(fs, path, &a) == 0 ? 0
			: azfs_fail("Get Blob Properties", name, &e);
		goto out_name;
	}
	m = calloc(p.n_meta + 1, sizeof(*m));
	if (!m) {
		rc = -ENOMEM;
		goto out_props;
	}
	for (i = 0; i < p.n_meta; i++)
		if (strcasecmp(p.meta[i].name, "mtime") != 0)
			m[k++] = p.meta[i];
	str_rfc3339_format(&mt, tbuf, sizeof(tbuf));
	m[k].name = (char *)"mtime";
	m[k].value = tbuf;
	k++;
	rc = blob_set_metadata(&fs->blob, name, m, k, p.etag[0] ? p.etag : NULL, &e) < 0
		? azfs_fail("Set Blob Metadata", name, &e) : 0;
	if (rc == 0)
		node_invalidate(fs, path);
	free(m);
out_props:
	blob_props_release(&p);
out_name:
	cache_drop(fs, path);
	free(name);
	return rc;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct attr a;

	(void)mode;
	(void)fi;
	return azfs_lookup(azfs_get(), path, &a);
}

static int op_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	struct attr a;

	(void)uid;
	(void)gid;
	(void)fi;
	return azfs_lookup(azfs_get(), path, &a);
}

static int op_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_blocks = 1ULL << 40;
	st->f_bfree = 1ULL << 40;
	st->f_bavail = 1ULL << 40;
	st->f_files = 1ULL << 32;
	st->f_ffree = 1ULL << 32;
	st->f_favail = 1ULL << 32;
	st->f_namemax = 255;
	return 0;
}

struct forget {
	struct fuse *fuse;
	char *path;
};

static void *forget_thread(void *arg)
{
	struct forget *f = arg;

	/* -ENOENT: the kernel did not know the path, nothing to forget */
	fuse_invalidate_path(f->fuse, f->path);
	free(f->path);
	free(f);
	return NULL;
}

void azfs_kernel_forget(const char *path)
{
	struct forget *f = calloc(1, sizeof(*f));

	if (!f)
		return;
	f->fuse = fuse_get_context()->fuse;
	f->path = strdup(path);
	if (!f->fuse || !f->path) {
		free(f->path);
		free(f);
		return;
	}
	/* from another thread: the request that asks may hold the inode */
	if (pool_detach(forget_thread, f) < 0) {
		free(f->path);
		free(f);
	}
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct azfs *fs = azfs_get();

	cfg->attr_timeout = fs->o.attr_timeout;
	if (!fs->o.entry_timeout_given)
		cfg->entry_timeout = fs->o.attr_timeout;
	if (!fs->o.negative_timeout_given)
		cfg->negative_timeout = fs->o.attr_timeout < AZFS_ABSENT_TTL ? fs->o.attr_timeout : AZFS_ABSENT_TTL;
	cfg->use_ino = 0;
	cfg->hard_remove = 1;
	cfg->direct_io = fs->o.direct_io;
	if (fs->o.max_read)
		conn->max_read = fs->o.max_read;
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
	/* the kernel skips read-ahead once congestion_threshold reads are
	 * queued (9 by default, of 12): with a read-ahead of some MiB in
	 * 1 MiB reads, it left holes read later, after their bytes had
	 * gone (48 still did with 16 MiB) */
	conn->max_background = 256;
	conn->congestion_threshold = 192;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	return fs;
}

static void op_destroy(void *data)
{
	/* unmount: whatever is still unsaved goes up now */
	nodes_flush_all(data);
}

const struct fuse_operations azfs_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.getattr = op_getattr,
	.opendir = azfs_opendir,
	.readdir = azfs_readdir,
	.releasedir = azfs_releasedir,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.truncate = op_truncate,
	.unlink = op_unlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.rename = azfs_rename,
	.utimens = op_utimens,
	.chmod = op_chmod,
	.chown = op_chown,
	.statfs = op_statfs,
	.getxattr = azfs_getxattr,
	.setxattr = azfs_setxattr,
	.listxattr = azfs_listxattr,
	.removexattr = azfs_removexattr,
	.copy_file_range = azfs_copy_file_range,
};
