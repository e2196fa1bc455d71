/*
 * read.c -- reads of blobs that are not staged: ranged Get Blob, streamed
 * ahead of sequential readers.
 *
 * A handle that reads sequentially (each read starts near where the last
 * one ended) keeps GETs in flight for the span the reader is in and the
 * spans after it. A GET's bytes flow into its stream's ring of RA_RING
 * bytes as they arrive; a reader is woken once all it asked for is there
 * (one wake-up per read, not one per piece the network brings), and the
 * GET waits (the server's TCP window closes) while its ring is full.
 * Memory stays at RA_STREAMS x RA_RING. Once the reader is a lag past a
 * span, the stream of that span starts on a later one.
 *
 * Spans have one of two shapes (ra.h). Few: RA_FEW_STREAMS GETs of
 * RA_SPAN bytes, few requests, which a server's per-request cost rewards;
 * but only the GET the reader is in moves bytes, the ones ahead wait with
 * full rings. Wide: RA_STREAMS GETs of RA_RING bytes, none of which ever
 * waits, so all move bytes at once, which a service whose connections
 * each carry only so much (any distant one) rewards. Which one is faster
 * depends on the server and the network, so a file read from its start
 * tries both: its first RA_SPAN bytes come in the few shape (the reader
 * gets them at one GET's rate), the next RA_SPAN in the wide one, timed
 * from the second wide span on (the first was fetched ahead), and the
 * rest in the wide shape only if that brought the bytes at least
 * WIDE_GAIN times as fast.
 *
 * The kernel sends several reads at once, a little out of order: each
 * read in progress is listed in the handle (ra.readers), and a stream
 * drops bytes behind the reader only once no listed read needs them and
 * they are further back than a few of the largest reads seen.
 *
 * A GET cut after some bytes (a dropped connection) starts again where the
 * bytes stopped; one that fails before its first byte (after the HTTP
 * layer's retries) fails the read. Random reads, and bytes a stream no
 * longer holds, go straight to the server for exactly the bytes asked.
 *
 * Locks: every field of struct ra_file is guarded by ra.lock. A GET
 * copies into ring space no reader can see (at and beyond hi) without the
 * lock; only the reader moves lo, and only forward, so that space stays
 * the GET's. A stream's ring is reused only after its GET has returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ra/ra.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"

#define RA_SLACK (8u << 20) /* how far from the last end still counts as sequential */
#ifndef RA_LAG
#define RA_LAG (2u << 20)   /* bytes kept behind the reader, for reads that come out of order */
#endif
#define RA_LAG_READS 4      /* ... at least this many of its largest reads */
/* ... at most this much, however late reads come: with the most a read
 * waits for at once (RA_RING / 4), the lowest read's bytes fit in a ring */
#define RA_LATE_MAX (RA_RING / 4 * 3)
#define RA_ROOM (RA_RING / 8) /* room a waiting GET is woken for (let_fill) */
#ifndef WIDE_GAIN
#define WIDE_GAIN 1.5       /* how much faster the wide shape must be */
#endif
#define PROBE_AT ((uint64_t)RA_SPAN)           /* the wide probe's spans: */
#define PROBE_END (2 * (uint64_t)RA_SPAN)      /* [PROBE_AT, PROBE_END) */
#define PROBE_FROM (PROBE_AT + (uint64_t)RA_RING) /* timed from here */

#if RA_SPAN % RA_RING != 0 || RA_FEW_STREAMS > RA_STREAMS
#error "RA_SPAN must be a multiple of RA_RING, RA_FEW_STREAMS at most RA_STREAMS"
#endif

enum { SHAPE_FEW = 1, SHAPE_WIDE };

enum { ST_IDLE = 0, ST_RUNNING, ST_DONE, ST_FAILED };

void ra_file_init(struct ra_file *ra)
{
	memset(ra, 0, sizeof(*ra));
	ra->size_hint = UINT64_MAX;
	pthread_cond_init(&ra->cond, NULL);
	pthread_cond_init(&ra->room, NULL);
}

/* running: how many GETs of ra are still out (ra.lock held). */
static int running(const struct ra_file *ra)
{
	int i, n = 0;

	for (i = 0; i < RA_STREAMS; i++)
		n += ra->st[i].state == ST_RUNNING;
	return n;
}

void ra_file_release(struct ra *room, struct ra_file *ra)
{
	int i;

	pthread_mutex_lock(&room->lock);
	for (i = 0; i < RA_STREAMS; i++)
		ra->st[i].cancel = 1;
	pthread_cond_broadcast(&ra->room);
	while (running(ra))
		pthread_cond_wait(&ra->cond, &room->lock);
	pthread_mutex_unlock(&room->lock);
	for (i = 0; i < RA_STREAMS; i++)
		buf_big_free(ra->st[i].ring, RA_RING);
	pthread_cond_destroy(&ra->cond);
	pthread_cond_destroy(&ra->room);
	memset(ra, 0, sizeof(*ra));
}

struct load {
	struct ra *room;
	struct ra_file *ra;
	struct ra_stream *s;
	char *name;
};

/* ring_put / ring_get: n bytes at blob offset p into / out of the ring. */
static void ring_put(char *ring, uint64_t p, const char *src, size_t n)
{
	size_t at = (size_t)(p % RA_RING), first = RA_RING - at < n ? RA_RING - at : n;

	memcpy(ring + at, src, first);
	memcpy(ring, src + first, n - first);
}

static void ring_get(const char *ring, uint64_t p, char *dst, size_t n)
{
	size_t at = (size_t)(p % RA_RING), first = RA_RING - at < n ? RA_RING - at : n;

	memcpy(dst, ring + at, first);
	memcpy(dst + first, ring, n - first);
}

/* sink: the GET's next bytes into the ring, waiting for room. Returns
 * less than len (ending the GET) once the stream is cancelled. */
static size_t sink(void *arg, const void *data, size_t len)
{
	struct load *l = arg;
	struct ra_stream *s = l->s;
	struct ra_file *ra = l->ra;
	const char *p = data;
	size_t left = len;
	int wake = 0;

	pthread_mutex_lock(&l->room->lock);
	while (left > 0 && !s->cancel) {
		uint64_t hi = s->hi, room;
		size_t n;

		if (hi < s->lo) {
			/* the reader went past these bytes: drop them */
			n = s->lo - hi < left ? (size_t)(s->lo - hi) : left;
			s->hi += n;
			p += n;
			left -= n;
			continue;
		}
		room = RA_RING - (hi - s->lo);
		if (room == 0) {
			ra->fill_waits++;
			pthread_cond_wait(&ra->room, &l->room->lock);
			ra->fill_waits--;
			continue;
		}
		n = room < left ? (size_t)room : left;
		pthread_mutex_unlock(&l->room->lock);
		ring_put(s->ring, hi, p, n);
		pthread_mutex_lock(&l->room->lock);
		s->hi += n;
		p += n;
		left -= n;
		if (s->hi >= s->wake_at) {
			s->wake_at = UINT64_MAX;
			wake = 1;
		}
	}
	pthread_mutex_unlock(&l->room->lock);
	/* after the unlock: a reader woken under the lock would wait for it
	 * at once (ra->cond lives until this GET has returned) */
	if (wake)
		pthread_cond_broadcast(&ra->cond);
	return len - left;
}

static void *load_thread(void *arg)
{
	struct load *l = arg;
	struct ra_stream *s = l->s;
	struct blob_error e;
	uint64_t got = 0, from = s->start;
	int rc;

	/* start and end stay put while the stream runs */
	rc = blob_read_stream(l->room->blob, l->name, from, s->end - from, NULL,
			      sink, l, &got, &e);
	pthread_mutex_lock(&l->room->lock);
	if (s->cancel) {
		s->state = ST_IDLE;
	} else if (rc < 0) {
		s->state = ST_FAILED;
		s->err = -core_errno(&e);
	} else {
		s->state = ST_DONE;
	}
	pthread_cond_broadcast(&l->ra->cond);
	pthread_mutex_unlock(&l->room->lock);
	if (rc < 0 && e.kind != BLOB_E_CANCELLED)
		log_debug("read-ahead of %s at %llu cut after %llu bytes: %s",
			  l->name, (unsigned long long)from,
			  (unsigned long long)got, strerror(core_errno(&e)));
	free(l->name);
	free(l);
	return NULL;
}

/* start: stream s fetches bytes [from, end) of version gen (ra.lock
 * held, s not running). */
static int start(struct ra *room, struct ra_file *ra, struct ra_stream *s,
		 const char *name, uint64_t gen, uint64_t from, uint64_t end)
{
	struct load *l;

	if (!s->ring) {
		/* present from the start: the part of the ring the blob fills */
		uint64_t fill = RA_RING;

		if (ra->size_hint != UINT64_MAX)
			fill = ra->size_hint > from ? ra->size_hint - from : 0;
		s->ring = buf_big_alloc(RA_RING, fill < RA_RING ? (size_t)fill : RA_RING);
		if (!s->ring)
			return -ENOMEM;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->name = strdup(name))) {
		free(l);
		return -ENOMEM;
	}
	l->room = room;
	l->ra = ra;
	l->s = s;
	s->start = s->lo = s->hi = from;
	s->end = end;
	s->gen = gen;
	s->cancel = 0;
	s->err = 0;
	s->wake_at = UINT64_MAX;
	s->state = ST_RUNNING;
	log_debug("read-ahead of %s: bytes %llu-%llu", name,
		  (unsigned long long)from, (unsigned long long)(end - 1));
	if (pool_detach(load_thread, l) < 0) {
		s->state = ST_IDLE;
		free(l->name);
		free(l);
		return -EAGAIN;
	}
	return 0;
}

/*
 * lag: how far behind the reader bytes are kept (ra.lock held): RA_LAG,
 * RA_LAG_READS of the largest reads seen, or as far behind as a read has
 * come too late (ra->late). The kernel sends reads of up to its read-ahead
 * window several at a time, and one that is a few reads behind may reach
 * us last; with a large window (read_ahead_kb of some MiB) it may come
 * megabytes behind the others.
 */
static uint64_t lag(const struct ra_file *ra)
{
	uint64_t n = (uint64_t)RA_LAG_READS * ra->max_read;

	if (n < ra->late)
		n = ra->late;
	return n < RA_LAG ? RA_LAG : n;
}

/* too_late: a read at pos found its bytes dropped from s; later ones that
 * far behind keep theirs (ra.lock held). */
static void too_late(struct ra_file *ra, const char *name, uint64_t pos)
{
	uint64_t behind = ra->front > pos ? ra->front - pos : 0;

	if (behind > RA_LATE_MAX)
		behind = RA_LATE_MAX;
	if (behind <= ra->late)
		return;
	ra->late = behind;
	log_debug("read-ahead of %s: a read came %llu bytes behind the furthest; keeping %llu behind",
		  name, (unsigned long long)(ra->front - pos),
		  (unsigned long long)lag(ra));
}

/* let_fill: wakes a GET waiting for room in s once there is RA_ROOM of
 * it, not for every read that ends (each a wake-up for a few KiB), or as
 * soon as there is any while a reader waits for its bytes (ra.lock
 * held). */
static void let_fill(struct ra_file *ra, const struct ra_stream *s)
{
	if (ra->fill_waits && s->hi < s->lo + RA_RING &&
	    (s->wake_at != UINT64_MAX || s->hi + RA_ROOM <= s->lo + RA_RING))
		pthread_cond_broadcast(&ra->room);
}

/* forget: s keeps only the lag before the furthest any read has got,
 * and whatever a read in progress still needs (ra.lock held). */
static void forget(struct ra_file *ra, struct ra_stream *s)
{
	const struct ra_reader *r;
	uint64_t back = lag(ra), keep;

	if (ra->front <= s->lo + back)
		return;
	keep = ra->front - back;
	for (r = ra->readers; r; r = r->next)
		if (r->pos < keep)
			keep = r->pos;
	if (keep <= s->lo)
		return;
	s->lo = keep;
	let_fill(ra, s);
}

/*
 * forget_all: a read got to pos, or one ended: every stream drops what no
 * read needs any more (ra.lock held). Every stream, not only the one the
 * read is in: the reads in progress (the kernel sends several at once)
 * may be in the next span while the last of the earlier one ends, and
 * until the earlier read ended the next span's ring had to keep its
 * bytes; a ring full of them would leave the later reads waiting for
 * bytes it has no room for.
 */
static void forget_all(struct ra_file *ra, uint64_t pos)
{
	int i;

	if (pos > ra->front)
		ra->front = pos;
	for (i = 0; i < RA_STREAMS; i++)
		if (ra->st[i].state != ST_IDLE)
			forget(ra, &ra->st[i]);
}

/* needed: a read in progress still wants bytes of s (ra.lock held). */
static int needed(const struct ra_file *ra, const struct ra_stream *s)
{
	const struct ra_reader *r;

	for (r = ra->readers; r; r = r->next)
		if (r->pos >= s->start && r->pos < s->end)
			return 1;
	return 0;
}

/* covering: the stream whose span holds pos of version gen. */
static struct ra_stream *covering(struct ra_file *ra, uint64_t pos,
				  uint64_t gen)
{
	int i;

	for (i = 0; i < RA_STREAMS; i++) {
		struct ra_stream *s = &ra->st[i];

		if (s->state != ST_IDLE && s->gen == gen && pos >= s->start &&
		    pos < s->end)
			return s;
	}
	return NULL;
}

/* progress: a sequential read of ra ended at end; notes what the shapes
 * are timed by (ra.lock held). */
static void progress(struct ra *room, struct ra_file *ra, uint64_t end)
{
	if (ra->t_first == 0) {
		ra->t_first = room->now();
		ra->pos_first = end;
		return;
	}
	if (ra->pos_first >= PROBE_AT)
		return; /* not read from the start: no probe */
	if (ra->t_mid == 0 && end >= PROBE_AT) {
		ra->t_mid = room->now();
		ra->pos_mid = end;
	}
	if (ra->t_probe == 0 && end >= PROBE_FROM) {
		ra->t_probe = room->now();
		ra->pos_probe = end;
	}
}

/* decide: the shape of the spans past the probe, for a reader at pos:
 * wide if the probe brought the bytes WIDE_GAIN times as fast as one GET
 * did before it (ra.lock held). */
static void decide(struct ra *room, struct ra_file *ra, const char *name,
		   uint64_t pos)
{
	double t = room->now(), few, wide;

	ra->shape = SHAPE_FEW;
	if (ra->t_probe == 0 || ra->t_mid <= ra->t_first || t <= ra->t_probe ||
	    pos < ra->pos_probe + RA_RING)
		return; /* not timed: a reader that did not come from the start */
	few = (double)(ra->pos_mid - ra->pos_first) / (ra->t_mid - ra->t_first);
	wide = (double)(pos - ra->pos_probe) / (t - ra->t_probe);
	if (wide >= WIDE_GAIN * few)
		ra->shape = SHAPE_WIDE;
	log_debug("read-ahead of %s: %.0f MiB/s with one GET at a time, %.0f with %d: %s spans from byte %llu on",
		  name, few / 1048576, wide / 1048576, RA_STREAMS,
		  ra->shape == SHAPE_WIDE ? "wide" : "few",
		  (unsigned long long)PROBE_END);
}

/* shape_of: the shape of the span holding byte p, for a reader at pos
 * (ra.lock held). */
static int shape_of(struct ra *room, struct ra_file *ra, const char *name,
		    uint64_t p, uint64_t pos)
{
	if (p < PROBE_AT)
		return SHAPE_FEW;
	if (p < PROBE_END)
		return SHAPE_WIDE;
	if (!ra->shape)
		decide(room, ra, name, pos);
	return ra->shape;
}

/*
 * schedule: makes streams run for the span holding pos (from pos on) and
 * the spans after it (as many as the shape at pos keeps in flight),
 * reusing streams that serve none of them. A GET still running far from
 * them is cancelled, and its stream taken on a later call (ra.lock held).
 */
static void schedule(struct ra *room, struct ra_file *ra, const char *name,
		     uint64_t gen, uint64_t pos)
{
	uint64_t from[RA_STREAMS], end[RA_STREAMS], window;
	int want, n, k, i;

	want = shape_of(room, ra, name, pos, pos) == SHAPE_WIDE ? RA_STREAMS : RA_FEW_STREAMS;
	for (n = 0; n < want; n++) {
		uint64_t p = n == 0 ? pos : end[n - 1], len;

		/* past the end known at open: a direct read finds out */
		if (ra->size_hint != UINT64_MAX && p >= ra->size_hint)
			break;
		len = shape_of(room, ra, name, p, pos) == SHAPE_WIDE ? RA_RING : RA_SPAN;
		from[n] = p;
		end[n] = p / len * len + len;
		if (ra->size_hint != UINT64_MAX && end[n] > ra->size_hint)
			end[n] = ra->size_hint;
	}
	window = n > 0 ? end[n - 1] : pos;
	for (k = 0; k < n; k++) {
		if (covering(ra, from[k], gen))
			continue;
		for (i = 0; i < RA_STREAMS; i++) {
			struct ra_stream *s = &ra->st[i];

			/* a finished span is kept for a lag behind the
			 * reader: a read of it may still be on its way */
			if (s->state != ST_RUNNING) {
				if (s->state == ST_IDLE || ((s->gen != gen ||
				    s->end + lag(ra) <= pos || s->start >= window) &&
				    !needed(ra, s)))
					break;
				continue;
			}
			/* a GET is stopped only when far from the reader:
			 * reads come a little out of order */
			if (s->gen == gen && s->end + RA_SLACK > pos &&
			    s->start < window + RA_SPAN)
				continue;
			if (!s->cancel) {
				s->cancel = 1;
				pthread_cond_broadcast(&ra->room);
			}
		}
		if (i == RA_STREAMS ||
		    start(room, ra, &ra->st[i], name, gen, from[k], end[k]) < 0)
			break;
	}
}

/*
 * drain: copies the bytes of [off + *done, off + size) out of the
 * streams as they arrive, keeping them running ahead (ra.lock held; the
 * wait lets it go). 0 with *done at the end of the read or of the blob;
 * -EAGAIN when no stream has the bytes (the caller reads them directly),
 * or a failed GET's -errno.
 */
static int drain(struct ra *room, struct ra_file *ra, struct ra_reader *me,
		 const char *name, uint64_t gen, char *buf, size_t size,
		 uint64_t off, size_t *done)
{
	struct ra_stream *s;
	int rc = 0;

	while (*done < size) {
		uint64_t pos = off + *done, want;
		size_t n;

		me->pos = pos;
		if (*done > 0 && ra->size_hint != UINT64_MAX && pos >= ra->size_hint)
			break; /* the end of the blob as the open saw it */

		schedule(room, ra, name, gen, pos);
		s = covering(ra, pos, gen);
		if (!s || pos < s->lo) {
			if (s)
				too_late(ra, name, pos);
			rc = -EAGAIN; /* no stream has these bytes */
			break;
		}
		/* what lies further back is not wanted any more */
		forget_all(ra, pos);
		/* wait for all of the read (or the end of the span) to be
		 * there, not for each piece the GET brings: one wake-up */
		want = pos + (size - *done < RA_RING / 4 ? size - *done : RA_RING / 4);
		if (want > s->end)
			want = s->end;
		while (s->hi < want && s->state == ST_RUNNING) {
			if (want < s->wake_at)
				s->wake_at = want;
			let_fill(ra, s);
			pthread_cond_wait(&ra->cond, &room->lock);
		}
		if (s->state == ST_IDLE || s->gen != gen || pos < s->lo) {
			rc = -EAGAIN; /* taken away meanwhile */
			break;
		}
		if (s->hi > pos) {
			n = s->hi - pos < size - *done ? (size_t)(s->hi - pos) : size - *done;
			ring_get(s->ring, pos, buf + *done, n);
			*done += n;
			continue;
		}
		if (s->state == ST_DONE)
			break; /* the end of the blob */
		/* failed: go on from here if the GET had moved on, else fail */
		if (s->hi == s->start) {
			rc = s->err;
			s->state = ST_IDLE;
			break;
		}
		log_debug("read-ahead of %s: the GET was cut, going on from byte %llu",
			  name, (unsigned long long)pos);
		if (start(room, ra, s, name, gen, pos, s->end) < 0) {
			rc = -EAGAIN;
			break;
		}
	}
	return rc;
}

/* read_direct: size bytes at off of name with one ranged Get Blob, no
 * read-ahead. 0 and *got, or -errno. */
static int read_direct(struct ra *room, const char *name, uint64_t off,
		       size_t size, char *buf, size_t *got)
{
	struct blob_error e;

	if (blob_read(room->blob, name, off, size, buf, got, NULL, &e) < 0)
		return -core_errno(&e);
	return 0;
}

int ra_read(struct ra *room, struct ra_file *ra, const char *name,
	    uint64_t gen, char *buf, size_t size, uint64_t off, size_t *out)
{
	struct ra_stream *s = NULL;
	struct ra_reader me = { .pos = off }, **pp;
	size_t done = 0, got = 0;
	int late, rc;

	pthread_mutex_lock(&room->lock);
	s = covering(ra, off, gen);
	if (s && off < s->lo)
		too_late(ra, name, off);
	late = off != 0 && off < ra->front && off + RA_RING >= ra->front &&
	       (!s || off < s->lo);
	if (late || (!s && !(off == 0 || (off + RA_SLACK >= ra->next_off &&
				       off <= ra->next_off + RA_SLACK)))) {
		/* a random read, or one that comes after the read-ahead
		 * dropped its bytes: exactly what is asked, no read-ahead
		 * (and a late one leaves the sequence where it is) */
		if (!late)
			ra->next_off = off + size;
		pthread_mutex_unlock(&room->lock);
		return read_direct(room, name, off, size, buf, out);
	}
	me.next = ra->readers;
	ra->readers = &me;
	if (size > ra->max_read)
		ra->max_read = size < RA_RING / (2 * RA_LAG_READS) ? size : RA_RING / (2 * RA_LAG_READS);
	rc = drain(room, ra, &me, name, gen, buf, size, off, &done);
	for (pp = &ra->readers; *pp != &me; pp = &(*pp)->next)
		;
	*pp = me.next;
	ra->next_off = off + done;
	if (rc == 0 && done > 0)
		progress(room, ra, off + done);
	/* whatever its outcome, this read no longer holds bytes back: a
	 * GET waiting for room may be waiting for just that */
	forget_all(ra, off + done);
	if (rc == 0) /* keep the streams running ahead of the reader */
		schedule(room, ra, name, gen, off + done);
	pthread_mutex_unlock(&room->lock);
	if (rc == -EAGAIN) {
		/* ask for the bytes directly */
		log_debug("read of %s: bytes %llu-%llu directly", name,
			  (unsigned long long)(off + done),
			  (unsigned long long)(off + size - 1));
		rc = read_direct(room, name, off + done, size - done,
				 buf + done, &got);
		done += got;
	}
	if (rc < 0)
		return rc;
	*out = done;
	return 0;
}
