/*
 * dir.c -- directories being worked through: a run of lookups that ask
 * the server in one directory is answered by one List Blobs (meta_dir_
 * busy), and in a loop creating files the names still free come from a
 * listing at most a second old (meta_dir_absent, meta_dir_snapshot).
 * Every function takes meta.lock (meta.h).
 */
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/str.h"

/* from which lookup below a directory that asks the server on the
 * directory counts as busy (see meta_dir_busy) */
#define META_BUSY_AFTER 2
/* from which create in a row, each after a lookup that found nothing, a
 * directory's lookups answer absent names from a listing (see
 * meta_dir_absent) */
#define META_CREATE_LOOP 3
/* entries a cache may hold before a counter gets no entry of its own */
#define META_COUNTERS_MAX 200000

int meta_dir_busy(struct meta *m, const char *path)
{
	struct meta_entry *e;
	double now = core_mono();
	char dir[4096];
	int busy = 0;

	if (m->o->attr_timeout <= 0 || core_parent(path, dir, sizeof(dir)) < 0)
		return 0;
	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, dir);
	/* an entry for the counters only: expired attributes */
	if (!e && m->count < META_COUNTERS_MAX)
		e = meta_entry_add_locked(m, dir);
	if (e) {
		if (e->lookups_since + m->o->attr_timeout <= now) {
			e->lookups = 0;
			e->lookups_since = now;
		}
		busy = ++e->lookups >= META_BUSY_AFTER;
	}
	pthread_mutex_unlock(&m->lock);
	return busy;
}

/* dir_entry_locked: the entry of path's directory, or NULL; *base = the
 * last component of path (meta.lock held). */
static struct meta_entry *dir_entry_locked(struct meta *m, const char *path,
					   const char **base)
{
	char dir[4096];

	if (core_parent(path, dir, sizeof(dir)) < 0)
		return NULL;
	*base = strrchr(path, '/') + 1;
	return meta_find_locked(m, dir);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

enum meta_absence meta_dir_absent(struct meta *m, const char *path)
{
	struct meta_entry *e;
	const char *base;
	double now = core_mono();
	enum meta_absence rc = META_ASK;

	if (strchr(path, '\\'))
		return META_ASK; /* see meta_lookup */
	pthread_mutex_lock(&m->lock);
	e = dir_entry_locked(m, path, &base);
	if (!e || e->creates < META_CREATE_LOOP) {
		rc = META_ASK;
	} else if (e->answered) {
		/* the last name the listing said absent was not created (a
		 * reader, not a loop of new files): ask the server again */
		e->creates = 0;
		e->answered = 0;
		meta_snap_free(e);
	} else if (e->snap && e->snap_expires > now) {
		if (!bsearch(&base, e->snap, e->n_snap, sizeof(*e->snap), name_cmp)) {
			rc = META_ABSENT;
			e->last_absent = str_hash(path);
			e->answered = 1;
		}
	} else {
		rc = e->snap_big_until > now ? META_ASK : META_LIST_FIRST;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void meta_dir_snapshot(struct meta *m, const char *dir, char **names,
		       size_t n, double taken)
{
	double ttl = m->o->attr_timeout < CORE_ABSENT_TTL ? m->o->attr_timeout : CORE_ABSENT_TTL;
	struct meta_entry *e;
	size_t i;

	if (names)
		qsort(names, n, sizeof(*names), name_cmp);
	pthread_mutex_lock(&m->lock);
	e = meta_find_locked(m, dir);
	if (e) {
		meta_snap_free(e);
		if (names) {
			e->snap = names;
			e->n_snap = n;
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
}

void meta_dir_looked_up(struct meta *m, const char *path, int absent)
{
	struct meta_entry *e;
	const char *base;

	pthread_mutex_lock(&m->lock);
	e = dir_entry_locked(m, path, &base);
	if (e && absent) {
		e->last_absent = str_hash(path);
	} else if (e) {
		/* not a loop of new names (any more) */
		e->creates = 0;
		e->answered = 0;
		meta_snap_free(e);
	}
	pthread_mutex_unlock(&m->lock);
}

void meta_dir_changed(struct meta *m, const char *path)
{
	char dir[4096];

	if (core_parent(path, dir, sizeof(dir)) < 0)
		return;
	pthread_mutex_lock(&m->lock);
	meta_stash_drop_locked(m, dir, 0);
	pthread_mutex_unlock(&m->lock);
}

void meta_dir_created(struct meta *m, const char *path)
{
	struct meta_entry *e;
	const char *base;

	meta_dir_changed(m, path);
	pthread_mutex_lock(&m->lock);
	e = dir_entry_locked(m, path, &base);
	if (e) {
		e->creates = e->last_absent == str_hash(path) ? e->creates + 1 : 0;
		e->answered = 0;
	}
	pthread_mutex_unlock(&m->lock);
}
