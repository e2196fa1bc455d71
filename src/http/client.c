/*
 * client.c -- retries with exponential backoff over a transport (http.h).
 */
#define _GNU_SOURCE
#include "http/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/log.h"

void http_response_init(struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, HTTP_DEFAULT_BODY_MAX);
}

static void clear_headers(struct http_response *resp)
{
	size_t i;

	for (i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->n_headers = 0;
	resp->header_bytes = 0;
}

void http_response_release(struct http_response *resp)
{
	clear_headers(resp);
	buf_release(&resp->body);
}

/* reset: ready for another attempt, keeping the body cap. */
static void response_reset(struct http_response *resp)
{
	size_t max = resp->body.max;

	http_response_release(resp);
	http_response_init(resp);
	resp->body.max = max;
}

const char *http_response_header(const struct http_response *resp,
				 const char *name)
{
	size_t i;

	for (i = 0; i < resp->n_headers; i++)
		if (strcmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

/* blank: what is trimmed around header names and values. */
static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int http_response_add_header(struct http_response *resp, const char *line,
			     size_t len)
{
	const char *colon, *v, *end;
	struct http_header *nh;
	char *name, *value;
	size_t i, nlen;

	resp->header_bytes += len;
	if (resp->header_bytes > HTTP_MAX_HEADER_BYTES)
		return -1;
	/* A line may end in any mix of CR, LF and blanks ("v \r \r\n"):
	 * none of it belongs to the value, which may later be sent back in
	 * a request header (an ETag in If-Match). */
	while (len && blank(line[len - 1]))
		len--;
	colon = memchr(line, ':', len);
	if (!colon)
		return 0; /* status line or blank line */
	if (resp->n_headers >= HTTP_MAX_HEADERS)
		return -1;
	nlen = (size_t)(colon - line);
	while (nlen && blank(line[nlen - 1]))
		nlen--;
	v = colon + 1;
	end = line + len;
	while (v < end && blank(*v))
		v++;
	name = malloc(nlen + 1);
	value = malloc((size_t)(end - v) + 1);
	nh = realloc(resp->headers, (resp->n_headers + 1) * sizeof(*nh));
	if (!name || !value || !nh) {
		free(name);
		free(value);
		if (nh)
			resp->headers = nh;
		return -1;
	}
	for (i = 0; i < nlen; i++)
		name[i] = (char)tolower((unsigned char)line[i]);
	name[nlen] = '\0';
	memcpy(value, v, (size_t)(end - v));
	value[end - v] = '\0';
	resp->headers = nh;
	nh[resp->n_headers].name = name;
	nh[resp->n_headers].value = value;
	resp->n_headers++;
	return 0;
}

void http_client_init(struct http_client *c, struct http_transport tr,
		      int retries, long timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->tr = tr;
	c->retries = retries;
	c->timeout_ms = timeout_ms;
	c->backoff_base_ms = 200;
	c->backoff_max_ms = 10000;
}

void http_client_release(struct http_client *c)
{
	if (c->tr.ops && c->tr.ops->destroy)
		c->tr.ops->destroy(c->tr.ctx);
	c->tr.ops = NULL;
	c->tr.ctx = NULL;
}

int http_status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 ||
	       status == 502 || status == 503 || status == 504;
}

/* server_delay_ms: the wait the server asked for, or -1. */
static long server_delay_ms(const struct http_response *resp)
{
	const char *v = http_response_header(resp, "x-ms-retry-after-ms");
	char *end;
	long ms;

	if (v) {
		errno = 0;
		ms = strtol(v, &end, 10);
		if (!errno && end != v && ms >= 0)
			return ms;
	}
	v = http_response_header(resp, "retry-after");
	if (v) {
		errno = 0;
		ms = strtol(v, &end, 10);
		if (!errno && end != v && ms >= 0 && ms < 3600)
			return ms * 1000;
	}
	return -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long backoff_ms(const struct http_client *c, int attempt,
		       unsigned int *seed)
{
	long d = c->backoff_base_ms;
	int i;

	for (i = 0; i < attempt && d < c->backoff_max_ms; i++)
		d *= 2;
	if (d > c->backoff_max_ms)
		d = c->backoff_max_ms;
	/* full jitter in [d/2, d] */
	return d / 2 + (long)(rand_r(seed) % (unsigned int)(d / 2 + 1));
}

int http_client_perform(struct http_client *c, const struct http_request *req,
			struct http_response *resp)
{
	struct http_request r = *req;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)resp;
	int attempt, rc = -1;

	if (!r.timeout_ms)
		r.timeout_ms = c->timeout_ms;
	if (r.body_max)
		resp->body.max = r.body_max;
	for (attempt = 0;; attempt++) {
		long delay;

		if (attempt > 0)
			response_reset(resp);
		__atomic_add_fetch(&c->stats.requests, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->stats.bytes_sent, r.body_len, __ATOMIC_RELAXED);
		rc = c->tr.ops->perform(c->tr.ctx, &r, resp);
		if (rc == 0)
			__atomic_add_fetch(&c->stats.bytes_received,
					   resp->body.len + resp->recv_len,
					   __ATOMIC_RELAXED);
		if (attempt >= c->retries)
			break;
		if (rc == 0 && !http_status_retryable(resp->status))
			break;
		if (rc < 0 && (resp->err == HTTP_ERR_NOMEM ||
			       resp->err == HTTP_ERR_CANCELLED ||
			       resp->err == HTTP_ERR_TLS ||
			       resp->err == HTTP_ERR_TOO_LARGE))
			break;
		/* A request that may have reached the server is only
		 * repeated when repeating it is harmless. */
		if (rc < 0 && !r.idempotent && resp->err != HTTP_ERR_CONNECT)
			break;
		/* a sink cannot take the same bytes twice, unless it
		 * starts over (the last check: a retry follows) */
		if (rc < 0 && r.recv_sink && resp->recv_len > 0 &&
		    (!r.recv_restart || r.recv_restart(r.recv_arg) < 0))
			break;
		delay = rc == 0 ? server_delay_ms(resp) : -1;
		if (delay < 0 || delay > c->backoff_max_ms * 3)
			delay = backoff_ms(c, attempt, &seed);
		__atomic_add_fetch(&c->stats.retries, 1, __ATOMIC_RELAXED);
		log_info("%s request failed (%s%ld), retry %d/%d in %ld ms",
			 r.method, rc == 0 ? "HTTP " : "transport error ",
			 rc == 0 ? resp->status : (long)resp->err, attempt + 1,
			 c->retries, delay);
		sleep_ms(delay);
	}
	if (rc < 0 || resp->status >= 400)
		__atomic_add_fetch(&c->stats.errors, 1, __ATOMIC_RELAXED);
	return rc;
}

void http_client_stats(struct http_client *c, struct http_stats *out)
{
	out->requests = __atomic_load_n(&c->stats.requests, __ATOMIC_RELAXED);
	out->retries = __atomic_load_n(&c->stats.retries, __ATOMIC_RELAXED);
	out->bytes_sent = __atomic_load_n(&c->stats.bytes_sent, __ATOMIC_RELAXED);
	out->bytes_received =
		__atomic_load_n(&c->stats.bytes_received, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&c->stats.errors, __ATOMIC_RELAXED);
}
