/*
 * test_meta.c -- the metadata room (meta/) against an in-memory Blob
 * service: what a lookup costs, the answers a loop creating files gets
 * from one listing, the staged size of an open file, failures.
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
#include "meta/meta.h"

struct env {
	struct memstore *ms;
	struct blob_client blob;
	struct core_opts o;
	struct meta m;
	const char *staged_path; /* the staged hook's one open file */
	uint64_t staged;
};

static int staged(void *arg, const char *path, struct attr *a)
{
	struct env *e = arg;

	if (!e->staged_path || strcmp(path, e->staged_path) != 0)
		return 0;
	memset(a, 0, sizeof(*a));
	a->kind = ATTR_FILE;
	a->size = e->staged;
	return 1;
}

static int setup(void **st)
{
	struct env *e = calloc(1, sizeof(*e));

	e->ms = memstore_new();
	memstore_attach(e->ms, &e->blob);
	e->o.prefix = (char *)"";
	e->o.attr_timeout = 10;
	assert_int_equal(meta_init(&e->m, &e->blob, &e->o), 0);
	e->m.staged = staged;
	e->m.staged_arg = e;
	*st = e;
	return 0;
}

static int teardown(void **st)
{
	struct env *e = *st;

	meta_release(&e->m);
	blob_client_release(&e->blob);
	memstore_free(e->ms);
	free(e);
	return 0;
}

static unsigned requests(struct env *e)
{
	unsigned n = 0;
	int op;

	for (op = 0; op < MS_N_OPS; op++)
		n += memstore_count(e->ms, op);
	return n;
}

/* the first lookup in a directory lists it (one List Blobs, metadata
 * included); asked again, nothing */
static void test_lookup_file_then_cached(void **st)
{
	struct env *e = *st;
	struct attr a;

	memstore_put(e->ms, "d/f", "12345", 5, "mtime", "2001-02-03T04:05:06Z");
	assert_int_equal(meta_lookup(&e->m, "/d/f", &a), 0);
	assert_int_equal(a.kind, ATTR_FILE);
	assert_int_equal(a.size, 5);
	assert_int_equal(a.mtime.tv_sec, 981173106);
	assert_int_equal(memstore_count(e->ms, MS_LIST), 1);
	assert_int_equal(memstore_count(e->ms, MS_GET_PROPS), 0);
	assert_int_equal(meta_lookup(&e->m, "/d/f", &a), 0);
	assert_int_equal(requests(e), 1);
	/* a directory is known from its parent's listing */
	assert_int_equal(meta_lookup(&e->m, "/d", &a), 0);
	assert_int_equal(a.kind, ATTR_DIR);
	assert_int_equal(a.mode, 0);
	assert_int_equal(requests(e), 2);
}

/* a directory with a marker blob has the marker's mode and owner, also
 * when names lie below it */
static void test_marker_attributes(void **st)
{
	struct env *e = *st;
	struct attr a;
	struct stat s;

	memstore_put(e->ms, "m/f", "x", 1, NULL, NULL);
	memstore_put(e->ms, "m", "", 0, "hdi_isfolder", "true");
	memstore_put(e->ms, "m2/f", "x", 1, NULL, NULL);
	memstore_put(e->ms, "m2", "", 0, "mode", "40700");
	/* rclone's directories: a mode with S_IFDIR on an empty blob */
	memstore_put(e->ms, "r", "", 0, "mode", "40750");
	memstore_put(e->ms, "p", "", 0, "mode", "10640");
	assert_int_equal(meta_lookup(&e->m, "/m", &a), 0);
	assert_int_equal(a.kind, ATTR_DIR);
	/* the marker's mode wins over the bare prefix of the listing */
	assert_int_equal(meta_lookup(&e->m, "/m2", &a), 0);
	assert_int_equal(a.kind, ATTR_DIR);
	meta_fill_stat(&e->o, &a, &s);
	assert_int_equal(s.st_mode, S_IFDIR | 0700);
	meta_drop(&e->m, "/m2");
	assert_int_equal(meta_lookup(&e->m, "/m2", &a), 0);
	meta_fill_stat(&e->o, &a, &s);
	assert_int_equal(s.st_mode, S_IFDIR | 0700);
	assert_int_equal(meta_lookup(&e->m, "/r", &a), 0);
	assert_int_equal(a.kind, ATTR_DIR);
	meta_fill_stat(&e->o, &a, &s);
	assert_int_equal(s.st_mode, S_IFDIR | 0750);
	/* a fifo and a device node are empty blobs with a mode */
	assert_int_equal(meta_lookup(&e->m, "/p", &a), 0);
	assert_int_equal(a.kind, ATTR_SPECIAL);
	meta_fill_stat(&e->o, &a, &s);
	assert_int_equal(s.st_mode, S_IFIFO | 0640);
}

/* the first lookup that misses in a directory lists it: the names it
 * holds are answered from the cache; once names are made there in a
 * row, the others are absent without a request, and a loop creating
 * files costs that one listing and the first names' lookups */
static void test_create_loop(void **st)
{
	struct env *e = *st;
	struct attr a;
	char path[64];
	unsigned before;
	int i;

	memstore_put(e->ms, "loop/existing", "x", 1, NULL, NULL);
	before = requests(e);
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/loop/new%d", i);
		assert_int_equal(meta_lookup(&e->m, path, &a), -ENOENT);
		meta_dir_changed(&e->m, path);
		/* the create uploaded it */
		memstore_put(e->ms, path + 1, "", 0, NULL, NULL);
	}
	/* the listing, the first three names' List and HEAD, then nothing */
	assert_int_equal(requests(e) - before, 7);
	assert_int_equal(memstore_count(e->ms, MS_LIST), 4);
	/* a name the listing holds is not answered absent */
	assert_int_equal(meta_lookup(&e->m, "/loop/existing", &a), 0);
	assert_int_equal(a.size, 1);
	/* a name made here is asked for, not taken from the old listing */
	meta_drop(&e->m, "/loop/new7");
	assert_int_equal(meta_lookup(&e->m, "/loop/new7", &a), 0);
	assert_int_equal(a.size, 0);
}

/* when the listing fails, the names are asked of the server one by one:
 * still right, only dearer */
static void test_create_loop_listing_fails(void **st)
{
	struct env *e = *st;
	struct attr a;
	unsigned before;

	memstore_put(e->ms, "l2/n3", "abc", 3, NULL, NULL);
	before = memstore_count(e->ms, MS_LIST);
	memstore_fail(e->ms, MS_LIST, 1, 503, "ServerBusy");
	assert_int_equal(meta_lookup(&e->m, "/l2/n3", &a), 0);
	assert_int_equal(a.size, 3);
	assert_true(memstore_count(e->ms, MS_LIST) > before);
	assert_int_equal(meta_lookup(&e->m, "/l2/n4", &a), -ENOENT);
}

/* a directory made here is empty, and the names made next in it are a
 * loop that has just begun (tar x, cp -r): for CORE_ABSENT_TTL its names
 * are answered absent with no request; after that they are asked for
 * (another client may have added some) */
static void test_made_dir_is_empty(void **st)
{
	struct env *e = *st;
	struct attr a;
	unsigned before = requests(e);

	meta_dir_made(&e->m, "/fresh");
	assert_int_equal(meta_lookup(&e->m, "/fresh/a", &a), -ENOENT);
	assert_int_equal(meta_lookup(&e->m, "/fresh/b", &a), -ENOENT);
	assert_int_equal(requests(e) - before, 0);
	/* another client's name: not seen within the first second, seen
	 * after it */
	memstore_put(e->ms, "fresh/theirs", "t", 1, NULL, NULL);
	assert_int_equal(meta_lookup(&e->m, "/fresh/theirs", &a), -ENOENT);
	assert_int_equal(requests(e) - before, 0);
	usleep((useconds_t)(CORE_ABSENT_TTL * 1e6) + 100000);
	assert_int_equal(meta_lookup(&e->m, "/fresh/theirs", &a), 0);
	assert_int_equal(a.size, 1);
	assert_true(requests(e) - before > 0);
}

/* what the mount wrote last: the whole metadata and ETag by blob name,
 * a copy to the caller; an unknown ETag forgets it */
static void test_known(void **st)
{
	struct env *e = *st;
	struct blob_meta m[2] = { { (char *)"mode", (char *)"40755" },
				  { (char *)"hdi_isfolder", (char *)"true" } };
	struct blob_meta *got = NULL;
	char etag[BLOB_ETAG_MAX];
	size_t n = 0;

	assert_int_equal(meta_known_get(&e->m, "d", etag, &got, &n), 0);
	meta_known_put(&e->m, "d", "\"0x1\"", m, 2);
	assert_int_equal(meta_known_get(&e->m, "d", etag, &got, &n), 1);
	assert_string_equal(etag, "\"0x1\"");
	assert_int_equal(n, 2);
	assert_string_equal(got[1].name, "hdi_isfolder");
	assert_string_equal(got[0].value, "40755");
	assert_ptr_not_equal(got[0].value, m[0].value);
	core_meta_free(got, n);
	assert_int_equal(meta_known_get(&e->m, "d/", etag, &got, &n), 0);
	meta_known_put(&e->m, "d", "", m, 2);
	assert_int_equal(meta_known_get(&e->m, "d", etag, &got, &n), 0);
	meta_known_put(&e->m, "d", "\"0x2\"", m, 1);
	meta_known_drop(&e->m, "d");
	assert_int_equal(meta_known_get(&e->m, "d", etag, &got, &n), 0);
}

/* an open file's staged size wins over what the server says */
static void test_staged_size_wins(void **st)
{
	struct env *e = *st;
	struct attr a;

	memstore_put(e->ms, "s", "1234", 4, NULL, NULL);
	e->staged_path = "/s";
	e->staged = 4096;
	assert_int_equal(meta_lookup(&e->m, "/s", &a), 0);
	assert_int_equal(a.size, 4096);
	assert_int_equal(requests(e), 0);
	/* a listing of the directory does not overwrite it either */
	a.kind = ATTR_FILE;
	a.size = 4;
	assert_int_equal(meta_remember(&e->m, "/", "s", &a, core_mono()), 0);
	assert_int_equal(a.size, 4096);
}

/* a failed HEAD is an error, not an absent file, and is not cached */
static void test_lookup_failure(void **st)
{
	struct env *e = *st;
	struct attr a;

	unsigned before;

	memstore_put(e->ms, "q", "1", 1, NULL, NULL);
	/* the directory's listing fails, so the name is asked for */
	memstore_fail(e->ms, MS_LIST, 1, 503, "ServerBusy");
	memstore_fail(e->ms, MS_GET_PROPS, 1, 403, "AuthorizationFailure");
	assert_int_equal(meta_lookup(&e->m, "/q", &a), -EACCES);
	assert_int_equal(meta_lookup(&e->m, "/q", &a), 0);
	assert_int_equal(a.size, 1);
	/* absence is remembered, for a short time */
	assert_int_equal(meta_lookup(&e->m, "/none", &a), -ENOENT);
	before = requests(e);
	assert_int_equal(meta_lookup(&e->m, "/none", &a), -ENOENT);
	assert_int_equal(requests(e), before);
}

/* struct stat from attributes and the mount's options */
static void test_fill_stat(void **st)
{
	struct env *e = *st;
	struct attr a;
	struct stat s;

	memset(&a, 0, sizeof(a));
	a.kind = ATTR_FILE;
	a.size = 1000;
	e->o.umask = 027;
	e->o.uid = 7;
	meta_fill_stat(&e->o, &a, &s);
	assert_int_equal(s.st_mode, S_IFREG | 0640);
	assert_int_equal(s.st_uid, 7);
	assert_int_equal(s.st_blocks, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_file_then_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_loop_listing_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_made_dir_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_size_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marker_attributes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
