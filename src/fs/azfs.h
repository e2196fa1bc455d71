/*
 * azfs.h -- internal to fs/: the filesystem context and what its files
 * share (path mapping, attribute cache, open-file nodes, errno mapping).
 *
 * Layer: fs. The only layer that knows FUSE and errno. One struct azfs is
 * owned by main.c and reached from every operation through
 * fuse_get_context()->private_data.
 *
 * Locks: azfs.lock guards the attribute cache, the node table and every
 * field of every struct node marked (L). A node's staging file is read and
 * written without the lock, between node_begin()/node_end(), which
 * serialise exclusive phases (upload, download, truncate) against shared
 * ones (read, write) with a condition variable rather than a held lock, so
 * no HTTP ever happens while a mutex is held. There is no other lock.
 */
#ifndef AZB_FS_AZFS_H
#define AZB_FS_AZFS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "blob/blob.h"
#include "http/http.h"

enum azfs_copy_mode { AZFS_COPY_SYNC, AZFS_COPY_ASYNC };

struct azfs_opts {
	char *prefix;          /* "" or "dir/sub/" (always ends with '/') */
	enum azfs_copy_mode copy_mode;
	char *copy_tier;       /* NULL or Hot/Cool/Cold/Archive */
	char *cache_dir;
	double attr_timeout;   /* seconds */
	size_t block_size;     /* bytes */
	int parallel;
	uid_t uid;
	gid_t gid;
	mode_t umask;
	int read_only;
	int direct_io;         /* -o direct_io: reads and writes bypass the
				* page cache */
	unsigned max_read;     /* -o max_read=, 0 when not given */
	int entry_timeout_given;    /* -o entry_timeout= (libfuse has it) */
	int negative_timeout_given; /* -o negative_timeout= (likewise) */
};

/* seconds a negative lookup is remembered (a listing never makes a name
 * absent) */
#define AZFS_ABSENT_TTL 1.0

enum attr_kind { ATTR_NONE = 0, ATTR_FILE, ATTR_DIR, ATTR_LINK };

/* What getattr needs to know of one path. */
struct attr {
	enum attr_kind kind;
	uint64_t size;
	struct timespec mtime;
	char etag[BLOB_ETAG_MAX];
	int copy_pending;      /* a copy into this blob is pending */
	int copy_broken;       /* the last copy into it failed or was aborted */
	int explicit_dir;      /* a marker blob (hdi_isfolder / "dir/") exists */
};

struct cache_entry;

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
};

/* One entry of a directory listing. */
struct dent {
	char *name;
	struct attr a;
};

/* prefetch.c: files up to PF_MAX bytes are fetched PF_AHEAD at a time
 * ahead of a reader going through a directory; PF_SLOTS buffers. */
#define PF_MAX (64u << 10)
#define PF_AHEAD 8
#define PF_SLOTS 16

/* A small file of the kept listing. */
struct pf_ent {
	char *name;
	uint64_t size;
	char etag[BLOB_ETAG_MAX];
};

/* One prefetched (or being fetched) file. */
struct pf_slot {
	char *path;            /* FUSE path; NULL when free */
	char *data;            /* its bytes (size from the listing) */
	size_t len;
	char etag[BLOB_ETAG_MAX];
	size_t idx;            /* position in the kept listing */
	int state;             /* free, loading, ready, failed */
	double born;           /* monotonic seconds it arrived */
};

/* Prefetch state; every field guarded by fs->lock. */
struct prefetch {
	char *dir;             /* directory of the kept listing */
	struct pf_ent *ents;   /* its small files, sorted by name */
	size_t n;
	double expires;
	size_t last;           /* entry opened last (SIZE_MAX: none) */
	int run;               /* opens in listing order in a row */
	int loading;           /* loads in flight */
	struct pf_slot slot[PF_SLOTS];
	pthread_cond_t cond;   /* signalled when a load ends */
};

/* A directory's first List Blobs page, kept from a lookup for readdir. */
struct page_stash {
	char *path;            /* NULL = free slot */
	struct blob_list_page pg;
	double expires;        /* monotonic seconds */
};

#define AZFS_STASH_SLOTS 4

struct azfs {
	struct blob_client blob;
	struct http_client http;
	struct auth auth;
	struct azfs_opts o;
	pthread_mutex_t lock;  /* see the comment at the top */
	struct cache_entry **cache;
	size_t cache_buckets;
	size_t cache_count;
	struct node **nodes;
	size_t node_buckets;
	struct page_stash stash[AZFS_STASH_SLOTS]; /* (L) */
	unsigned int stash_next; /* (L) round-robin slot */
	struct prefetch pf;    /* (L) prefetch.c */
};

/*
 * read-ahead per sequential handle (read.c): up to RA_STREAMS ranged GETs
 * in flight, each flowing into a ring of RA_RING bytes that the reader
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
	int state;             /* idle, running, done, failed (read.c); done
				* with hi < end: the blob ends at hi */
	int cancel;            /* the reader wants the GET stopped */
	int err;               /* -errno of a failed GET */
	uint64_t wake_at;      /* a reader waits for hi to reach this */
};

/* A read in progress on a sequential handle: the ring bytes from pos on
 * must stay until it is done (read.c). On the reader's stack. */
struct ra_reader {
	uint64_t pos;
	struct ra_reader *next;
};

/* Read-ahead state of one handle; every field guarded by fs->lock. */
struct readahead {
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
	/* the shape of the spans past the probe (read.c), 0 until chosen,
	 * and where and when (cache_now) the reads ended that time the two
	 * shapes: the first read, the first one into the wide probe, the
	 * first one past the probe's first span (t 0: none yet) */
	int shape;
	uint64_t pos_first, pos_mid, pos_probe;
	double t_first, t_mid, t_probe;
};

/* Handle behind fi->fh. */
struct handle {
	struct node *node;
	int flags;
	int writable;
	uint64_t size_hint;    /* size at open (UINT64_MAX: unknown) */
	struct readahead ra;
	/* the whole content, prefetched (prefetch.c), for blob version
	 * pf_gen; NULL when not */
	char *pf_data;
	size_t pf_len;
	uint64_t pf_gen;
};

/* ---- errmap.c: the one table from service errors to errno ---- */
int azfs_errno(const struct blob_error *e);
/* azfs_fail: -errno of e; logs it (what, name and the service's words)
 * unless it is ENOENT. */
int azfs_fail(const char *what, const char *name, const struct blob_error *e);

/* entries asked for per List Blobs page (the service's maximum) */
#define AZFS_LIST_PAGE 5000

/* ---- path.c ---- */
/*
 * azfs_blob_name: malloc'd blob name for FUSE path (prefix + path without
 * the leading '/'); "" -> the prefix without its '/'. Sets *err to
 * -ENAMETOOLONG (> 1024 bytes), -EINVAL (not UTF-8) or -ENOMEM on failure.
 */
char *azfs_blob_name(const struct azfs *fs, const char *path, int *err);
/* azfs_child_path: malloc'd path of entry name in directory dir (a FUSE
 * path), or NULL. */
char *azfs_child_path(const char *dir, const char *name);
/* azfs_dir_prefix: malloc'd listing prefix of the directory whose blob
 * name is name ("name/", or "" for the root), or NULL. */
char *azfs_dir_prefix(const char *name);
/* azfs_now: the current time. */
struct timespec azfs_now(void);
/* azfs_mtime_of: mtime metadata, else Last-Modified. */
struct timespec azfs_mtime_of(const struct blob_props *p);
/* azfs_attr_from_props: the attributes of a blob. */
void azfs_attr_from_props(const struct blob_props *p, struct attr *a);
/* azfs_fill_stat: struct stat from attributes and the mount options. */
void azfs_fill_stat(const struct azfs *fs, const struct attr *a,
		    struct stat *st);
/* azfs_is_internal_meta: mtime, hdi_isfolder, is_symlink. */
int azfs_is_internal_meta(const char *name);

/* ---- cache.c (every function takes fs->lock itself) ---- */
int cache_init(struct azfs *fs);
void cache_release(struct azfs *fs);
/* cache_get: 1 and *a when a fresh entry exists, else 0. */
int cache_get(struct azfs *fs, const char *path, struct attr *a);
void cache_put(struct azfs *fs, const char *path, const struct attr *a);
/*
 * cache_remember: entry name of directory dir, listed with attributes *a,
 * goes into the cache -- unless an open file has it staged, whose size
 * then replaces a->size. 0, or -1 out of memory.
 */
int cache_remember(struct azfs *fs, const char *dir, const char *name,
		   struct attr *a);
void cache_drop(struct azfs *fs, const char *path);
/*
 * cache_kept_pages: 1 and the version (ETag, into etag) whose bytes the
 * kernel's page cache may hold of path from a read-only open, else 0.
 * cache_set_kept_pages records it (path needs an entry; "" forgets).
 */
int cache_kept_pages(struct azfs *fs, const char *path, char *etag,
		     size_t size);
void cache_set_kept_pages(struct azfs *fs, const char *path, const char *etag);
/* cache_forget_pages: a writable open of path: what the page cache holds
 * of it is of no known version any more. */
void cache_forget_pages(struct azfs *fs, const char *path);
/* cache_drop_tree: drops path and everything below it. */
void cache_drop_tree(struct azfs *fs, const char *path);
/*
 * cache_dir_busy: counts a lookup of path that has to ask the server; 1
 * from the second one in path's directory within attr_timeout on (a loop
 * creating or reading files), when one List Blobs is the cheaper lookup.
 */
int cache_dir_busy(struct azfs *fs, const char *path);
/*
 * cache_dir_absent: in a directory where files are being created one
 * after another (CACHE_CREATE_LOOP creates in a row, each of a name a
 * lookup had just found absent), answers for path from a listing of the
 * directory at most AZFS_ABSENT_TTL old: 1 when path is not in it (absent;
 * counted as a lookup that found nothing), 0 when the server must be
 * asked, 2 when a listing is wanted first (cache_dir_snapshot).
 */
int cache_dir_absent(struct azfs *fs, const char *path);
/*
 * cache_dir_snapshot: names (malloc'd array of malloc'd names, n of them,
 * taken) are directory dir's entries listed from monotonic time taken;
 * NULL names: the directory has too many to list. */
void cache_dir_snapshot(struct azfs *fs, const char *dir, char **names,
			size_t n, double taken);
/* cache_dir_looked_up: the server said path is absent (1) or exists (0);
 * an existing name ends a create loop. */
void cache_dir_looked_up(struct azfs *fs, const char *path, int absent);
/* cache_dir_created: path was created (a file or a directory); implies
 * cache_dir_changed. */
void cache_dir_created(struct azfs *fs, const char *path);
/* cache_dir_changed: an entry path was added or removed: the kept first
 * listing page of its directory is stale. */
void cache_dir_changed(struct azfs *fs, const char *path);
/* cache_now: monotonic seconds, the clock of the cache. */
double cache_now(void);
/* stash_put: keeps pg (taken) as the first page of directory path. */
void stash_put(struct azfs *fs, const char *path, struct blob_list_page *pg);
/* stash_take: 1 and *pg (the caller owns it) for a fresh page of path. */
int stash_take(struct azfs *fs, const char *path, struct blob_list_page *pg);
/* stash_release: frees every kept page. */
void stash_release(struct azfs *fs);

/* ---- node.c ---- */
int nodes_init(struct azfs *fs);
void nodes_release(struct azfs *fs);
/* node_get: finds or creates the node of path, refs+1. NULL on ENOMEM. */
struct node *node_get(struct azfs *fs, const char *path, const char *name);
/* node_find: the node of path with refs+1, or NULL. */
struct node *node_find(struct azfs *fs, const char *path);
/* node_put: refs-1; frees the node (and its staging file) at 0. */
void node_put(struct azfs *fs, struct node *n);
/* node_unlinked: path of n was removed: n never uploads again and leaves
 * the table (its handles keep it). *was_new: it was never uploaded. */
void node_unlinked(struct azfs *fs, struct node *n, int *was_new);
/* node_begin/node_end: enter/leave a shared (0) or exclusive (1) phase. */
void node_begin(struct azfs *fs, struct node *n, int excl);
void node_end(struct azfs *fs, struct node *n, int excl);
/* node_rename: re-keys the node of from (if any) to to/name. */
void node_rename(struct azfs *fs, const char *from, const char *to,
		 const char *name);
/* node_size: the staged size if loaded (1), else 0. */
int node_size(struct azfs *fs, const char *path, uint64_t *size);
/*
 * node_load: makes the staging file hold the blob's content (truncated to
 * empty when trunc). Caller is in an exclusive phase. Returns 0 or -errno.
 */
int node_load(struct azfs *fs, struct node *n, int trunc);
/*
 * node_prepare_write: makes n writable at off (-1 = append): an append to
 * a large blob stages only the new tail, anything else loads the blob.
 * Caller is in an exclusive phase. Returns 0 or -errno.
 */
int node_prepare_write(struct azfs *fs, struct node *n, int64_t off);
/*
 * node_read_staged: reads a loaded node (tail mode reads the server's part
 * remotely). Caller is in a shared phase. Bytes read or -errno.
 */
ssize_t node_read_staged(struct azfs *fs, struct node *n, char *buf,
			 size_t size, uint64_t off);

/*
 * node_flush_maybe_empty: node_flush, except that a new, still empty file
 * is left for later unless now (see node.c). Same contract.
 */
int node_flush_maybe_empty(struct azfs *fs, struct node *n, int now);
/*
 * node_flush: uploads the staging file if dirty. Caller must NOT be in a
 * phase; node_flush enters an exclusive one. Returns 0 or -errno.
 */
int node_flush(struct azfs *fs, struct node *n);

/*
 * node_meta_set: for a node whose data is not yet uploaded, sets (value)
 * or removes (NULL) metadata key in memory; it goes up with the data.
 * Returns 0 or -errno when handled, 1 when the node is clean (the caller
 * then updates the blob itself).
 */
int node_meta_set(struct azfs *fs, struct node *n, const char *key,
		  const char *value, int xflags);
/* node_meta_get: a copy of an unsaved node's metadata; 1 when clean. */
int node_meta_get(struct azfs *fs, struct node *n, struct blob_meta **out,
		  size_t *count);

/*
 * node_wrote: after a write of [off, off+len): marks uploaded blocks it
 * touched as dirty and starts background Put Block of completed blocks
 * (at most parallel at a time). Caller holds no lock.
 */
void node_wrote(struct azfs *fs, struct node *n, uint64_t off, size_t len);
/* node_blocks_reset: forget streamed blocks (truncate). fs->lock held. */
void node_blocks_reset(struct node *n);

/* nodes_flush_all: uploads every node with unsaved data (unmount). */
int nodes_flush_all(struct azfs *fs);
/* node_invalidate: a clean node of path forgets its staged copy (the blob
 * changed on the server through another operation). */
void node_invalidate(struct azfs *fs, const char *path);

/* ---- lookup.c ---- */
/* azfs_lookup: attributes of path (cache, node, HEAD, then listing). */
int azfs_lookup(struct azfs *fs, const char *path, struct attr *a);
/* azfs_has_children: *out = 1 if anything but the "name/" marker is stored
 * under blob name + "/". 0 or -errno. */
int azfs_has_children(struct azfs *fs, const char *name, int *out);
/* azfs_delete_if_exists: Delete Blob name; absent is success. 0 or -errno. */
int azfs_delete_if_exists(struct azfs *fs, const char *name);

/* ---- rename.c ---- */
int azfs_rename(const char *from, const char *to, unsigned int flags);

/* ---- read.c ---- */
void azfs_ra_init(struct handle *h);
void azfs_ra_release(struct azfs *fs, struct handle *h);
/*
 * azfs_read_remote: size bytes at off of blob name (version gen) into buf,
 * through h's read-ahead window. *out = bytes read. 0 or -errno.
 */
int azfs_read_remote(struct azfs *fs, struct handle *h, const char *name,
		     uint64_t gen, char *buf, size_t size, uint64_t off,
		     size_t *out);

/* ---- prefetch.c ---- */
void pf_init(struct azfs *fs);
/* pf_release: waits for loads in flight, frees everything. */
void pf_release(struct azfs *fs);
/* pf_listed: keeps the small files of directory dir's listing d (sorted,
 * each name once, n entries; copied) as the order a reader may follow. */
void pf_listed(struct azfs *fs, const char *dir, const struct dent *d,
	       size_t n);
/*
 * pf_open: an open for reading of path, whose cached attributes are a.
 * Starts prefetches when the opens follow the kept listing. Returns 1 and
 * *data (malloc'd, the caller frees) / *len when the file's bytes were
 * prefetched and still match a (waits for a load in flight), else 0.
 */
int pf_open(struct azfs *fs, const char *path, const struct attr *a,
	    char **data, size_t *len);

/* ---- dir.c ---- */
/* opendir/readdir/releasedir: the listing of an open directory, read at
 * offset 0 and served by offset (see dir.c) */
int azfs_opendir(const char *path, struct fuse_file_info *fi);
int azfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		 off_t off, struct fuse_file_info *fi,
		 enum fuse_readdir_flags flags);
int azfs_releasedir(const char *path, struct fuse_file_info *fi);

/* ---- xattr.c ---- */
int azfs_getxattr(const char *path, const char *name, char *value,
		  size_t size);
int azfs_setxattr(const char *path, const char *name, const char *value,
		  size_t size, int flags);
int azfs_listxattr(const char *path, char *list, size_t size);
int azfs_removexattr(const char *path, const char *name);

/* ---- copy.c (fs side of server-side copies) ---- */
ssize_t azfs_copy_file_range(const char *path_in, struct fuse_file_info *fi_in,
			     off_t off_in, const char *path_out,
			     struct fuse_file_info *fi_out, off_t off_out,
			     size_t len, int flags);
/* azfs_server_copy: Copy Blob src_name -> dst_name and (sync) wait. */
int azfs_server_copy(struct azfs *fs, const char *src_name,
		     const char *dst_name, const char *src_etag, int wait);
/* azfs_delete_blob: aborts a pending copy into name first. 0 or -errno. */
int azfs_delete_blob(struct azfs *fs, const char *name);

/*
 * azfs_kernel_forget: makes the kernel drop its cached attributes and
 * pages of path (the blob changed on the server behind its back, e.g. a
 * copy started into it). Asynchronous; call from a FUSE operation.
 */
void azfs_kernel_forget(const char *path);

/* the operations table (ops.c) */
extern const struct fuse_operations azfs_ops;

static inline struct azfs *azfs_get(void)
{
	return fuse_get_context()->private_data;
}

#endif
