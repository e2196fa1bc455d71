/*
 * fake.h -- a fake HTTP transport for unit tests: records every request and
 * answers from a queue of canned replies. No network.
 */
#ifndef AZB_TESTS_FAKE_H
#define AZB_TESTS_FAKE_H

#include <stddef.h>

#include "http/http.h"

#define FAKE_MAX 64

struct fake_reply {
	long status;               /* 0 = transport error */
	enum http_err err;         /* with a status: dropped after the body */
	const char *headers;       /* "Name: value\n" lines */
	const char *body;
};

struct fake_seen {
	char *method;
	char *url;
	char *headers;             /* "Name: value\n" lines as sent */
	size_t body_len;
	char *body;
};

struct fake {
	struct fake_reply replies[FAKE_MAX];
	size_t n_replies, next;
	struct fake_seen seen[FAKE_MAX];
	size_t n_seen;
};

/* fake_transport: a transport over f (not owned). */
struct http_transport fake_transport(struct fake *f);
void fake_push(struct fake *f, long status, const char *headers,
	       const char *body);
void fake_push_err(struct fake *f, enum http_err err);
/* fake_push_cut: a reply whose connection drops (err) after its body. */
void fake_push_cut(struct fake *f, long status, const char *headers,
		   const char *body, enum http_err err);
void fake_reset(struct fake *f);
/* fake_header: value of header name in seen request i, or NULL (static). */
const char *fake_header(const struct fake *f, size_t i, const char *name);

#endif
