/*
 * curl.c -- the libcurl transport (see http.h): a pool of easy handles.
 *
 * Each request borrows one easy handle from the pool and returns it after,
 * so each handle keeps its own keep-alive connection and a handle is never
 * used by two threads at once. Handles beyond the pool size are created on
 * demand and freed after use.
 *
 * A large body is received in large pieces: while more than
 * HTTP_LOWAT_MARGIN bytes beyond HTTP_LOWAT are still to come, the socket's
 * SO_RCVLOWAT makes the kernel wake the receiving thread only once
 * HTTP_LOWAT bytes are there, instead of for every segment the network
 * brings (a wake-up, a poll and a recv per 64 KiB on loopback). For that
 * each pooled handle keeps at most one connection and knows its socket.
 *
 * Lock: pool->lock guards pool->idle and pool->n_idle only; no HTTP happens
 * while it is held.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"
#include "util/str.h"

/* One easy handle and the socket of its one connection. */
struct conn {
	CURL *h;
	curl_socket_t fd;   /* CURL_SOCKET_BAD when not known */
};

struct pool {
	pthread_mutex_t lock;
	struct conn **idle;
	int n_idle;
	int max_idle;
	char *cafile;
};

struct xfer {
	const struct http_request *req;
	struct http_response *resp;
	struct conn *c;
	int overflow;       /* body larger than its cap */
	int cancelled;      /* the sink stopped the transfer */
	int header_overflow;
	uint64_t sent;      /* bytes of req->body_file handed to libcurl */
	int64_t body_left;  /* body bytes still to come; -1 unknown, -2 not
			     * looked at yet */
	int lowat;          /* SO_RCVLOWAT set on c->fd */
};

size_t http_recv_lowat(uint64_t left)
{
	return left >= (uint64_t)HTTP_LOWAT + HTTP_LOWAT_MARGIN ? HTTP_LOWAT : 1;
}

static void set_lowat(struct xfer *x, int want)
{
	if (want == x->lowat || x->c->fd == CURL_SOCKET_BAD)
		return;
	if (setsockopt(x->c->fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof(want)) == 0)
		x->lowat = want;
}

/* body_arrived: len more body bytes are in; the wake-up threshold for
 * the rest. */
static void body_arrived(struct xfer *x, size_t len)
{
	if (x->body_left == -2) {
		const char *v = http_response_header(x->resp, "content-length");
		char *end;
		unsigned long long n;

		x->body_left = -1;
		if (v) {
			errno = 0;
			n = strtoull(v, &end, 10);
			if (errno == 0 && end != v && *end == '\0' && n <= INT64_MAX)
				x->body_left = (int64_t)n;
		}
	}
	if (x->body_left < 0)
		return;
	x->body_left = (uint64_t)x->body_left > len ? x->body_left - (int64_t)len : 0;
	set_lowat(x, (int)http_recv_lowat((uint64_t)x->body_left));
}

/* on_sockopt / on_close: curl made or closed a socket for this handle. */
static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	struct conn *c = ud;

	if (purpose == CURLSOCKTYPE_IPCXN)
		c->fd = fd;
	return CURL_SOCKOPT_OK;
}

static int on_close(void *ud, curl_socket_t fd)
{
	struct conn *c = ud;

	if (c->fd == fd)
		c->fd = CURL_SOCKET_BAD;
	return close(fd);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	/* A new status line (after 100-continue or a redirect) starts over. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		size_t i;

		for (i = 0; i < x->resp->n_headers; i++) {
			free(x->resp->headers[i].name);
			free(x->resp->headers[i].value);
		}
		x->resp->n_headers = 0;
	}
	if (http_response_add_header(x->resp, p, len) < 0) {
		x->header_overflow = 1;
		return 0;
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(x->c->h, CURLINFO_RESPONSE_CODE, &code);
	if (x->req->recv_sink && code >= 200 && code < 300) {
		x->resp->status = code;
		if (x->req->recv_sink(x->req->recv_arg, x->resp, p, len) != len) {
			x->cancelled = 1;
			return 0;
		}
		x->resp->recv_len += len;
		body_arrived(x, len);
		return len;
	}
	if (x->req->recv_buf && code >= 200 && code < 300) {
		if (len > x->req->recv_cap - x->resp->recv_len) {
			x->overflow = 1;
			return 0;
		}
		memcpy((char *)x->req->recv_buf + x->resp->recv_len, p, len);
		x->resp->recv_len += len;
		body_arrived(x, len);
		return len;
	}
	if (buf_append(&x->resp->body, p, len) < 0) {
		x->overflow = 1;
		return 0;
	}
	return len;
}

/* on_read: the next bytes of a body read from a file. A file shorter
 * than body_len (truncated meanwhile) fails the request. */
static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	const struct http_body_file *f = x->req->body_file;
	size_t want = size * n;
	ssize_t got;

	if (want > x->req->body_len - x->sent)
		want = (size_t)(x->req->body_len - x->sent);
	if (want == 0)
		return 0;
	do
		got = pread(f->fd, p, want, (off_t)(f->off + x->sent));
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	x->sent += (uint64_t)got;
	return (size_t)got;
}

/* on_seek: libcurl rewinds a body it has to send again. */
static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static int has_header(const struct http_request *req, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < req->n_headers; i++)
		if (str_has_prefix_ci(req->headers[i], name) &&
		    req->headers[i][n] == ':')
			return 1;
	return 0;
}

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h); /* closes the socket through on_close */
	free(c);
}

static struct conn *borrow(struct pool *pool)
{
	struct conn *c = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->n_idle > 0)
		c = pool->idle[--pool->n_idle];
	pthread_mutex_unlock(&pool->lock);
	if (c) {
		curl_easy_reset(c->h);
		return c;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = CURL_SOCKET_BAD;
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return NULL;
	}
	return c;
}

static void give_back(struct pool *pool, struct conn *c)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->n_idle < pool->max_idle) {
		pool->idle[pool->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	conn_free(c);
}

static enum http_err map_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return HTTP_ERR_TLS;
	case CURLE_OUT_OF_MEMORY:
		return HTTP_ERR_NOMEM;
	default:
		return HTTP_ERR_IO;
	}
}

/* set_options: everything of req on x's handle but the method. */
static void set_options(struct pool *pool, struct xfer *x,
			const struct http_request *req, struct curl_slist *hdrs)
{
	CURL *h = x->c->h;

	/* one connection per handle, whose socket we know (on_sockopt) */
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, x->c);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, x->c);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 req->timeout_ms < 10000 ? req->timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a blob named "a/../b" is that blob, not "b" */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	/* large bodies in few system calls: a 512 KiB receive buffer for
	 * downloads into the caller's memory, 1 MiB of send buffer for
	 * uploads (libcurl's defaults, 16 and 64 KiB, cost a recv/send per
	 * few pages) */
	if ((req->recv_buf && req->recv_cap >= HTTP_BIG_BODY) || req->recv_sink)
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (req->body_len >= HTTP_BIG_BODY)
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
	/* libcurl silently resends a request whose reused connection turns
	 * out dead; a request that must not run twice gets its own */
	if (!req->idempotent)
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	if (pool->cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, pool->cafile);
}

/* set_method: the method and the request body of req on h. */
static void set_method(CURL *h, const struct http_request *req,
		       struct xfer *x)
{
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body_file) {
			/* straight from the file into libcurl's send buffer */
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, x);
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)req->body_len);
		} else if (req->body || strcmp(req->method, "PUT") == 0 ||
		    strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
					 req->body ? req->body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)req->body_len);
		}
	}
}

static int curl_perform(void *ctx, const struct http_request *req,
			struct http_response *resp)
{
	struct pool *pool = ctx;
	struct curl_slist *hdrs = NULL, *tmp;
	struct xfer x = { .req = req, .resp = resp, .body_left = -2, .lowat = 1 };
	CURLcode cc;
	size_t i;
	int rc = -1;
	CURL *h;

	x.c = borrow(pool);
	if (!x.c) {
		resp->err = HTTP_ERR_NOMEM;
		snprintf(resp->errmsg, sizeof(resp->errmsg), "out of memory");
		return -1;
	}
	for (i = 0; i < req->n_headers; i++) {
		tmp = curl_slist_append(hdrs, req->headers[i]);
		if (!tmp)
			goto out_nomem;
		hdrs = tmp;
	}
	/* libcurl adds these unless told not to; they are not signed. */
	tmp = curl_slist_append(hdrs, "Expect:");
	if (!tmp)
		goto out_nomem;
	hdrs = tmp;
	if (!has_header(req, "content-type")) {
		/* libcurl would send a form content type with a body, which
		 * the Shared Key signature does not cover. */
		tmp = curl_slist_append(hdrs, "Content-Type:");
		if (!tmp)
			goto out_nomem;
		hdrs = tmp;
	}

	h = x.c->h;
	set_options(pool, &x, req, hdrs);
	set_method(h, req, &x);

	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (x.cancelled) {
			resp->err = HTTP_ERR_CANCELLED;
			snprintf(resp->errmsg, sizeof(resp->errmsg),
				 "transfer cancelled by the receiver");
		} else if (x.overflow || x.header_overflow) {
			resp->err = HTTP_ERR_TOO_LARGE;
			snprintf(resp->errmsg, sizeof(resp->errmsg),
				 "response %s larger than allowed",
				 x.header_overflow ? "headers" : "body");
		} else {
			resp->err = map_curl(cc);
			snprintf(resp->errmsg, sizeof(resp->errmsg), "%s",
				 curl_easy_strerror(cc));
		}
		resp->status = 0;
		goto out_free;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	rc = 0;
out_free:
	curl_slist_free_all(hdrs);
	curl_easy_setopt(x.c->h, CURLOPT_HTTPHEADER, NULL);
	/* a body that ended early leaves the threshold on a connection
	 * that may carry the next request */
	set_lowat(&x, 1);
	give_back(pool, x.c);
	return rc;
out_nomem:
	resp->err = HTTP_ERR_NOMEM;
	snprintf(resp->errmsg, sizeof(resp->errmsg), "out of memory");
	goto out_free;
}

static void curl_destroy(void *ctx)
{
	struct pool *pool = ctx;
	int i;

	if (!pool)
		return;
	for (i = 0; i < pool->n_idle; i++)
		conn_free(pool->idle[i]);
	free(pool->idle);
	free(pool->cafile);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static const struct http_transport_ops curl_ops = {
	.perform = curl_perform,
	.destroy = curl_destroy,
};

int http_curl_transport_new(const char *cafile, int max_handles,
			    struct http_transport *out)
{
	struct pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return -1;
	pool->max_idle = max_handles > 0 ? max_handles : 16;
	pool->idle = calloc((size_t)pool->max_idle, sizeof(*pool->idle));
	if (cafile)
		pool->cafile = str_ndup(cafile, strlen(cafile));
	if (!pool->idle || (cafile && !pool->cafile)) {
		free(pool->idle);
		free(pool->cafile);
		free(pool);
		return -1;
	}
	pthread_mutex_init(&pool->lock, NULL);
	out->ops = &curl_ops;
	out->ctx = pool;
	return 0;
}

long long http_parse_date(const char *s)
{
	time_t t = curl_getdate(s, NULL);

	return t < 0 ? -1 : (long long)t;
}

void http_format_date(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}
