/*
 * cache.c -- the attribute cache: path -> struct attr for attr_timeout
 * seconds (negative entries for a shorter time). Filled by lookups and by
 * directory listings, so "ls -l" costs the listing and no HEAD per file.
 * An entry also remembers which version of a file the kernel's page cache
 * may hold, so a file read again unchanged comes from there.
 * Every function takes fs->lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/azfs.h"
#include "util/str.h"

#define CACHE_BUCKETS 4096
#define CACHE_MAX_ENTRIES 200000
/* from which lookup below a directory that asks the server on the
 * directory counts as busy (see cache_dir_busy) */
#define CACHE_BUSY_AFTER 2
/* from which create in a row, each after a lookup that found nothing, a
 * directory's lookups answer absent names from a listing (see
 * cache_dir_absent) */
#define CACHE_CREATE_LOOP 3

struct cache_entry {
	struct cache_entry *next;
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

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t hash(const char *s, size_t buckets)
{
	return str_hash(s) % buckets;
}

/*
 * absent_ttl: how long a negative lookup is remembered: at most 1 s (the
 * kernel's negative_timeout too), so a blob another client adds shows to
 * whoever looks a second later, whatever attr_timeout says. A listing
 * never makes a name absent.
 */
static double absent_ttl(const struct azfs *fs)
{
	return fs->o.attr_timeout < AZFS_ABSENT_TTL ? fs->o.attr_timeout : AZFS_ABSENT_TTL;
}

int cache_init(struct azfs *fs)
{
	fs->cache_buckets = CACHE_BUCKETS;
	fs->cache = calloc(fs->cache_buckets, sizeof(*fs->cache));
	fs->cache_count = 0;
	return fs->cache ? 0 : -1;
}

static void snap_free(struct cache_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_snap; i++)
		free(e->snap[i]);
	free(e->snap);
	e->snap = NULL;
	e->n_snap = 0;
	e->snap_expires = 0;
}

static void entry_free(struct cache_entry *e)
{
	snap_free(e);
	free(e->path);
	free(e);
}

/* clear_all: drops everything (fs->lock held). */
static void clear_all(struct azfs *fs)
{
	size_t i;

	for (i = 0; i < fs->cache_buckets; i++) {
		struct cache_entry *e = fs->cache[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			entry_free(e);
		}
		fs->cache[i] = NULL;
	}
	fs->cache_count = 0;
}

void cache_release(struct azfs *fs)
{
	if (!fs->cache)
		return;
	clear_all(fs);
	free(fs->cache);
	fs->cache = NULL;
}

int cache_get(struct azfs *fs, const char *path, struct attr *a)
{
	struct cache_entry *e;
	double now = mono_now();
	int hit = 0;

	pthread_mutex_lock(&fs->lock);
	for (e = fs->cache[hash(path, fs->cache_buckets)]; e; e = e->next) {
		if (strcmp(e->path, path) == 0) {
			if (e->expires > now) {
				*a = e->a;
				hit = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return hit;
}

void cache_put(struct azfs *fs, const char *path, const struct attr *a)
{
	size_t b = hash(path, fs->cache_buckets);
	double ttl = fs->o.attr_timeout;
	struct cache_entry *e;

	if (ttl <= 0)
		return;
	if (a->kind == ATTR_NONE)
		ttl = absent_ttl(fs);
	/* a pending copy changes all the time: always ask the server */
	if (a->copy_pending)
		return;
	pthread_mutex_lock(&fs->lock);
	for (e = fs->cache[b]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			break;
	if (!e) {
		if (fs->cache_count >= CACHE_MAX_ENTRIES)
			clear_all(fs);
		e = calloc(1, sizeof(*e));
		if (e)
			e->path = str_ndup(path, strlen(path));
		if (!e || !e->path) {
			free(e);
			pthread_mutex_unlock(&fs->lock);
			return;
		}
		e->next = fs->cache[b];
		fs->cache[b] = e;
		fs->cache_count++;
	}
	e->a = *a;
	e->expires = mono_now() + ttl;
	pthread_mutex_unlock(&fs->lock);
}

/* find_locked: the entry of path or NULL (fs->lock held). */
static struct cache_entry *find_locked(struct azfs *fs, const char *path)
{
	struct cache_entry *e;

	for (e = fs->cache[hash(path, fs->cache_buckets)]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

int cache_kept_pages(struct azfs *fs, const char *path, char *etag,
		     size_t size)
{
	struct cache_entry *e;
	int known = 0;

	pthread_mutex_lock(&fs->lock);
	e = find_locked(fs, path);
	if (e && e->kept_etag[0]) {
		snprintf(etag, size, "%s", e->kept_etag);
		known = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	return known;
}

void cache_set_kept_pages(struct azfs *fs, const char *path, const char *etag)
{
	struct cache_entry *e;

	pthread_mutex_lock(&fs->lock);
	e = find_locked(fs, path);
	if (e)
		snprintf(e->kept_etag, sizeof(e->kept_etag), "%s", etag);
	pthread_mutex_unlock(&fs->lock);
}

void cache_forget_pages(struct azfs *fs, const char *path)
{
	cache_set_kept_pages(fs, path, "");
}

/* parent_of: path's parent directory into buf; -1 when it does not fit. */
static int parent_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	if (!slash || n >= size)
		return -1;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

int cache_dir_busy(struct azfs *fs, const char *path)
{
	size_t b;
	struct cache_entry *e;
	double now = mono_now();
	char dir[4096];
	int busy = 0;

	if (fs->o.attr_timeout <= 0 || parent_of(path, dir, sizeof(dir)) < 0)
		return 0;
	b = hash(dir, fs->cache_buckets);
	pthread_mutex_lock(&fs->lock);
	e = find_locked(fs, dir);
	if (!e && fs->cache_count < CACHE_MAX_ENTRIES) {
		/* an entry for the counters only: expired attributes */
		e = calloc(1, sizeof(*e));
		if (e && !(e->path = str_ndup(dir, strlen(dir)))) {
			free(e);
			e = NULL;
		}
		if (e) {
			e->next = fs->cache[b];
			fs->cache[b] = e;
			fs->cache_count++;
		}
	}
	if (e) {
		if (e->lookups_since + fs->o.attr_timeout <= now) {
			e->lookups = 0;
			e->lookups_since = now;
		}
		busy = ++e->lookups >= CACHE_BUSY_AFTER;
	}
	pthread_mutex_unlock(&fs->lock);
	return busy;
}

/* dir_entry_locked: the entry of path's directory, or NULL; *base = the
 * last component of path (fs->lock held). */
static struct cache_entry *dir_entry_locked(struct azfs *fs, const char *path,
					    const char **base)
{
	char dir[4096];

	if (parent_of(path, dir, sizeof(dir)) < 0)
		return NULL;
	*base = strrchr(path, '/') + 1;
	return find_locked(fs, dir);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int cache_dir_absent(struct azfs *fs, const char *path)
{
	struct cache_entry *e;
	const char *base;
	double now = mono_now();
	int rc = 0;

	if (strchr(path, '\\'))
		return 0; /* see azfs_lookup */
	pthread_mutex_lock(&fs->lock);
	e = dir_entry_locked(fs, path, &base);
	if (!e || e->creates < CACHE_CREATE_LOOP) {
		rc = 0;
	} else if (e->answered) {
		/* the last name the listing said absent was not created (a
		 * reader, not a loop of new files): ask the server again */
		e->creates = 0;
		e->answered = 0;
		snap_free(e);
	} else if (e->snap && e->snap_expires > now) {
		rc = !bsearch(&base, e->snap, e->n_snap, sizeof(*e->snap), name_cmp);
		if (rc) {
			e->last_absent = str_hash(path);
			e->answered = 1;
		}
	} else {
		rc = e->snap_big_until > now ? 0 : 2;
	}
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

void cache_dir_snapshot(struct azfs *fs, const char *dir, char **names,
			size_t n, double taken)
{
	double ttl = fs->o.attr_timeout < AZFS_ABSENT_TTL ? fs->o.attr_timeout : AZFS_ABSENT_TTL;
	struct cache_entry *e;
	size_t i;

	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	pthread_mutex_lock(&fs->lock);
	e = find_locked(fs, dir);
	if (e) {
		snap_free(e);
		if (names) {
			e->snap = names;
			e->n_snap = n;
			e->snap_expires = taken + ttl;
			names = NULL;
		} else {
			e->snap_big_until = mono_now() + fs->o.attr_timeout;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

void cache_dir_looked_up(struct azfs *fs, const char *path, int absent)
{
	struct cache_entry *e;
	const char *base;

	pthread_mutex_lock(&fs->lock);
	e = dir_entry_locked(fs, path, &base);
	if (e && absent) {
		e->last_absent = str_hash(path);
	} else if (e) {
		/* not a loop of new names (any more) */
		e->creates = 0;
		e->answered = 0;
		snap_free(e);
	}
	pthread_mutex_unlock(&fs->lock);
}

/* stash_clear: empties a kept page's slot (fs->lock held, or at exit). */
static void stash_clear(struct page_stash *st)
{
	free(st->path);
	st->path = NULL;
	blob_list_page_release(&st->pg);
}

/* stash_drop_locked: forgets the kept first page of dir (fs->lock held). */
static void stash_drop_locked(struct azfs *fs, const char *dir)
{
	int i;

	for (i = 0; i < AZFS_STASH_SLOTS; i++)
		if (fs->stash[i].path && strcmp(fs->stash[i].path, dir) == 0)
			stash_clear(&fs->stash[i]);
}

void cache_dir_changed(struct azfs *fs, const char *path)
{
	char dir[4096];

	if (parent_of(path, dir, sizeof(dir)) < 0)
		return;
	pthread_mutex_lock(&fs->lock);
	stash_drop_locked(fs, dir);
	pthread_mutex_unlock(&fs->lock);
}

void cache_dir_created(struct azfs *fs, const char *path)
{
	struct cache_entry *e;
	const char *base;

	cache_dir_changed(fs, path);
	pthread_mutex_lock(&fs->lock);
	e = dir_entry_locked(fs, path, &base);
	if (e) {
		e->creates = e->last_absent == str_hash(path) ? e->creates + 1 : 0;
		e->answered = 0;
	}
	pthread_mutex_unlock(&fs->lock);
}

double cache_now(void)
{
	return mono_now();
}

int cache_remember(struct azfs *fs, const char *dir, const char *name,
		   struct attr *a)
{
	char *path = azfs_child_path(dir, name);

	if (!path)
		return -1;
	if (!node_size(fs, path, &a->size))
		cache_put(fs, path, a);
	free(path);
	return 0;
}

void cache_drop(struct azfs *fs, const char *path)
{
	struct cache_entry *e;

	/* stale attributes; the entry keeps a directory's lookup counters */
	pthread_mutex_lock(&fs->lock);
	e = find_locked(fs, path);
	if (e)
		e->expires = 0;
	pthread_mutex_unlock(&fs->lock);
}

void cache_drop_tree(struct azfs *fs, const char *path)
{
	size_t i, n = strlen(path);

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < AZFS_STASH_SLOTS; i++) {
		struct page_stash *st = &fs->stash[i];

		if (st->path && strncmp(st->path, path, n) == 0)
			stash_clear(st);
	}
	for (i = 0; i < fs->cache_buckets; i++) {
		struct cache_entry **pp = &fs->cache[i], *e;

		while ((e = *pp)) {
			if (strncmp(e->path, path, n) == 0 &&
			    (e->path[n] == '\0' || e->path[n] == '/' ||
			     (n == 1 && path[0] == '/'))) {
				*pp = e->next;
				entry_free(e);
				fs->cache_count--;
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&fs->lock);
}

void stash_put(struct azfs *fs, const char *path, struct blob_list_page *pg)
{
	struct page_stash *st;
	char *p = str_ndup(path, strlen(path));

	if (!p || fs->o.attr_timeout <= 0) {
		free(p);
		blob_list_page_release(pg);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	st = &fs->stash[fs->stash_next++ % AZFS_STASH_SLOTS];
	stash_clear(st);
	st->path = p;
	st->pg = *pg;
	st->expires = mono_now() + (fs->o.attr_timeout < 2 ? fs->o.attr_timeout : 2);
	pthread_mutex_unlock(&fs->lock);
	memset(pg, 0, sizeof(*pg));
}

int stash_take(struct azfs *fs, const char *path, struct blob_list_page *pg)
{
	double now = mono_now();
	int i, hit = 0;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < AZFS_STASH_SLOTS; i++) {
		struct page_stash *st = &fs->stash[i];

		if (!st->path || strcmp(st->path, path) != 0)
			continue;
		if (st->expires > now) {
			*pg = st->pg;
			memset(&st->pg, 0, sizeof(st->pg));
			hit = 1;
		}
		stash_clear(st);
		break;
	}
	pthread_mutex_unlock(&fs->lock);
	return hit;
}

void stash_release(struct azfs *fs)
{
	int i;

	for (i = 0; i < AZFS_STASH_SLOTS; i++)
		stash_clear(&fs->stash[i]);
}
