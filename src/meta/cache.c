/*
 * cache.c -- the attribute cache: path -> struct attr for attr_timeout
 * seconds (negative entries for a shorter time). Filled by lookups and by
 * directory listings, so "ls -l" costs the listing and no HEAD per file.
 * An entry also remembers which version of a file the kernel's page cache
 * may hold, so a file read again unchanged comes from there. Also the
 * room's life (meta_init, meta_release) and the kept first pages.
 * Every function takes meta.lock (meta.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/str.h"

#define CACHE_BUCKETS 4096
#define CACHE_MAX_ENTRIES 200000

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
static double absent_ttl(const struct meta *m)
{
	return m->o->attr_timeout < CORE_ABSENT_TTL ? m->o->attr_timeout : CORE_ABSENT_TTL;
}

int meta_init(struct meta *m, struct blob_client *blob,
	      const struct core_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->blob = blob;
	m->o = o;
	m->buckets = CACHE_BUCKETS;
	m->cache = calloc(m->buckets, sizeof(*m->cache));
	if (!m->cache)
		return -1;
	if (meta_known_init(m) < 0) {
		free(m->cache);
		m->cache = NULL;
		return -1;
	}
	pthread_mutex_init(&m->lock, NULL);
	return 0;
}

void meta_snap_free(struct meta_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_snap; i++)
		free(e->snap[i]);
	free(e->snap);
	e->snap = NULL;
	e->n_snap = 0;
	e->snap_expires = 0;
}

static void entry_free(struct meta_entry *e)
{
	meta_snap_free(e);
	free(e->path);
	free(e);
}

/* clear_all: drops everything (meta.lock held). */
static void clear_all(struct meta *m)
{
	size_t i;

	for (i = 0; i < m->buckets; i++) {
		struct meta_entry *e = m->cache[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			entry_free(e);
		}
		m->cache[i] = NULL;
	}
	m->count = 0;
}

/* stash_clear: empties a kept page's slot (meta.lock held, or at exit). */
static void stash_clear(struct meta_page *st)
{
	free(st->path);
	st->path = NULL;
	blob_list_page_release(&st->pg);
}

void meta_release(struct meta *m)
{
	int i;

	if (!m->cache)
		return;
	clear_all(m);
	free(m->cache);
	m->cache = NULL;
	for (i = 0; i < META_STASH_SLOTS; i++)
		stash_clear(&m->stash[i]);
	meta_known_release(m);
	pthread_mutex_destroy(&m->lock);
}

struct meta_entry *meta_find_locked(struct meta *m, const char *path)
{
	struct meta_entry *e;

	for (e = m->cache[hash(path, m->buckets)]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

struct meta_entry *meta_entry_add_locked(struct meta *m, const char *path)
{
	size_t b = hash(path, m->buckets);
	struct meta_entry *e;

	if (m->count >= CACHE_MAX_ENTRIES)
		clear_all(m);
	e = calloc(1, sizeof(*e));
	if (e)
		e->path = str_ndup(path, strlen(path));
	if (!e || !e->path) {
		free(e);
		return NULL;
	}
	e->next = m->cache[b];
	m->cache[b] = e;
	m->count++;
	return e;
}

int meta_get(struct meta *m, const char *path, struct attr *a)
{
	struct meta_entry *e;
	double now = core_mono();
	int hit = 0;

	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, path);
	if (e && e->expires > now) {
		*a = e->a;
		hit = 1;
		m->hits++;
	}
	pthread_mutex_unlock(&m->lock);
	return hit;
}

/* put_at: meta_put of attributes known as of monotonic time at */
static void put_at(struct meta *m, const char *path, const struct attr *a,
		   double at)
{
	double ttl = m->o->attr_timeout;
	struct meta_entry *e;

	if (ttl <= 0)
		return;
	if (a->kind == ATTR_NONE)
		ttl = absent_ttl(m);
	/* a pending copy changes all the time: always ask the server */
	if (a->copy_pending)
		return;
	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, path);
	if (!e)
		e = meta_entry_add_locked(m, path);
	if (e) {
		e->a = *a;
		e->put_at = at;
		e->expires = at + ttl;
	}
	pthread_mutex_unlock(&m->lock);
}

void meta_put(struct meta *m, const char *path, const struct attr *a)
{
	put_at(m, path, a, core_mono());
}

int meta_kept_pages(struct meta *m, const char *path, char *etag,
		    size_t size)
{
	struct meta_entry *e;
	int known = 0;

	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, path);
	if (e && e->kept_etag[0]) {
		snprintf(etag, size, "%s", e->kept_etag);
		known = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return known;
}

void meta_set_kept_pages(struct meta *m, const char *path, const char *etag)
{
	struct meta_entry *e;

	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, path);
	if (e)
		snprintf(e->kept_etag, sizeof(e->kept_etag), "%s", etag);
	pthread_mutex_unlock(&m->lock);
}

void meta_forget_pages(struct meta *m, const char *path)
{
	meta_set_kept_pages(m, path, "");
}

int meta_remember(struct meta *m, const char *dir, const char *name,
		  struct attr *a, double taken)
{
	char *path = core_child_path(dir, name);
	struct meta_entry *e;
	struct attr st;
	int newer, rc = 0;

	if (!path)
		return -1;
	if (m->staged && m->staged(m->staged_arg, path, &st)) {
		/* an open file's own view: its size, and the mode and owner
		 * a chmod or chown gave it before its upload */
		a->size = st.size;
		if (st.mode)
			a->mode = st.mode;
		if (st.has_uid) {
			a->has_uid = 1;
			a->uid = st.uid;
		}
		if (st.has_gid) {
			a->has_gid = 1;
			a->gid = st.gid;
		}
	} else {
		/* a file written here while the listing was on its way; or
		 * changed (a copy landed on it) and its attributes dropped:
		 * then neither they nor the listing's older ones hold */
		pthread_mutex_lock(&m->lock);
		e = meta_find_locked(m, path);
		newer = e && e->put_at > taken && e->a.kind != ATTR_NONE;
		if (newer && e->expires > core_mono())
			*a = e->a;
		else if (newer)
			rc = 1;
		pthread_mutex_unlock(&m->lock);
		if (!newer)
			put_at(m, path, a, taken);
	}
	free(path);
	return rc;
}

void meta_drop(struct meta *m, const char *path)
{
	struct meta_entry *e;

	/* stale attributes; the entry keeps a directory's lookup counters */
	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, path);
	if (e) {
		e->expires = 0;
		/* touched: a listing older than this does not answer for it */
		e->put_at = core_mono();
	}
	pthread_mutex_unlock(&m->lock);
}

void meta_stash_drop_locked(struct meta *m, const char *dir, int tree)
{
	size_t n = strlen(dir);
	int i;

	for (i = 0; i < META_STASH_SLOTS; i++) {
		struct meta_page *st = &m->stash[i];

		if (st->path && (tree ? strncmp(st->path, dir, n) == 0
				 : strcmp(st->path, dir) == 0))
			stash_clear(st);
	}
}

void meta_drop_tree(struct meta *m, const char *path)
{
	size_t i, n = strlen(path);

	pthread_mutex_lock(&m->lock);
	meta_stash_drop_locked(m, path, 1);
	for (i = 0; i < m->buckets; i++) {
		struct meta_entry **pp = &m->cache[i], *e;

		while ((e = *pp)) {
			if (strncmp(e->path, path, n) == 0 &&
			    (e->path[n] == '\0' || e->path[n] == '/' ||
			     (n == 1 && path[0] == '/'))) {
				*pp = e->next;
				entry_free(e);
				m->count--;
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void meta_stash_put(struct meta *m, const char *path,
		    struct blob_list_page *pg, double taken)
{
	struct meta_page *st;
	char *p = str_ndup(path, strlen(path));

	if (!p || m->o->attr_timeout <= 0) {
		free(p);
		blob_list_page_release(pg);
		return;
	}
	pthread_mutex_lock(&m->lock);
	/* a page of path kept before is older: this one replaces it */
	meta_stash_drop_locked(m, path, 0);
	st = &m->stash[m->stash_next++ % META_STASH_SLOTS];
	stash_clear(st);
	st->path = p;
	st->pg = *pg;
	st->taken = taken;
	st->expires = core_mono() + (m->o->attr_timeout < 2 ? m->o->attr_timeout : 2);
	pthread_mutex_unlock(&m->lock);
	memset(pg, 0, sizeof(*pg));
}

int meta_stash_take(struct meta *m, const char *path,
		    struct blob_list_page *pg, double *taken)
{
	double now = core_mono();
	int i, hit = 0;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < META_STASH_SLOTS; i++) {
		struct meta_page *st = &m->stash[i];

		if (!st->path || strcmp(st->path, path) != 0)
			continue;
		if (st->expires > now) {
			*pg = st->pg;
			*taken = st->taken;
			memset(&st->pg, 0, sizeof(st->pg));
			hit = 1;
		}
		stash_clear(st);
		break;
	}
	pthread_mutex_unlock(&m->lock);
	return hit;
}

void meta_saw(struct meta *m, const char *path, const struct blob_props *p)
{
	if (m->seen && p->copy.status != BLOB_COPY_NONE)
		m->seen(m->seen_arg, path, p);
}

uint64_t meta_hits(struct meta *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->hits;
	pthread_mutex_unlock(&m->lock);
	return n;
}
