/*
 * test_stage.c -- the staging room (stage/) against an in-memory Blob
 * service: blocks uploaded while a file is written, a write into a block
 * whose Put Block is in flight (REDO, then DIRTY when that one fails),
 * commits that reuse what went up, conflicts, appends in tail mode.
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
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include "memstore.h"
#include "stage/stage.h"

#define BS (64u << 10) /* block size of the tests */

struct env {
	struct memstore *ms;
	struct blob_client blob;
	struct core_opts o;
	struct stage sg;
	char dir[64];
	int uploads;           /* the uploaded hook: calls, */
	int failed;            /* ... of them with a NULL (failed upload) */
};

static void uploaded(void *arg, const char *path, const char *name,
		     const struct attr *a, const struct blob_meta *m, size_t nm)
{
	struct env *e = arg;

	(void)path;
	(void)name;
	(void)m;
	(void)nm;
	e->uploads++;
	if (!a)
		e->failed++;
}

static int setup(void **st)
{
	struct env *e = calloc(1, sizeof(*e));

	snprintf(e->dir, sizeof(e->dir), "/tmp/azb-test-stage.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->ms = memstore_new();
	memstore_attach(e->ms, &e->blob);
	e->o.prefix = (char *)"";
	e->o.cache_dir = e->dir;
	e->o.attr_timeout = 10;
	e->o.block_size = BS;
	e->o.parallel = 4;
	assert_int_equal(stage_init(&e->sg, &e->blob, &e->o), 0);
	e->sg.uploaded = uploaded;
	e->sg.uploaded_arg = e;
	*st = e;
	return 0;
}

static int teardown(void **st)
{
	struct env *e = *st;
	char cmd[128];

	stage_release(&e->sg);
	blob_client_release(&e->blob);
	memstore_free(e->ms);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static unsigned char state_of(struct env *e, struct node *n, size_t i)
{
	unsigned char s;

	pthread_mutex_lock(&e->sg.lock);
	s = i < n->n_bstate ? n->bstate[i] : 0xff;
	pthread_mutex_unlock(&e->sg.lock);
	return s;
}

static void wait_idle(struct env *e, struct node *n)
{
	int i, busy = 1;

	for (i = 0; i < 500 && busy; i++) {
		pthread_mutex_lock(&e->sg.lock);
		busy = n->inflight > 0;
		pthread_mutex_unlock(&e->sg.lock);
		if (busy)
			usleep(10000);
	}
	assert_false(busy);
}

/* pattern: len bytes of a pattern seeded by seed */
static char *pattern(size_t len, unsigned seed)
{
	char *p = malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (char)((i * 31 + seed * 7 + (i >> 12)) & 0xff);
	return p;
}

static void assert_server(struct env *e, const char *name, const char *want,
			  size_t len)
{
	size_t got = 0;
	char *d = memstore_get(e->ms, name, &got);

	assert_non_null(d);
	assert_int_equal(got, len);
	assert_memory_equal(d, want, len);
	free(d);
}

/* three blocks written with their Put Blocks held: a write into block 0
 * while its Put Block is in flight sends no second one at once (REDO);
 * once the first ends, block 0 goes up again and the commit holds the
 * newest bytes */
static void test_redo_while_in_flight(void **st)
{
	struct env *e = *st;
	char *data = pattern(3 * BS + 100, 1);
	struct node *n = stage_get(&e->sg, "/f", "f");

	stage_created(&e->sg, n, 1, NULL, 0);
	memstore_hold(e->ms, MS_PUT_BLOCK, 1);
	assert_int_equal(stage_write(&e->sg, n, data, 3 * BS + 100, 0, 0), 3 * BS + 100);
	assert_int_equal(memstore_wait_for(e->ms, MS_PUT_BLOCK, 3), 3);
	assert_int_equal(state_of(e, n, 0), BLOCK_UPLOADING);
	data[10] = 'X';
	assert_int_equal(stage_write(&e->sg, n, "X", 1, 10, 0), 1);
	assert_int_equal(state_of(e, n, 0), BLOCK_REDO);
	assert_int_equal(memstore_block_puts(e->ms, "f", 0), 1);
	memstore_hold(e->ms, MS_PUT_BLOCK, 0);
	wait_idle(e, n);
	assert_int_equal(state_of(e, n, 0), BLOCK_DONE);
	assert_int_equal(memstore_block_puts(e->ms, "f", 0), 2);
	assert_int_equal(memstore_block_puts(e->ms, "f", 1), 1);
	assert_int_equal(stage_flush(&e->sg, n), 0);
	assert_int_equal(memstore_block_overlaps(e->ms), 0);
	/* the commit sent only the partial last block */
	assert_int_equal(memstore_block_puts(e->ms, "f", 3), 1);
	assert_int_equal(memstore_block_puts(e->ms, "f", 0), 2);
	assert_int_equal(memstore_count(e->ms, MS_PUT_BLOCK_LIST), 1);
	assert_server(e, "f", data, 3 * BS + 100);
	assert_int_equal(e->uploads, 1);
	assert_int_equal(e->failed, 0);
	stage_put(&e->sg, n);
	free(data);
}

/* the Put Block in flight fails: the block written meanwhile is DIRTY,
 * the others NONE, and the flush sends them all */
static void test_redo_then_dirty(void **st)
{
	struct env *e = *st;
	char *data = pattern(2 * BS, 2);
	struct node *n = stage_get(&e->sg, "/g", "g");

	stage_created(&e->sg, n, 1, NULL, 0);
	memstore_hold(e->ms, MS_PUT_BLOCK, 1);
	assert_int_equal(stage_write(&e->sg, n, data, 2 * BS, 0, 0), 2 * BS);
	assert_int_equal(memstore_wait_for(e->ms, MS_PUT_BLOCK, 2), 2);
	data[BS + 5] = 'Y';
	assert_int_equal(stage_write(&e->sg, n, "Y", 1, BS + 5, 0), 1);
	assert_int_equal(state_of(e, n, 1), BLOCK_REDO);
	memstore_fail(e->ms, MS_PUT_BLOCK, 2, 503, "ServerBusy");
	memstore_hold(e->ms, MS_PUT_BLOCK, 0);
	wait_idle(e, n);
	assert_int_equal(state_of(e, n, 0), BLOCK_NONE);
	assert_int_equal(state_of(e, n, 1), BLOCK_DIRTY);
	assert_int_equal(stage_flush(&e->sg, n), 0);
	assert_server(e, "g", data, 2 * BS);
	assert_int_equal(memstore_block_overlaps(e->ms), 0);
	stage_put(&e->sg, n);
	free(data);
}

/* another client changed the blob since it was staged: the commit is
 * refused (ESTALE), the data stays staged and the hook hears of it */
static void test_conflict_keeps_data(void **st)
{
	struct env *e = *st;
	char etag[BLOB_ETAG_MAX];
	struct node *n;

	memstore_put(e->ms, "h", "v1", 2, NULL, NULL);
	assert_int_equal(memstore_etag(e->ms, "h", etag), 0);
	n = stage_get(&e->sg, "/h", "h");
	assert_int_equal(stage_write(&e->sg, n, "mine", 4, 0, 0), 4);
	memstore_put(e->ms, "h", "theirs", 6, NULL, NULL);
	assert_int_equal(stage_flush(&e->sg, n), -ESTALE);
	assert_int_equal(e->failed, 1);
	assert_server(e, "h", "theirs", 6);
	pthread_mutex_lock(&e->sg.lock);
	assert_int_equal(n->dirty, 1);
	pthread_mutex_unlock(&e->sg.lock);
	stage_unlinked(&e->sg, n, &(int){ 0 });
	stage_put(&e->sg, n);
}

/* a new file (no_clobber) another client created meanwhile: EEXIST,
 * theirs stays */
static void test_create_race(void **st)
{
	struct env *e = *st;
	struct node *n = stage_get(&e->sg, "/k", "k");
	int was_new = 0;

	stage_created(&e->sg, n, 1, NULL, 0);
	assert_int_equal(stage_write(&e->sg, n, "ours", 4, 0, 0), 4);
	memstore_put(e->ms, "k", "first", 5, NULL, NULL);
	assert_int_equal(stage_flush(&e->sg, n), -EEXIST);
	assert_server(e, "k", "first", 5);
	stage_unlinked(&e->sg, n, &was_new);
	assert_int_equal(was_new, 1);
	stage_put(&e->sg, n);
}

/* an append to a large blob stages only the tail; reads see both parts */
static void test_append_tail(void **st)
{
	struct env *e = *st;
	char *data = pattern(2 * BS + 7, 3), buf[64];
	struct node *n;
	uint64_t gen;
	int remote;

	memstore_put(e->ms, "t", data, 2 * BS, NULL, NULL);
	n = stage_get(&e->sg, "/t", "t");
	assert_int_equal(stage_write(&e->sg, n, data + 2 * BS, 7, 0, 1), 7);
	pthread_mutex_lock(&e->sg.lock);
	assert_int_equal(n->tail, 1);
	assert_int_equal(n->base, 2 * BS);
	pthread_mutex_unlock(&e->sg.lock);
	/* no download of what the server has */
	assert_int_equal(memstore_count(e->ms, MS_READ_STREAM), 0);
	assert_int_equal(stage_read(&e->sg, n, buf, 20, 2 * BS - 13, &remote, &gen), 20);
	assert_int_equal(remote, 0);
	assert_memory_equal(buf, data + 2 * BS - 13, 20);
	assert_int_equal(stage_flush(&e->sg, n), 0);
	assert_server(e, "t", data, 2 * BS + 7);
	stage_put(&e->sg, n);
	free(data);
}

/* truncate and a failed download: the error reaches the caller and no
 * data is lost */
static void test_truncate_and_load_failure(void **st)
{
	struct env *e = *st;
	struct node *n;

	memstore_put(e->ms, "u", "0123456789", 10, NULL, NULL);
	n = stage_get(&e->sg, "/u", "u");
	memstore_fail(e->ms, MS_GET_PROPS, 1, 403, "AuthorizationFailure");
	assert_int_equal(stage_truncate(&e->sg, n, 4), -EACCES);
	assert_int_equal(stage_truncate(&e->sg, n, 4), 0);
	assert_int_equal(stage_flush(&e->sg, n), 0);
	assert_server(e, "u", "0123", 4);
	stage_put(&e->sg, n);
}

/* a new file goes up with the metadata it was created with, and a
 * mode set while its data is not uploaded yet goes with it */
static void test_created_meta(void **st)
{
	struct env *e = *st;
	struct blob_meta m[2] = { { (char *)"mode", (char *)"100600" },
				  { (char *)"uid", (char *)"42" } };
	struct node *n = stage_get(&e->sg, "/m", "m");
	struct attr a;
	char *v;

	assert_int_equal(stage_created(&e->sg, n, 1, m, 2), 0);
	assert_int_equal(stage_attr(&e->sg, "/m", &a), 1);
	assert_int_equal(a.mode, 0100600);
	assert_int_equal(a.uid, 42);
	assert_int_equal(stage_write(&e->sg, n, "abc", 3, 0, 0), 3);
	assert_int_equal(stage_meta_set(&e->sg, n, "mode", "100640", 0), 0);
	assert_int_equal(stage_flush(&e->sg, n), 0);
	v = memstore_meta(e->ms, "m", "mode");
	assert_string_equal(v, "100640");
	free(v);
	v = memstore_meta(e->ms, "m", "uid");
	assert_string_equal(v, "42");
	free(v);
	/* clean now: the caller sets metadata on the server */
	assert_int_equal(stage_meta_set(&e->sg, n, "mode", "100600", 0), STAGE_CLEAN);
	stage_put(&e->sg, n);
}

/* a file written and flushed shows the mtime its upload sent, not the
 * one the blob had when it was loaded, until the node is dropped */
static void test_flushed_mtime(void **st)
{
	struct env *e = *st;
	struct node *n;
	struct attr a;
	time_t t0 = time(NULL);

	memstore_put(e->ms, "w", "abc", 3, "mtime", "2001-09-09T01:46:40Z");
	n = stage_get(&e->sg, "/w", "w");
	assert_int_equal(stage_write(&e->sg, n, "d", 1, 3, 0), 1);
	assert_int_equal(stage_flush(&e->sg, n), 0);
	assert_server(e, "w", "abcd", 4);
	assert_int_equal(stage_attr(&e->sg, "/w", &a), 1);
	assert_true(a.mtime.tv_sec >= t0);
	stage_put(&e->sg, n);
}

struct flusher {
	struct env *e;
	struct node *n;
	int rc;
};

static void *flush_thread(void *arg)
{
	struct flusher *f = arg;

	f->rc = stage_flush(&f->e->sg, f->n);
	return NULL;
}

/* while an upload of a file is in flight, reads of it go on; a write
 * waits for the upload's end */
static void test_read_during_upload(void **st)
{
	struct env *e = *st;
	struct node *n = stage_get(&e->sg, "/r", "r");
	struct flusher f = { e, n, -1 };
	char buf[16] = "";
	pthread_t t;
	uint64_t gen;
	int remote;

	stage_created(&e->sg, n, 1, NULL, 0);
	assert_int_equal(stage_write(&e->sg, n, "hello", 5, 0, 0), 5);
	memstore_hold(e->ms, MS_PUT, 1);
	assert_int_equal(pthread_create(&t, NULL, flush_thread, &f), 0);
	assert_int_equal(memstore_wait_for(e->ms, MS_PUT, 1), 1);
	assert_int_equal(stage_read(&e->sg, n, buf, 5, 0, &remote, &gen), 5);
	assert_memory_equal(buf, "hello", 5);
	memstore_hold(e->ms, MS_PUT, 0);
	pthread_join(t, NULL);
	assert_int_equal(f.rc, 0);
	assert_server(e, "r", "hello", 5);
	stage_put(&e->sg, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_redo_while_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redo_then_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_and_load_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_created_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flushed_mtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_during_upload, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
