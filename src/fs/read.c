/*
 * read.c -- reads of blobs that are not staged: ranged Get Blob, with a
 * read-ahead pipeline for sequential readers.
 *
 * A handle that reads sequentially (each read starts near where the last
 * one ended) keeps RA_SLOTS chunk-aligned ranges of RA_CHUNK bytes in
 * flight ahead of the reader, each fetched by its own ranged GET on its
 * own thread. As the reader passes a chunk its slot is reused for the next
 * chunk beyond the horizon, so the connection pool always has work and the
 * reader mostly copies from memory. Random reads go straight to the server
 * for exactly the bytes asked. Memory per sequential handle: RA_SLOTS x
 * RA_CHUNK.
 *
 * Locks: every field of struct readahead is guarded by fs->lock; loaders
 * fill a slot's buffer without it (the slot is LOADING, nobody else
 * touches it) and signal ra.cond when done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/azfs.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"

#define RA_SLACK (8u << 20) /* how far from the last end still counts as sequential */

enum { SLOT_EMPTY = 0, SLOT_LOADING, SLOT_READY, SLOT_FAILED };

void azfs_ra_init(struct handle *h)
{
	h->size_hint = UINT64_MAX;
	memset(&h->ra, 0, sizeof(h->ra));
	pthread_cond_init(&h->ra.cond, NULL);
}

void azfs_ra_release(struct azfs *fs, struct handle *h)
{
	int i, busy;

	pthread_mutex_lock(&fs->lock);
	do {
		busy = 0;
		for (i = 0; i < RA_SLOTS; i++)
			if (h->ra.slot[i].state == SLOT_LOADING)
				busy = 1;
		if (busy)
			pthread_cond_wait(&h->ra.cond, &fs->lock);
	} while (busy);
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < RA_SLOTS; i++)
		buf_big_free(h->ra.slot[i].buf, RA_CHUNK);
	memset(&h->ra, 0, sizeof(h->ra));
	pthread_cond_destroy(&h->ra.cond);
}

struct load {
	struct azfs *fs;
	struct handle *h;
	struct ra_slot *s;
	char *name;
	uint64_t off;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	struct blob_error e;
	size_t got = 0;
	int rc = 0;

	if (blob_read(&l->fs->blob, l->name, l->off, RA_CHUNK, l->s->buf, &got,
		      NULL, &e) < 0)
		rc = -azfs_errno(&e);
	pthread_mutex_lock(&l->fs->lock);
	l->s->state = rc < 0 ? SLOT_FAILED : SLOT_READY;
	l->s->err = rc;
	l->s->len = got;
	pthread_cond_broadcast(&l->h->ra.cond);
	pthread_mutex_unlock(&l->fs->lock);
	if (rc < 0)
		log_debug("read-ahead of %s at %llu failed: %s", l->name,
			  (unsigned long long)l->off, strerror(-rc));
	free(l->name);
	free(l);
	return NULL;
}

/* start_load: slot s fetches the chunk at off (fs->lock held). */
static int start_load(struct azfs *fs, struct handle *h, struct ra_slot *s,
		      const char *name, uint64_t gen, uint64_t off)
{
	struct load *l;

	if (!s->buf) {
		/* present from the start: the part of the chunk the blob fills */
		uint64_t fill = RA_CHUNK;

		if (h->size_hint != UINT64_MAX)
			fill = h->size_hint > off ? h->size_hint - off : 0;
		s->buf = buf_big_alloc(RA_CHUNK, fill < RA_CHUNK ? (size_t)fill : RA_CHUNK);
		if (!s->buf)
			return -ENOMEM;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->name = strdup(name))) {
		free(l);
		return -ENOMEM;
	}
	l->fs = fs;
	l->h = h;
	l->s = s;
	l->off = off;
	s->off = off;
	s->gen = gen;
	s->len = 0;
	s->state = SLOT_LOADING;
	if (pool_detach(load_thread, l) < 0) {
		s->state = SLOT_EMPTY;
		free(l->name);
		free(l);
		return -EAGAIN;
	}
	return 0;
}

/* find: the slot holding (or fetching) the chunk at chunk_off. */
static struct ra_slot *find(struct readahead *ra, uint64_t chunk_off,
			    uint64_t gen)
{
	int i;

	for (i = 0; i < RA_SLOTS; i++) {
		struct ra_slot *s = &ra->slot[i];

		if (s->state != SLOT_EMPTY && s->off == chunk_off && s->gen == gen)
			return s;
	}
	return NULL;
}

/*
 * schedule: makes the RA_SLOTS chunks from first on be fetched, reusing
 * slots that hold chunks behind first or of an older version (fs->lock
 * held).
 */
static void schedule(struct azfs *fs, struct handle *h, const char *name,
		     uint64_t gen, uint64_t first)
{
	struct readahead *ra = &h->ra;
	uint64_t off;
	int k, i;

	for (k = 0; k < RA_SLOTS; k++) {
		off = first + (uint64_t)k * RA_CHUNK;
		if (h->size_hint != UINT64_MAX && off >= h->size_hint && k > 0)
			break;
		if (find(ra, off, gen))
			continue;
		for (i = 0; i < RA_SLOTS; i++) {
			struct ra_slot *s = &ra->slot[i];

			if (s->state == SLOT_LOADING)
				continue;
			if (s->state == SLOT_EMPTY || s->gen != gen || s->off < first ||
			    s->off >= first + (uint64_t)RA_SLOTS * RA_CHUNK)
				break;
		}
		if (i == RA_SLOTS || start_load(fs, h, &ra->slot[i], name, gen, off) < 0)
			break;
	}
}

int azfs_read_remote(struct azfs *fs, struct handle *h, const char *name,
		     uint64_t gen, char *buf, size_t size, uint64_t off,
		     size_t *out)
{
	struct readahead *ra = &h->ra;
	size_t done = 0;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (!(off == 0 || (off + RA_SLACK >= ra->next_off && off <= ra->next_off + RA_SLACK)) &&
	    !find(ra, off / RA_CHUNK * RA_CHUNK, gen)) {
		/* a random read: exactly what is asked, no read-ahead */
		struct blob_error e;

		ra->next_off = off + size;
		pthread_mutex_unlock(&fs->lock);
		if (blob_read(&fs->blob, name, off, size, buf, out, NULL, &e) < 0)
			return -azfs_errno(&e);
		return 0;
	}
	while (done < size) {
		uint64_t pos = off + done, chunk = pos / RA_CHUNK * RA_CHUNK;
		struct ra_slot *s;
		size_t n;

		schedule(fs, h, name, gen, chunk);
		s = find(ra, chunk, gen);
		if (!s) {
			rc = -EAGAIN;
			break;
		}
		while (s->state == SLOT_LOADING)
			pthread_cond_wait(&ra->cond, &fs->lock);
		if (s->state == SLOT_FAILED || s->off != chunk || s->gen != gen) {
			rc = s->state == SLOT_FAILED ? s->err : -EAGAIN;
			s->state = SLOT_EMPTY;
			break;
		}
		if (pos >= chunk + s->len)
			break; /* end of the blob */
		n = (size_t)(chunk + s->len - pos);
		if (n > size - done)
			n = size - done;
		memcpy(buf + done, s->buf + (pos - chunk), n);
		done += n;
		if (s->len < RA_CHUNK)
			break; /* a short chunk is the last one */
	}
	ra->next_off = off + done;
	/* keep the pipeline full ahead of the reader */
	if (rc == 0)
		schedule(fs, h, name, gen, (off + done) / RA_CHUNK * RA_CHUNK);
	pthread_mutex_unlock(&fs->lock);
	if (rc == -EAGAIN) {
		/* no slot could be had: ask for the bytes directly */
		struct blob_error e;
		size_t got = 0;

		if (blob_read(&fs->blob, name, off + done, size - done, buf + done,
			      &got, NULL, &e) < 0)
			return -azfs_errno(&e);
		done += got;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	*out = done;
	return 0;
}
