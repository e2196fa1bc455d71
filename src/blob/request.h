/*
 * request.h -- internal to blob/: one signed request to the service.
 *
 * Layer: blob. Adds x-ms-date and x-ms-version, signs with the client's
 * auth, sends through the http client (with its retries) and turns a
 * non-2xx answer into a struct blob_error. Thread-safe.
 */
#ifndef AZB_BLOB_REQUEST_H
#define AZB_BLOB_REQUEST_H

#include "blob/blob.h"

#define BLOB_REQ_MAX_HEADERS 48

struct blob_req {
	const char *op;           /* operation name for logs: "Get Blob" */
	const char *method;
	const char *name;         /* blob name, NULL = the container */
	const char *query;        /* encoded query without '?', or NULL */
	const char *const *headers;
	size_t n_headers;
	const void *body;
	const struct http_body_file *body_file; /* instead of body */
	size_t body_len;
	void *recv_buf;
	size_t recv_cap;
	http_sink recv_sink;      /* instead of recv_buf (http.h) */
	void *recv_arg;
	int (*recv_restart)(void *recv_arg); /* (http.h) */
	size_t body_max;
	int not_idempotent;       /* never resend after a dropped connection */
};

/*
 * blob_request: sends r. Returns 0 for a 2xx answer (resp holds it), -1
 * otherwise with err filled (resp still holds what came back).
 */
int blob_request(struct blob_client *c, const struct blob_req *r,
		 struct http_response *resp, struct blob_error *err);

#endif
