/*
 * file.c -- the FUSE operations on open files: open, create, read, write,
 * flush, fsync, release, truncate. Staged data belongs to the staging room
 * (stage.h), bytes of the server to the read-ahead room (ra.h); this file
 * decides which serves a call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "copy/copy.h"
#include "fs/fs.h"
#include "util/log.h"
#include "util/str.h"

/* files from this size on may keep their page cache from one read-only
 * open to the next; smaller ones are read again (and prefetched) */
#define KEEP_PAGES_MIN (1u << 20)

struct handle *azfs_handle(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

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

	if (!meta_kept_pages(&fs->meta, path, kept, sizeof(kept))) {
		meta_set_kept_pages(&fs->meta, path, a->etag);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) < 0) {
		meta_forget_pages(&fs->meta, path);
		return 0;
	}
	core_attr_from_props(&p, &now);
	blob_props_release(&p);
	meta_put(&fs->meta, path, &now);
	if (now.copy_pending || !now.etag[0]) {
		meta_forget_pages(&fs->meta, path);
		return 0;
	}
	meta_set_kept_pages(&fs->meta, path, now.etag);
	if (strcmp(kept, now.etag) != 0)
		return 0;
	__atomic_add_fetch(&fs->kept_pages, 1, __ATOMIC_RELAXED);
	return 1;
}

/*
 * open_new: what a create does before the handle exists: the file is
 * made on the server now (*made), an empty blob with the creator's
 * attributes *pa (If-None-Match: *), so that what the kernel now holds
 * exists for every other client too; what is written goes up over that
 * version at flush. Another client may have made the name since the
 * kernel looked: O_EXCL then fails, a plain O_CREAT opens what is there
 * (*create becomes 0). A name this mount has staged already (created
 * and still open) is not made again. 0 or -errno.
 */
static int open_new(struct azfs *fs, const char *path, const char *name,
		    int flags, int *create, int *made, struct attr *pa)
{
	uint64_t size;
	int rc;

	if (stage_size(&fs->stage, path, &size))
		return 0;
	rc = azfs_put_entry(fs, name, NULL, "", pa, pa->etag);
	if (rc == -EEXIST && !(flags & O_EXCL)) {
		meta_drop(&fs->meta, path);
		*create = 0;
		return 0;
	}
	if (rc == 0)
		*made = 1;
	return rc;
}

/* open_created: the node of a file just created (made on the server;
 * not made when this mount had the name staged already) knows its
 * metadata, and the cache its attributes *pa. */
static int open_created(struct azfs *fs, struct handle *h, const char *path,
			int flags, int made, const struct attr *pa)
{
	struct blob_meta *m;
	size_t n;
	int rc;

	rc = azfs_entry_meta(pa, NULL, &m, &n);
	if (rc < 0)
		return rc;
	if (made)
		rc = stage_made(&fs->stage, h->node, pa->etag, m, n);
	else
		rc = stage_created(&fs->stage, h->node, !(flags & O_TRUNC), m, n);
	core_meta_free(m, n);
	meta_put(&fs->meta, path, pa);
	meta_dir_changed(&fs->meta, path);
	return rc;
}

/* handle_new: a handle of path's node; the kernel looked the file up just
 * before, so its cached size is the read-ahead's end and a small file
 * may have been prefetched. NULL when out of memory. */
static struct handle *handle_new(struct azfs *fs, const char *path,
				 const char *name, struct fuse_file_info *fi,
				 int create)
{
	int acc = fi->flags & O_ACCMODE, known, changed;
	struct handle *h;
	struct attr a;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->flags = fi->flags;
	h->writable = acc != O_RDONLY;
	ra_file_init(&h->ra);
	/* (a lookup when the kernel kept the name longer than the cache,
	 * as after a rename of its directory: a read-ahead that does not
	 * know the size guesses ranges past the end) */
	known = !create && (meta_get(&fs->meta, path, &a) ||
			    (!h->writable && meta_lookup(&fs->meta, path, &a) == 0)) &&
		a.kind == ATTR_FILE && !a.copy_pending;
	if (known) {
		h->ra.size_hint = a.size;
		if (!h->writable)
			ra_open_small(&fs->ra, path, &a, &h->pf_data, &h->pf_len);
	}
	h->node = stage_get(&fs->stage, path, name);
	if (!h->node) {
		ra_file_release(&fs->ra, &h->ra);
		free(h->pf_data);
		free(h);
		return NULL;
	}
	h->pf_gen = stage_state(&fs->stage, h->node, &changed);
	/* a writable handle may put bytes of no known version into the page
	 * cache, and its uploads make a new one */
	if (h->writable)
		meta_forget_pages(&fs->meta, path);
	else if (known && !changed && a.size >= KEEP_PAGES_MIN)
		fi->keep_cache = (unsigned)keep_pages(fs, path, name, &a);
	return h;
}

static void handle_free(struct azfs *fs, struct handle *h)
{
	stage_put(&fs->stage, h->node);
	ra_file_release(&fs->ra, &h->ra);
	free(h->pf_data);
	free(h);
}

static int open_common(const char *path, struct fuse_file_info *fi,
		       mode_t mode, int create)
{
	struct azfs *fs = azfs_get();
	int acc = fi->flags & O_ACCMODE, rc = 0, made = 0;
	struct handle *h;
	struct attr a, pa;
	char *name;

	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	if ((acc != O_RDONLY || create) && fs->o.read_only)
		rc = -EROFS;
	/* the source of a pending copy of ours, leased (copy_lease=on):
	 * its upload would be refused at close, so say it now */
	else if (acc != O_RDONLY && copy_lease_held(fs->leases, name))
		rc = -EBUSY;
	else if (create) {
		azfs_creator(S_IFREG | (mode & 07777), 0, &pa);
		rc = open_new(fs, path, name, fi->flags, &create, &made, &pa);
	}
	if (rc == 0 && !create && acc != O_RDONLY) {
		meta_drop(&fs->meta, path);
		rc = meta_lookup(&fs->meta, path, &a);
		if (rc == 0 && a.copy_pending)
			rc = -EBUSY;
	}
	h = rc == 0 ? handle_new(fs, path, name, fi, create) : NULL;
	free(name);
	if (rc < 0)
		return rc;
	if (!h)
		return -ENOMEM;
	if (create)
		rc = open_created(fs, h, path, fi->flags, made, &pa);
	else if ((fi->flags & O_TRUNC) && h->writable)
		rc = stage_truncate(&fs->stage, h->node, 0);
	if (rc < 0) {
		handle_free(fs, h);
		return rc;
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

int azfs_open(const char *path, struct fuse_file_info *fi)
{
	return open_common(path, fi, 0, 0);
}

int azfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return open_common(path, fi, mode, 1);
}

/*
 * read_copied: a read that found no bytes where the kernel expected
 * some: a pending copy (wait for its end, then read what arrived) or one
 * that failed (its data never came: EIO). Bytes read, or -errno.
 */
static int read_copied(struct azfs *fs, struct node *n, const char *path,
		       char *buf, size_t size, off_t off)
{
	enum blob_copy_status st;
	struct blob_error e;
	struct attr a;
	size_t got = 0;
	int rc;

	if (!path)
		return 0; /* removed since it was opened */
	meta_drop(&fs->meta, path);
	rc = meta_lookup(&fs->meta, path, &a);
	if (rc == 0 && a.copy_broken && a.size == 0)
		return -EIO;
	if (rc != 0 || !a.copy_pending)
		return 0;
	if (copy_wait(&fs->blob, n->name, NULL, NULL, NULL, &st, &e) < 0)
		return core_fail("Get Blob Properties", n->name, &e);
	if (st != BLOB_COPY_SUCCESS)
		return -EIO;
	/* the content arrived: read-ahead of the empty blob is stale */
	stage_content_changed(&fs->stage, n);
	if (blob_read(&fs->blob, n->name, (uint64_t)off, size, buf, &got, NULL,
		      &e) < 0)
		return core_fail("Get Blob", n->name, &e);
	return (int)got;
}

int azfs_read(const char *path, char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct handle *h = azfs_handle(fi);
	struct node *n = h->node;
	size_t got = 0;
	uint64_t gen;
	ssize_t r;
	int remote, rc;

	ra_reading(&fs->ra);
	r = stage_read(&fs->stage, n, buf, size, (uint64_t)off, &remote, &gen);
	if (!remote)
		return (int)r;
	if (h->pf_data && gen == h->pf_gen) {
		/* prefetched whole (ra.h) */
		got = (uint64_t)off < h->pf_len ? h->pf_len - (size_t)off : 0;
		if (got > size)
			got = size;
		memcpy(buf, h->pf_data + off, got);
		return (int)got;
	}
	rc = ra_read(&fs->ra, &h->ra, n->name, gen, buf, size, (uint64_t)off,
		     &got);
	if (rc < 0)
		return rc;
	if (got == 0 && size > 0)
		return read_copied(fs, n, path, buf, size, off);
	return (int)got;
}

int azfs_write(const char *path, const char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct handle *h = azfs_handle(fi);

	(void)path;
	/* a write-back of mmap'd pages is at its offset, O_APPEND or not */
	return (int)stage_write(&azfs_get()->stage, h->node, buf, size,
				(uint64_t)off, (h->flags & O_APPEND) && !fi->writepage);
}

int azfs_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = azfs_handle(fi);

	(void)path;
	if (!h->writable)
		return 0;
	if (azfs_get()->o.upload_async)
		return stage_close_async(&azfs_get()->stage, h->node);
	return stage_flush_close(&azfs_get()->stage, h->node);
}

int azfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = azfs_handle(fi);

	(void)path;
	(void)datasync;
	/* unsaved data of the file goes up whichever descriptor asks */
	return stage_flush(&azfs_get()->stage, h->node);
}

int azfs_release(const char *path, struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct handle *h = azfs_handle(fi);
	int rc = 0;

	(void)path;
	if (h->writable)
		rc = fs->o.upload_async ? stage_close_async(&fs->stage, h->node)
			: stage_flush(&fs->stage, h->node);
	if (rc < 0)
		log_error("data of %s could not be uploaded at close (%s); it stays in %s until unmount",
			  h->node->name, strerror(-rc), fs->o.cache_dir);
	handle_free(fs, h);
	return 0;
}

int azfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct node *n;
	struct attr a;
	char *name = NULL;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	if (fi) {
		n = azfs_handle(fi)->node;
		stage_ref(&fs->stage, n);
	} else {
		meta_drop(&fs->meta, path);
		rc = meta_lookup(&fs->meta, path, &a);
		if (rc == 0 && a.kind == ATTR_DIR)
			rc = -EISDIR;
		if (rc == 0 && a.copy_pending)
			rc = -EBUSY;
		if (rc < 0)
			return rc;
		name = core_blob_name(&fs->o, path, &rc);
		if (!name)
			return rc;
		n = stage_get(&fs->stage, path, name);
		free(name);
		if (!n)
			return -ENOMEM;
	}
	rc = copy_lease_held(fs->leases, n->name) ? -EBUSY
		: stage_truncate(&fs->stage, n, (uint64_t)size);
	if (rc == 0 && !fi)
		rc = stage_flush(&fs->stage, n);
	if (path)
		meta_drop(&fs->meta, path);
	stage_put(&fs->stage, n);
	return rc;
}
