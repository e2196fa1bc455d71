/*
 * meta.h -- the metadata room: what a path is, and remembering it.
 *
 * Layer: a room of the filesystem (uses core, blob, copy). Holds the
 * attribute cache (path -> struct attr for attr_timeout seconds, absent
 * names for at most CORE_ABSENT_TTL), the per-directory counters that
 * turn a run of lookups or creates into one List Blobs, the first
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
};

/* meta_init: an empty room; 0, or -1 out of memory. meta_release frees
 * everything (no thread may use it any more). */
int meta_init(struct meta *m, struct blob_client *blob,
	      const struct core_opts *o);
void meta_release(struct meta *m);

/* ---- cache.c: the attribute cache ---- */
/* meta_get: 1 and *a when a fresh entry exists, else 0. */
int meta_get(struct meta *m, const char *path, struct attr *a);
/* meta_put: path has attributes *a (ATTR_NONE: absent) as of now. */
void meta_put(struct meta *m, const char *path, const struct attr *a);
/*
 * meta_remember: entry name of directory dir, listed with attributes *a,
 * goes into the cache -- unless an open file has it staged, whose size
 * then replaces a->size. 0, or -1 out of memory.
 */
int meta_remember(struct meta *m, const char *dir, const char *name,
		  struct attr *a);
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

/* ---- dir.c: directories being worked through, kept pages ---- */
/*
 * meta_dir_busy: counts a lookup of path that has to ask the server; 1
 * from the second one in path's directory within attr_timeout on (a loop
 * creating or reading files), when one List Blobs is the cheaper lookup.
 */
int meta_dir_busy(struct meta *m, const char *path);

/* What a directory's recent listing says of a name being looked up. */
enum meta_absence {
	META_ASK = 0,          /* nothing known: ask the server */
	META_ABSENT,           /* not in a listing at most a second old */
	META_LIST_FIRST,       /* a listing is wanted first (meta_dir_snapshot) */
};
/*
 * meta_dir_absent: in a directory where files are being created one
 * after another (META_CREATE_LOOP creates in a row, each of a name a
 * lookup had just found absent), answers for path from a listing of the
 * directory at most CORE_ABSENT_TTL old.
 */
enum meta_absence meta_dir_absent(struct meta *m, const char *path);
/*
 * meta_dir_snapshot: names (malloc'd array of malloc'd names, n of them,
 * taken) are directory dir's entries listed from monotonic time taken;
 * NULL names: the directory has too many to list.
 */
void meta_dir_snapshot(struct meta *m, const char *dir, char **names,
		       size_t n, double taken);
/* meta_dir_looked_up: the server said path is absent (1) or exists (0);
 * an existing name ends a create loop. */
void meta_dir_looked_up(struct meta *m, const char *path, int absent);
/* meta_dir_created: path was created (a file or a directory); implies
 * meta_dir_changed. */
void meta_dir_created(struct meta *m, const char *path);
/* meta_dir_changed: an entry path was added or removed: the kept first
 * listing page of its directory is stale. */
void meta_dir_changed(struct meta *m, const char *path);
/* meta_stash_put: keeps pg (taken) as the first page of directory path. */
void meta_stash_put(struct meta *m, const char *path,
		    struct blob_list_page *pg);
/* meta_stash_take: 1 and *pg (the caller owns it) for a fresh page of
 * path, else 0. */
int meta_stash_take(struct meta *m, const char *path,
		    struct blob_list_page *pg);

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
	/* a directory: lookups below it that asked the server since
	 * lookups_since */
	unsigned lookups;
	double lookups_since;
	/* a directory where files are being created one after another:
	 * creates in a row of names the server had just said were absent,
	 * the last such name (its hash), and the names a recent listing
	 * showed (sorted; NULL: none), usable until snap_expires */
	unsigned creates;
	size_t last_absent;
	int answered;          /* a listing said absent, no create yet */
	char **snap;
	size_t n_snap;
	double snap_expires;
	double snap_big_until; /* too many names to list until then */
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
