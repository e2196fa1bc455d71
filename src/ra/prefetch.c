/*
 * prefetch.c -- read-ahead across files: the next small files of a
 * directory that is being read file after file.
 *
 * Why: cat of a glob, a shell loop over a directory's files, tar and rsync
 * open the small files of a directory one after the other, in the order
 * of the listing the shell or the tool just read. Each of them is one
 * Get Blob whose round trip is the whole cost, and the reader waits for
 * it. When two opens in a row hit neighbours of the directory's last
 * listing, the next RA_PF_AHEAD small files are fetched in parallel, so the
 * reader finds them in memory.
 *
 * Consistency: a prefetch asks Get Blob with If-Match of the ETag the
 * listing gave, so its bytes are exactly that version of the blob. An
 * open takes them only while the attribute cache still holds that ETag
 * and size and for at most PF_TTL seconds after they arrived; anything
 * else reads from the server as usual. Memory: RA_PF_SLOTS x RA_PF_MAX bytes.
 *
 * Locks: every field of struct ra_prefetch is guarded by ra.lock; a loader
 * fills its slot's buffer without it (the slot is LOADING: nobody else
 * touches it) and signals pf.cond when done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra/ra.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

#define PF_TTL 1.0           /* seconds prefetched bytes stay usable */
#define PF_LIST_MAX 20000    /* a longer listing is not kept (~2 MiB) */

enum { PF_FREE = 0, PF_LOADING, PF_READY, PF_FAILED };

void ra_init(struct ra *room, struct blob_client *blob,
	     const struct core_opts *o)
{
	memset(room, 0, sizeof(*room));
	room->blob = blob;
	room->o = o;
	room->now = core_mono;
	pthread_mutex_init(&room->lock, NULL);
	room->pf.last = SIZE_MAX;
	pthread_cond_init(&room->pf.cond, NULL);
}

/* slot_clear: frees a slot that is not loading (ra.lock held). */
static void slot_clear(struct ra_pf_slot *s)
{
	free(s->path);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* list_clear: forgets the kept listing (ra.lock held). */
static void list_clear(struct ra_prefetch *pf)
{
	size_t i;

	for (i = 0; i < pf->n; i++)
		free(pf->ents[i].name);
	free(pf->ents);
	free(pf->dir);
	pf->ents = NULL;
	pf->dir = NULL;
	pf->n = 0;
	pf->last = SIZE_MAX;
	pf->run = 0;
}

void ra_release(struct ra *room)
{
	int i;

	pthread_mutex_lock(&room->lock);
	while (room->pf.loading > 0)
		pthread_cond_wait(&room->pf.cond, &room->lock);
	for (i = 0; i < RA_PF_SLOTS; i++)
		slot_clear(&room->pf.slot[i]);
	list_clear(&room->pf);
	pthread_mutex_unlock(&room->lock);
	pthread_cond_destroy(&room->pf.cond);
	pthread_mutex_destroy(&room->lock);
}

void ra_listed(struct ra *room, const char *dir, const struct dent *d,
	       size_t n)
{
	struct ra_pf_ent *ents;
	size_t i, k = 0;
	char *dcopy;

	if (n > PF_LIST_MAX || room->o->attr_timeout <= 0)
		return;
	ents = calloc(n ? n : 1, sizeof(*ents));
	dcopy = str_ndup(dir, strlen(dir));
	if (!ents || !dcopy)
		goto out_nomem;
	/* d is sorted by name, each name once; keep the small files, in
	 * that order */
	for (i = 0; i < n; i++) {
		if (d[i].a.kind != ATTR_FILE || d[i].a.size == 0 ||
		    d[i].a.size > RA_PF_MAX || !d[i].a.etag[0] || d[i].a.copy_pending)
			continue;
		ents[k].name = str_ndup(d[i].name, strlen(d[i].name));
		if (!ents[k].name)
			goto out_nomem;
		ents[k].size = d[i].a.size;
		memcpy(ents[k].etag, d[i].a.etag, sizeof(ents[k].etag));
		k++;
	}
	pthread_mutex_lock(&room->lock);
	list_clear(&room->pf);
	/* slots were numbered by the old listing */
	for (i = 0; i < RA_PF_SLOTS; i++) {
		if (room->pf.slot[i].state == PF_LOADING)
			room->pf.slot[i].idx = SIZE_MAX;
		else
			slot_clear(&room->pf.slot[i]);
	}
	room->pf.dir = dcopy;
	room->pf.ents = ents;
	room->pf.n = k;
	room->pf.expires = core_mono() + room->o->attr_timeout;
	pthread_mutex_unlock(&room->lock);
	return;
out_nomem:
	if (ents)
		for (i = 0; i < k; i++)
			free(ents[i].name);
	free(ents);
	free(dcopy);
}

struct pf_load {
	struct ra *room;
	struct ra_pf_slot *s;
	char *name;
	size_t size;
	char etag[BLOB_ETAG_MAX];
};

static void *load_thread(void *arg)
{
	struct pf_load *l = arg;
	struct blob_error e;
	size_t got = 0;
	int ok;

	ok = blob_read(l->room->blob, l->name, 0, l->size, l->s->data, &got,
		       l->etag, &e) == 0 && got == l->size;
	pthread_mutex_lock(&l->room->lock);
	l->s->state = ok ? PF_READY : PF_FAILED;
	l->s->len = got;
	l->s->born = core_mono();
	l->room->pf.loading--;
	pthread_cond_broadcast(&l->room->pf.cond);
	pthread_mutex_unlock(&l->room->lock);
	if (!ok)
		log_debug("prefetch of %s: not taken", l->name);
	free(l->name);
	free(l);
	return NULL;
}

/* find_slot: the slot of path, or NULL (ra.lock held). */
static struct ra_pf_slot *find_slot(struct ra_prefetch *pf, const char *path)
{
	int i;

	for (i = 0; i < RA_PF_SLOTS; i++)
		if (pf->slot[i].state != PF_FREE && strcmp(pf->slot[i].path, path) == 0)
			return &pf->slot[i];
	return NULL;
}

/* free_slot: a slot to reuse: free, or ready/failed and not among the
 * next ones (ra.lock held). NULL when all are busy or wanted. */
static struct ra_pf_slot *free_slot(struct ra_prefetch *pf, double now)
{
	int i;

	for (i = 0; i < RA_PF_SLOTS; i++)
		if (pf->slot[i].state == PF_FREE)
			return &pf->slot[i];
	for (i = 0; i < RA_PF_SLOTS; i++) {
		struct ra_pf_slot *s = &pf->slot[i];

		if (s->state == PF_FAILED || (s->state == PF_READY &&
		    (s->born + PF_TTL <= now || s->idx <= pf->last ||
		     s->idx > pf->last + RA_PF_AHEAD))) {
			slot_clear(s);
			return s;
		}
	}
	return NULL;
}

/* start: slot s fetches entry i of the kept listing (ra.lock held). */
static int start(struct ra *room, struct ra_pf_slot *s, size_t i)
{
	struct ra_prefetch *pf = &room->pf;
	struct pf_load *l;
	int err;

	l = calloc(1, sizeof(*l));
	s->path = core_child_path(pf->dir, pf->ents[i].name);
	s->data = malloc(pf->ents[i].size);
	if (!l || !s->path || !s->data)
		goto out_free;
	l->name = core_blob_name(room->o, s->path, &err);
	if (!l->name)
		goto out_free;
	l->room = room;
	l->s = s;
	l->size = (size_t)pf->ents[i].size;
	memcpy(l->etag, pf->ents[i].etag, sizeof(l->etag));
	memcpy(s->etag, pf->ents[i].etag, sizeof(s->etag));
	s->idx = i;
	s->state = PF_LOADING;
	if (pool_detach(load_thread, l) < 0) {
		free(l->name);
		goto out_free;
	}
	pf->loading++;
	return 0;
out_free:
	free(l);
	slot_clear(s);
	return -1;
}

/* ahead: fetches the RA_PF_AHEAD small files after entry i (ra.lock held). */
static void ahead(struct ra *room, size_t i, double now)
{
	struct ra_prefetch *pf = &room->pf;
	size_t j;

	for (j = i + 1; j < pf->n && j <= i + RA_PF_AHEAD; j++) {
		char *p = core_child_path(pf->dir, pf->ents[j].name);
		struct ra_pf_slot *s;
		int have;

		if (!p)
			return;
		have = find_slot(pf, p) != NULL;
		free(p);
		if (have)
			continue;
		if (!(s = free_slot(pf, now)) || start(room, s, j) < 0)
			return;
	}
}

/* position: index of path in the kept listing, or SIZE_MAX (ra.lock
 * held). */
static size_t position(struct ra_prefetch *pf, const char *path, double now)
{
	const char *base = strrchr(path, '/');
	size_t dlen = base ? (size_t)(base - path) : 0, lo = 0, hi = pf->n;

	if (!pf->dir || pf->expires <= now || !base)
		return SIZE_MAX;
	if (!(dlen == 0 ? strcmp(pf->dir, "/") == 0
	      : strncmp(pf->dir, path, dlen) == 0 && pf->dir[dlen] == '\0'))
		return SIZE_MAX;
	base++;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(pf->ents[mid].name, base);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

void ra_copying(struct ra *room)
{
	if (!__atomic_load_n(&room->pf.copying, __ATOMIC_RELAXED))
		__atomic_store_n(&room->pf.copying, 1, __ATOMIC_RELAXED);
}

void ra_reading(struct ra *room)
{
	if (__atomic_load_n(&room->pf.copying, __ATOMIC_RELAXED))
		__atomic_store_n(&room->pf.copying, 0, __ATOMIC_RELAXED);
}

int ra_open_small(struct ra *room, const char *path, const struct attr *a,
	    char **data, size_t *len)
{
	struct ra_prefetch *pf = &room->pf;
	double now = core_mono();
	struct ra_pf_slot *s;
	size_t i;
	int hit = 0;

	if (a->kind != ATTR_FILE || a->size > RA_PF_MAX)
		return 0;
	pthread_mutex_lock(&room->lock);
	i = position(pf, path, now);
	if (i != SIZE_MAX) {
		/* two opens in listing order in a row: a reader going through
		 * the directory */
		pf->run = pf->last != SIZE_MAX && i == pf->last + 1 ? pf->run + 1 : 0;
		pf->last = i;
		if (pf->run >= 1 && !__atomic_load_n(&pf->copying, __ATOMIC_RELAXED))
			ahead(room, i, now);
	}
	s = find_slot(pf, path);
	while (s && s->state == PF_LOADING) {
		pthread_cond_wait(&pf->cond, &room->lock);
		s = find_slot(pf, path);
	}
	if (s && s->state == PF_READY && s->born + PF_TTL > core_mono() &&
	    s->len == a->size &&
	    strcmp(s->etag, a->etag) == 0) {
		*data = s->data;
		*len = s->len;
		s->data = NULL;
		hit = 1;
		room->hits++;
	}
	if (s)
		slot_clear(s);
	pthread_mutex_unlock(&room->lock);
	return hit;
}

uint64_t ra_hits(struct ra *room)
{
	uint64_t n;

	pthread_mutex_lock(&room->lock);
	n = room->hits;
	pthread_mutex_unlock(&room->lock);
	return n;
}
