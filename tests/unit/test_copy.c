/* test_copy.c -- waiting for, sourcing and aborting server copies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "copy/copy.h"
#include "fake.h"

static void test_wait_and_abort(void **st)
{
	struct fake f;
	struct http_client http;
	struct auth auth;
	struct blob_client c;
	struct blob_error err;
	enum blob_copy_status s;
	struct buf u;
	struct blob_at snap = { BLOB_AT_SNAPSHOT, "2026-12-06T01:02:03.1234567Z" };

	(void)st;
	memset(&f, 0, sizeof(f));
	http_client_init(&http, fake_transport(&f), 0, 1000);
	auth_init(&auth);
	auth.kind = AUTH_SAS;
	auth.sas = strdup("sv=1&sig=x");
	blob_client_init(&c, &http, &auth, "https://a.blob.core.windows.net", "c1");

	fake_push(&f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: id1\nx-ms-copy-progress: 1/4\n", NULL);
	fake_push(&f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: id1\nx-ms-copy-progress: 3/4\n", NULL);
	fake_push(&f, 200, "x-ms-copy-status: failed\nx-ms-copy-id: id1\n", NULL);
	assert_int_equal(copy_wait(&c, "d", "id1", NULL, NULL, &s, &err), 0);
	assert_int_equal(s, BLOB_COPY_FAILED);
	assert_int_equal(f.n_seen, 3);
	/* another copy replaced ours: it ended */
	fake_push(&f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: other\n", NULL);
	assert_int_equal(copy_wait(&c, "d", "id1", NULL, NULL, &s, &err), 0);
	assert_int_equal(s, BLOB_COPY_ABORTED);

	fake_push(&f, 409, "x-ms-error-code: NoPendingCopyOperation\n", NULL);
	assert_int_equal(copy_abort_pending(&c, "d", "id1", &err), 0);
	fake_push(&f, 409, "x-ms-error-code: CopyIdMismatch\n", NULL);
	assert_int_equal(copy_abort_pending(&c, "d", "id1", &err), -1);

	buf_init(&u, 0);
	assert_int_equal(copy_source_url(&c, "a b", &u), 0);
	assert_string_equal(u.data, "https://a.blob.core.windows.net/c1/a%20b?sv=1&sig=x");
	buf_release(&u);
	/* a snapshot or version: its query first, then the SAS */
	buf_init(&u, 0);
	assert_int_equal(copy_source_url_at(&c, "a b", &snap, &u), 0);
	assert_string_equal(u.data, "https://a.blob.core.windows.net/c1/a%20b"
			    "?snapshot=2026-12-06T01%3A02%3A03.1234567Z&sv=1&sig=x");
	buf_release(&u);

	assert_int_equal(copy_progress_total("1024/2097152"), 2097152);
	assert_int_equal(copy_progress_total("garbage"), -1);
	assert_int_equal(copy_progress_total(NULL), -1);

	blob_client_release(&c);
	auth_release(&auth);
	http_client_release(&http);
	fake_reset(&f);
}

struct env {
	struct fake f;
	struct http_client http;
	struct auth auth;
	struct blob_client c;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	http_client_init(&e->http, fake_transport(&e->f), 0, 1000);
	auth_init(&e->auth);
	e->auth.kind = AUTH_ANONYMOUS;
	blob_client_init(&e->c, &e->http, &e->auth, "https://a.blob.core.windows.net", "c1");
}

static void env_release(struct env *e)
{
	blob_client_release(&e->c);
	auth_release(&e->auth);
	http_client_release(&e->http);
	fake_reset(&e->f);
}

static int stop_after(void *arg)
{
	int *left = arg;

	return (*left)-- <= 0;
}

/* a wait that is told to stop ends with BLOB_E_CANCELLED, the copy
 * left alone */
static void test_wait_stopped(void **st)
{
	enum blob_copy_status s;
	struct blob_error err;
	struct env e;
	int left = 0;

	(void)st;
	env_init(&e);
	assert_int_equal(copy_wait(&e.c, "d", "id1", stop_after, &left, &s, &err), -1);
	assert_int_equal(err.kind, BLOB_E_CANCELLED);
	assert_int_equal(e.f.n_seen, 0);
	/* stopped between two polls */
	left = 1;
	fake_push(&e.f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: id1\n", NULL);
	assert_int_equal(copy_wait(&e.c, "d", "id1", stop_after, &left, &s, &err), -1);
	assert_int_equal(err.kind, BLOB_E_CANCELLED);
	assert_int_equal(e.f.n_seen, 1);
	env_release(&e);
}

#define LID "11111111-2222-4333-8444-555555555555"

/*
 * The keeper of source leases: an acquire per source, shared by a second
 * copy of it; renewals when due; a followed copy's hold ends when the
 * destination shows it ended, and the lease goes with the last hold.
 */
static void test_leases(void **st)
{
	struct copy_leases *l;
	unsigned long t1, t2;
	struct blob_error err;
	char id[BLOB_LEASE_ID_MAX], id2[BLOB_LEASE_ID_MAX];
	size_t before;
	double now;
	struct env e;

	(void)st;
	env_init(&e);
	l = copy_leases_new(&e.c, 2000);
	assert_non_null(l);
	fake_push(&e.f, 201, "x-ms-lease-id: " LID "\n", NULL);
	assert_int_equal(copy_lease_take(l, "src", &t1, id, &err), 0);
	assert_string_equal(id, LID);
	assert_string_equal(e.f.seen[0].method, "PUT");
	assert_non_null(strstr(e.f.seen[0].url, "/c1/src?comp=lease"));
	assert_string_equal(fake_header(&e.f, 0, "x-ms-lease-action"), "acquire");
	assert_string_equal(fake_header(&e.f, 0, "x-ms-lease-duration"), "60");
	assert_int_equal(strlen(fake_header(&e.f, 0, "x-ms-proposed-lease-id")), 36);
	assert_true(copy_lease_held(l, "src"));
	assert_false(copy_lease_held(l, "other"));
	assert_false(copy_lease_held(NULL, "src"));
	/* a second copy of src shares the lease: no request */
	assert_int_equal(copy_lease_take(l, "src", &t2, id2, &err), 0);
	assert_string_equal(id2, LID);
	assert_true(t2 != t1);
	assert_int_equal(e.f.n_seen, 1);
	copy_lease_follow(l, t1, "d1", "cid1");
	copy_lease_follow(l, t2, "d2", "cid2");
	/* nothing due yet */
	now = copy_leases_tick(l, 0.0);
	assert_int_equal(e.f.n_seen, 1);
	(void)now;
	/* a second later: both copies looked at, still pending */
	fake_push(&e.f, 200, "x-ms-lease-id: " LID "\n", NULL);
	fake_push(&e.f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: cid2\n", NULL);
	fake_push(&e.f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: cid1\n", NULL);
	copy_leases_tick(l, 1e9);
	/* (the renewal was due too: it went first) */
	assert_int_equal(e.f.n_seen, 4);
	assert_string_equal(fake_header(&e.f, 1, "x-ms-lease-action"), "renew");
	assert_string_equal(fake_header(&e.f, 1, "x-ms-lease-id"), LID);
	assert_string_equal(e.f.seen[2].method, "HEAD");
	assert_true(copy_lease_held(l, "src"));
	/* d1's copy ended: its hold goes, the lease stays for d2 */
	fake_push(&e.f, 200, "x-ms-lease-id: " LID "\n", NULL);
	fake_push(&e.f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: cid2\n", NULL);
	fake_push(&e.f, 200, "x-ms-copy-status: success\nx-ms-copy-id: cid1\n", NULL);
	copy_leases_tick(l, 2e9);
	assert_int_equal(e.f.n_seen, 7);
	assert_true(copy_lease_held(l, "src"));
	/* d2 was deleted (an abort): the last hold releases the lease */
	fake_push(&e.f, 200, NULL, NULL);
	copy_lease_ended(l, "d2");
	assert_int_equal(e.f.n_seen, 8);
	assert_string_equal(fake_header(&e.f, 7, "x-ms-lease-action"), "release");
	assert_string_equal(fake_header(&e.f, 7, "x-ms-lease-id"), LID);
	assert_false(copy_lease_held(l, "src"));
	/* a ticket already ended: no request */
	copy_lease_release(l, t1);
	assert_int_equal(e.f.n_seen, 8);
	/* a lease taken elsewhere: refused */
	fake_push(&e.f, 409, "x-ms-error-code: LeaseAlreadyPresent\n", NULL);
	fake_push(&e.f, 409, "x-ms-error-code: LeaseAlreadyPresent\n", NULL);
	assert_int_equal(copy_lease_take(l, "busy", &t1, id, &err), -1);
	assert_int_equal(err.kind, BLOB_E_LEASED);
	/* a move forgets its lease once the blob went with it; stop
	 * releases what is left */
	fake_push(&e.f, 201, "x-ms-lease-id: " LID "\n", NULL);
	assert_int_equal(copy_lease_take(l, "m", &t1, id, &err), 0);
	copy_lease_forget(l, t1);
	fake_push(&e.f, 201, "x-ms-lease-id: " LID "\n", NULL);
	assert_int_equal(copy_lease_take(l, "n", &t1, id, &err), 0);
	before = e.f.n_seen;
	fake_push(&e.f, 200, NULL, NULL);
	copy_leases_free(l);
	assert_int_equal(e.f.n_seen, before + 1);
	assert_string_equal(fake_header(&e.f, before, "x-ms-lease-action"), "release");
	assert_non_null(strstr(e.f.seen[before].url, "/c1/n?comp=lease"));
	env_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_and_abort),
		cmocka_unit_test(test_wait_stopped),
		cmocka_unit_test(test_leases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
