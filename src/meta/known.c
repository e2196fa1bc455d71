/*
 * known.c -- the whole metadata and ETag of the blobs this mount wrote
 * last (a create, mkdir, an upload, a Set Blob Metadata), by blob name.
 * A change of attributes starts from it instead of asking Get Blob
 * Properties: tar's chmod and utimensat of a directory it made cost one
 * Set Blob Metadata each. Only a hint: the change sends If-Match with the
 * ETag, so a blob changed since by anyone is refused (412) and read
 * again. Direct-mapped slots: a name that collides evicts the older one.
 * Every function takes known_lock.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/str.h"

#define KNOWN_SLOTS 1024

struct meta_known {
	char *name;
	char etag[BLOB_ETAG_MAX];
	struct blob_meta *meta;
	size_t n_meta;
};

static void slot_clear(struct meta_known *k)
{
	free(k->name);
	core_meta_free(k->meta, k->n_meta);
	memset(k, 0, sizeof(*k));
}

int meta_known_init(struct meta *m)
{
	m->known = calloc(KNOWN_SLOTS, sizeof(*m->known));
	if (!m->known)
		return -1;
	pthread_mutex_init(&m->known_lock, NULL);
	return 0;
}

void meta_known_release(struct meta *m)
{
	size_t i;

	if (!m->known)
		return;
	for (i = 0; i < KNOWN_SLOTS; i++)
		slot_clear(&m->known[i]);
	free(m->known);
	m->known = NULL;
	pthread_mutex_destroy(&m->known_lock);
}

void meta_known_put(struct meta *m, const char *name, const char *etag,
		    const struct blob_meta *meta, size_t n)
{
	struct meta_known *k = &m->known[str_hash(name) % KNOWN_SLOTS];
	struct blob_meta *dup = NULL;
	char *nm = str_ndup(name, strlen(name));

	if (!nm || !etag || !*etag || core_meta_dup(meta, n, &dup) < 0) {
		free(nm);
		meta_known_drop(m, name);
		return;
	}
	pthread_mutex_lock(&m->known_lock);
	slot_clear(k);
	k->name = nm;
	snprintf(k->etag, sizeof(k->etag), "%s", etag);
	k->meta = dup;
	k->n_meta = n;
	pthread_mutex_unlock(&m->known_lock);
}

int meta_known_get(struct meta *m, const char *name, char *etag,
		   struct blob_meta **meta, size_t *n)
{
	struct meta_known *k = &m->known[str_hash(name) % KNOWN_SLOTS];
	int have = 0;

	pthread_mutex_lock(&m->known_lock);
	if (k->name && strcmp(k->name, name) == 0 &&
	    core_meta_dup(k->meta, k->n_meta, meta) == 0) {
		snprintf(etag, BLOB_ETAG_MAX, "%s", k->etag);
		*n = k->n_meta;
		have = 1;
	}
	pthread_mutex_unlock(&m->known_lock);
	return have;
}

void meta_known_drop(struct meta *m, const char *name)
{
	struct meta_known *k = &m->known[str_hash(name) % KNOWN_SLOTS];

	pthread_mutex_lock(&m->known_lock);
	if (k->name && strcmp(k->name, name) == 0)
		slot_clear(k);
	pthread_mutex_unlock(&m->known_lock);
}
