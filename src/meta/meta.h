/*
 * meta.h -- the metadata room: what a path is, and remembering it.
 *
 * Layer: a room of the filesystem (uses core, blob, copy). Holds the
 * attribute cache (path -> struct attr for attr_timeout seconds, absent
 * names for at most CORE_ABSENT_TTL), the directory listings that answer
 * lookups (one List Blobs for the names of a directory), the first
 * listing page a lookup kept for the readdir that follows, and the
 * lookups themselves (listing, then Get Blob Properties). Knows nothing
 * of FUSE; turns paths into struct stat for fs/.
 *
 * Lock: meta.lock guards every field below it and every struct
 * meta_entry. It is a leaf: no request is made and no other room is
 * called while it is held (the staged hook runs without it). Every
 * function takes it itself; none is called with it held.
 */
#ifndef AZB_META_META_H
#define AZB_META_META_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/core.h"

#define META_STASH_SLOTS 4

/* A directory's first List Blobs page, kept from a lookup for readdir. */
struct meta_page {
	char *path;            /* NULL = free slot */
	struct blob_list_page pg;
	double taken;          /* when it was asked for (monotonic) */
	double expires;        /* monotonic seconds */
};

struct meta_entry;

struct meta {
	struct blob_client *blob;  /* not owned */
	const struct core_opts *o; /* not owned */
	/* the staging room's answer for an open file: 1 and its
	 * attributes as staged (size, mode, owner), which win over any
	 * listing or lookup, else 0 */
	int (*staged)(void *arg, const char *path, struct attr *a);
	void *staged_arg;
	/* a blob of path shows a copy (props p): called by meta_saw,
	 * without the lock held */
	void (*seen)(void *arg, const char *path, const struct blob_props *p);
	void *seen_arg;
	pthread_mutex_t lock;
	struct meta_entry **cache;
	size_t buckets;
	size_t count;
	struct meta_page stash[META_STASH_SLOTS];
	unsigned int stash_next;   /* round-robin slot */
	uint64_t hits;             /* lookups the cache answered */
	pthread_mutex_t known_lock;
	struct meta_known *known;  /* known.c */
};

/* meta_init: an empty room; 0, or -1 out of memory. meta_release frees
 * everything (no thread may use it any more). */
int meta_init(struct meta *m, struct blob_client *blob,
	      const struct core_opts *o);
void meta_release(struct meta *m);

/* ---- known.c: what this mount wrote last, by blob name ---- */
/* meta_known_put: blob name now has exactly metadata meta (n entries)
 * and ETag etag (empty or NULL: not known; forgets it). */
void meta_known_put(struct meta *m, const char *name, const char *etag,
		    const struct blob_meta *meta, size_t n);
/* meta_known_get: 1, the ETag into etag (BLOB_ETAG_MAX) and a copy of
 * the metadata (*meta, *n; core_meta_free) when known, else 0. */
int meta_known_get(struct meta *m, const char *name, char *etag,
		   struct blob_meta **meta, size_t *n);
void meta_known_drop(struct meta *m, const char *name);
/* (meta_init and meta_release call these) */
int meta_known_init(struct meta *m);
void meta_known_release(struct meta *m);

/* ---- cache.c: the attribute cache ---- */
/* meta_get: 1 and *a when a fresh entry exists, else 0. */
int meta_get(struct meta *m, const char *path, struct attr *a);
/* meta_put: path has attributes *a (ATTR_NONE: absent) as of now. */
void meta_put(struct meta *m, const char *path, const struct attr *a);
/*
 * meta_remember: entry name of directory dir, listed with attributes *a
 * by a listing asked for at monotonic time taken, goes into the cache --
 * unless an open file has it staged, whose size, mode and owner then
 * replace those of *a,
 * or attributes put since taken are newer, which then replace *a. 0; 1
 * when path changed since taken and its attributes were dropped (ask
 * the server: the listing's are stale); -1 out of memory.
 */
int meta_remember(struct meta *m, const char *dir, const char *name,
		  struct attr *a, double taken);
/* meta_drop: path's attributes are stale (its counters stay). */
void meta_drop(struct meta *m, const char *path);
/* meta_drop_tree: drops path and everything below it. */
void meta_drop_tree(struct meta *m, const char *path);
/*
 * meta_kept_pages: 1 and the version (ETag, into etag) whose bytes the
 * kernel's page cache may hold of path from a read-only open, else 0.
 * meta_set_kept_pages records it (path needs an entry; "" forgets).
 */
int meta_kept_pages(struct meta *m, const char *path, char *etag,
		    size_t size);
void meta_set_kept_pages(struct meta *m, const char *path, const char *etag);
/* meta_forget_pages: a writable open of path: what the page cache holds
 * of it is of no known version any more. */
void meta_forget_pages(struct meta *m, const char *path);

/* ---- dir.c: a directory's listing answers its lookups ---- */
/* What a directory's listing says of a name the cache does not know. */
enum meta_absence {
	META_ASK = 0,          /* nothing: ask the server for the name */
	META_ABSENT,           /* not in a complete listing at most
				* CORE_ABSENT_TTL old, of a directory
				* names are being made in (dir.c) */
	META_LIST_FIRST,       /* list the directory first (snapshot) */
};
/* meta_dir_answer: what to do for path, which the cache does not know */
enum meta_absence meta_dir_answer(struct meta *m, const char *path);
/*
 * meta_dir_snapshot: names (malloc'd array of malloc'd names, n of them,
 * taken) are directory dir's entries listed from monotonic time taken;
 * NULL names: the directory has too many for one page. 1 when the
 * listing is current, 0 when a name of dir came or went since taken.
 */
int meta_dir_snapshot(struct meta *m, const char *dir, char **names,
		      size_t n, double taken);
/* meta_dir_made: directory dir was just made here: it is empty. */
void meta_dir_made(struct meta *m, const char *dir);
/* meta_dir_found: the server has path: a listing of its directory that
 * lacks it is stale (another client made it), and goes. */
void meta_dir_found(struct meta *m, const char *path);
/* meta_dir_changed: an entry path was added or removed: the kept first
 * listing page of its directory is stale, and path is a name to ask for. */
void meta_dir_changed(struct meta *m, const char *path);
/* meta_stash_put: keeps pg (taken from it), asked for at monotonic time
 * taken, as the first page of directory path. */
void meta_stash_put(struct meta *m, const char *path,
		    struct blob_list_page *pg, double taken);
/* meta_stash_take: 1, *pg (the caller owns it) and *taken for a fresh
 * page of path, else 0. */
int meta_stash_take(struct meta *m, const char *path,
		    struct blob_list_page *pg, double *taken);

/* meta_saw: what a request showed of path's blob (props p): a copy into
 * it goes to the seen hook. */
void meta_saw(struct meta *m, const char *path, const struct blob_props *p);
/* meta_hits: lookups the cache answered so far. */
uint64_t meta_hits(struct meta *m);

/* ---- lookup.c ---- */
/* meta_lookup: attributes of path (staged file, cache, listing, HEAD).
 * 0, -ENOENT or -errno. */
int meta_lookup(struct meta *m, const char *path, struct attr *a);
/* meta_has_children: *out = 1 if anything but the "name/" marker is
 * stored under blob name + "/". 0 or -errno. */
int meta_has_children(struct meta *m, const char *name, int *out);
/* meta_fill_stat: struct stat of attributes a under the mount options. */
void meta_fill_stat(const struct core_opts *o, const struct attr *a,
		    struct stat *st);

/* ---- inside the room ---- */
/* One path of the cache (guarded by meta.lock). */
struct meta_entry {
	struct meta_entry *next;
	char *path;
	struct attr a;
	double expires;
	/* a directory: the names its last complete listing showed
	 * (sorted; NULL: none), which say what is absent until
	 * snap_expires */
	char **snap;
	size_t n_snap;
	double snap_taken;
	double snap_expires;
	double snap_big_until; /* too many names to list until then */
	double put_at;         /* when a was put or dropped (monotonic) */
	double recent[3];      /* when the last names were added or removed
				* (a ring, next at n_recent % 3: dir.c) */
	unsigned n_recent;
	double changed;        /* when a name was last added or removed
				* here: a listing asked before it is stale */
	/* a file: the version (ETag) whose bytes the kernel's page cache may
	 * hold from a read-only open ("": none known) */
	char kept_etag[BLOB_ETAG_MAX];
};

/* (cache.c, for dir.c; meta.lock held) */
struct meta_entry *meta_find_locked(struct meta *m, const char *path);
struct meta_entry *meta_entry_add_locked(struct meta *m, const char *path);
void meta_snap_free(struct meta_entry *e);
/* the kept pages of dir (len bytes of it) and, with tree, below it */
void meta_stash_drop_locked(struct meta *m, const char *dir, int tree);

#endif
