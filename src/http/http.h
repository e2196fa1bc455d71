/*
 * http.h -- HTTP requests through a swappable transport, with retries.
 *
 * Layer: http. This is the only layer that knows libcurl exists, and only
 * http_curl.c includes curl.h. Everything above talks to a struct
 * http_transport, a table of function pointers plus a context, so unit tests
 * plug in a fake transport and assert the exact requests.
 *
 * Thread-safety: http_client_perform() may be called from any number of
 * threads at once; a transport must allow that (the curl transport keeps a
 * pool of easy handles, one per request in flight).
 */
#ifndef AZB_HTTP_HTTP_H
#define AZB_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Bounds on what a server may send us. */
#define HTTP_MAX_HEADERS 128
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_DEFAULT_BODY_MAX (16 * 1024 * 1024)
/* Bodies from this size on are moved with large socket buffers. */
#define HTTP_BIG_BODY (1024 * 1024)
/* A body is received HTTP_LOWAT bytes per wake-up while more than
 * HTTP_LOWAT + HTTP_LOWAT_MARGIN bytes of it are still to come; the margin
 * covers what a TLS library may already hold of them (http_recv_lowat). */
#define HTTP_LOWAT (256 * 1024)
#define HTTP_LOWAT_MARGIN (64 * 1024)

enum http_err {
	HTTP_OK = 0,
	HTTP_ERR_CONNECT,   /* could not connect / resolve */
	HTTP_ERR_TIMEOUT,   /* request exceeded its timeout */
	HTTP_ERR_IO,        /* connection dropped, reset, truncated body */
	HTTP_ERR_TLS,       /* certificate or handshake failure */
	HTTP_ERR_TOO_LARGE, /* headers or body over their cap */
	HTTP_ERR_NOMEM,
	HTTP_ERR_OTHER,
	HTTP_ERR_CANCELLED, /* recv_sink asked to stop */
};

/* A request body read from a file (pread at off, body_len bytes). */
struct http_body_file {
	int fd;
	uint64_t off;
};

struct http_response;

/*
 * http_sink: takes the next len bytes of a 2xx body (resp holds the status
 * and every header by then). Returns len to go on; anything else ends the
 * transfer with HTTP_ERR_CANCELLED. May block: it runs on the requesting
 * thread and holds only that transfer up.
 */
typedef size_t (*http_sink)(void *arg, const struct http_response *resp,
			    const void *data, size_t len);

struct http_request {
	const char *method;
	const char *url;             /* absolute, already encoded */
	const char *const *headers;  /* "Name: value" lines */
	size_t n_headers;
	const void *body;            /* request body, may be NULL */
	const struct http_body_file *body_file; /* or the body from a file */
	size_t body_len;
	void *recv_buf;              /* if set, a 2xx body is written here ... */
	size_t recv_cap;             /* ... up to this many bytes */
	http_sink recv_sink;         /* or handed to this, as it arrives; a */
	void *recv_arg;              /* transfer that delivered bytes is not
				      * retried ... */
	int (*recv_restart)(void *recv_arg); /* ... unless this is set and
				      * returns 0: the sink has forgotten
				      * them and takes the body anew */
	size_t body_max;             /* cap on resp->body; 0 = HTTP_DEFAULT_BODY_MAX */
	long timeout_ms;             /* 0 = the client's default */
	int idempotent;              /* may be retried after a dropped connection */
};

struct http_header {
	char *name;  /* lower case */
	char *value; /* trimmed */
};

struct http_response {
	long status;                 /* 0 when no response was received */
	struct http_header *headers;
	size_t n_headers;
	size_t header_bytes;
	struct buf body;             /* body unless it went to recv_buf */
	size_t recv_len;             /* bytes written to recv_buf / the sink */
	enum http_err err;           /* transport error, HTTP_OK otherwise */
	char errmsg[160];            /* transport error text; never secrets */
};

struct http_transport_ops {
	/*
	 * perform: sends req and fills resp (already initialised). Returns 0
	 * when a complete HTTP response arrived (any status), -1 with
	 * resp->err/errmsg set otherwise.
	 */
	int (*perform)(void *ctx, const struct http_request *req,
		       struct http_response *resp);
	/* destroy: frees ctx. */
	void (*destroy)(void *ctx);
};

struct http_transport {
	const struct http_transport_ops *ops;
	void *ctx;
};

/* Counters, updated atomically; read them with http_client_stats(). */
struct http_stats {
	uint64_t requests;
	uint64_t retries;
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t errors;
};

struct http_client {
	struct http_transport tr;
	int retries;           /* extra attempts after the first */
	long timeout_ms;       /* default per-request timeout */
	long backoff_base_ms;  /* first backoff delay */
	long backoff_max_ms;   /* cap on one delay */
	struct http_stats stats;
};

/* http_response_init / _release: the response owns its headers and body. */
void http_response_init(struct http_response *resp);
void http_response_release(struct http_response *resp);

/* http_response_header: value of header name (lower case) or NULL. */
const char *http_response_header(const struct http_response *resp,
				 const char *name);

/*
 * http_response_add_header: parses one raw "Name: value" line into resp;
 * used by transports. The name is lower-cased; name and value lose every
 * blank, CR and LF around them. Returns 0, or -1 when the caps are exceeded.
 */
int http_response_add_header(struct http_response *resp, const char *line,
			     size_t len);

/*
 * http_client_init: takes ownership of tr (destroyed by _release).
 */
void http_client_init(struct http_client *c, struct http_transport tr,
		      int retries, long timeout_ms);
void http_client_release(struct http_client *c);

/*
 * http_client_perform: sends req, retrying transport errors (for idempotent
 * requests) and 408/429/500/502/503/504 answers with exponential backoff and
 * jitter, honouring Retry-After and x-ms-retry-after-ms. resp holds the last
 * attempt. Returns 0 when a response arrived (check resp->status), -1 when
 * every attempt failed at the transport level.
 */
int http_client_perform(struct http_client *c, const struct http_request *req,
			struct http_response *resp);

/* http_client_stats: a snapshot of the counters. */
void http_client_stats(struct http_client *c, struct http_stats *out);

/*
 * http_recv_lowat: the receive threshold (SO_RCVLOWAT) for a body of which
 * left bytes are still to come: HTTP_LOWAT while that many and the margin
 * are, else 1, so the last bytes, and the next response on the
 * connection, wake the receiver at once.
 */
size_t http_recv_lowat(uint64_t left);

/* http_status_retryable: 1 for the statuses worth retrying. */
int http_status_retryable(long status);

/*
 * http_curl_transport_new: a libcurl transport with a pool of up to
 * max_handles easy handles (HTTP keep-alive per handle). cafile may be NULL.
 * Returns 0 and fills *out, or -1.
 */
int http_curl_transport_new(const char *cafile, int max_handles,
			    struct http_transport *out);

/* http_parse_date: an HTTP (RFC 1123) date, or -1. */
long long http_parse_date(const char *s);

/* http_format_date: "Sun, 06 Nov 1994 08:49:37 GMT" into out (>= 32 B). */
void http_format_date(long long t, char *out, size_t outlen);

/* http_global_init: curl_global_init; call once before any thread starts. */
int http_global_init(void);
void http_global_cleanup(void);

#endif
