/*
 * test_curl.c -- the libcurl transport against a small HTTP server on
 * 127.0.0.1 in a thread of this process: large bodies are received with a
 * raised SO_RCVLOWAT, which goes back to 1 before the last bytes and
 * before the connection carries the next request.
 *
 * The server answers GET /big/N (N bytes, pattern byte i = i % 251, sent
 * in 16 KiB pieces; the last 320 KiB trickle in 8 KiB pieces 1 ms apart)
 * and GET /small ("hello"), on one keep-alive connection after another.
 * Because client and server share the process, a sink can look at the
 * client end of the connection (found by its port) while bytes arrive.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"

#define PIECE (16 * 1024)
#define TRICKLE (320 * 1024)

struct server {
	int lfd;
	int port;
	pthread_t thread;
	volatile int peer_port;   /* client port of the connection served last */
};

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_pattern(int fd, uint64_t n)
{
	char buf[PIECE];
	uint64_t at = 0;

	while (at < n) {
		size_t k = n - at < PIECE ? (size_t)(n - at) : PIECE, i;

		if (n - at <= TRICKLE) {
			k = k > 8192 ? 8192 : k;
			pause_ms(1);
		}
		for (i = 0; i < k; i++)
			buf[i] = (char)((at + i) % 251);
		if (send_all(fd, buf, k) < 0)
			return -1;
		at += k;
	}
	return 0;
}

/* serve: answers the requests of one connection until it closes. */
static void serve(int fd)
{
	char req[4096], head[256];
	size_t have = 0;

	for (;;) {
		char *end = NULL, *path;
		ssize_t r;

		while (!(end = memmem(req, have, "\r\n\r\n", 4))) {
			if (have == sizeof(req))
				return;
			r = recv(fd, req + have, sizeof(req) - have, 0);
			if (r <= 0)
				return;
			have += (size_t)r;
		}
		path = req + 4; /* "GET " */
		if (strncmp(path, "/big/", 5) == 0) {
			unsigned long long n = strtoull(path + 5, NULL, 10);

			snprintf(head, sizeof(head),
				 "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n", n);
			if (send_all(fd, head, strlen(head)) < 0 || send_pattern(fd, n) < 0)
				return;
		} else {
			snprintf(head, sizeof(head),
				 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
			if (send_all(fd, head, strlen(head)) < 0)
				return;
		}
		end += 4;
		have -= (size_t)(end - req);
		memmove(req, end, have);
	}
}

static void *server_main(void *arg)
{
	struct server *sv = arg;

	for (;;) {
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		int fd = accept(sv->lfd, (struct sockaddr *)&a, &alen);

		if (fd < 0)
			return NULL;
		sv->peer_port = ntohs(a.sin_port);
		serve(fd);
		close(fd);
	}
}

static void server_start(struct server *sv)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	memset(sv, 0, sizeof(*sv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sv->lfd >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(sv->lfd, 4), 0);
	assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&a, &alen), 0);
	sv->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&sv->thread, NULL, server_main, sv), 0);
}

static void server_stop(struct server *sv)
{
	shutdown(sv->lfd, SHUT_RDWR);
	close(sv->lfd);
	pthread_join(sv->thread, NULL);
}

/* client_fd: this process's socket whose local port is port, or -1. */
static int client_fd(int port)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;

	assert_non_null(d);
	while ((e = readdir(d))) {
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		int fd = atoi(e->d_name);

		if (fd <= 2 || getsockname(fd, (struct sockaddr *)&a, &alen) < 0 ||
		    a.sin_family != AF_INET || ntohs(a.sin_port) != port)
			continue;
		found = fd;
		break;
	}
	closedir(d);
	return found;
}

static int lowat_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &len) < 0)
		return -1;
	return v;
}

struct seen {
	struct server *sv;
	uint64_t got;
	int bad;            /* a byte off the pattern */
	int max_lowat;      /* the highest threshold seen while bytes came */
	int last_lowat;     /* ... and the last */
	uint64_t stop_at;   /* cancel once this many arrived (0: never) */
};

static size_t sink(void *arg, const struct http_response *resp,
		   const void *data, size_t len)
{
	struct seen *s = arg;
	const unsigned char *p = data;
	size_t i;
	int fd;

	(void)resp;
	for (i = 0; i < len; i++)
		if (p[i] != (s->got + i) % 251)
			s->bad = 1;
	s->got += len;
	fd = client_fd(s->sv->peer_port);
	if (fd >= 0) {
		s->last_lowat = lowat_of(fd);
		if (s->last_lowat > s->max_lowat)
			s->max_lowat = s->last_lowat;
	}
	if (s->stop_at && s->got >= s->stop_at)
		return 0;
	return len;
}

static int get(struct http_client *c, struct server *sv, const char *path,
	       struct seen *s, struct http_response *resp)
{
	char url[128];
	struct http_request r = { .method = "GET", .url = url, .idempotent = 1,
				  .timeout_ms = 10000 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sv->port, path);
	if (s) {
		r.recv_sink = sink;
		r.recv_arg = s;
	}
	http_response_init(resp);
	return http_client_perform(c, &r, resp);
}

static void test_lowat_policy(void **st)
{
	(void)st;
	assert_int_equal(http_recv_lowat(0), 1);
	assert_int_equal(http_recv_lowat(4096), 1);
	assert_int_equal(http_recv_lowat(HTTP_LOWAT + HTTP_LOWAT_MARGIN - 1), 1);
	assert_int_equal(http_recv_lowat(HTTP_LOWAT + HTTP_LOWAT_MARGIN), HTTP_LOWAT);
	assert_int_equal(http_recv_lowat(UINT64_MAX), HTTP_LOWAT);
}

static void client(struct http_client *c)
{
	struct http_transport tr;

	assert_int_equal(http_curl_transport_new(NULL, 2, &tr), 0);
	http_client_init(c, tr, 0, 10000);
}

/* A 4 MiB body comes whole, HTTP_LOWAT at a time while much is still to
 * come and byte by byte at the end; the next request on the same
 * connection is answered at once. */
static void test_big_body(void **st)
{
	struct server sv;
	struct http_client c;
	struct http_response resp;
	struct seen s;
	int port, fd;

	(void)st;
	server_start(&sv);
	client(&c);
	memset(&s, 0, sizeof(s));
	s.sv = &sv;
	assert_int_equal(get(&c, &sv, "/big/4194304", &s, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(s.got, 4194304);
	assert_false(s.bad);
	assert_int_equal(s.max_lowat, HTTP_LOWAT);
	assert_int_equal(s.last_lowat, 1);
	http_response_release(&resp);

	port = sv.peer_port;
	fd = client_fd(port);
	assert_true(fd >= 0);
	assert_int_equal(lowat_of(fd), 1);
	assert_int_equal(get(&c, &sv, "/small", NULL, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body.len, 5);
	assert_int_equal(sv.peer_port, port); /* the same connection */
	http_response_release(&resp);
	http_client_release(&c);
	server_stop(&sv);
}

/* A body the receiver stops early leaves no raised threshold behind,
 * whether or not the connection is kept. */
static void test_cut_body(void **st)
{
	struct server sv;
	struct http_client c;
	struct http_response resp;
	struct seen s;
	int fd;

	(void)st;
	server_start(&sv);
	client(&c);
	memset(&s, 0, sizeof(s));
	s.sv = &sv;
	s.stop_at = 1024 * 1024;
	assert_int_equal(get(&c, &sv, "/big/8388608", &s, &resp), -1);
	assert_int_equal(resp.err, HTTP_ERR_CANCELLED);
	assert_int_equal(s.max_lowat, HTTP_LOWAT);
	http_response_release(&resp);
	fd = client_fd(sv.peer_port);
	if (fd >= 0)
		assert_int_equal(lowat_of(fd), 1);
	assert_int_equal(get(&c, &sv, "/small", NULL, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body.len, 5);
	http_response_release(&resp);
	http_client_release(&c);
	server_stop(&sv);
}

/* A body no larger than the threshold and its margin never raises it. */
static void test_small_body(void **st)
{
	struct server sv;
	struct http_client c;
	struct http_response resp;
	struct seen s;

	(void)st;
	server_start(&sv);
	client(&c);
	memset(&s, 0, sizeof(s));
	s.sv = &sv;
	assert_int_equal(get(&c, &sv, "/big/327680", &s, &resp), 0);
	assert_int_equal(s.got, 327680);
	assert_false(s.bad);
	assert_int_equal(s.max_lowat, 1);
	http_response_release(&resp);
	http_client_release(&c);
	server_stop(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowat_policy),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_cut_body),
		cmocka_unit_test(test_small_body),
	};
	int rc;

	http_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_cleanup();
	return rc;
}
