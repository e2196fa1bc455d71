/*
 * dir.c -- a directory's listing answers the lookups of its names: the
 * first lookup that misses the cache in a directory lists it (one List
 * Blobs page, every entry into the cache for attr_timeout), so stat of
 * the names of a directory of up to CORE_LIST_PAGE costs one request in
 * all. While names are being made in the directory here (the last
 * META_LOOP of them within CORE_ABSENT_TTL: a loop creating files, or a
 * directory made here in the last CORE_ABSENT_TTL), a complete listing at
 * most CORE_ABSENT_TTL old also says which names are free: a listing a
 * second, not a lookup per name.
 * Otherwise a name the listing lacks is asked for: another client may
 * just have made it. A directory too big for one page
 * is asked name by name, and listed again only after attr_timeout. Every
 * function takes meta.lock (meta.h).
 */
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/str.h"

/* entries a cache may hold before a directory gets no entry of its own */
#define META_COUNTERS_MAX 200000
/* names made within CORE_ABSENT_TTL that make a directory's listing
 * answer absences (the size of meta_entry.recent) */
#define META_LOOP 3
_Static_assert(sizeof(((struct meta_entry *)0)->recent) ==
	       META_LOOP * sizeof(double), "meta_entry.recent holds META_LOOP");

/* dir_entry_locked: the entry of path's directory, made when missing
 * (with expired attributes), or NULL; *base = the last component of path
 * (meta.lock held). */
static struct meta_entry *dir_entry_locked(struct meta *m, const char *path,
					   const char **base, int make)
{
	struct meta_entry *e;
	char dir[4096];

	if (core_parent(path, dir, sizeof(dir)) < 0)
		return NULL;
	*base = strrchr(path, '/') + 1;
	e = meta_find_locked(m, dir);
	if (!e && make && m->count < META_COUNTERS_MAX)
		e = meta_entry_add_locked(m, dir);
	return e;
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

enum meta_absence meta_dir_answer(struct meta *m, const char *path)
{
	struct meta_entry *e, *f;
	const char *base;
	double now = core_mono();
	enum meta_absence rc;

	/* URL paths may turn '\' into '/' (Azurite does, for Put Blob and
	 * Get Blob alike), a listing prefix does not: such names are asked */
	if (strchr(path, '\\') || m->o->attr_timeout <= 0)
		return META_ASK;
	pthread_mutex_lock(&m->lock);
	e = dir_entry_locked(m, path, &base, 1);
	if (!e)
		rc = META_ASK;
	else if (e->snap && e->snap_expires > now)
		/* absent: not listed, in a directory names are being made
		 * in, and not put or dropped here since the listing (a new
		 * file's upload may have been on its way) */
		rc = bsearch(&base, e->snap, e->n_snap, sizeof(*e->snap), name_cmp) ||
			e->recent[e->n_recent % META_LOOP] + CORE_ABSENT_TTL <= now ||
			((f = meta_find_locked(m, path)) && f->put_at >= e->snap_taken)
			? META_ASK : META_ABSENT;
	else if (e->snap_big_until > now)
		rc = META_ASK;
	else
		rc = META_LIST_FIRST;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int meta_dir_snapshot(struct meta *m, const char *dir, char **names,
		      size_t n, double taken)
{
	double ttl = m->o->attr_timeout < CORE_ABSENT_TTL ? m->o->attr_timeout : CORE_ABSENT_TTL;
	struct meta_entry *e;
	int current = 0;
	size_t i;

	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, dir);
	if (!e && m->count < META_COUNTERS_MAX)
		e = meta_entry_add_locked(m, dir);
	if (e && e->changed >= taken) {
		/* a name came or went while it was listed: no answer */
		meta_snap_free(e);
	} else if (e) {
		current = 1;
		meta_snap_free(e);
		if (names) {
			e->snap = names;
			e->n_snap = n;
			e->snap_taken = taken;
			e->snap_expires = taken + ttl;
			names = NULL;
		} else {
			e->snap_big_until = core_mono() + m->o->attr_timeout;
		}
	}
	pthread_mutex_unlock(&m->lock);
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	return current;
}

void meta_dir_made(struct meta *m, const char *dir)
{
	double ttl = m->o->attr_timeout < CORE_ABSENT_TTL ? m->o->attr_timeout : CORE_ABSENT_TTL;
	struct meta_entry *e;
	char **none = calloc(1, sizeof(*none));
	int i;

	/* made here, so empty: its first names need no lookup. The names
	 * made next in it (tar x, cp -r, mkdir -p) are a loop that has just
	 * begun: for CORE_ABSENT_TTL the empty listing answers as if
	 * META_LOOP names had been made */
	if (!none)
		return;
	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, dir);
	if (!e && m->count < META_COUNTERS_MAX)
		e = meta_entry_add_locked(m, dir);
	if (e) {
		meta_snap_free(e);
		e->snap = none;
		e->n_snap = 0;
		e->snap_taken = core_mono();
		e->snap_expires = e->snap_taken + ttl;
		for (i = 0; i < META_LOOP; i++)
			e->recent[i] = e->snap_taken;
		none = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	free(none);
}

/* snap_add_locked: base becomes a name e's listing holds, so it is asked
 * for, never taken as absent (meta.lock held); a snapshot that cannot
 * grow is dropped. */
static void snap_add_locked(struct meta_entry *e, const char *base)
{
	char **grown, *copy;
	size_t lo = 0, hi = e->n_snap;

	if (!e->snap)
		return;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(e->snap[mid], base);

		if (c == 0)
			return;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	grown = realloc(e->snap, (e->n_snap + 1) * sizeof(*grown));
	copy = strdup(base);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			e->snap = grown;
		meta_snap_free(e);
		return;
	}
	e->snap = grown;
	memmove(grown + lo + 1, grown + lo, (e->n_snap - lo) * sizeof(*grown));
	grown[lo] = copy;
	e->n_snap++;
}

/* an event of name path for its directory's listing (dir_event) */
enum dir_event { DIR_FOUND, DIR_CHANGED };

static void dir_event(struct meta *m, const char *path, enum dir_event ev)
{
	struct meta_entry *e;
	const char *base;
	char dir[4096];

	if (core_parent(path, dir, sizeof(dir)) < 0)
		return;
	pthread_mutex_lock(&m->lock);
	e = dir_entry_locked(m, path, &base, ev == DIR_CHANGED);
	if (ev == DIR_CHANGED) {
		meta_stash_drop_locked(m, dir, 0);
		if (e) {
			e->changed = core_mono();
			e->recent[e->n_recent++ % META_LOOP] = e->changed;
			snap_add_locked(e, base);
		}
	} else if (e && e->snap &&
		   !bsearch(&base, e->snap, e->n_snap, sizeof(*e->snap), name_cmp)) {
		/* the server has a name the listing lacks: it is stale */
		meta_snap_free(e);
		meta_stash_drop_locked(m, dir, 0);
	}
	pthread_mutex_unlock(&m->lock);
}

void meta_dir_found(struct meta *m, const char *path)
{
	dir_event(m, path, DIR_FOUND);
}

void meta_dir_changed(struct meta *m, const char *path)
{
	dir_event(m, path, DIR_CHANGED);
}
