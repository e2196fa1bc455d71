/*
 * read.c -- reads of blobs that are not staged: ranged Get Blob, with a
 * read-ahead window for sequential readers.
 *
 * A handle that reads sequentially (each read starts near where the last
 * one ended) gets a window of RA_CHUNKS chunks fetched by parallel ranged
 * GETs; the kernel's read-ahead requests, which arrive a little out of
 * order, are then served from memory. The previous window is kept while
 * the next one fills, so stragglers still hit. Random reads go straight
 * to the server for exactly the bytes asked. Memory per sequential handle
 * is at most two windows.
 *
 * Locks: the window fields of struct handle are guarded by fs->lock; one
 * thread fills at a time (ra.filling) while others wait on ra.cond, and no
 * lock is held during the GETs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/azfs.h"
#include "util/log.h"
#include "util/pool.h"

#define RA_CHUNK (4u << 20)
#define RA_SLACK (4u << 20) /* how far from the last end still counts as sequential */

struct fill {
	struct azfs *fs;
	const char *name;
	char *buf;
	uint64_t start;
	size_t chunk;
	size_t len;      /* bytes asked for in all */
	size_t got[16];
	int err;
};

static size_t chunk_len(const struct fill *f, size_t i)
{
	size_t off = i * f->chunk;

	return f->len - off < f->chunk ? f->len - off : f->chunk;
}

static int fill_one(void *ctx, size_t i)
{
	struct fill *f = ctx;
	struct blob_error e;

	if (blob_read(&f->fs->blob, f->name, f->start + i * f->chunk,
		      chunk_len(f, i), f->buf + i * f->chunk, &f->got[i], NULL,
		      &e) < 0)
		return -azfs_errno(&e);
	return 0;
}

/* serve: copies from window w if it holds [off, off+size) or reaches EOF. */
static int serve(const struct ra_window *w, uint64_t gen, char *buf,
		 size_t size, uint64_t off, size_t *out)
{
	uint64_t end;

	if (!w->buf || w->gen != gen || off < w->start)
		return 0;
	end = w->start + w->len;
	if (off > end || (off + size > end && !w->eof))
		return 0;
	if (off == end && !w->eof)
		return 0;
	*out = off >= end ? 0 : (size_t)((off + size <= end ? off + size : end) - off);
	memcpy(buf, w->buf + (off - w->start), *out);
	return 1;
}

void azfs_ra_release(struct azfs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->lock);
	while (h->ra.filling)
		pthread_cond_wait(&h->ra.cond, &fs->lock);
	pthread_mutex_unlock(&fs->lock);
	free(h->ra.cur.buf);
	free(h->ra.prev.buf);
	memset(&h->ra.cur, 0, sizeof(h->ra.cur));
	memset(&h->ra.prev, 0, sizeof(h->ra.prev));
	pthread_cond_destroy(&h->ra.cond);
}

void azfs_ra_init(struct handle *h)
{
	h->size_hint = UINT64_MAX;
	memset(&h->ra, 0, sizeof(h->ra));
	pthread_cond_init(&h->ra.cond, NULL);
}

static size_t window_chunks(const struct azfs *fs)
{
	size_t c = (size_t)(fs->o.parallel < 4 ? fs->o.parallel : 4);

	return c ? c : 1;
}

/*
 * fetch_window: fills ra with the window at start (the caller set
 * ra->filling and fill_start/fill_len). Ends the fill. 0 or -errno.
 */
static int fetch_window(struct azfs *fs, struct handle *h, const char *name,
			uint64_t gen, uint64_t start)
{
	struct readahead *ra = &h->ra;
	size_t chunks = window_chunks(fs), i, total = 0, len;
	struct ra_window nw;
	struct fill f;
	int rc = -ENOMEM;

	/* no more than the file holds, as far as we know its size: a small
	 * file is one GET */
	len = chunks * RA_CHUNK;
	if (h->size_hint != UINT64_MAX) {
		uint64_t left = h->size_hint > start ? h->size_hint - start : 0;

		if (left < len)
			len = left ? (size_t)left : 1;
		chunks = (len + RA_CHUNK - 1) / RA_CHUNK;
	}
	memset(&f, 0, sizeof(f));
	memset(&nw, 0, sizeof(nw));
	f.buf = malloc(len);
	if (f.buf) {
		f.fs = fs;
		f.name = name;
		f.start = start;
		f.chunk = RA_CHUNK;
		f.len = len;
		rc = pool_run(chunks, (int)chunks, fill_one, &f);
	}
	if (rc == 0) {
		/* the window is the contiguous run of full chunks, up to EOF */
		for (i = 0; i < chunks; i++) {
			total += f.got[i];
			if (f.got[i] < chunk_len(&f, i)) {
				nw.eof = 1;
				break;
			}
		}
		/* up to the size the file had at open is all there is */
		if (h->size_hint != UINT64_MAX && start + total >= h->size_hint)
			nw.eof = 1;
		nw.buf = f.buf;
		nw.start = start;
		nw.len = total;
		nw.gen = gen;
		f.buf = NULL;
	}
	pthread_mutex_lock(&fs->lock);
	ra->filling = 0;
	if (rc == 0) {
		free(ra->prev.buf);
		ra->prev = ra->cur;
		ra->cur = nw;
	}
	pthread_cond_broadcast(&ra->cond);
	pthread_mutex_unlock(&fs->lock);
	free(f.buf);
	if (rc < 0)
		log_debug("read-ahead of %s at %llu failed: %s", name,
			  (unsigned long long)start, strerror(-rc));
	return rc;
}

struct bg {
	struct azfs *fs;
	struct handle *h;
	char *name;
	uint64_t gen, start;
};

static void *bg_fill(void *arg)
{
	struct bg *b = arg;

	fetch_window(b->fs, b->h, b->name, b->gen, b->start);
	free(b->name);
	free(b);
	return NULL;
}

/*
 * maybe_prefetch: once a sequential reader is past the middle of the
 * current window, fetch the next one in the background (fs->lock held).
 */
static void maybe_prefetch(struct azfs *fs, struct handle *h, const char *name,
			   uint64_t gen, uint64_t off)
{
	struct readahead *ra = &h->ra;
	struct ra_window *w = &ra->cur;
	pthread_attr_t attr;
	pthread_t tid;
	struct bg *b;

	if (ra->filling || !w->buf || w->eof || w->gen != gen ||
	    off < w->start + w->len / 2)
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->name = strdup(name);
	if (!b->name) {
		free(b);
		return;
	}
	b->fs = fs;
	b->h = h;
	b->gen = gen;
	b->start = w->start + w->len;
	ra->filling = 1;
	ra->fill_start = b->start;
	ra->fill_len = (uint64_t)window_chunks(fs) * RA_CHUNK;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, bg_fill, b) != 0) {
		ra->filling = 0;
		free(b->name);
		free(b);
	}
	pthread_attr_destroy(&attr);
}

int azfs_read_remote(struct azfs *fs, struct handle *h, const char *name,
		     uint64_t gen, char *buf, size_t size, uint64_t off,
		     size_t *out)
{
	struct readahead *ra = &h->ra;
	int seq, rc;

	pthread_mutex_lock(&fs->lock);
	for (;;) {
		if (serve(&ra->cur, gen, buf, size, off, out) ||
		    serve(&ra->prev, gen, buf, size, off, out)) {
			ra->next_off = off + *out;
			maybe_prefetch(fs, h, name, gen, off);
			pthread_mutex_unlock(&fs->lock);
			return 0;
		}
		/* another thread is fetching the window that holds off */
		if (ra->filling && off >= ra->fill_start &&
		    off < ra->fill_start + ra->fill_len) {
			pthread_cond_wait(&ra->cond, &fs->lock);
			continue;
		}
		break;
	}
	seq = off == 0 || (off + RA_SLACK >= ra->next_off && off <= ra->next_off + RA_SLACK);
	if (!seq || ra->filling) {
		struct blob_error e;

		ra->next_off = off + size;
		pthread_mutex_unlock(&fs->lock);
		if (blob_read(&fs->blob, name, off, size, buf, out, NULL, &e) < 0)
			return -azfs_errno(&e);
		return 0;
	}
	ra->filling = 1;
	ra->fill_start = off;
	ra->fill_len = (uint64_t)window_chunks(fs) * RA_CHUNK;
	pthread_mutex_unlock(&fs->lock);
	rc = fetch_window(fs, h, name, gen, off);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&fs->lock);
	if (!serve(&ra->cur, gen, buf, size, off, out))
		*out = 0;
	ra->next_off = off + *out;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}
