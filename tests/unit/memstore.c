/*
 * memstore.c -- an in-memory Blob service for unit tests (memstore.h).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "memstore.h"

struct ms_block {
	char *blob;
	char *id;
	char *data;
	size_t len;
	struct ms_block *next;
};

struct ms_blob {
	char *name;
	char *data;
	size_t len;
	unsigned long tag;
	struct blob_meta *meta;
	size_t n_meta;
	char **ids;               /* committed block ids, NULL: Put Blob */
	size_t *id_len;
	size_t n_ids;
	char lease[BLOB_LEASE_ID_MAX]; /* "" when not leased */
	struct ms_blob *next;
};

struct ms_inflight {
	char *blob;
	char *id;
	struct ms_inflight *next;
};

struct ms_count {
	char *key;                /* "blob\nidx" */
	unsigned n;
	struct ms_count *next;
};

struct memstore {
	struct auth auth;          /* what copy source URLs are signed with */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ms_blob *blobs;
	struct ms_block *blocks;   /* uncommitted */
	struct ms_inflight *inflight;
	struct ms_count *puts;
	unsigned long next_tag;
	unsigned count[MS_N_OPS];
	unsigned fail_n[MS_N_OPS];
	long fail_status[MS_N_OPS];
	char fail_code[MS_N_OPS][64];
	int held[MS_N_OPS];
	unsigned waiting[MS_N_OPS];
	unsigned overlaps;
	size_t chunk;
	uint64_t streams[MS_STREAM_LOG][2]; /* read_stream calls: off, len */
	unsigned n_streams;
};

static char *dup_n(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static char *dup_s(const char *s)
{
	return dup_n(s, strlen(s));
}

struct memstore *memstore_new(void)
{
	struct memstore *ms = calloc(1, sizeof(*ms));

	pthread_mutex_init(&ms->lock, NULL);
	pthread_cond_init(&ms->cond, NULL);
	ms->next_tag = 1;
	ms->chunk = 16384;
	return ms;
}

static void meta_free(struct blob_meta *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].value);
	}
	free(m);
}

static void blob_free(struct ms_blob *b)
{
	size_t i;

	for (i = 0; i < b->n_ids; i++)
		free(b->ids[i]);
	free(b->ids);
	free(b->id_len);
	meta_free(b->meta, b->n_meta);
	free(b->data);
	free(b->name);
	free(b);
}

void memstore_free(struct memstore *ms)
{
	while (ms->blobs) {
		struct ms_blob *b = ms->blobs;

		ms->blobs = b->next;
		blob_free(b);
	}
	while (ms->blocks) {
		struct ms_block *k = ms->blocks;

		ms->blocks = k->next;
		free(k->blob);
		free(k->id);
		free(k->data);
		free(k);
	}
	while (ms->puts) {
		struct ms_count *c = ms->puts;

		ms->puts = c->next;
		free(c->key);
		free(c);
	}
	pthread_cond_destroy(&ms->cond);
	pthread_mutex_destroy(&ms->lock);
	free(ms);
}

static struct ms_blob *find(struct memstore *ms, const char *name)
{
	struct ms_blob *b;

	for (b = ms->blobs; b; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

static void etag_of(const struct ms_blob *b, char *out)
{
	snprintf(out, BLOB_ETAG_MAX, "\"0x%08lX\"", b->tag);
}

/* store: name's content becomes data (taken); meta copied. */
static struct ms_blob *store(struct memstore *ms, const char *name,
			     char *data, size_t len, const struct blob_meta *m,
			     size_t nm)
{
	struct ms_blob *b = find(ms, name);
	size_t i;

	if (!b) {
		b = calloc(1, sizeof(*b));
		b->name = dup_s(name);
		b->next = ms->blobs;
		ms->blobs = b;
	}
	free(b->data);
	b->data = data;
	b->len = len;
	b->tag = ms->next_tag++;
	meta_free(b->meta, b->n_meta);
	b->meta = calloc(nm + 1, sizeof(*b->meta));
	b->n_meta = nm;
	for (i = 0; i < nm; i++) {
		b->meta[i].name = dup_s(m[i].name);
		b->meta[i].value = dup_s(m[i].value);
	}
	for (i = 0; i < b->n_ids; i++)
		free(b->ids[i]);
	free(b->ids);
	free(b->id_len);
	b->ids = NULL;
	b->id_len = NULL;
	b->n_ids = 0;
	return b;
}

void memstore_put(struct memstore *ms, const char *name, const void *data,
		  size_t len, const char *key, const char *value)
{
	struct blob_meta m = { (char *)key, (char *)value };

	pthread_mutex_lock(&ms->lock);
	store(ms, name, dup_n(data, len), len, &m, key ? 1 : 0);
	pthread_mutex_unlock(&ms->lock);
}

char *memstore_get(struct memstore *ms, const char *name, size_t *len)
{
	struct ms_blob *b;
	char *d = NULL;

	pthread_mutex_lock(&ms->lock);
	b = find(ms, name);
	if (b) {
		d = dup_n(b->data ? b->data : "", b->len);
		*len = b->len;
	}
	pthread_mutex_unlock(&ms->lock);
	return d;
}

int memstore_etag(struct memstore *ms, const char *name, char *out)
{
	struct ms_blob *b;

	pthread_mutex_lock(&ms->lock);
	b = find(ms, name);
	if (b)
		etag_of(b, out);
	pthread_mutex_unlock(&ms->lock);
	return b ? 0 : -1;
}

int memstore_lease(struct memstore *ms, const char *name, char *out)
{
	struct ms_blob *b;
	int leased;

	pthread_mutex_lock(&ms->lock);
	b = find(ms, name);
	leased = b && b->lease[0];
	if (leased)
		memcpy(out, b->lease, BLOB_LEASE_ID_MAX);
	pthread_mutex_unlock(&ms->lock);
	return leased;
}

char *memstore_meta(struct memstore *ms, const char *name, const char *key)
{
	struct ms_blob *b;
	char *v = NULL;
	size_t i;

	pthread_mutex_lock(&ms->lock);
	b = find(ms, name);
	for (i = 0; b && i < b->n_meta; i++)
		if (strcasecmp(b->meta[i].name, key) == 0)
			v = dup_s(b->meta[i].value);
	pthread_mutex_unlock(&ms->lock);
	return v;
}

unsigned memstore_count(struct memstore *ms, enum ms_op op)
{
	unsigned n;

	pthread_mutex_lock(&ms->lock);
	n = ms->count[op];
	pthread_mutex_unlock(&ms->lock);
	return n;
}

void memstore_fail(struct memstore *ms, enum ms_op op, unsigned n,
		   long status, const char *code)
{
	pthread_mutex_lock(&ms->lock);
	ms->fail_n[op] = n;
	ms->fail_status[op] = status;
	snprintf(ms->fail_code[op], sizeof(ms->fail_code[op]), "%s", code);
	pthread_mutex_unlock(&ms->lock);
}

void memstore_hold(struct memstore *ms, enum ms_op op, int on)
{
	pthread_mutex_lock(&ms->lock);
	ms->held[op] = on;
	pthread_cond_broadcast(&ms->cond);
	pthread_mutex_unlock(&ms->lock);
}

unsigned memstore_waiting(struct memstore *ms, enum ms_op op)
{
	unsigned n;

	pthread_mutex_lock(&ms->lock);
	n = ms->waiting[op];
	pthread_mutex_unlock(&ms->lock);
	return n;
}

unsigned memstore_wait_for(struct memstore *ms, enum ms_op op, unsigned n)
{
	int i;

	for (i = 0; i < 500 && memstore_waiting(ms, op) < n; i++)
		usleep(10000);
	return memstore_waiting(ms, op);
}

unsigned memstore_block_overlaps(struct memstore *ms)
{
	unsigned n;

	pthread_mutex_lock(&ms->lock);
	n = ms->overlaps;
	pthread_mutex_unlock(&ms->lock);
	return n;
}

/* block_idx: the number blob_block_id encoded in id, or -1. */
static long block_idx(const char *id)
{
	unsigned char raw[96];
	const char *dash;
	int n;

	if (strlen(id) > 120)
		return -1;
	n = EVP_DecodeBlock(raw, (const unsigned char *)id, (int)strlen(id));
	if (n <= 0)
		return -1;
	raw[n] = '\0';
	dash = strrchr((const char *)raw, '-');
	return dash ? strtol(dash + 1, NULL, 10) : -1;
}

unsigned memstore_block_puts(struct memstore *ms, const char *name,
			     uint32_t idx)
{
	struct ms_count *c;
	char key[1200];
	unsigned n = 0;

	snprintf(key, sizeof(key), "%s\n%u", name, idx);
	pthread_mutex_lock(&ms->lock);
	for (c = ms->puts; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			n = c->n;
	pthread_mutex_unlock(&ms->lock);
	return n;
}

int memstore_stream_call(struct memstore *ms, unsigned i, uint64_t *off,
			 uint64_t *len)
{
	int have;

	pthread_mutex_lock(&ms->lock);
	have = i < ms->n_streams;
	if (have) {
		*off = ms->streams[i][0];
		*len = ms->streams[i][1];
	}
	pthread_mutex_unlock(&ms->lock);
	return have;
}

void memstore_stream_chunk(struct memstore *ms, size_t n)
{
	pthread_mutex_lock(&ms->lock);
	ms->chunk = n;
	pthread_mutex_unlock(&ms->lock);
}

static int fail(struct blob_error *e, long status, const char *code)
{
	memset(e, 0, sizeof(*e));
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	blob_error_classify(e);
	return -1;
}

/* enter: one call of op begins: counted, held while the test holds op,
 * then failed if the test asked (-1, e filled). Takes ms->lock, which
 * the caller releases. */
static int enter(struct memstore *ms, enum ms_op op, struct blob_error *e)
{
	pthread_mutex_lock(&ms->lock);
	ms->count[op]++;
	ms->waiting[op]++;
	while (ms->held[op])
		pthread_cond_wait(&ms->cond, &ms->lock);
	ms->waiting[op]--;
	if (ms->fail_n[op]) {
		ms->fail_n[op]--;
		return fail(e, ms->fail_status[op], ms->fail_code[op]);
	}
	return 0;
}

static struct memstore *ms_of(struct blob_client *c)
{
	return c->ops_ctx;
}

static void props_of(const struct ms_blob *b, struct blob_props *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->size = b->len;
	etag_of(b, p->etag);
	p->last_modified.tv_sec = 1700000000 + (time_t)b->tag;
	snprintf(p->blob_type, sizeof(p->blob_type), "BlockBlob");
	p->meta = calloc(b->n_meta + 1, sizeof(*p->meta));
	p->n_meta = b->n_meta;
	for (i = 0; i < b->n_meta; i++) {
		p->meta[i].name = dup_s(b->meta[i].name);
		p->meta[i].value = dup_s(b->meta[i].value);
	}
}

static int ms_container_check(struct blob_client *c, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	int rc = enter(ms, MS_GET_PROPS, err);

	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_get_props(struct blob_client *c, const char *name,
			struct blob_props *p, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b;
	int rc = enter(ms, MS_GET_PROPS, err);

	if (rc == 0) {
		b = find(ms, name);
		if (b)
			props_of(b, p);
		else
			rc = fail(err, 404, "BlobNotFound");
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

/* cond_read: the blob to read under if_match, or -1 with err. */
static int cond_read(struct memstore *ms, const char *name,
		     const char *if_match, struct ms_blob **out,
		     struct blob_error *err)
{
	struct ms_blob *b = find(ms, name);
	char tag[BLOB_ETAG_MAX];

	if (!b)
		return fail(err, 404, "BlobNotFound");
	etag_of(b, tag);
	if (if_match && strcmp(if_match, tag) != 0)
		return fail(err, 412, "ConditionNotMet");
	*out = b;
	return 0;
}

static int ms_read(struct blob_client *c, const char *name, uint64_t off,
		   size_t len, void *buf, size_t *got, const char *if_match,
		   struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b;
	int rc = enter(ms, MS_READ, err);

	if (rc == 0)
		rc = cond_read(ms, name, if_match, &b, err);
	if (rc == 0) {
		size_t n = off >= b->len ? 0 : b->len - (size_t)off;

		if (n > len)
			n = len;
		memcpy(buf, b->data + off, n);
		*got = n;
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_read_stream(struct blob_client *c, const char *name,
			  uint64_t off, uint64_t len, const char *if_match,
			  blob_sink sink, void *arg, uint64_t *got,
			  struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b;
	char *copy = NULL;
	size_t n = 0, chunk = ms->chunk, at = 0;
	int rc = enter(ms, MS_READ_STREAM, err);

	*got = 0;
	if (ms->n_streams < MS_STREAM_LOG) {
		ms->streams[ms->n_streams][0] = off;
		ms->streams[ms->n_streams][1] = len;
		ms->n_streams++;
	}
	if (rc == 0)
		rc = cond_read(ms, name, if_match, &b, err);
	if (rc == 0 && off < b->len) {
		n = b->len - (size_t)off < len ? b->len - (size_t)off : (size_t)len;
		copy = dup_n(b->data + off, n);
	}
	pthread_mutex_unlock(&ms->lock);
	/* the sink may block: it runs without the store's lock */
	while (rc == 0 && at < n) {
		size_t k = n - at < chunk ? n - at : chunk, took;

		took = sink(arg, copy + at, k);
		at += took;
		*got = at;
		if (took < k)
			rc = fail(err, 0, "Cancelled");
	}
	free(copy);
	return rc;
}

static int cond_write(struct memstore *ms, const char *name,
		      const struct blob_put_opts *o, struct blob_error *err)
{
	struct ms_blob *b = find(ms, name);
	char tag[BLOB_ETAG_MAX];

	if (!o)
		return 0;
	if (o->if_none_match_any && b)
		return fail(err, 409, "BlobAlreadyExists");
	if (o->if_match) {
		if (!b)
			return fail(err, 412, "ConditionNotMet");
		etag_of(b, tag);
		if (strcmp(tag, o->if_match) != 0)
			return fail(err, 412, "ConditionNotMet");
	}
	return 0;
}

static int ms_put(struct blob_client *c, const char *name, const void *data,
		  size_t len, const struct blob_put_opts *o, char *etag_out,
		  struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b;
	int rc = enter(ms, MS_PUT, err);

	if (rc == 0)
		rc = cond_write(ms, name, o, err);
	if (rc == 0) {
		b = store(ms, name, dup_n(data, len), len, o ? o->meta : NULL,
			  o ? o->n_meta : 0);
		if (etag_out)
			etag_of(b, etag_out);
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static void count_put(struct memstore *ms, const char *name, const char *id)
{
	struct ms_count *c;
	char key[1200];

	snprintf(key, sizeof(key), "%s\n%ld", name, block_idx(id));
	for (c = ms->puts; c; c = c->next) {
		if (strcmp(c->key, key) == 0) {
			c->n++;
			return;
		}
	}
	c = calloc(1, sizeof(*c));
	c->key = dup_s(key);
	c->n = 1;
	c->next = ms->puts;
	ms->puts = c;
}

static int ms_put_block_fd(struct blob_client *c, const char *name,
			   const char *block_id, int fd, uint64_t off,
			   size_t len, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_inflight me = { (char *)name, (char *)block_id, NULL }, **pp;
	struct ms_block *k;
	char *data = malloc(len ? len : 1);
	ssize_t r;
	int rc;

	/* in flight from the call on: a second Put Block of the same id
	 * while this one is held is an overlap */
	pthread_mutex_lock(&ms->lock);
	for (pp = &ms->inflight; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->blob, name) == 0 && strcmp((*pp)->id, block_id) == 0)
			ms->overlaps++;
	me.next = ms->inflight;
	ms->inflight = &me;
	count_put(ms, name, block_id);
	pthread_mutex_unlock(&ms->lock);
	rc = enter(ms, MS_PUT_BLOCK, err);
	pthread_mutex_unlock(&ms->lock);
	/* the bytes are read while they are sent, as the real call does */
	r = rc == 0 ? pread(fd, data, len, (off_t)off) : 0;
	pthread_mutex_lock(&ms->lock);
	if (rc == 0 && r != (ssize_t)len)
		rc = fail(err, 0, "");
	if (rc == 0) {
		k = calloc(1, sizeof(*k));
		k->blob = dup_s(name);
		k->id = dup_s(block_id);
		k->data = data;
		k->len = len;
		k->next = ms->blocks;
		ms->blocks = k;
		data = NULL;
	}
	for (pp = &ms->inflight; *pp != &me; pp = &(*pp)->next)
		;
	*pp = me.next;
	pthread_mutex_unlock(&ms->lock);
	free(data);
	return rc;
}

/* block_data: the newest uncommitted block id of name, else the
 * committed one, as (data, len) into *d and *n. 0 or -1. */
static int block_data(struct memstore *ms, const char *name, const char *id,
		      const char **d, size_t *n)
{
	struct ms_blob *b = find(ms, name);
	struct ms_block *k;
	size_t i, at = 0;

	for (k = ms->blocks; k; k = k->next) {
		if (strcmp(k->blob, name) == 0 && strcmp(k->id, id) == 0) {
			*d = k->data;
			*n = k->len;
			return 0;
		}
	}
	for (i = 0; b && i < b->n_ids; i++) {
		if (strcmp(b->ids[i], id) == 0) {
			*d = b->data + at;
			*n = b->id_len[i];
			return 0;
		}
		at += b->id_len[i];
	}
	return -1;
}

static int ms_put_block_list(struct blob_client *c, const char *name,
			     char *const *ids, size_t n,
			     const struct blob_put_opts *o, char *etag_out,
			     struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b;
	char *data = NULL, **kept;
	size_t *lens, total = 0, i;
	int rc = enter(ms, MS_PUT_BLOCK_LIST, err);

	if (rc == 0)
		rc = cond_write(ms, name, o, err);
	kept = calloc(n + 1, sizeof(*kept));
	lens = calloc(n + 1, sizeof(*lens));
	for (i = 0; rc == 0 && i < n; i++) {
		const char *d;
		size_t len;

		if (block_data(ms, name, ids[i], &d, &len) < 0) {
			rc = fail(err, 400, "InvalidBlockList");
			break;
		}
		data = realloc(data, total + len + 1);
		memcpy(data + total, d, len);
		total += len;
		kept[i] = dup_s(ids[i]);
		lens[i] = len;
	}
	if (rc == 0) {
		b = store(ms, name, data, total, o ? o->meta : NULL,
			  o ? o->n_meta : 0);
		data = NULL;
		b->ids = kept;
		b->id_len = lens;
		b->n_ids = n;
		kept = NULL;
		lens = NULL;
		if (etag_out)
			etag_of(b, etag_out);
	}
	pthread_mutex_unlock(&ms->lock);
	for (i = 0; kept && i < n; i++)
		free(kept[i]);
	free(kept);
	free(lens);
	free(data);
	return rc;
}

static int ms_get_block_list(struct blob_client *c, const char *name,
			     struct blob_block **blocks, size_t *n,
			     char *etag_out, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b;
	size_t i;
	int rc = enter(ms, MS_GET_BLOCK_LIST, err);

	if (rc == 0 && !(b = find(ms, name)))
		rc = fail(err, 404, "BlobNotFound");
	if (rc == 0) {
		*blocks = calloc(b->n_ids + 1, sizeof(**blocks));
		for (i = 0; i < b->n_ids; i++) {
			(*blocks)[i].id = dup_s(b->ids[i]);
			(*blocks)[i].size = b->id_len[i];
		}
		*n = b->n_ids;
		if (etag_out)
			etag_of(b, etag_out);
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_delete(struct blob_client *c, const char *name,
		     const char *lease_id, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob **pp, *b;
	int rc = enter(ms, MS_DELETE, err);

	for (pp = &ms->blobs; rc == 0 && *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			break;
	if (rc == 0 && !*pp)
		rc = fail(err, 404, "BlobNotFound");
	if (rc == 0 && (*pp)->lease[0] && !lease_id)
		rc = fail(err, 412, "LeaseIdMissing");
	if (rc == 0 && lease_id && strcmp((*pp)->lease, lease_id) != 0)
		rc = fail(err, 412, (*pp)->lease[0] ? "LeaseIdMismatchWithBlobOperation"
						 : "LeaseNotPresentWithBlobOperation");
	if (rc == 0) {
		b = *pp;
		*pp = b->next;
		blob_free(b);
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp((*(struct ms_blob *const *)x)->name,
		      (*(struct ms_blob *const *)y)->name);
}

/* list_add: the next entry of a listing (an item or a prefix). */
static void list_add(struct blob_list_page *pg, const struct ms_blob *b,
		     const char *prefix_end, size_t plen)
{
	if (prefix_end) {
		char *p = dup_n(b->name, (size_t)(prefix_end - b->name) + 1);

		if (pg->n_prefixes && strcmp(pg->prefixes[pg->n_prefixes - 1], p) == 0) {
			free(p);
			return;
		}
		pg->prefixes = realloc(pg->prefixes, (pg->n_prefixes + 1) * sizeof(char *));
		pg->prefixes[pg->n_prefixes++] = p;
		return;
	}
	(void)plen;
	pg->items = realloc(pg->items, (pg->n_items + 1) * sizeof(*pg->items));
	memset(&pg->items[pg->n_items], 0, sizeof(pg->items[0]));
	pg->items[pg->n_items].name = dup_s(b->name);
	props_of(b, &pg->items[pg->n_items].props);
	pg->n_items++;
}

static int ms_list(struct blob_client *c, const char *prefix,
		   const char *delim, const char *marker, int max_results,
		   struct blob_list_page *pg, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b, **all = NULL;
	size_t n = 0, i, plen = prefix ? strlen(prefix) : 0;
	int rc = enter(ms, MS_LIST, err), count = 0;

	memset(pg, 0, sizeof(*pg));
	for (b = ms->blobs; rc == 0 && b; b = b->next) {
		if (plen && strncmp(b->name, prefix, plen) != 0)
			continue;
		all = realloc(all, (n + 1) * sizeof(*all));
		all[n++] = b;
	}
	if (n)
		qsort(all, n, sizeof(*all), name_cmp);
	for (i = 0; rc == 0 && i < n; i++) {
		const char *end = delim ? strstr(all[i]->name + plen, delim) : NULL;

		if (marker && strcmp(all[i]->name, marker) < 0)
			continue;
		if (count == max_results) {
			pg->next_marker = dup_s(all[i]->name);
			break;
		}
		list_add(pg, all[i], end, plen);
		count++;
	}
	pthread_mutex_unlock(&ms->lock);
	free(all);
	return rc;
}

static int ms_set_metadata(struct blob_client *c, const char *name,
			   const struct blob_meta *meta, size_t n,
			   const char *if_match, char *etag_out,
			   struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct blob_put_opts o = { .if_match = if_match };
	struct ms_blob *b;
	size_t i;
	int rc = enter(ms, MS_SET_METADATA, err);

	if (rc == 0 && !(b = find(ms, name)))
		rc = fail(err, 404, "BlobNotFound");
	if (rc == 0)
		rc = cond_write(ms, name, &o, err);
	if (rc == 0) {
		meta_free(b->meta, b->n_meta);
		b->meta = calloc(n + 1, sizeof(*b->meta));
		b->n_meta = n;
		for (i = 0; i < n; i++) {
			b->meta[i].name = dup_s(meta[i].name);
			b->meta[i].value = dup_s(meta[i].value);
		}
		b->tag = ms->next_tag++;
		if (etag_out)
			etag_of(b, etag_out);
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_simple(struct blob_client *c, enum ms_op op, const char *name,
		     struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	int rc = enter(ms, op, err);

	if (rc == 0 && !find(ms, name))
		rc = fail(err, 404, "BlobNotFound");
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_set_content_type(struct blob_client *c, const char *name,
			       const char *type, struct blob_error *err)
{
	(void)type;
	return ms_simple(c, MS_SET_CONTENT_TYPE, name, err);
}

static int ms_set_tier(struct blob_client *c, const char *name,
		       const char *tier, struct blob_error *err)
{
	(void)tier;
	return ms_simple(c, MS_SET_TIER, name, err);
}

static int ms_copy_start(struct blob_client *c, const char *name,
			 const char *source_url, const char *source_if_match,
			 const char *source_lease_id, const char *tier,
			 const struct blob_meta *meta, size_t n,
			 struct blob_copy_result *out, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	const char *src = strstr(source_url, "/memstore/c/");
	struct ms_blob *s, *d;
	char tag[BLOB_ETAG_MAX];
	int rc = enter(ms, MS_COPY_START, err);

	(void)tier;
	if (rc == 0 && (!src || !(s = find(ms, src + strlen("/memstore/c/")))))
		rc = fail(err, 404, "CannotVerifyCopySource");
	if (rc == 0 && source_if_match) {
		etag_of(s, tag);
		if (strcmp(tag, source_if_match) != 0)
			rc = fail(err, 412, "SourceConditionNotMet");
	}
	if (rc == 0 && source_lease_id && strcmp(s->lease, source_lease_id) != 0)
		rc = fail(err, 412, s->lease[0] ? "LeaseIdMismatchWithBlobOperation"
					       : "LeaseNotPresentWithBlobOperation");
	if (rc == 0) {
		d = store(ms, name, dup_n(s->data ? s->data : "", s->len), s->len,
			  n ? meta : s->meta, n ? n : s->n_meta);
		memset(out, 0, sizeof(*out));
		snprintf(out->id, sizeof(out->id), "copy-%lu", d->tag);
		out->status = BLOB_COPY_SUCCESS;
		etag_of(d, out->etag);
	}
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_copy_abort(struct blob_client *c, const char *name,
			 const char *copy_id, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	int rc = enter(ms, MS_COPY_ABORT, err);

	(void)name;
	(void)copy_id;
	if (rc == 0)
		rc = fail(err, 409, "NoPendingCopyOperation");
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_snapshot(struct blob_client *c, const char *name, char *when,
		       size_t len, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	int rc = enter(ms, MS_SNAPSHOT, err);

	if (rc == 0 && !find(ms, name))
		rc = fail(err, 404, "BlobNotFound");
	if (rc == 0)
		snprintf(when, len, "2026-01-01T00:00:%02lu.0000000Z", ms->next_tag++ % 60);
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static int ms_lease(struct blob_client *c, const char *name,
		    enum blob_lease_action action, const char *lease_id,
		    int duration, char *id_out, struct blob_error *err)
{
	struct memstore *ms = ms_of(c);
	struct ms_blob *b = NULL;
	int rc = enter(ms, MS_LEASE, err);

	(void)duration;
	if (rc == 0 && !(b = find(ms, name)))
		rc = fail(err, 404, "BlobNotFound");
	if (rc == 0 && action == BLOB_LEASE_ACQUIRE) {
		if (b->lease[0] && strcmp(b->lease, lease_id) != 0)
			rc = fail(err, 409, "LeaseAlreadyPresent");
		else
			snprintf(b->lease, sizeof(b->lease), "%s", lease_id);
	} else if (rc == 0 && strcmp(b->lease, lease_id) != 0) {
		rc = fail(err, 409, b->lease[0] ? "LeaseIdMismatchWithLeaseOperation"
					     : "LeaseNotPresentWithLeaseOperation");
	} else if (rc == 0 && action == BLOB_LEASE_RELEASE) {
		b->lease[0] = '\0';
	}
	if (rc == 0 && id_out && action != BLOB_LEASE_RELEASE)
		snprintf(id_out, BLOB_LEASE_ID_MAX, "%s", b->lease);
	pthread_mutex_unlock(&ms->lock);
	return rc;
}

static const struct blob_ops memstore_ops = {
	.lease = ms_lease,
	.snapshot = ms_snapshot,
	.container_check = ms_container_check,
	.get_props = ms_get_props,
	.read = ms_read,
	.read_stream = ms_read_stream,
	.put = ms_put,
	.put_block_fd = ms_put_block_fd,
	.put_block_list = ms_put_block_list,
	.get_block_list = ms_get_block_list,
	.delete = ms_delete,
	.list = ms_list,
	.set_metadata = ms_set_metadata,
	.set_content_type = ms_set_content_type,
	.set_tier = ms_set_tier,
	.copy_start = ms_copy_start,
	.copy_abort = ms_copy_abort,
};

void memstore_attach(struct memstore *ms, struct blob_client *c)
{
	memset(c, 0, sizeof(*c));
	ms->auth.kind = AUTH_ANONYMOUS;
	blob_client_init(c, NULL, &ms->auth, "http://127.0.0.1:1/memstore", "c");
	c->ops = &memstore_ops;
	c->ops_ctx = ms;
}
