/*
 * ops.c -- the Blob service operations (see blob.h). Each builds its
 * headers and query, sends one request through blob_request() and parses
 * the answer. Header names and semantics follow the Blob service REST
 * reference for x-ms-version 2021-12-02.
 */
#define _GNU_SOURCE
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "blob/request.h"
#include "util/log.h"
#include "util/str.h"

/* hdrs: a bounded list of "Name: value" lines owned by the caller. */
struct hdrs {
	const char *v[BLOB_REQ_MAX_HEADERS];
	char *owned[BLOB_REQ_MAX_HEADERS];
	size_t n, n_owned;
	int failed;
};

static void hdrs_add(struct hdrs *h, const char *line)
{
	if (h->n >= BLOB_REQ_MAX_HEADERS) {
		h->failed = 1;
		return;
	}
	h->v[h->n++] = line;
}

static void hdrs_addf(struct hdrs *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hdrs_addf(struct hdrs *h, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || h->n_owned >= BLOB_REQ_MAX_HEADERS) {
		if (n >= 0)
			free(s);
		h->failed = 1;
		return;
	}
	h->owned[h->n_owned++] = s;
	hdrs_add(h, s);
}

static void hdrs_release(struct hdrs *h)
{
	size_t i;

	for (i = 0; i < h->n_owned; i++)
		free(h->owned[i]);
}

static int fail_nomem(struct blob_error *err)
{
	memset(err, 0, sizeof(*err));
	err->transport = HTTP_ERR_NOMEM;
	snprintf(err->transport_msg, sizeof(err->transport_msg), "out of memory");
	blob_error_classify(err);
	return -1;
}

/* add_meta: x-ms-meta-* headers; values must be header-safe. */
static void add_meta(struct hdrs *h, const struct blob_meta *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hdrs_addf(h, "x-ms-meta-%s: %s", m[i].name, m[i].value);
}

static void add_put_opts(struct hdrs *h, const struct blob_put_opts *o)
{
	if (!o)
		return;
	add_meta(h, o->meta, o->n_meta);
	if (o->content_type)
		hdrs_addf(h, "x-ms-blob-content-type: %s", o->content_type);
	if (o->if_match)
		hdrs_addf(h, "If-Match: %s", o->if_match);
	if (o->if_none_match_any)
		hdrs_add(h, "If-None-Match: *");
	if (o->access_tier)
		hdrs_addf(h, "x-ms-access-tier: %s", o->access_tier);
}

static void take_etag(const struct http_response *resp, char *etag_out)
{
	const char *v = http_response_header(resp, "etag");

	if (etag_out)
		snprintf(etag_out, BLOB_ETAG_MAX, "%s", v ? v : "");
}

/* send: r with the headers of h; resp is initialised in every case. */
static int send(struct blob_client *c, struct blob_req *r, struct hdrs *h,
		struct http_response *resp, struct blob_error *err)
{
	http_response_init(resp);
	if (h->failed)
		return fail_nomem(err);
	r->headers = h->v;
	r->n_headers = h->n;
	return blob_request(c, r, resp, err);
}

/* simple: one request without a body to read back. */
static int simple(struct blob_client *c, struct blob_req *r,
		  struct hdrs *h, char *etag_out, struct blob_error *err)
{
	struct http_response resp;
	int rc = send(c, r, h, &resp, err);

	if (rc == 0)
		take_etag(&resp, etag_out);
	http_response_release(&resp);
	hdrs_release(h);
	return rc;
}

/* simple_keyed: simple() with the query "fixed" + the encoded value. */
static int simple_keyed(struct blob_client *c, struct blob_req *r,
			struct hdrs *h, const char *fixed, const char *value,
			struct blob_error *err)
{
	struct buf q;
	int rc;

	buf_init(&q, 0);
	if (buf_puts(&q, fixed) < 0 ||
	    str_pct_encode(&q, value, strlen(value), NULL) < 0) {
		buf_release(&q);
		hdrs_release(h);
		return fail_nomem(err);
	}
	r->query = q.data;
	rc = simple(c, r, h, NULL, err);
	buf_release(&q);
	return rc;
}

static int rest_container_check(struct blob_client *c, struct blob_error *err)
{
	struct blob_req r = { .op = "Get Container Properties", .method = "GET",
			      .query = "restype=container" };
	struct hdrs h = { 0 };

	return simple(c, &r, &h, NULL, err);
}

static int rest_get_props(struct blob_client *c, const char *name,
			  struct blob_props *p, struct blob_error *err)
{
	struct blob_req r = { .op = "Get Blob Properties", .method = "HEAD",
			      .name = name };
	struct http_response resp;
	int rc;

	http_response_init(&resp);
	rc = blob_request(c, &r, &resp, err);
	if (rc == 0 && blob_props_from_headers(&resp, p) < 0)
		rc = fail_nomem(err);
	http_response_release(&resp);
	return rc;
}

/*
 * range_matches: 1 when a Get Blob answer holds exactly bytes off.. of the
 * blob: a 206 whose Content-Range starts at off and covers as many bytes as
 * arrived (Get Blob, x-ms-version 2021-12-02: the service answers a range
 * with 206 and "Content-Range: bytes START-END/TOTAL"), or a 200 with the
 * whole blob when off is 0. A Content-Length shorter than the body would
 * otherwise be a short read, which the caller takes for the end of file.
 */
static int range_matches(const struct http_response *resp, uint64_t off)
{
	const char *v = http_response_header(resp, "content-range");
	unsigned long long start, end;
	int n = 0;

	if (resp->status == 200)
		return off == 0;
	if (resp->status != 206 || !v ||
	    sscanf(v, "bytes %llu-%llu/%*[0-9*]%n", &start, &end, &n) != 2 ||
	    v[n] != '\0')
		return 0;
	/* at the end: Azurite answers "bytes SIZE-(SIZE-1)/SIZE", no bytes */
	if (start == off && end + 1 == start && resp->recv_len == 0 &&
	    strtoull(strchr(v, '/') + 1, NULL, 10) == start)
		return 1;
	return start == off && end >= start &&
	       end - start + 1 == (unsigned long long)resp->recv_len;
}

/* range_hdrs: the headers of a Get Blob of bytes [off, off+len). */
static void range_hdrs(struct hdrs *h, uint64_t off, uint64_t len,
		       const char *if_match)
{
	hdrs_addf(h, "x-ms-range: bytes=%llu-%llu", (unsigned long long)off,
		  (unsigned long long)(off + len - 1));
	if (if_match)
		hdrs_addf(h, "If-Match: %s", if_match);
}

/* malformed_answer: err says the answer lacked what the operation gives */
static void malformed_answer(struct blob_error *err,
			     const struct http_response *resp, const char *what)
{
	memset(err, 0, sizeof(*err));
	err->status = resp->status;
	snprintf(err->code, sizeof(err->code), "MalformedResponse");
	snprintf(err->message, sizeof(err->message), "%s", what);
	blob_error_classify(err);
}

static void malformed(struct blob_error *err, const struct http_response *resp,
		      uint64_t off, uint64_t len)
{
	memset(err, 0, sizeof(*err));
	err->status = resp->status;
	snprintf(err->code, sizeof(err->code), "MalformedResponse");
	snprintf(err->message, sizeof(err->message),
		 "the Get Blob answer (HTTP %ld, %zu bytes) does not hold bytes %llu-%llu",
		 resp->status, resp->recv_len, (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	blob_error_classify(err);
	log_info("Get Blob: %s", err->message);
}

/* read_range: Get Blob of bytes [off, off+len) of name into buf, with
 * the query query (a snapshot or version, or NULL) */
static int read_range(struct blob_client *c, const char *name,
		      const char *query, uint64_t off, size_t len, void *buf,
		      size_t *got, const char *if_match, struct blob_error *err)
{
	struct blob_req r = { .op = "Get Blob", .method = "GET", .name = name,
			      .query = query, .recv_buf = buf, .recv_cap = len };
	struct http_response resp;
	struct hdrs h = { 0 };
	int rc;

	if (len == 0) {
		*got = 0;
		return 0;
	}
	range_hdrs(&h, off, len, if_match);
	rc = send(c, &r, &h, &resp, err);
	if (rc == 0 && !range_matches(&resp, off)) {
		malformed(err, &resp, off, len);
		rc = -1;
	} else if (rc == 0) {
		*got = resp.recv_len;
	} else if (err->status == 416) {
		/* InvalidRange: the offset is at or past the end */
		*got = 0;
		rc = 0;
	}
	http_response_release(&resp);
	hdrs_release(&h);
	return rc;
}

static int rest_read(struct blob_client *c, const char *name, uint64_t off,
		     size_t len, void *buf, size_t *got, const char *if_match,
		     struct blob_error *err)
{
	return read_range(c, name, NULL, off, len, buf, got, if_match, err);
}

/* Get Blob of a snapshot (?snapshot=) or a version (?versionid=): the
 * same ranges as of the base blob (x-ms-version 2021-12-02) */
static int rest_read_at(struct blob_client *c, const char *name,
			const struct blob_at *at, uint64_t off, size_t len,
			void *buf, size_t *got, struct blob_error *err)
{
	struct buf q;
	int rc;

	buf_init(&q, 0);
	if (blob_at_query(at, &q) < 0) {
		buf_release(&q);
		return fail_nomem(err);
	}
	rc = read_range(c, name, q.data, off, len, buf, got, NULL, err);
	buf_release(&q);
	return rc;
}

/* range_starts: the answer's body begins at byte off of the blob. */
static int range_starts(const struct http_response *resp, uint64_t off)
{
	const char *v = http_response_header(resp, "content-range");
	unsigned long long start;

	if (resp->status == 200)
		return off == 0;
	return resp->status == 206 && v &&
	       sscanf(v, "bytes %llu-", &start) == 1 && start == off;
}

struct stream {
	blob_sink sink;
	void *arg;
	uint64_t off;
	int checked, bad;
};

static size_t stream_sink(void *arg, const struct http_response *resp,
			  const void *data, size_t len)
{
	struct stream *s = arg;

	if (!s->checked) {
		if (!range_starts(resp, s->off)) {
			s->bad = 1;
			return 0;
		}
		s->checked = 1;
	}
	return s->sink(s->arg, data, len);
}

static int rest_read_stream(struct blob_client *c, const char *name, uint64_t off,
			    uint64_t len, const char *if_match, blob_sink sink,
			    void *arg, uint64_t *got, struct blob_error *err)
{
	struct stream s = { .sink = sink, .arg = arg, .off = off };
	struct blob_req r = { .op = "Get Blob", .method = "GET", .name = name,
			      .recv_sink = stream_sink, .recv_arg = &s };
	struct http_response resp;
	struct hdrs h = { 0 };
	int rc;

	*got = 0;
	if (len == 0)
		return 0;
	range_hdrs(&h, off, len, if_match);
	rc = send(c, &r, &h, &resp, err);
	*got = resp.recv_len;
	if (s.bad || (rc == 0 && !range_matches(&resp, off))) {
		malformed(err, &resp, off, len);
		rc = -1;
	} else if (rc < 0 && err->status == 416) {
		rc = 0; /* InvalidRange: the offset is at or past the end */
	} else if (rc < 0 && err->transport == HTTP_ERR_CANCELLED) {
		snprintf(err->code, sizeof(err->code), "Cancelled");
		blob_error_classify(err);
	}
	http_response_release(&resp);
	hdrs_release(&h);
	return rc;
}

static int rest_put(struct blob_client *c, const char *name, const void *data,
		    size_t len, const struct blob_put_opts *o, char *etag_out,
		    struct blob_error *err)
{
	struct blob_req r = { .op = "Put Blob", .method = "PUT", .name = name,
			      .body = data ? data : "", .body_len = len };
	struct hdrs h = { 0 };

	hdrs_add(&h, "x-ms-blob-type: BlockBlob");
	add_put_opts(&h, o);
	return simple(c, &r, &h, etag_out, err);
}

void blob_block_id(uint32_t n, const char *salt, char *out, size_t outlen)
{
	char raw[48];
	int len;

	/* fixed width: every id of a blob must have the same length */
	len = snprintf(raw, sizeof(raw), "%.16s-%010u", salt ? salt : "azb", n);
	if (outlen < 65) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, len);
}

static int rest_put_block_fd(struct blob_client *c, const char *name,
			     const char *block_id, int fd, uint64_t off, size_t len,
			     struct blob_error *err)
{
	struct http_body_file f = { fd, off };
	struct blob_req r = { .op = "Put Block", .method = "PUT", .name = name,
			      .body_file = &f, .body_len = len };
	struct hdrs h = { 0 };

	return simple_keyed(c, &r, &h, "comp=block&blockid=", block_id, err);
}

static int rest_put_block_list(struct blob_client *c, const char *name,
			       char *const *ids, size_t n, const struct blob_put_opts *o,
			       char *etag_out, struct blob_error *err)
{
	struct blob_req r = { .op = "Put Block List", .method = "PUT",
			      .name = name, .query = "comp=blocklist" };
	struct hdrs h = { 0 };
	struct buf body;
	size_t i;
	int rc;

	buf_init(&body, 0);
	if (buf_puts(&body, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>") < 0)
		goto out_nomem;
	for (i = 0; i < n; i++)
		if (buf_printf(&body, "<Latest>%s</Latest>", ids[i]) < 0)
			goto out_nomem;
	if (buf_puts(&body, "</BlockList>") < 0)
		goto out_nomem;
	hdrs_add(&h, "Content-Type: application/xml");
	add_put_opts(&h, o);
	r.body = body.data;
	r.body_len = body.len;
	rc = simple(c, &r, &h, etag_out, err);
	buf_release(&body);
	return rc;
out_nomem:
	buf_release(&body);
	return fail_nomem(err);
}

static int rest_get_block_list(struct blob_client *c, const char *name,
			       struct blob_block **blocks, size_t *n, char *etag_out,
			       struct blob_error *err)
{
	struct blob_req r = { .op = "Get Block List", .method = "GET",
			      .name = name,
			      .query = "comp=blocklist&blocklisttype=committed",
			      .body_max = 16 * 1024 * 1024 };
	struct http_response resp;
	int rc;

	http_response_init(&resp);
	rc = blob_request(c, &r, &resp, err);
	if (rc == 0 && blob_parse_block_list_xml(resp.body.data, resp.body.len,
						 blocks, n) < 0) {
		memset(err, 0, sizeof(*err));
		err->status = resp.status;
		snprintf(err->code, sizeof(err->code), "MalformedResponse");
		blob_error_classify(err);
		rc = -1;
	}
	if (rc == 0)
		take_etag(&resp, etag_out);
	http_response_release(&resp);
	return rc;
}

static int rest_delete(struct blob_client *c, const char *name,
		       const char *lease_id, struct blob_error *err)
{
	struct blob_req r = { .op = "Delete Blob", .method = "DELETE",
			      .name = name };
	struct hdrs h = { 0 };

	hdrs_add(&h, "x-ms-delete-snapshots: include");
	if (lease_id)
		hdrs_addf(&h, "x-ms-lease-id: %s", lease_id);
	return simple(c, &r, &h, NULL, err);
}

/* list_sink: the next bytes of a List Blobs answer into its parser; a
 * malformed one ends the transfer. list_restart: an answer cut after some
 * bytes is asked for again, its parser starting over. */
static size_t list_sink(void *arg, const struct http_response *resp,
			const void *data, size_t len)
{
	(void)resp;
	return blob_list_parser_feed(arg, data, len) == 0 ? len : 0;
}

static int list_restart(void *arg)
{
	return blob_list_parser_reset(arg);
}

/* list_page: List Blobs with include=include and the other arguments as
 * blob_list */
static int list_page(struct blob_client *c, const char *include,
		     const char *prefix, const char *delim, const char *marker,
		     int max_results, struct blob_list_page *pg,
		     struct blob_error *err)
{
	struct blob_req r = { .op = "List Blobs", .method = "GET",
			      .recv_sink = list_sink, .recv_restart = list_restart };
	struct blob_list_parser *lp;
	struct http_response resp;
	struct buf q;
	int rc = -1;

	buf_init(&q, 0);
	if (buf_printf(&q, "restype=container&comp=list&include=%s", include) < 0)
		goto out_nomem;
	if (prefix && *prefix &&
	    (buf_puts(&q, "&prefix=") < 0 ||
	     str_pct_encode(&q, prefix, strlen(prefix), NULL) < 0))
		goto out_nomem;
	if (delim && (buf_puts(&q, "&delimiter=") < 0 ||
		      str_pct_encode(&q, delim, strlen(delim), NULL) < 0))
		goto out_nomem;
	if (marker && (buf_puts(&q, "&marker=") < 0 ||
		       str_pct_encode(&q, marker, strlen(marker), NULL) < 0))
		goto out_nomem;
	if (max_results > 0 && buf_printf(&q, "&maxresults=%d", max_results) < 0)
		goto out_nomem;
	r.query = q.data;
	/* the answer is parsed as it arrives (xml.c) */
	lp = blob_list_parser_new();
	if (!lp)
		goto out_nomem;
	r.recv_arg = lp;
	http_response_init(&resp);
	rc = blob_request(c, &r, &resp, err);
	if ((rc == 0 || err->transport == HTTP_ERR_CANCELLED) &&
	    (rc = blob_list_parser_finish(lp, pg)) < 0) {
		memset(err, 0, sizeof(*err));
		err->status = resp.status;
		snprintf(err->code, sizeof(err->code), "MalformedResponse");
		snprintf(err->message, sizeof(err->message),
			 "the List Blobs answer is not valid XML");
		blob_error_classify(err);
	}
	http_response_release(&resp);
	blob_list_parser_free(lp);
	buf_release(&q);
	return rc;
out_nomem:
	buf_release(&q);
	return fail_nomem(err);
}

static int rest_list(struct blob_client *c, const char *prefix, const char *delim,
		     const char *marker, int max_results, struct blob_list_page *pg,
		     struct blob_error *err)
{
	return list_page(c, "metadata,copy", prefix, delim, marker, max_results,
			 pg, err);
}

/* List Blobs of name's snapshots or versions (x-ms-version 2021-12-02:
 * include=snapshots lists each snapshot with <Snapshot> next to the base
 * blob, include=versions each version with <VersionId>) */
static int rest_list_history(struct blob_client *c, const char *name,
			     enum blob_at_kind what, const char *marker,
			     struct blob_list_page *pg, struct blob_error *err)
{
	return list_page(c, what == BLOB_AT_VERSION ? "versions" : "snapshots",
			 name, NULL, marker, 0, pg, err);
}

static int rest_set_metadata(struct blob_client *c, const char *name,
			     const struct blob_meta *meta, size_t n,
			     const char *if_match, char *etag_out,
			     struct blob_error *err)
{
	struct blob_req r = { .op = "Set Blob Metadata", .method = "PUT",
			      .name = name, .query = "comp=metadata" };
	struct hdrs h = { 0 };

	add_meta(&h, meta, n);
	if (if_match)
		hdrs_addf(&h, "If-Match: %s", if_match);
	return simple(c, &r, &h, etag_out, err);
}

static int rest_set_content_type(struct blob_client *c, const char *name,
				 const char *type, struct blob_error *err)
{
	struct blob_req r = { .op = "Set Blob Properties", .method = "PUT",
			      .name = name, .query = "comp=properties" };
	struct hdrs h = { 0 };

	hdrs_addf(&h, "x-ms-blob-content-type: %s", type);
	return simple(c, &r, &h, NULL, err);
}

static int rest_set_tier(struct blob_client *c, const char *name, const char *tier,
			 struct blob_error *err)
{
	struct blob_req r = { .op = "Set Blob Tier", .method = "PUT",
			      .name = name, .query = "comp=tier" };
	struct hdrs h = { 0 };

	hdrs_addf(&h, "x-ms-access-tier: %s", tier);
	return simple(c, &r, &h, NULL, err);
}

static int rest_copy_start(struct blob_client *c, const char *name,
			   const char *source_url, const char *source_if_match,
			   const char *source_lease_id, const char *tier,
			   const struct blob_meta *meta, size_t n,
			   struct blob_copy_result *out, struct blob_error *err)
{
	struct blob_req r = { .op = "Copy Blob", .method = "PUT", .name = name,
			      .not_idempotent = 1 };
	struct http_response resp;
	struct hdrs h = { 0 };
	const char *v;
	int rc;

	hdrs_addf(&h, "x-ms-copy-source: %s", source_url);
	if (source_if_match)
		hdrs_addf(&h, "x-ms-source-if-match: %s", source_if_match);
	/* Copy Blob, x-ms-version 2012-02-12 and later */
	if (source_lease_id)
		hdrs_addf(&h, "x-ms-source-lease-id: %s", source_lease_id);
	if (tier)
		hdrs_addf(&h, "x-ms-access-tier: %s", tier);
	add_meta(&h, meta, n);
	rc = send(c, &r, &h, &resp, err);
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		v = http_response_header(&resp, "x-ms-copy-id");
		snprintf(out->id, sizeof(out->id), "%s", v ? v : "");
		out->status = blob_copy_status_parse(
			http_response_header(&resp, "x-ms-copy-status"));
		take_etag(&resp, out->etag);
	}
	http_response_release(&resp);
	hdrs_release(&h);
	return rc;
}

static int rest_copy_abort(struct blob_client *c, const char *name,
			   const char *copy_id, struct blob_error *err)
{
	struct blob_req r = { .op = "Abort Copy Blob", .method = "PUT",
			      .name = name };
	struct hdrs h = { 0 };

	hdrs_add(&h, "x-ms-copy-action: abort");
	return simple_keyed(c, &r, &h, "comp=copy&copyid=", copy_id, err);
}

/* Snapshot Blob (x-ms-version 2021-12-02): PUT ?comp=snapshot; the
 * snapshot's time comes back as x-ms-snapshot */
static int rest_snapshot(struct blob_client *c, const char *name, char *when,
			 size_t len, struct blob_error *err)
{
	struct blob_req r = { .op = "Snapshot Blob", .method = "PUT",
			      .name = name, .query = "comp=snapshot" };
	struct http_response resp;
	struct hdrs h = { 0 };
	const char *v;
	int rc = send(c, &r, &h, &resp, err);

	if (rc == 0) {
		v = http_response_header(&resp, "x-ms-snapshot");
		if (!v || strlen(v) >= len) {
			malformed_answer(err, &resp, "Snapshot Blob gave no x-ms-snapshot");
			rc = -1;
		} else {
			snprintf(when, len, "%s", v);
		}
	}
	http_response_release(&resp);
	hdrs_release(&h);
	return rc;
}

/*
 * Lease Blob (comp=lease). An acquire proposes its id, so a retry after
 * a lost answer asks for the lease it already holds, which the service
 * grants again; renew and release of the same id are idempotent too,
 * but for a release whose answer was lost: its retry finds no lease
 * (409 LeaseNotPresentWithLeaseOperation), which the caller may take
 * for success.
 */
static int rest_lease(struct blob_client *c, const char *name,
		      enum blob_lease_action action, const char *lease_id,
		      int duration, char *id_out, struct blob_error *err)
{
	struct blob_req r = { .op = "Lease Blob", .method = "PUT",
			      .name = name, .query = "comp=lease" };
	struct http_response resp;
	struct hdrs h = { 0 };
	const char *v;
	int rc;

	switch (action) {
	case BLOB_LEASE_ACQUIRE:
		hdrs_add(&h, "x-ms-lease-action: acquire");
		hdrs_addf(&h, "x-ms-lease-duration: %d", duration);
		if (lease_id)
			hdrs_addf(&h, "x-ms-proposed-lease-id: %s", lease_id);
		break;
	case BLOB_LEASE_RENEW:
		hdrs_add(&h, "x-ms-lease-action: renew");
		hdrs_addf(&h, "x-ms-lease-id: %s", lease_id);
		break;
	case BLOB_LEASE_RELEASE:
		hdrs_add(&h, "x-ms-lease-action: release");
		hdrs_addf(&h, "x-ms-lease-id: %s", lease_id);
		break;
	}
	rc = send(c, &r, &h, &resp, err);
	if (rc == 0 && id_out && action != BLOB_LEASE_RELEASE) {
		v = http_response_header(&resp, "x-ms-lease-id");
		if (!v || strlen(v) >= BLOB_LEASE_ID_MAX) {
			malformed_answer(err, &resp, "Lease Blob gave no x-ms-lease-id");
			rc = -1;
		} else {
			snprintf(id_out, BLOB_LEASE_ID_MAX, "%s", v);
		}
	}
	http_response_release(&resp);
	hdrs_release(&h);
	return rc;
}

int blob_lease_id_new(char *out)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant */
	snprintf(out, BLOB_LEASE_ID_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

const struct blob_ops blob_rest_ops = {
	.lease = rest_lease,
	.snapshot = rest_snapshot,
	.read_at = rest_read_at,
	.list_history = rest_list_history,
	.container_check = rest_container_check,
	.get_props = rest_get_props,
	.read = rest_read,
	.read_stream = rest_read_stream,
	.put = rest_put,
	.put_block_fd = rest_put_block_fd,
	.put_block_list = rest_put_block_list,
	.get_block_list = rest_get_block_list,
	.delete = rest_delete,
	.list = rest_list,
	.set_metadata = rest_set_metadata,
	.set_content_type = rest_set_content_type,
	.set_tier = rest_set_tier,
	.copy_start = rest_copy_start,
	.copy_abort = rest_copy_abort,
};
