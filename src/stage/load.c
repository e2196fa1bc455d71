/*
 * load.c -- the staging file of a node: made on first need, filled with
 * the blob (parallel ranged Get Blob, streamed into the file), read and
 * written, truncated; in tail mode it holds only what is appended to a
 * large blob. See stage.h for the lock and the phases.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage/stage.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

int stage_open_file(struct stage *sg, struct node *n)
{
	char *p = NULL;
	int fd;

	if (n->fd >= 0)
		return 0;
	if (asprintf(&p, "%s/stage-XXXXXX", sg->o->cache_dir) < 0)
		return -ENOMEM;
	fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		log_error("cannot create a staging file in %s: %s",
			  sg->o->cache_dir, strerror(e));
		free(p);
		return -e;
	}
	fchmod(fd, 0600);
	n->fd = fd;
	n->stage_path = p;
	return 0;
}


static int remember_props(struct stage *sg, struct node *n,
			  const struct blob_props *p)
{
	struct blob_meta *m = NULL;
	int rc = core_meta_dup(p->meta, p->n_meta, &m);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&sg->lock);
	core_meta_free(n->meta, n->n_meta);
	n->meta = m;
	n->n_meta = p->n_meta;
	memcpy(n->etag, p->etag, sizeof(n->etag));
	pthread_mutex_unlock(&sg->lock);
	return 0;
}

struct dl {
	struct stage *sg;
	const char *name;
	const char *etag;
	int fd;
	uint64_t size;
	size_t chunk;
};

/* dl_write: a Get Blob's bytes straight into the staging file. */
struct dl_at {
	int fd;
	uint64_t off;   /* where the next byte goes */
	int err;        /* errno of a failed write */
};

static size_t dl_write(void *arg, const void *data, size_t len)
{
	struct dl_at *at = arg;
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(at->fd, (const char *)data + done, len - done,
				   (off_t)(at->off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			at->err = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
	}
	at->off += len;
	return len;
}

/* dl_one: chunk i of the blob into the staging file, streamed (no buffer
 * of the chunk's size); a Get Blob cut after some bytes goes on from
 * there. */
static int dl_one(void *ctx, size_t i)
{
	struct dl *d = ctx;
	uint64_t off = (uint64_t)i * d->chunk;
	uint64_t end = d->size - off < d->chunk ? d->size : off + d->chunk;
	struct dl_at at = { .fd = d->fd };
	struct blob_error e;
	uint64_t got;

	while (off < end) {
		at.off = off;
		if (blob_read_stream(d->sg->blob, d->name, off, end - off, d->etag,
				     dl_write, &at, &got, &e) < 0) {
			if (at.err)
				return -at.err;
			if (got == 0 || e.kind != BLOB_E_TRANSPORT)
				return -core_errno(&e);
		} else if (got != end - off) {
			return -EIO; /* shorter than its properties said */
		}
		off += got;
	}
	return 0;
}

int stage_load(struct stage *sg, struct node *n, int trunc)
{
	struct blob_props p;
	struct blob_error e;
	struct dl d;
	int rc, loaded, is_new;

	pthread_mutex_lock(&sg->lock);
	loaded = n->loaded;
	is_new = n->is_new;
	pthread_mutex_unlock(&sg->lock);
	if (loaded && !trunc && n->fd >= 0)
		return 0;
	rc = stage_open_file(sg, n);
	if (rc < 0)
		return rc;
	if (loaded || is_new) {
		if (trunc && ftruncate(n->fd, 0) < 0)
			return -errno;
		pthread_mutex_lock(&sg->lock);
		if (trunc) {
			n->tail = 0;
			n->base = 0;
			n->size = 0;
			n->dirty = 1;
			stage_blocks_reset(n);
		}
		n->loaded = 1;
		pthread_mutex_unlock(&sg->lock);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	if (blob_get_props(sg->blob, n->name, &p, &e) < 0)
		return -core_errno(&e);
	if (p.copy.status == BLOB_COPY_PENDING) {
		blob_props_release(&p);
		return -EBUSY;
	}
	rc = remember_props(sg, n, &p);
	if (rc < 0)
		goto out_props;
	if (ftruncate(n->fd, 0) < 0) {
		rc = -errno;
		goto out_props;
	}
	if (!trunc && p.size > 0) {
		d.sg = sg;
		d.name = n->name;
		d.etag = p.etag[0] ? p.etag : NULL;
		d.fd = n->fd;
		d.size = p.size;
		d.chunk = sg->o->block_size;
		rc = pool_run((size_t)((p.size + d.chunk - 1) / d.chunk),
			      sg->o->parallel, dl_one, &d);
		if (rc < 0)
			goto out_props;
	}
	pthread_mutex_lock(&sg->lock);
	n->size = trunc ? 0 : p.size;
	n->loaded = 1;
	if (trunc)
		n->dirty = 1;
	pthread_mutex_unlock(&sg->lock);
	rc = 0;
out_props:
	blob_props_release(&p);
	return rc;
}

/*
 * materialize: leaves tail mode by downloading [0, base) in front of the
 * staged tail (exclusive phase). 0 or -errno.
 */
int stage_materialize(struct stage *sg, struct node *n)
{
	uint64_t base, size, off;
	char *p = NULL, *buf = NULL;
	struct dl d;
	int fd, rc;

	pthread_mutex_lock(&sg->lock);
	base = n->base;
	size = n->size;
	pthread_mutex_unlock(&sg->lock);
	if (asprintf(&p, "%s/stage-XXXXXX", sg->o->cache_dir) < 0)
		return -ENOMEM;
	fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(p);
		return rc;
	}
	memset(&d, 0, sizeof(d));
	d.sg = sg;
	d.name = n->name;
	d.etag = n->etag[0] ? n->etag : NULL;
	d.fd = fd;
	d.size = base;
	d.chunk = sg->o->block_size;
	rc = pool_run((size_t)((base + d.chunk - 1) / d.chunk), sg->o->parallel,
		      dl_one, &d);
	buf = rc == 0 ? malloc(1 << 20) : NULL;
	if (rc == 0 && !buf)
		rc = -ENOMEM;
	for (off = 0; rc == 0 && off < size - base;) {
		size_t len = size - base - off < (1 << 20) ? (size_t)(size - base - off) : (1 << 20);
		ssize_t r = pread(n->fd, buf, len, (off_t)off);

		if (r <= 0 || pwrite(fd, buf, (size_t)r, (off_t)(base + off)) != r)
			rc = -EIO;
		else
			off += (uint64_t)r;
	}
	free(buf);
	if (rc < 0) {
		close(fd);
		unlink(p);
		free(p);
		return rc;
	}
	close(n->fd);
	unlink(n->stage_path);
	free(n->stage_path);
	n->fd = fd;
	n->stage_path = p;
	pthread_mutex_lock(&sg->lock);
	n->tail = 0;
	n->base = 0;
	pthread_mutex_unlock(&sg->lock);
	return 0;
}

int stage_prepare_write(struct stage *sg, struct node *n, int64_t off)
{
	struct blob_props p;
	struct blob_error e;
	int loaded, tail, rc;
	uint64_t base;

	pthread_mutex_lock(&sg->lock);
	loaded = n->loaded && n->fd >= 0;
	tail = n->tail;
	base = n->base;
	pthread_mutex_unlock(&sg->lock);
	if (loaded)
		return tail && off >= 0 && (uint64_t)off < base ? stage_materialize(sg, n) : 0;
	pthread_mutex_lock(&sg->lock);
	loaded = n->loaded || n->is_new;
	pthread_mutex_unlock(&sg->lock);
	if (loaded)
		return stage_load(sg, n, 0);
	memset(&p, 0, sizeof(p));
	if (blob_get_props(sg->blob, n->name, &p, &e) < 0)
		return e.kind == BLOB_E_NOT_FOUND ? stage_load(sg, n, 0) : -core_errno(&e);
	if (p.copy.status == BLOB_COPY_PENDING) {
		rc = -EBUSY;
	} else if ((off < 0 || (uint64_t)off == p.size) && p.size > sg->o->block_size &&
		   strcmp(p.blob_type, "BlockBlob") == 0) {
		rc = remember_props(sg, n, &p);
		if (rc == 0)
			rc = stage_open_file(sg, n);
		if (rc == 0 && ftruncate(n->fd, 0) < 0)
			rc = -errno;
		if (rc == 0) {
			pthread_mutex_lock(&sg->lock);
			n->tail = 1;
			n->base = p.size;
			n->size = p.size;
			n->loaded = 1;
			pthread_mutex_unlock(&sg->lock);
			log_debug("%s: appending after %llu bytes", n->name,
				  (unsigned long long)p.size);
		}
	} else {
		rc = stage_load(sg, n, 0);
	}
	blob_props_release(&p);
	return rc;
}

static ssize_t read_staged(struct stage *sg, struct node *n, char *buf,
			 size_t size, uint64_t off)
{
	struct blob_error e;
	uint64_t base;
	size_t got = 0;
	ssize_t r;

	pthread_mutex_lock(&sg->lock);
	base = n->tail ? n->base : 0;
	pthread_mutex_unlock(&sg->lock);
	if (n->fd < 0)
		return 0;
	if (off >= base) {
		r = pread(n->fd, buf, size, (off_t)(off - base));
		return r < 0 ? -errno : r;
	}
	if (blob_read(sg->blob, n->name, off,
		      (size_t)(base - off < size ? base - off : size), buf, &got,
		      n->etag[0] ? n->etag : NULL, &e) < 0)
		return -core_errno(&e);
	if (got < size && off + got == base) {
		r = pread(n->fd, buf + got, size - got, 0);
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * put_failed: -errno of a failed upload or commit of name, logged. A
 * conditional one that met a conflict (412, or 409 for If-None-Match: *)
 * is only info here: node_flush first checks whether the blob is our own
 * commit whose answer was lost, and logs a real conflict itself.
 */

ssize_t stage_read(struct stage *sg, struct node *n, char *buf, size_t size,
		   uint64_t off, int *remote, uint64_t *gen)
{
	ssize_t r = 0;
	int staged;

	stage_begin(sg, n, STAGE_READ);
	pthread_mutex_lock(&sg->lock);
	staged = n->loaded || n->is_new;
	*gen = n->gen;
	pthread_mutex_unlock(&sg->lock);
	*remote = !staged;
	if (staged)
		r = read_staged(sg, n, buf, size, off);
	stage_end(sg, n, STAGE_READ);
	return r;
}

ssize_t stage_write(struct stage *sg, struct node *n, const char *buf,
		    size_t size, uint64_t off, int append)
{
	uint64_t base;
	ssize_t w;
	int ready, rc;

	for (;;) {
		pthread_mutex_lock(&sg->lock);
		ready = n->loaded && n->fd >= 0 &&
			(!n->tail || append || off >= n->base);
		pthread_mutex_unlock(&sg->lock);
		if (!ready) {
			stage_begin(sg, n, STAGE_EXCL);
			rc = stage_prepare_write(sg, n, append ? -1 : (int64_t)off);
			stage_end(sg, n, STAGE_EXCL);
			if (rc < 0)
				return rc;
		}
		stage_begin(sg, n, STAGE_WRITE);
		pthread_mutex_lock(&sg->lock);
		if (append)
			off = n->size;
		base = n->tail ? n->base : 0;
		ready = n->loaded && n->fd >= 0 && off >= base;
		pthread_mutex_unlock(&sg->lock);
		if (ready)
			break;
		/* another thread changed the node meanwhile: again */
		stage_end(sg, n, STAGE_WRITE);
	}
	w = pwrite(n->fd, buf, size, (off_t)(off - base));
	if (w < 0) {
		rc = -errno;
		stage_end(sg, n, STAGE_WRITE);
		return rc;
	}
	pthread_mutex_lock(&sg->lock);
	if (off + (uint64_t)w > n->size)
		n->size = off + (uint64_t)w;
	n->dirty = 1;
	n->copied_size = 0;
	pthread_mutex_unlock(&sg->lock);
	stage_end(sg, n, STAGE_WRITE);
	stage_wrote(sg, n, off, (size_t)w);
	return w;
}

int stage_truncate(struct stage *sg, struct node *n, uint64_t size)
{
	int rc;

	stage_begin(sg, n, STAGE_EXCL);
	rc = size == 0 ? stage_load(sg, n, 1) : stage_prepare_write(sg, n, 0);
	if (rc == 0 && size != 0) {
		if (ftruncate(n->fd, (off_t)size) < 0) {
			rc = -errno;
		} else {
			pthread_mutex_lock(&sg->lock);
			n->size = size;
			n->dirty = 1;
			stage_blocks_reset(n);
			pthread_mutex_unlock(&sg->lock);
		}
	}
	stage_end(sg, n, STAGE_EXCL);
	return rc;
}
