/* test_http.c -- retries, backoff hints and header caps over the fake. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fake.h"
#include "http/http.h"

static void client(struct http_client *c, struct fake *f, int retries)
{
	http_client_init(c, fake_transport(f), retries, 1000);
	c->backoff_base_ms = 1;
	c->backoff_max_ms = 4;
}

static void test_retry_503_then_ok(void **st)
{
	struct fake f;
	struct http_client c;
	struct http_request r = { .method = "GET", .url = "http://h/x", .idempotent = 1 };
	struct http_response resp;
	struct http_stats s;

	(void)st;
	memset(&f, 0, sizeof(f));
	fake_push(&f, 503, "Retry-After: 0\n", NULL);
	fake_push(&f, 500, "x-ms-retry-after-ms: 1\n", NULL);
	fake_push(&f, 200, "ETag: \"e\"\n", "hello");
	client(&c, &f, 5);
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.data, "hello");
	assert_string_equal(http_response_header(&resp, "etag"), "\"e\"");
	assert_int_equal(f.n_seen, 3);
	http_client_stats(&c, &s);
	assert_int_equal(s.retries, 2);
	http_response_release(&resp);
	http_client_release(&c);
	fake_reset(&f);
}

static void test_no_retry_404_and_bounded(void **st)
{
	struct fake f;
	struct http_client c;
	struct http_request r = { .method = "GET", .url = "http://h/x", .idempotent = 1 };
	struct http_response resp;

	(void)st;
	memset(&f, 0, sizeof(f));
	fake_push(&f, 404, "x-ms-error-code: BlobNotFound\n", NULL);
	client(&c, &f, 5);
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), 0);
	assert_int_equal(resp.status, 404);
	assert_int_equal(f.n_seen, 1);
	http_response_release(&resp);
	fake_reset(&f);

	fake_push(&f, 503, NULL, NULL);
	fake_push(&f, 503, NULL, NULL);
	fake_push(&f, 503, NULL, NULL);
	fake_push(&f, 200, NULL, NULL);
	c.retries = 2;
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), 0);
	assert_int_equal(resp.status, 503);
	assert_int_equal(f.n_seen, 3);
	http_response_release(&resp);
	http_client_release(&c);
	fake_reset(&f);
}

static void test_transport_errors(void **st)
{
	struct fake f;
	struct http_client c;
	struct http_request r = { .method = "PUT", .url = "http://h/x" };
	struct http_response resp;

	(void)st;
	memset(&f, 0, sizeof(f));
	/* not idempotent: a reset mid-request is not repeated */
	fake_push_err(&f, HTTP_ERR_IO);
	fake_push(&f, 201, NULL, NULL);
	client(&c, &f, 3);
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), -1);
	assert_int_equal(resp.err, HTTP_ERR_IO);
	assert_int_equal(f.n_seen, 1);
	http_response_release(&resp);
	fake_reset(&f);
	/* a refused connection never reached the server: repeat it */
	fake_push_err(&f, HTTP_ERR_CONNECT);
	fake_push(&f, 201, NULL, NULL);
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), 0);
	assert_int_equal(resp.status, 201);
	http_response_release(&resp);
	fake_reset(&f);
	/* idempotent: a reset is repeated */
	r.idempotent = 1;
	fake_push_err(&f, HTTP_ERR_IO);
	fake_push(&f, 200, NULL, NULL);
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), 0);
	assert_int_equal(f.n_seen, 2);
	http_response_release(&resp);
	http_client_release(&c);
	fake_reset(&f);
}

/* a sink that keeps what it is given, and stops once it holds stop_at */
struct keep {
	char data[64];
	size_t len, stop_at, calls;
};

static size_t keep_sink(void *arg, const struct http_response *resp,
			const void *data, size_t len)
{
	struct keep *k = arg;

	assert_int_equal(resp->status, 206);
	k->calls++;
	if (k->stop_at && k->len >= k->stop_at)
		return 0;
	assert_true(k->len + len <= sizeof(k->data));
	memcpy(k->data + k->len, data, len);
	k->len += len;
	return len;
}

/* A body handed to a sink arrives in order, in pieces; a transfer cut
 * after the sink took bytes is not repeated (the sink cannot take them
 * twice), one cut before is; a sink that stops ends the transfer at once
 * and is never retried. */
static void test_sink(void **st)
{
	struct fake f;
	struct http_client c;
	struct keep k = { .len = 0 };
	struct http_request r = { .method = "GET", .url = "http://h/x", .idempotent = 1,
				  .recv_sink = keep_sink, .recv_arg = &k };
	struct http_response resp;

	(void)st;
	memset(&f, 0, sizeof(f));
	client(&c, &f, 3);
	fake_push_err(&f, HTTP_ERR_IO);
	fake_push(&f, 206, NULL, "0123456789");
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), 0);
	assert_int_equal(f.n_seen, 2);
	assert_int_equal(resp.recv_len, 10);
	assert_int_equal(resp.body.len, 0);
	assert_int_equal(k.len, 10);
	assert_memory_equal(k.data, "0123456789", 10);
	assert_int_equal(k.calls, 4); /* 3 + 3 + 3 + 1 */
	http_response_release(&resp);
	fake_reset(&f);
	/* cut after bytes: one attempt only */
	memset(&k, 0, sizeof(k));
	fake_push_cut(&f, 206, NULL, "abcdef", HTTP_ERR_IO);
	fake_push(&f, 206, NULL, "abcdef");
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), -1);
	assert_int_equal(resp.err, HTTP_ERR_IO);
	assert_int_equal(resp.recv_len, 6);
	assert_int_equal(f.n_seen, 1);
	assert_int_equal(k.len, 6);
	http_response_release(&resp);
	fake_reset(&f);
	/* the sink stops after 3 bytes */
	memset(&k, 0, sizeof(k));
	k.stop_at = 3;
	fake_push(&f, 206, NULL, "abcdefghi");
	fake_push(&f, 206, NULL, "abcdefghi");
	http_response_init(&resp);
	assert_int_equal(http_client_perform(&c, &r, &resp), -1);
	assert_int_equal(resp.err, HTTP_ERR_CANCELLED);
	assert_int_equal(f.n_seen, 1);
	assert_int_equal(k.len, 3);
	assert_int_equal(k.calls, 2);
	http_response_release(&resp);
	http_client_release(&c);
	fake_reset(&f);
}

static void test_header_caps(void **st)
{
	struct http_response resp;
	char line[200];
	int i, rc = 0;

	(void)st;
	http_response_init(&resp);
	assert_int_equal(http_response_add_header(&resp, "HTTP/1.1 200 OK\r\n", 17), 0);
	assert_int_equal(http_response_add_header(&resp, "X-Ms-Meta-A:   v  \r\n", 20), 0);
	assert_string_equal(http_response_header(&resp, "x-ms-meta-a"), "v");
	for (i = 0; i < HTTP_MAX_HEADERS + 5 && rc == 0; i++) {
		int n = snprintf(line, sizeof(line), "h%d: x\r\n", i);

		rc = http_response_add_header(&resp, line, (size_t)n);
	}
	assert_int_equal(rc, -1);
	http_response_release(&resp);
}

/* Found by fuzzing: a value could keep a CR that came before blanks. */
static void test_header_trim(void **st)
{
	static const struct {
		const char *line, *name, *value;
	} cases[] = {
		{ "ETag: \"0x8D1\"\r \r\n", "etag", "\"0x8D1\"" },
		{ "x-ms-a: v\r\t\r\n", "x-ms-a", "v" },
		{ "x-ms-b:\r\n", "x-ms-b", "" },
		{ "x-ms-c: \r v \r\n", "x-ms-c", "v" },
		{ "x-ms-d : w\n", "x-ms-d", "w" },
		{ "x-ms-e: in \t side\r\r\n", "x-ms-e", "in \t side" },
	};
	struct http_response resp;
	size_t i;

	(void)st;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v;

		http_response_init(&resp);
		assert_int_equal(http_response_add_header(&resp, cases[i].line,
							  strlen(cases[i].line)), 0);
		v = http_response_header(&resp, cases[i].name);
		assert_non_null(v);
		assert_string_equal(v, cases[i].value);
		assert_null(strpbrk(v, "\r\n"));
		http_response_release(&resp);
	}
}

static void test_dates(void **st)
{
	char out[40];

	(void)st;
	assert_int_equal(http_parse_date("Wed, 25 Nov 2026 03:00:00 GMT"), 1795575600LL);
	http_format_date(1795575600LL, out, sizeof(out));
	assert_string_equal(out, "Wed, 25 Nov 2026 03:00:00 GMT");
	assert_true(http_parse_date("garbage") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_503_then_ok),
		cmocka_unit_test(test_no_retry_404_and_bounded),
		cmocka_unit_test(test_transport_errors),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_header_caps),
		cmocka_unit_test(test_header_trim),
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
