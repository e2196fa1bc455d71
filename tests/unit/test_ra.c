/*
 * test_ra.c -- the read-ahead room (ra/) against an in-memory Blob
 * service, built with small rings (RA_RING 64 KiB, RA_SPAN 512 KiB): the
 * shape a file's spans take after the probe, bytes dropped behind the
 * reader, a cut GET, and the prefetch of a directory's small files with
 * its ETag checks and failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memstore.h"
#include "ra/ra.h"

#define SIZE (2u << 20)
#define READ (64u << 10)

struct env {
	struct memstore *ms;
	struct blob_client blob;
	struct core_opts o;
	struct ra room;
	char *data;
};

/* the clock the shapes are timed by: the test moves it */
static double fake_now;

static double fake_clock(void)
{
	return fake_now;
}

static int setup(void **st)
{
	struct env *e = calloc(1, sizeof(*e));
	size_t i;

	e->ms = memstore_new();
	memstore_attach(e->ms, &e->blob);
	e->o.prefix = (char *)"";
	e->o.attr_timeout = 10;
	ra_init(&e->room, &e->blob, &e->o);
	e->room.now = fake_clock;
	fake_now = 1000;
	e->data = malloc(SIZE);
	for (i = 0; i < SIZE; i++)
		e->data[i] = (char)(i * 7 + (i >> 16));
	memstore_put(e->ms, "big", e->data, SIZE, NULL, NULL);
	*st = e;
	return 0;
}

static int teardown(void **st)
{
	struct env *e = *st;

	ra_release(&e->room);
	blob_client_release(&e->blob);
	memstore_free(e->ms);
	free(e->data);
	free(e);
	return 0;
}

/*
 * read_all: the file read front to back in READ-byte reads; the clock
 * moves slow_per_read for each read before the probe (the few shape)
 * and fast_per_read after. Returns the shape chosen.
 */
static int read_all(struct env *e, double slow_per_read, double fast_per_read)
{
	struct ra_file f;
	char *buf = malloc(READ);
	uint64_t off;
	size_t got;
	int shape;

	ra_file_init(&f);
	f.size_hint = SIZE;
	for (off = 0; off < SIZE; off += READ) {
		assert_int_equal(ra_read(&e->room, &f, "big", 1, buf, READ, off, &got), 0);
		assert_int_equal(got, READ);
		assert_memory_equal(buf, e->data + off, READ);
		fake_now += off < RA_SPAN ? slow_per_read : fast_per_read;
	}
	assert_int_equal(ra_read(&e->room, &f, "big", 1, buf, READ, SIZE, &got), 0);
	assert_int_equal(got, 0);
	pthread_mutex_lock(&e->room.lock);
	shape = f.shape;
	pthread_mutex_unlock(&e->room.lock);
	ra_file_release(&e->room, &f);
	free(buf);
	return shape;
}

/* the widest GET that started at or past from */
static uint64_t widest_from(struct env *e, uint64_t from)
{
	uint64_t off, len, most = 0;
	unsigned i;

	for (i = 0; memstore_stream_call(e->ms, i, &off, &len); i++)
		if (off >= from && len > most)
			most = len;
	return most;
}

/* the wide probe brought the bytes 10 times as fast: the rest of the
 * file comes in ring-sized GETs, four at a time */
static void test_shape_wide(void **st)
{
	struct env *e = *st;

	assert_int_equal(read_all(e, 1.0, 0.1), 2 /* SHAPE_WIDE */);
	assert_int_equal(widest_from(e, 2 * (uint64_t)RA_SPAN), RA_RING);
}

/* no faster: the rest comes in span-sized GETs, two at a time */
static void test_shape_few(void **st)
{
	struct env *e = *st;

	assert_int_equal(read_all(e, 0.1, 0.1), 1 /* SHAPE_FEW */);
	assert_true(widest_from(e, 2 * (uint64_t)RA_SPAN) > RA_RING);
}

/* a reader moving on lets the streams drop what lies a lag behind it,
 * so a GET waiting for room goes on */
static void test_drops_behind_reader(void **st)
{
	struct env *e = *st;
	struct ra_file f;
	char buf[8192];
	uint64_t off;
	size_t got;
	int i;

	memstore_stream_chunk(e->ms, 4096);
	ra_file_init(&f);
	f.size_hint = SIZE;
	for (off = 0; off < 6 * RA_RING; off += sizeof(buf)) {
		assert_int_equal(ra_read(&e->room, &f, "big", 1, buf, sizeof(buf), off, &got), 0);
		assert_memory_equal(buf, e->data + off, sizeof(buf));
	}
	pthread_mutex_lock(&e->room.lock);
	for (i = 0; i < RA_STREAMS; i++) {
		struct ra_stream *s = &f.st[i];

		if (s->state != 0 && s->start <= off && off < s->end)
			assert_true(s->lo + 4 * sizeof(buf) >= off);
	}
	pthread_mutex_unlock(&e->room.lock);
	ra_file_release(&e->room, &f);
}

/* a GET that fails before its first byte fails the read; the next read
 * starts anew (a file of one span: one GET at a time) */
static void test_cut_get(void **st)
{
	struct env *e = *st;
	struct ra_file f;
	char buf[4096];
	size_t got;

	memstore_put(e->ms, "big", e->data, 100000, NULL, NULL);
	ra_file_init(&f);
	f.size_hint = 100000;
	memstore_fail(e->ms, MS_READ_STREAM, 1, 403, "AuthorizationFailure");
	assert_int_equal(ra_read(&e->room, &f, "big", 1, buf, sizeof(buf), 0, &got), -EACCES);
	assert_int_equal(ra_read(&e->room, &f, "big", 1, buf, sizeof(buf), 0, &got), 0);
	assert_memory_equal(buf, e->data, sizeof(buf));
	ra_file_release(&e->room, &f);
}

static void put_small(struct env *e, int i, const char *body)
{
	char name[32];

	snprintf(name, sizeof(name), "dir/f%02d", i);
	memstore_put(e->ms, name, body, strlen(body), NULL, NULL);
}

/* the dents of dir/ as a listing gives them */
static size_t listing(struct env *e, struct dent *d, int n)
{
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		d[i].name = strdup(name);
		memset(&d[i].a, 0, sizeof(d[i].a));
		d[i].a.kind = ATTR_FILE;
		snprintf(name, sizeof(name), "dir/f%02d", i);
		memstore_etag(e->ms, name, d[i].a.etag);
		d[i].a.size = 6;
	}
	return (size_t)n;
}

/* opening file i as a reader going through dir/ does; 1 and its bytes
 * when they were prefetched */
static int open_small(struct env *e, struct dent *d, int i, char *out)
{
	char path[32], *data = NULL;
	size_t len = 0;
	int hit;

	snprintf(path, sizeof(path), "/dir/f%02d", i);
	hit = ra_open_small(&e->room, path, &d[i].a, &data, &len);
	if (hit) {
		assert_int_equal(len, 6);
		memcpy(out, data, len);
		out[len] = '\0';
	}
	free(data);
	return hit;
}

/* two opens in listing order start the prefetch of the next files;
 * each is fetched with If-Match of the listed ETag, so a file changed
 * since the listing, or one whose fetch failed, is not taken */
static void test_prefetch_etags(void **st)
{
	struct env *e = *st;
	struct dent d[12];
	char out[16];
	int i;

	for (i = 0; i < 12; i++) {
		snprintf(out, sizeof(out), "body%02d", i);
		put_small(e, i, out);
	}
	listing(e, d, 12);
	ra_listed(&e->room, "/dir", d, 12);
	put_small(e, 3, "newer!");        /* changed since the listing */
	assert_int_equal(open_small(e, d, 0, out), 0);
	assert_int_equal(open_small(e, d, 1, out), 0); /* starts 2..9 */
	assert_int_equal(open_small(e, d, 2, out), 1);
	assert_string_equal(out, "body02");
	assert_int_equal(open_small(e, d, 3, out), 0);  /* 412 on If-Match */
	/* the cache has another version than the listing: not taken */
	d[4].a.etag[1] ^= 1;
	assert_int_equal(open_small(e, d, 4, out), 0);
	assert_int_equal(open_small(e, d, 5, out), 1);
	assert_string_equal(out, "body05");
	for (i = 0; i < 12; i++)
		free(d[i].name);
}

/* a fetch that fails is not taken, and the next ones still are */
static void test_prefetch_failure(void **st)
{
	struct env *e = *st;
	struct dent d[12];
	char out[16];
	int i, hits = 0;

	for (i = 0; i < 12; i++) {
		snprintf(out, sizeof(out), "body%02d", i);
		put_small(e, i, out);
	}
	listing(e, d, 12);
	ra_listed(&e->room, "/dir", d, 12);
	/* the eight fetches 2..9 wait together, then all fail */
	memstore_hold(e->ms, MS_READ, 1);
	assert_int_equal(open_small(e, d, 0, out), 0);
	assert_int_equal(open_small(e, d, 1, out), 0);
	assert_int_equal(memstore_wait_for(e->ms, MS_READ, 8), 8);
	memstore_fail(e->ms, MS_READ, 8, 503, "ServerBusy");
	memstore_hold(e->ms, MS_READ, 0);
	for (i = 0; i < 500 && memstore_waiting(e->ms, MS_READ); i++)
		usleep(10000);
	assert_int_equal(memstore_waiting(e->ms, MS_READ), 0);
	assert_int_equal(open_small(e, d, 2, out), 0);
	/* later ones may be fetched again (their slots are reused); what is
	 * taken is the listed version, whole */
	for (i = 3; i < 11; i++) {
		char want[16];

		snprintf(want, sizeof(want), "body%02d", i);
		if (open_small(e, d, i, out)) {
			assert_string_equal(out, want);
			hits++;
		}
	}
	assert_true(hits >= 1);
	for (i = 0; i < 12; i++)
		free(d[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shape_wide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shape_few, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drops_behind_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_etags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_failure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
