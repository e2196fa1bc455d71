/*
 * copy.c -- the fs side of server-side copies: cp through copy_file_range,
 * moves, and deletes that abort a pending copy first.
 *
 * copy_file_range is only turned into Copy Blob for a whole-file copy (both
 * offsets 0, the destination empty); anything else is EOPNOTSUPP so that cp
 * falls back to read/write. The kernel caps one call below 4 GiB, so cp
 * calls again for the rest: the destination node remembers the size already
 * copied and answers those calls without a request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy/copy.h"
#include "fs/fs.h"
#include "util/log.h"
#include "util/str.h"

/*
 * interrupted: the stop of a copy's wait (copy.h): the FUSE request this
 * thread serves was interrupted (the process waiting for it got a
 * signal, as Ctrl-C), or another thread of the same operation saw its
 * own (*flag, may be NULL). A thread serving no request (the workers of
 * a directory move) sees only the flag.
 */
static int interrupted(void *arg)
{
	int *flag = arg;

	if (fuse_interrupted()) {
		if (flag)
			__atomic_store_n(flag, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return flag && __atomic_load_n(flag, __ATOMIC_RELAXED);
}

/* abort_waited: the wait for copy res into dst_name was interrupted:
 * Abort Copy Blob, the destination stays an aborted copy. -EINTR. */
static int abort_waited(struct azfs *fs, const char *dst_name,
			const char *path, struct blob_copy_result *res,
			const char *url)
{
	struct blob_error e;
	char msg[400];

	log_info("interrupted while waiting for the copy %s into %s: aborting it",
		 res->id, dst_name);
	if (copy_abort_pending(&fs->blob, dst_name, res->id, &e) < 0) {
		log_warn("Abort Copy Blob %s: %s", dst_name,
			 blob_error_str(&e, msg, sizeof(msg)));
		return -EINTR;
	}
	res->status = BLOB_COPY_ABORTED;
	if (path)
		azfs_copy_started(fs, path, res, url);
	return -EINTR;
}

int azfs_lease_source(struct azfs *fs, const char *src_name,
		      unsigned long *ticket, char *id)
{
	struct blob_error e;
	char msg[400];

	*ticket = 0;
	id[0] = '\0';
	if (!fs->leases)
		return 0;
	if (copy_lease_take(fs->leases, src_name, ticket, id, &e) == 0)
		return 0;
	log_warn("Lease Blob acquire %s (copy_lease=on): %s", src_name,
		 blob_error_str(&e, msg, sizeof(msg)));
	return -core_errno(&e);
}

/*
 * server_copy: Copy Blob of url (named src in logs, never with its
 * query) into dst_name as how says; lease_src: the blob to lease first
 * (copy_lease=on), or NULL.
 */
static int server_copy(struct azfs *fs, const char *url, const char *src,
		       const char *lease_src, const char *dst_name,
		       struct azfs_copy_how *how)
{
	char lease[BLOB_LEASE_ID_MAX], msg[400], *path = NULL;
	struct blob_copy_result res;
	enum blob_copy_status st;
	unsigned long ticket = 0;
	struct blob_error e;
	int rc = 0;

	how->lease_ticket = 0;
	how->lease_id[0] = '\0';
	lease[0] = '\0';
	if (lease_src) {
		rc = azfs_lease_source(fs, lease_src, &ticket, lease);
		if (rc < 0)
			return rc;
	}
	if (copy_start(&fs->blob, dst_name, url,
		       how->src_etag && *how->src_etag ? how->src_etag : NULL,
		       ticket ? lease : NULL, fs->o.copy_tier, how->meta,
		       how->n_meta, &res, &e) < 0) {
		log_warn("Copy Blob %s -> %s: %s", src, dst_name,
			 blob_error_str(&e, msg, sizeof(msg)));
		rc = -core_errno(&e);
		goto out_release;
	}
	log_debug("Copy Blob %s -> %s: id %s, %s", src, dst_name, res.id,
		  blob_copy_status_name(res.status));
	path = core_path_of(&fs->o, dst_name);
	if (path)
		azfs_copy_started(fs, path, &res, url);
	/* the keeper ends the lease with the copy, also after we return */
	if (res.status == BLOB_COPY_PENDING && !how->keep_lease)
		copy_lease_follow(fs->leases, ticket, dst_name,
				  res.id[0] ? res.id : NULL);
	if (res.status == BLOB_COPY_PENDING && how->wait) {
		if (copy_wait(&fs->blob, dst_name, res.id[0] ? res.id : NULL,
			      interrupted, how->interrupted, &st, &e) < 0) {
			if (e.kind == BLOB_E_CANCELLED && res.id[0])
				rc = abort_waited(fs, dst_name, path, &res, url);
			else
				rc = -core_errno(&e);
			goto out_release;
		}
		res.status = st;
		if (path)
			azfs_copy_started(fs, path, &res, url);
	}
	if (res.status == BLOB_COPY_FAILED || res.status == BLOB_COPY_ABORTED) {
		log_warn("copy %s -> %s ended %s", src, dst_name,
			 blob_copy_status_name(res.status));
		rc = -EIO;
		goto out_release;
	}
	if (how->keep_lease && res.status == BLOB_COPY_SUCCESS) {
		how->lease_ticket = ticket;
		memcpy(how->lease_id, lease, sizeof(how->lease_id));
		goto out_free;
	}
	/* still pending (copy=async): the keeper follows it */
	if (res.status == BLOB_COPY_PENDING && !how->keep_lease)
		goto out_free;
out_release:
	copy_lease_release(fs->leases, ticket);
out_free:
	free(path);
	return rc;
}

int azfs_server_copy(struct azfs *fs, const char *src_name,
		     const char *dst_name, struct azfs_copy_how *how)
{
	struct buf url;
	int rc;

	buf_init(&url, 0);
	if (copy_source_url(&fs->blob, src_name, &url) < 0) {
		buf_release(&url);
		return -ENOMEM;
	}
	rc = server_copy(fs, url.data, src_name, src_name, dst_name, how);
	buf_release(&url);
	return rc;
}

int azfs_server_copy_url(struct azfs *fs, const char *url,
			 const char *dst_name, struct azfs_copy_how *how)
{
	char *red = str_redact_url(url);
	int rc;

	if (!red)
		return -ENOMEM;
	/* a snapshot or version never changes: no source condition, and
	 * it cannot be leased */
	how->src_etag = NULL;
	rc = server_copy(fs, url, red, NULL, dst_name, how);
	free(red);
	return rc;
}

void azfs_copy_started(struct azfs *fs, const char *path,
		       const struct blob_copy_result *res,
		       const char *source_url)
{
	struct blob_copy c;

	memset(&c, 0, sizeof(c));
	c.status = res->status;
	c.id = (char *)res->id;
	c.source = (char *)source_url;
	if (res->id[0])
		copy_reg_note(fs->copies, path, &c);
}

/* noted_abort: the copy c into blob name was aborted (the registry) */
static void noted_abort(struct azfs *fs, const char *name,
			const struct blob_copy *c)
{
	struct blob_copy ab = *c;
	char *path = core_path_of(&fs->o, name);

	ab.status = BLOB_COPY_ABORTED;
	if (path)
		copy_reg_note(fs->copies, path, &ab);
	free(path);
}

/* known_clean: fresh attributes of blob name show no pending copy (a
 * pending copy is never cached: meta_put) */
static int known_clean(struct azfs *fs, const char *name)
{
	char *path = core_path_of(&fs->o, name);
	struct attr a;
	int ok;

	if (!path)
		return 0;
	ok = meta_get(&fs->meta, path, &a) && a.kind != ATTR_NONE && !a.copy_pending;
	free(path);
	return ok;
}

int azfs_delete_blob(struct azfs *fs, const char *name)
{
	struct blob_props p;
	struct blob_error e;
	char msg[400];
	int tries;

	/* shown a moment ago with no copy pending: Delete Blob alone; a
	 * copy started since makes the service refuse it (409), and the
	 * copy is then aborted as below */
	if (known_clean(fs, name)) {
		if (blob_delete(&fs->blob, name, &e) == 0 ||
		    e.kind == BLOB_E_NOT_FOUND)
			return 0;
		if (e.kind != BLOB_E_COPY_PENDING) {
			log_warn("Delete Blob %s: %s", name,
				 blob_error_str(&e, msg, sizeof(msg)));
			return -core_errno(&e);
		}
	}
	for (tries = 0; tries < 3; tries++) {
		memset(&p, 0, sizeof(p));
		if (blob_get_props(&fs->blob, name, &p, &e) < 0)
			return -core_errno(&e);
		if (p.copy.status == BLOB_COPY_PENDING && p.copy.id) {
			log_info("aborting the pending copy %s into %s",
				 p.copy.id, name);
			if (copy_abort_pending(&fs->blob, name, p.copy.id, &e) < 0) {
				log_warn("Abort Copy Blob %s: %s", name,
					 blob_error_str(&e, msg, sizeof(msg)));
				blob_props_release(&p);
				return -core_errno(&e);
			}
			noted_abort(fs, name, &p.copy);
			copy_lease_ended(fs->leases, name);
		}
		blob_props_release(&p);
		if (blob_delete(&fs->blob, name, &e) == 0)
			return 0;
		/* we saw it a moment ago: a 404 means our own first attempt,
		 * whose answer was lost, already deleted it */
		if (e.kind == BLOB_E_NOT_FOUND)
			return 0;
		/* a copy started between our look and the delete */
		if (e.kind != BLOB_E_COPY_PENDING)
			break;
	}
	if (e.kind == BLOB_E_NOT_FOUND)
		return -ENOENT;
	log_warn("Delete Blob %s: %s", name, blob_error_str(&e, msg, sizeof(msg)));
	return -core_errno(&e);
}

/* covers: len covers the whole of a source of size bytes (the kernel
 * caps a call below 4 GiB; cp then calls again for the rest) */
static int covers(size_t len, uint64_t size)
{
	return (uint64_t)len >= size || len >= 4294963200ULL;
}

/*
 * copy_whole: the Copy Blob of a whole-file copy_file_range. The source's
 * ETag and size come from its fresh cached attributes when it has them
 * (a stale ETag fails the source condition, 412, and the server is then
 * asked), else from Get Blob Properties. *done = the source's size.
 * 0, -EOPNOTSUPP (not a whole-file copy, a copy pending on the source)
 * or -errno.
 */
static int copy_whole(struct azfs *fs, const char *path_in, const char *src,
		      const char *dst, size_t len, const struct blob_meta *m,
		      size_t nm, uint64_t *done)
{
	struct azfs_copy_how how = {
		.wait = fs->o.copy_mode == CORE_COPY_SYNC,
		.meta = m, .n_meta = nm,
	};
	struct blob_props p;
	int rc = -ESTALE;
	struct blob_error e;
	struct attr a;

	if (meta_get(&fs->meta, path_in, &a) && a.kind == ATTR_FILE &&
	    !a.copy_pending && a.etag[0]) {
		if (!covers(len, a.size))
			return -EOPNOTSUPP;
		*done = a.size;
		how.src_etag = a.etag;
		rc = azfs_server_copy(fs, src, dst, &how);
	}
	if (rc != -ESTALE)
		return rc;
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, src, &p, &e) < 0)
		return -EOPNOTSUPP;
	if (p.copy.status == BLOB_COPY_PENDING || !covers(len, p.size)) {
		blob_props_release(&p);
		return -EOPNOTSUPP;
	}
	*done = p.size;
	how.src_etag = p.etag;
	rc = azfs_server_copy(fs, src, dst, &how);
	blob_props_release(&p);
	return rc;
}

/*
 * dest_meta: the metadata a server-side cp gives its destination, which
 * would otherwise take the source's: its own (what its create gave it,
 * or the mode and owner of the file it truncated) with an mtime of now,
 * as a copy through read and write makes. 0 or -errno.
 */
static int dest_meta(struct azfs *fs, const char *path, struct node *n,
		     struct blob_meta **m, size_t *nm)
{
	struct timespec now = core_now();
	char tbuf[48];
	struct attr a;
	int rc;

	rc = stage_meta_get(&fs->stage, n, m, nm);
	if (rc == STAGE_CLEAN) {
		rc = meta_lookup(&fs->meta, path, &a);
		if (rc == 0) {
			a.mtime = now;
			rc = azfs_entry_meta(&a, NULL, m, nm);
		}
		return rc;
	}
	if (rc < 0)
		return rc;
	str_rfc3339_format(&now, tbuf, sizeof(tbuf));
	rc = core_meta_set(m, nm, CORE_KEY_MTIME, tbuf);
	if (rc < 0) {
		core_meta_free(*m, *nm);
		*m = NULL;
		*nm = 0;
	}
	return rc;
}

/* One source of copy_file_range: an open file of the mount, or a
 * snapshot or version by its URL. */
struct copy_src {
	const char *path;      /* the open file's path, or NULL */
	struct node *node;     /* ... its node */
	const char *url;       /* else the URL */
	uint64_t size;         /* ... and its size */
};

/*
 * copy_range: copy_file_range from src into the open file fi_out: one
 * Copy Blob for a whole-file copy into an empty destination, later calls
 * of the same copy answered without a request, EOPNOTSUPP otherwise.
 */
static ssize_t copy_range(struct azfs *fs, const struct copy_src *src,
			  off_t off_in, const char *path_out,
			  struct fuse_file_info *fi_out, off_t off_out,
			  size_t len, int flags)
{
	struct node *nout = azfs_handle(fi_out)->node;
	int wait = fs->o.copy_mode == CORE_COPY_SYNC;
	struct blob_meta *m;
	size_t nm;
	uint64_t done;
	int rc, out_known;

	if (flags != 0 || src->node == nout || fs->o.read_only)
		return -EOPNOTSUPP;
	/* a later call of a copy answered whole: no request */
	done = stage_copied(&fs->stage, nout);
	if (done && off_in == off_out && off_in > 0) {
		if ((uint64_t)off_in >= done)
			return 0;
		return (ssize_t)((uint64_t)len < done - (uint64_t)off_in
				 ? len : done - (uint64_t)off_in);
	}
	if (off_in != 0 || off_out != 0)
		return -EOPNOTSUPP;
	if (!src->node && !covers(len, src->size))
		return -EOPNOTSUPP;
	/* the destination must be empty */
	if (!stage_copy_target(&fs->stage, nout, &out_known))
		return -EOPNOTSUPP;
	if (!out_known) {
		struct attr a;

		meta_drop(&fs->meta, path_out);
		rc = meta_lookup(&fs->meta, path_out, &a);
		if (rc < 0 || a.size > 0 || a.copy_pending)
			return -EOPNOTSUPP;
	}
	/* a dirty source goes to the server first */
	if (src->node) {
		rc = stage_flush(&fs->stage, src->node);
		if (rc < 0)
			return rc;
	}
	ra_copying(&fs->ra);
	rc = dest_meta(fs, path_out, nout, &m, &nm);
	if (rc < 0)
		return rc;
	if (src->node) {
		rc = copy_whole(fs, src->path, src->node->name, nout->name, len,
				m, nm, &done);
	} else {
		struct azfs_copy_how how = { .wait = wait, .meta = m, .n_meta = nm };

		done = src->size;
		rc = azfs_server_copy_url(fs, src->url, nout->name, &how);
	}
	core_meta_free(m, nm);
	if (rc == 0)
		stage_copy_done(&fs->stage, nout, done);
	meta_drop(&fs->meta, path_out);
	if (rc < 0)
		return rc;
	return (ssize_t)((uint64_t)len < done ? len : done);
}

ssize_t azfs_copy_file_range(const char *path_in, struct fuse_file_info *fi_in,
			     off_t off_in, const char *path_out,
			     struct fuse_file_info *fi_out, off_t off_out,
			     size_t len, int flags)
{
	struct copy_src src = { .path = path_in, .node = azfs_handle(fi_in)->node };

	return copy_range(azfs_get(), &src, off_in, path_out, fi_out, off_out,
			  len, flags);
}

ssize_t azfs_copy_range_url(const char *url, uint64_t size, off_t off_in,
			    const char *path_out, struct fuse_file_info *fi_out,
			    off_t off_out, size_t len, int flags)
{
	struct copy_src src = { .url = url, .size = size };

	return copy_range(azfs_get(), &src, off_in, path_out, fi_out, off_out,
			  len, flags);
}
