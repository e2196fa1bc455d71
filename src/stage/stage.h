/*
 * stage.h -- the staging room: open files, their staging files, and
 * getting them to the server.
 *
 * Layer: a room of the filesystem (uses core, blob). One node per path
 * shared by all its open handles, with a private staging file under
 * cache_dir that holds written data until it is uploaded: Put Blob when
 * small; when large, blocks go up in the background while the file is
 * written (each block's state: BLOCK_* in blocks.c) and Put Block List
 * commits them. An append to a large blob stages only the new tail
 * (tail mode). Knows nothing of FUSE.
 *
 * Lock: stage.lock guards the node table and every field of every
 * struct node marked (L). It is a leaf: no request is made and no other
 * room is called while it is held (the uploaded hook runs without it).
 * A node's staging file is read and written without the lock, between
 * stage_begin()/stage_end(), which order the phases (enum stage_phase:
 * read, write, upload, exclusive) with a condition variable rather than
 * a held lock, so no HTTP ever happens under it.
 */
#ifndef AZB_STAGE_STAGE_H
#define AZB_STAGE_STAGE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/core.h"
#include "util/buf.h"

struct node {
	struct node *next;     /* (L) hash chain */
	char *path;            /* (L) FUSE path, the key */
	char *name;            /* (L) blob name */
	int refs;              /* (L) open handles */
	int fd;                /* staging file, -1 until needed */
	char *stage_path;
	int loaded;            /* (L) staging holds the whole content */
	int dirty;             /* (L) staging differs from the blob */
	int is_new;            /* (L) not yet on the server */
	int no_clobber;        /* (L) created without O_TRUNC: the first upload
				* asks If-None-Match: *, so a blob another
				* client made meanwhile is never replaced */
	uint64_t size;         /* (L) size while loaded */
	char etag[BLOB_ETAG_MAX]; /* (L) of the blob the staging came from */
	struct blob_meta *meta;   /* (L) metadata to keep on upload */
	size_t n_meta;
	struct timespec mtime; /* (L) explicit mtime for the next upload */
	int mtime_set;
	int shared;            /* (L) read/write phases in progress */
	int writers;           /* (L) ... of them writes */
	int upload;            /* (L) an upload phase is in progress */
	int excl;              /* (L) an exclusive phase is in progress */
	pthread_cond_t cond;   /* signalled when shared/excl drop */
	/* copy_file_range: a whole-file copy answered, for later calls */
	uint64_t copied_size;  /* (L) */
	int unlinked;          /* (L) removed: never upload again */
	uint64_t gen;          /* (L) bumped whenever the blob's content changes */
	/* blocks uploaded while the file is still being written (L) */
	unsigned char *bstate; /* per block: BLOCK_* */
	size_t n_bstate;
	int inflight;          /* background Put Blocks running */
	uint64_t epoch;        /* bumped when staged blocks become useless */
	char salt[17];         /* block id prefix of this epoch */
	/* tail mode: bytes [0, base) are only on the server, the staging
	 * file holds [base, size) -- appends without downloading (L) */
	int tail;
	uint64_t base;
	/* a background upload (queue.c, upload=async) (L) */
	int queued;            /* in the queue (which holds a reference) */
	int uploading;         /* a worker is at it */
	int stuck;             /* failed for good: no more tries */
	unsigned tries;        /* failed tries so far */
	double due;            /* monotonic seconds of the next try */
	char last_error[96];   /* of the last failed try, "" */
	int journal_fd;        /* the journal entry, flock'd; -1: none */
	char *journal_path;
};

struct stage {
	struct blob_client *blob;  /* not owned */
	const struct core_opts *o; /* not owned */
	/* after an upload of path (blob name): what a lookup would now
	 * find (a, ETag in a->etag) and the whole metadata sent (m, nm),
	 * or a NULL when the upload failed and what was known is stale */
	void (*uploaded)(void *arg, const char *path, const char *name,
			 const struct attr *a, const struct blob_meta *m, size_t nm);
	void *uploaded_arg;
	pthread_mutex_t lock;
	struct node **nodes;
	size_t buckets;
	int threads;           /* background uploads still running */
	pthread_cond_t idle;   /* signalled when threads drops to 0 */
	/* the upload queue (queue.c) */
	int queue_on;          /* upload=async: workers run */
	struct node **queue;
	size_t nq, capq;
	pthread_t *workers;
	int n_workers;
	int stopping;
	pthread_cond_t work;   /* a node is due, or the workers stop */
};

/* stage_init: an empty room; 0, or -1 out of memory. stage_release frees
 * every node (keeping the staging files of unsaved data, logged). */
int stage_init(struct stage *sg, struct blob_client *blob,
	       const struct core_opts *o);
void stage_release(struct stage *sg);

/* ---- node.c: the node table ---- */
/* stage_get: finds or creates the node of path, refs+1. NULL on ENOMEM. */
struct node *stage_get(struct stage *sg, const char *path, const char *name);
/* stage_find: the node of path with refs+1, or NULL. */
struct node *stage_find(struct stage *sg, const char *path);
/* stage_ref: refs+1 of a node the caller holds. */
void stage_ref(struct stage *sg, struct node *n);
/* stage_put: refs-1; frees the node (and its staging file) at 0 unless
 * it holds data the server does not have. */
void stage_put(struct stage *sg, struct node *n);
/* stage_unlinked: path of n was removed: n never uploads again and leaves
 * the table (its handles keep it). *was_new: it was never uploaded. */
void stage_unlinked(struct stage *sg, struct node *n, int *was_new);
/*
 * The phases of work on a staging file. Reads go with anything but an
 * exclusive phase; writes with reads and writes; an upload (which reads
 * the file while it sends it) with reads only, so a file being uploaded
 * stays readable; an exclusive phase (load, truncate, a tail made whole)
 * with nothing.
 */
enum stage_phase { STAGE_READ, STAGE_WRITE, STAGE_UPLOAD, STAGE_EXCL };
/* stage_begin/stage_end: enter/leave a phase of kind p (waits). */
void stage_begin(struct stage *sg, struct node *n, enum stage_phase p);
void stage_end(struct stage *sg, struct node *n, enum stage_phase p);
/* stage_rename: re-keys the node of from (if any) to to/name, whose
 * blob is now version etag (NULL or "": not known, the next upload
 * overwrites it unconditionally). */
void stage_rename(struct stage *sg, const char *from, const char *to,
		  const char *name, const char *etag);
/* stage_open_under: the paths (malloc'd array of malloc'd strings, *n of
 * them) of the nodes below directory dir ("" for the root); only_new:
 * only files made here and not yet uploaded. 0 or -ENOMEM. */
int stage_open_under(struct stage *sg, const char *dir, int only_new,
		     char ***paths, size_t *n);
/* stage_size: 1 and the staged size when path has one, else 0. */
int stage_size(struct stage *sg, const char *path, uint64_t *size);
/* stage_attr: 1 and the attributes of path's staged file (size, and
 * mode, owner and times of the metadata it goes up with), else 0. */
int stage_attr(struct stage *sg, const char *path, struct attr *a);
/* stage_keep: n's path is about to be removed while other handles have
 * it open: its content is loaded into the staging file so that they go
 * on reading it. 0 or -errno. */
int stage_keep(struct stage *sg, struct node *n);
/* stage_hide: n's blob was removed while handles have it open: it never
 * uploads again and stays in the table under the path hidden, for them,
 * until the last one closes. */
void stage_hide(struct stage *sg, struct node *n, const char *hidden);
/* stage_unsaved: path has data or metadata the server does not have. */
int stage_unsaved(struct stage *sg, const char *path);
/* stage_pending: how many files have data the server does not have. */
size_t stage_pending(struct stage *sg);
/* stage_uploads_text: one line per background upload not yet ended
 * ("path<TAB>bytes<TAB>tries<TAB>last_error") into out. 0 or -1. */
int stage_uploads_text(struct stage *sg, struct buf *out);
/* stage_path_of: a malloc'd copy of n's path, NULL once removed (or out
 * of memory). stage_node_size: 1 and n's staged size, else 0. */
char *stage_path_of(struct stage *sg, struct node *n);
int stage_node_size(struct stage *sg, struct node *n, uint64_t *size);
/* stage_invalidate: a clean node of path forgets its staged copy (the
 * blob changed on the server through another operation). */
void stage_invalidate(struct stage *sg, const char *path);
/* stage_created: n is a new file not on the server yet (the first
 * flush uploads it, with a copy of metadata m; If-None-Match: * when
 * no_clobber). 0 or -ENOMEM. */
int stage_created(struct stage *sg, struct node *n, int no_clobber,
		  const struct blob_meta *m, size_t nm);
/* stage_made: n was just made on the server, empty, as version etag,
 * with metadata m (copied). 0 or -ENOMEM. */
int stage_made(struct stage *sg, struct node *n, const char *etag,
	       const struct blob_meta *m, size_t nm);
/* stage_state: n's content version (bumped at every change) and whether
 * it holds data the server does not have. */
uint64_t stage_state(struct stage *sg, struct node *n, int *changed);
/* stage_content_changed: the blob's content changed behind n (a copy
 * ended): what was read ahead of its old content is stale. */
void stage_content_changed(struct stage *sg, struct node *n);
/* stage_set_mtime: n, not uploaded yet, takes mtime with its upload:
 * 1; 0 when n is clean (the caller sets it on the server). */
int stage_set_mtime(struct stage *sg, struct node *n,
		    const struct timespec *mtime);
/*
 * stage_copy_target: whether n may receive a whole-file server copy:
 * 1 when n's staged content is empty or unknown (*known: it is staged),
 * 0 when it holds data. stage_copy_done: a copy of size bytes filled
 * n's blob on the server. stage_copied: that size (0: none).
 */
int stage_copy_target(struct stage *sg, struct node *n, int *known);
void stage_copy_done(struct stage *sg, struct node *n, uint64_t size);
uint64_t stage_copied(struct stage *sg, struct node *n);
/*
 * stage_meta_set: for a node whose data is not yet uploaded, sets (value)
 * or removes (NULL) metadata key in memory; it goes up with the data.
 * Returns 0 or -errno when handled, STAGE_CLEAN when the node is clean
 * (the caller then updates the blob itself).
 */
enum { STAGE_CLEAN = 1 };
int stage_meta_set(struct stage *sg, struct node *n, const char *key,
		   const char *value, int xflags);
/* stage_meta_get: a copy of an unsaved node's metadata; STAGE_CLEAN
 * when it is clean. */
int stage_meta_get(struct stage *sg, struct node *n, struct blob_meta **out,
		   size_t *count);

/* ---- load.c: the staging file ---- */
/*
 * stage_load: makes the staging file hold the blob's content (truncated
 * to empty when trunc). Caller is in an exclusive phase. 0 or -errno.
 */
int stage_load(struct stage *sg, struct node *n, int trunc);
/*
 * stage_prepare_write: makes n writable at off (-1 = append): an append
 * to a large blob stages only the new tail, anything else loads the
 * blob. Caller is in an exclusive phase. 0 or -errno.
 */
int stage_prepare_write(struct stage *sg, struct node *n, int64_t off);
/*
 * stage_read: size bytes at off of n when it is staged (tail mode reads
 * the server's part remotely): bytes read or -errno, *remote 0. When n
 * is not staged: 0 with *remote 1 and the content version in *gen, to
 * read from the server. Takes a shared phase itself.
 */
ssize_t stage_read(struct stage *sg, struct node *n, char *buf, size_t size,
		   uint64_t off, int *remote, uint64_t *gen);
/* stage_write: writes size bytes at off (append: at the end) into n's
 * staging file, loading what it needs first. Bytes written or -errno. */
ssize_t stage_write(struct stage *sg, struct node *n, const char *buf,
		    size_t size, uint64_t off, int append);
/* stage_truncate: n's content becomes size bytes. 0 or -errno. */
int stage_truncate(struct stage *sg, struct node *n, uint64_t size);

/* ---- upload.c ---- */
/*
 * stage_flush: uploads the staging file if it differs from the blob.
 * Caller must NOT be in a phase; it enters an exclusive one. 0 or -errno
 * (the data stays staged).
 */
int stage_flush(struct stage *sg, struct node *n);
/* stage_flush_close: stage_flush at a close, except that a new, still
 * empty file created with O_TRUNC is left to the next close or the
 * release (see upload.c). */
int stage_flush_close(struct stage *sg, struct node *n);
/* stage_flush_all: uploads every node with unsaved data (unmount). */
int stage_flush_all(struct stage *sg);

/* ---- queue.c: background uploads (upload=async) ---- */
/*
 * stage_queue_start: the upload workers (o->parallel of them); what an
 * earlier mount of this account and container left journaled in
 * cache_dir is queued first. 0 or -errno.
 */
int stage_queue_start(struct stage *sg);
/* stage_queue_stop: the workers end; every queued upload gets one more
 * try; what cannot go up stays journaled for the next mount. */
void stage_queue_stop(struct stage *sg);
/*
 * stage_close_async: a close with upload=async: n's staged data is made
 * durable in cache_dir (fsync, journal) and queued for upload. 0 or
 * -errno (when it could not be staged, it was uploaded now instead).
 */
int stage_close_async(struct stage *sg, struct node *n);
/* stage_journal_drop: n's journal entry goes (uploaded, or removed) */
void stage_journal_drop(struct node *n);

/* ---- blocks.c ---- */
/*
 * stage_wrote: after a write of [off, off+len): marks uploaded blocks it
 * touched as dirty and starts background Put Block of completed blocks
 * (at most parallel at a time). Caller holds no lock.
 */
void stage_wrote(struct stage *sg, struct node *n, uint64_t off, size_t len);

/* ---- inside the room ---- */
/* block states (blocks.c) */
enum { BLOCK_NONE = 0, BLOCK_UPLOADING, BLOCK_DONE, BLOCK_DIRTY, BLOCK_REDO };
/* (stage.lock held) forget streamed blocks; a new block id salt */
void stage_blocks_reset(struct node *n);
void stage_new_salt(struct node *n);
/* wait for background Put Blocks of n (stage.lock held) */
void stage_blocks_wait(struct stage *sg, struct node *n);
int stage_open_file(struct stage *sg, struct node *n);
int stage_materialize(struct stage *sg, struct node *n);

#endif
