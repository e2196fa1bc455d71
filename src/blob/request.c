/*
 * request.c -- one signed Blob service request, and what every operation
 * shares: URLs, standard headers, error extraction, property parsing.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "blob/blob.h"
#include "blob/request.h"
#include "util/log.h"
#include "util/str.h"

struct blob_stats_box {
	pthread_mutex_t lock;
	struct blob_stats s;
};

const double blob_stats_le[BLOB_STATS_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INFINITY,
};

/* count: one request of op that ended with code after secs seconds */
static void count(struct blob_stats_box *b, const char *op, long code,
		  double secs)
{
	struct blob_stats *s;
	size_t i;

	if (!b)
		return;
	s = &b->s;
	pthread_mutex_lock(&b->lock);
	for (i = 0; i < s->n_rows; i++)
		if (s->rows[i].code == code && strcmp(s->rows[i].op, op) == 0)
			break;
	if (i == s->n_rows && i < BLOB_STATS_ROWS) {
		s->rows[i].op = op;
		s->rows[i].code = code;
		s->n_rows++;
	}
	if (i < s->n_rows)
		s->rows[i].count++;
	for (i = 0; i < BLOB_STATS_BUCKETS; i++)
		if (secs <= blob_stats_le[i])
			s->bucket[i]++;
	s->count++;
	s->sum += secs;
	pthread_mutex_unlock(&b->lock);
}

void blob_stats_get(struct blob_client *c, struct blob_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c->stats)
		return;
	pthread_mutex_lock(&c->stats->lock);
	*out = c->stats->s;
	pthread_mutex_unlock(&c->stats->lock);
}

long long blob_parse_date(const char *s)
{
	return http_parse_date(s);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int blob_client_init(struct blob_client *c, struct http_client *http,
		     struct auth *auth, const char *endpoint,
		     const char *container)
{
	size_t n = strlen(endpoint);

	while (n && endpoint[n - 1] == '/')
		n--;
	c->ops = &blob_rest_ops;
	c->ops_ctx = NULL;
	c->stats = calloc(1, sizeof(*c->stats));
	if (c->stats)
		pthread_mutex_init(&c->stats->lock, NULL);
	c->http = http;
	c->auth = auth;
	c->endpoint = str_ndup(endpoint, n);
	c->container = str_ndup(container, strlen(container));
	if (!c->endpoint || !c->container) {
		blob_client_release(c);
		return -1;
	}
	return 0;
}

void blob_client_release(struct blob_client *c)
{
	if (c->stats) {
		pthread_mutex_destroy(&c->stats->lock);
		free(c->stats);
		c->stats = NULL;
	}
	free(c->endpoint);
	free(c->container);
	c->endpoint = NULL;
	c->container = NULL;
}

int blob_url(const struct blob_client *c, const char *name, struct buf *out)
{
	if (buf_printf(out, "%s/", c->endpoint) < 0 ||
	    str_pct_encode(out, c->container, strlen(c->container), NULL) < 0)
		return -1;
	if (!name)
		return 0;
	if (buf_append(out, "/", 1) < 0)
		return -1;
	/* '/' separates virtual directories and stays literal. */
	return str_pct_encode(out, name, strlen(name), "/");
}

void blob_traffic(struct blob_client *c, struct blob_traffic *out)
{
	struct http_stats hs;

	http_client_stats(c->http, &hs);
	out->bytes_sent = hs.bytes_sent;
	out->bytes_received = hs.bytes_received;
	out->retries = hs.retries;
}

const char *blob_copy_status_name(enum blob_copy_status s)
{
	switch (s) {
	case BLOB_COPY_PENDING:
		return "pending";
	case BLOB_COPY_SUCCESS:
		return "success";
	case BLOB_COPY_ABORTED:
		return "aborted";
	case BLOB_COPY_FAILED:
		return "failed";
	case BLOB_COPY_NONE:
		break;
	}
	return "";
}

enum blob_copy_status blob_copy_status_parse(const char *s)
{
	if (!s)
		return BLOB_COPY_NONE;
	if (strcasecmp(s, "pending") == 0)
		return BLOB_COPY_PENDING;
	if (strcasecmp(s, "success") == 0)
		return BLOB_COPY_SUCCESS;
	if (strcasecmp(s, "aborted") == 0)
		return BLOB_COPY_ABORTED;
	if (strcasecmp(s, "failed") == 0)
		return BLOB_COPY_FAILED;
	return BLOB_COPY_NONE;
}

const char *blob_error_str(const struct blob_error *e, char *out, size_t len)
{
	int rid = e->request_id[0] != '\0';

	if (e->status == 0)
		snprintf(out, len, "no answer from the server: %s",
			 e->transport_msg[0] ? e->transport_msg : "transport error");
	else
		snprintf(out, len, "HTTP %ld%s%s%s%s%s%s%s", e->status,
			 e->code[0] ? " " : "", e->code,
			 e->message[0] ? ": " : "", e->message,
			 rid ? " (request id " : "", e->request_id, rid ? ")" : "");
	return out;
}

void blob_props_release(struct blob_props *p)
{
	size_t i;

	free(p->content_type);
	for (i = 0; i < p->n_meta; i++) {
		free(p->meta[i].name);
		free(p->meta[i].value);
	}
	free(p->meta);
	free(p->copy.id);
	free(p->copy.source);
	free(p->copy.progress);
	free(p->copy.completion_time);
	free(p->copy.status_description);
	memset(p, 0, sizeof(*p));
}

void blob_list_page_release(struct blob_list_page *pg)
{
	size_t i;

	for (i = 0; i < pg->n_items; i++) {
		free(pg->items[i].name);
		free(pg->items[i].snapshot);
		free(pg->items[i].version_id);
		blob_props_release(&pg->items[i].props);
	}
	free(pg->items);
	for (i = 0; i < pg->n_prefixes; i++)
		free(pg->prefixes[i]);
	free(pg->prefixes);
	free(pg->next_marker);
	memset(pg, 0, sizeof(*pg));
}

const char *blob_meta_get(const struct blob_props *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_meta; i++)
		if (strcasecmp(p->meta[i].name, name) == 0)
			return p->meta[i].value;
	return NULL;
}

static char *dup_hdr(const struct http_response *r, const char *name)
{
	const char *v = http_response_header(r, name);

	return v ? str_ndup(v, strlen(v)) : NULL;
}

int blob_props_from_headers(const struct http_response *resp,
			    struct blob_props *out)
{
	struct blob_props p;
	const char *v;
	size_t i, n = 0;

	memset(&p, 0, sizeof(p));
	v = http_response_header(resp, "content-length");
	p.size = v ? strtoull(v, NULL, 10) : 0;
	v = http_response_header(resp, "etag");
	if (v)
		snprintf(p.etag, sizeof(p.etag), "%s", v);
	v = http_response_header(resp, "last-modified");
	if (v) {
		long long t = http_parse_date(v);

		p.last_modified.tv_sec = t < 0 ? 0 : (time_t)t;
	}
	v = http_response_header(resp, "x-ms-blob-type");
	if (v)
		snprintf(p.blob_type, sizeof(p.blob_type), "%s", v);
	v = http_response_header(resp, "x-ms-access-tier");
	if (v)
		snprintf(p.access_tier, sizeof(p.access_tier), "%s", v);
	p.content_type = dup_hdr(resp, "content-type");
	p.copy.status = blob_copy_status_parse(
		http_response_header(resp, "x-ms-copy-status"));
	p.copy.id = dup_hdr(resp, "x-ms-copy-id");
	p.copy.source = dup_hdr(resp, "x-ms-copy-source");
	p.copy.progress = dup_hdr(resp, "x-ms-copy-progress");
	p.copy.completion_time = dup_hdr(resp, "x-ms-copy-completion-time");
	p.copy.status_description = dup_hdr(resp, "x-ms-copy-status-description");
	for (i = 0; i < resp->n_headers; i++)
		if (strncmp(resp->headers[i].name, "x-ms-meta-", 10) == 0)
			n++;
	if (n) {
		p.meta = calloc(n, sizeof(*p.meta));
		if (!p.meta)
			goto out_fail;
		for (i = 0; i < resp->n_headers; i++) {
			const struct http_header *h = &resp->headers[i];

			if (strncmp(h->name, "x-ms-meta-", 10) != 0)
				continue;
			p.meta[p.n_meta].name = str_ndup(h->name + 10, strlen(h->name + 10));
			p.meta[p.n_meta].value = str_ndup(h->value, strlen(h->value));
			p.n_meta++;
			if (!p.meta[p.n_meta - 1].name || !p.meta[p.n_meta - 1].value)
				goto out_fail;
		}
	}
	*out = p;
	return 0;
out_fail:
	blob_props_release(&p);
	return -1;
}

/* the service's error codes whose kind is not their status's */
static const struct {
	const char *code;
	enum blob_kind kind;
} by_code[] = {
	{ "MalformedResponse", BLOB_E_MALFORMED },
	{ "Cancelled", BLOB_E_CANCELLED },
	{ "BlobNotFound", BLOB_E_NOT_FOUND },
	{ "ContainerNotFound", BLOB_E_NOT_FOUND },
	{ "PendingCopyOperation", BLOB_E_COPY_PENDING },
	{ "NoPendingCopyOperation", BLOB_E_NO_PENDING_COPY },
	{ "LeaseIdMissing", BLOB_E_LEASED },
	{ "LeaseAlreadyPresent", BLOB_E_LEASED },
	{ "LeaseIdMismatchWithBlobOperation", BLOB_E_LEASED },
	{ "LeaseNotPresentWithBlobOperation", BLOB_E_LEASED },
	{ "LeaseLost", BLOB_E_LEASED },
	{ "LeaseIdMismatchWithLeaseOperation", BLOB_E_LEASED },
	{ "LeaseNotPresentWithLeaseOperation", BLOB_E_LEASED },
	{ "LeaseIsBrokenAndCannotBeRenewed", BLOB_E_LEASED },
	{ "LeaseIsBreakingAndCannotBeAcquired", BLOB_E_LEASED },
	{ "BlobAlreadyExists", BLOB_E_EXISTS },
	{ "ContainerAlreadyExists", BLOB_E_EXISTS },
	{ "ConditionNotMet", BLOB_E_CONDITION },
	{ "SourceConditionNotMet", BLOB_E_CONDITION },
	{ "TargetConditionNotMet", BLOB_E_CONDITION },
	{ "InvalidMetadata", BLOB_E_INVALID },
	{ "InvalidHeaderValue", BLOB_E_INVALID },
	{ "InvalidSourceBlobUrl", BLOB_E_INVALID },
	{ "InvalidSourceBlobType", BLOB_E_INVALID },
	{ "InvalidBlobTier", BLOB_E_INVALID },
	{ "OutOfRangeInput", BLOB_E_INVALID },
	{ "RequestBodyTooLarge", BLOB_E_TOO_LARGE },
	{ "AuthenticationFailed", BLOB_E_DENIED },
	{ "AuthorizationFailure", BLOB_E_DENIED },
	{ "AuthorizationPermissionMismatch", BLOB_E_DENIED },
};

static const struct {
	long status;
	enum blob_kind kind;
} by_status[] = {
	{ 400, BLOB_E_BAD_REQUEST }, { 403, BLOB_E_DENIED },
	{ 404, BLOB_E_NOT_FOUND },   { 405, BLOB_E_UNSUPPORTED },
	{ 409, BLOB_E_CONFLICT },    { 412, BLOB_E_CONDITION },
	{ 413, BLOB_E_TOO_LARGE },   { 416, BLOB_E_RANGE },
	{ 429, BLOB_E_THROTTLED },   { 501, BLOB_E_UNSUPPORTED },
	{ 503, BLOB_E_THROTTLED },
};

void blob_error_classify(struct blob_error *e)
{
	size_t i;

	for (i = 0; i < sizeof(by_code) / sizeof(by_code[0]); i++) {
		if (strcmp(e->code, by_code[i].code) == 0) {
			e->kind = by_code[i].kind;
			return;
		}
	}
	if (e->transport != HTTP_OK) {
		e->kind = e->transport == HTTP_ERR_NOMEM ? BLOB_E_NOMEM
			: e->transport == HTTP_ERR_TLS ? BLOB_E_TLS
			: e->transport == HTTP_ERR_CANCELLED ? BLOB_E_CANCELLED
			: BLOB_E_TRANSPORT;
		return;
	}
	/* a source the service could not read: missing, or not ours */
	if (strcmp(e->code, "CannotVerifyCopySource") == 0) {
		e->kind = e->status == 403 ? BLOB_E_DENIED : BLOB_E_COPY_SOURCE;
		return;
	}
	e->kind = BLOB_E_SERVER;
	for (i = 0; i < sizeof(by_status) / sizeof(by_status[0]); i++)
		if (e->status == by_status[i].status)
			e->kind = by_status[i].kind;
}

void blob_format_date(time_t t, char *out, size_t outlen)
{
	http_format_date((long long)t, out, outlen);
}

static void fill_error(const struct http_response *resp, struct blob_error *err)
{
	const char *v;

	memset(err, 0, sizeof(*err));
	err->status = resp->status;
	err->transport = resp->err;
	snprintf(err->transport_msg, sizeof(err->transport_msg), "%s",
		 resp->errmsg);
	v = http_response_header(resp, "x-ms-request-id");
	if (v)
		snprintf(err->request_id, sizeof(err->request_id), "%s", v);
	if (resp->status && resp->body.len)
		blob_parse_error_xml(resp->body.data, resp->body.len, err);
	v = http_response_header(resp, "x-ms-error-code");
	if (v)
		snprintf(err->code, sizeof(err->code), "%s", v);
	blob_error_classify(err);
}

int blob_request(struct blob_client *c, const struct blob_req *r,
		 struct http_response *resp, struct blob_error *err)
{
	const char *hdrs[BLOB_REQ_MAX_HEADERS + 4];
	struct http_request hr;
	struct buf url, authz, date_h;
	char date[40], msg[120];
	size_t n = 0, i;
	int rc = -1, perf;
	double t0;

	buf_init(&url, 0);
	buf_init(&authz, 0);
	buf_init(&date_h, 0);
	memset(err, 0, sizeof(*err));
	if (r->n_headers > BLOB_REQ_MAX_HEADERS)
		goto out_nomem;
	if (blob_url(c, r->name, &url) < 0)
		goto out_nomem;
	if (r->query && buf_printf(&url, "?%s", r->query) < 0)
		goto out_nomem;
	http_format_date((long long)time(NULL), date, sizeof(date));
	if (buf_printf(&date_h, "x-ms-date: %s", date) < 0)
		goto out_nomem;
	hdrs[n++] = date_h.data;
	hdrs[n++] = "x-ms-version: " BLOB_API_VERSION;
	for (i = 0; i < r->n_headers; i++)
		hdrs[n++] = r->headers[i];
	if (auth_authorize(c->auth, r->method, &url, hdrs, n, r->body_len,
			   &authz, msg, sizeof(msg)) < 0) {
		snprintf(err->transport_msg, sizeof(err->transport_msg),
			 "authorization failed: %s", msg);
		err->transport = HTTP_ERR_OTHER;
		blob_error_classify(err);
		goto out_free;
	}
	if (authz.len)
		hdrs[n++] = authz.data;

	memset(&hr, 0, sizeof(hr));
	hr.method = r->method;
	hr.url = url.data;
	hr.headers = hdrs;
	hr.n_headers = n;
	hr.body = r->body;
	hr.body_file = r->body_file;
	hr.body_len = r->body_len;
	hr.recv_buf = r->recv_buf;
	hr.recv_cap = r->recv_cap;
	hr.recv_sink = r->recv_sink;
	hr.recv_arg = r->recv_arg;
	hr.recv_restart = r->recv_restart;
	hr.body_max = r->body_max;
	hr.idempotent = !r->not_idempotent;
	t0 = mono();
	perf = http_client_perform(c->http, &hr, resp);
	count(c->stats, r->op, perf < 0 ? 0 : resp->status, mono() - t0);
	if (perf < 0) {
		fill_error(resp, err);
		log_msg(resp->err == HTTP_ERR_CANCELLED ? LOG_LVL_DEBUG : LOG_LVL_INFO,
			"%s: %s", r->op, resp->errmsg);
		goto out_free;
	}
	if (resp->status < 200 || resp->status >= 300) {
		fill_error(resp, err);
		if (resp->status != 404 || log_enabled(LOG_LVL_DEBUG))
			log_msg(resp->status == 404 ? LOG_LVL_DEBUG : LOG_LVL_INFO,
				"%s: HTTP %ld %s (request id %s)", r->op,
				resp->status, err->code, err->request_id);
		goto out_free;
	}
	log_debug("%s: HTTP %ld", r->op, resp->status);
	rc = 0;
	goto out_free;
out_nomem:
	err->transport = HTTP_ERR_NOMEM;
	snprintf(err->transport_msg, sizeof(err->transport_msg), "out of memory");
	blob_error_classify(err);
out_free:
	if (authz.data)
		memset(authz.data, 0, authz.len);
	buf_release(&authz);
	buf_release(&url);
	buf_release(&date_h);
	return rc;
}
