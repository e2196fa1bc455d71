/*
 * ra.h -- the read-ahead room: bytes fetched before a reader asks for
 * them, within a file (streams of ranged Get Blob into rings, stream.c)
 * and across the small files of a directory read one after the other
 * (prefetch.c).
 *
 * Layer: a room of the filesystem (uses core, blob). Knows nothing of
 * FUSE or of staged data: fs/ asks it only for blobs that are not staged.
 *
 * Lock: ra.lock guards every struct ra_file and the prefetch state. It is
 * a leaf: no request is made while it is held (a GET copies into ring
 * space no reader can see without it, see stream.c), and no other room
 * is called under it. Every function takes it itself.
 */
#ifndef AZB_RA_RA_H
#define AZB_RA_RA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/*
 * Read-ahead per sequential handle: up to RA_STREAMS ranged GETs in
 * flight, each flowing into a ring of RA_RING bytes that the reader
 * drains while the bytes arrive. Memory: RA_STREAMS x RA_RING. Spans come
 * in two shapes: few (RA_FEW_STREAMS GETs of RA_SPAN bytes: few requests,
 * but a GET ahead of the reader waits once its ring is full) and wide
 * (RA_STREAMS GETs of RA_RING bytes, which never wait: all move bytes at
 * once, which a service whose connections each carry only so much
 * rewards). A file's first RA_SPAN bytes are read in the few shape, the
 * next RA_SPAN in the wide one, and the rest in the one the reader got
 * its bytes faster with. A build may set other sizes (-DRA_SPAN=...).
 */
#ifndef RA_STREAMS
#define RA_STREAMS 4
#endif
#ifndef RA_FEW_STREAMS
#define RA_FEW_STREAMS 2
#endif
#ifndef RA_RING
#define RA_RING (8u << 20)
#endif
#ifndef RA_SPAN
#define RA_SPAN (64u << 20)
#endif

/* prefetch: files up to RA_PF_MAX bytes are fetched RA_PF_AHEAD at a
 * time ahead of a reader going through a directory; RA_PF_SLOTS
 * buffers. */
#define RA_PF_MAX (64u << 10)
#define RA_PF_AHEAD 8
#define RA_PF_SLOTS 16

/*
 * One stream: a GET of bytes [start, end) of blob version gen. Byte p is
 * at ring[p % RA_RING] while lo <= p < hi; hi is where the arrived bytes
 * end. lo > hi asks the GET to drop bytes up to lo (the reader skipped
 * them).
 */
struct ra_stream {
	char *ring;            /* RA_RING bytes, allocated on first use */
	uint64_t start, end;
	uint64_t lo, hi;
	uint64_t gen;
	int state;             /* idle, running, done, failed (stream.c);
				* done with hi < end: the blob ends at hi */
	int cancel;            /* the reader wants the GET stopped */
	int err;               /* -errno of a failed GET */
	uint64_t wake_at;      /* a reader waits for hi to reach this */
};

/* A read in progress on a sequential handle: the ring bytes from pos on
 * must stay until it is done (stream.c). On the reader's stack. */
struct ra_reader {
	uint64_t pos;
	struct ra_reader *next;
};

/* Read-ahead state of one open handle (guarded by ra.lock). */
struct ra_file {
	uint64_t size_hint;    /* the blob's size at open (UINT64_MAX:
				* unknown); set by the opener */
	struct ra_stream st[RA_STREAMS];
	struct ra_reader *readers; /* reads in progress: the kernel sends
				    * several at once, a little out of order */
	uint64_t next_off;     /* where the last read ended */
	uint64_t front;        /* the furthest any read has got */
	size_t max_read;       /* the largest read seen (at most a ring's
				* eighth): sets how much is kept behind */
	uint64_t late;         /* how far behind the furthest read a read
				* has come whose bytes were gone (at most
				* RA_LATE_MAX): kept behind from then on */
	pthread_cond_t cond;   /* bytes arrived, or a GET ended */
	pthread_cond_t room;   /* ring space freed, or a GET cancelled */
	int fill_waits;        /* GETs waiting on room */
	/* the shape of the spans past the probe (stream.c), 0 until
	 * chosen, and where and when (ra.now) the reads ended that time
	 * the two shapes: the first read, the first one into the wide
	 * probe, the first one past the probe's first span (t 0: none) */
	int shape;
	uint64_t pos_first, pos_mid, pos_probe;
	double t_first, t_mid, t_probe;
};

/* A small file of the kept listing. */
struct ra_pf_ent {
	char *name;
	uint64_t size;
	char etag[BLOB_ETAG_MAX];
};

/* One prefetched (or being fetched) file. */
struct ra_pf_slot {
	char *path;            /* FUSE path; NULL when free */
	char *data;            /* its bytes (size from the listing) */
	size_t len;
	char etag[BLOB_ETAG_MAX];
	size_t idx;            /* position in the kept listing */
	int state;             /* free, loading, ready, failed */
	double born;           /* monotonic seconds it arrived */
};

/* Prefetch state (guarded by ra.lock). */
struct ra_prefetch {
	char *dir;             /* directory of the kept listing */
	struct ra_pf_ent *ents; /* its small files, sorted by name */
	size_t n;
	double expires;
	size_t last;           /* entry opened last (SIZE_MAX: none) */
	int run;               /* opens in listing order in a row */
	int copying;           /* files go by copy_file_range: opens are
				* no reader's (atomic) */
	int loading;           /* loads in flight */
	struct ra_pf_slot slot[RA_PF_SLOTS];
	pthread_cond_t cond;   /* signalled when a load ends */
};

struct ra {
	struct blob_client *blob;  /* not owned */
	const struct core_opts *o; /* not owned */
	double (*now)(void);       /* the clock the shapes are timed by
				    * (core_mono; a test may set another) */
	pthread_mutex_t lock;
	struct ra_prefetch pf;
	uint64_t hits;             /* opens served by a prefetch */
};

/* ra_init: an idle room. ra_release: waits for prefetches in flight and
 * frees everything. */
void ra_init(struct ra *room, struct blob_client *blob,
	     const struct core_opts *o);
void ra_release(struct ra *room);

/*
 * ra_copying: files are being copied on the server (copy_file_range):
 * opens in listing order are cp's, not a reader's, and fetch nothing
 * ahead until ra_reading. Both are cheap enough for every call.
 */
void ra_copying(struct ra *room);
void ra_reading(struct ra *room);
/* ra_hits: opens a prefetch served so far. */
uint64_t ra_hits(struct ra *room);

/* ---- stream.c ---- */
/* ra_file_init: no read-ahead yet, size unknown. ra_file_release: stops
 * the handle's GETs, waits for them and frees the rings. */
void ra_file_init(struct ra_file *ra);
void ra_file_release(struct ra *room, struct ra_file *ra);
/*
 * ra_read: size bytes at off of blob name (version gen) into buf,
 * through ra's read-ahead window. *out = bytes read. 0 or -errno.
 */
int ra_read(struct ra *room, struct ra_file *ra, const char *name,
	    uint64_t gen, char *buf, size_t size, uint64_t off, size_t *out);

/* ---- prefetch.c ---- */
/* ra_listed: keeps the small files of directory dir's listing d (sorted,
 * each name once, n entries; copied) as the order a reader may follow. */
void ra_listed(struct ra *room, const char *dir, const struct dent *d,
	       size_t n);
/*
 * ra_open_small: an open for reading of path, whose cached attributes are
 * a. Starts prefetches when the opens follow the kept listing. Returns 1
 * and *data (malloc'd, the caller frees) / *len when the file's bytes
 * were prefetched and still match a (waits for a load in flight), else 0.
 */
int ra_open_small(struct ra *room, const char *path, const struct attr *a,
		  char **data, size_t *len);

#endif
