/*
 * cache.c -- the attribute cache: path -> struct attr for attr_timeout
 * seconds (negative entries for a shorter time). Filled by lookups and by
 * directory listings, so "ls -l" costs the listing and no HEAD per file.
 * Every function takes fs->lock.
 */
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

struct cache_entry {
	struct cache_entry *next;
	char *path;
	struct attr a;
	double expires;
	/* a directory: lookups below it that asked the server since
	 * lookups_since */
	unsigned lookups;
	double lookups_since;
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

static void entry_free(struct cache_entry *e)
{
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

		if (st->path && strncmp(st->path, path, n) == 0) {
			free(st->path);
			st->path = NULL;
			blob_list_page_release(&st->pg);
		}
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
	free(st->path);
	blob_list_page_release(&st->pg);
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
		} else {
			blob_list_page_release(&st->pg);
		}
		free(st->path);
		st->path = NULL;
		break;
	}
	pthread_mutex_unlock(&fs->lock);
	return hit;
}

void stash_release(struct azfs *fs)
{
	int i;

	for (i = 0; i < AZFS_STASH_SLOTS; i++) {
		free(fs->stash[i].path);
		fs->stash[i].path = NULL;
		blob_list_page_release(&fs->stash[i].pg);
	}
}
