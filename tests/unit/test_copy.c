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
	assert_int_equal(copy_wait(&c, "d", "id1", &s, &err), 0);
	assert_int_equal(s, BLOB_COPY_FAILED);
	assert_int_equal(f.n_seen, 3);
	/* another copy replaced ours: it ended */
	fake_push(&f, 200, "x-ms-copy-status: pending\nx-ms-copy-id: other\n", NULL);
	assert_int_equal(copy_wait(&c, "d", "id1", &s, &err), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_and_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
