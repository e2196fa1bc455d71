/*
 * fake.c -- the fake transport (see fake.h).
 */
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

static int fake_perform(void *ctx, const struct http_request *req,
			struct http_response *resp)
{
	struct fake *f = ctx;
	struct fake_seen *s;
	struct fake_reply *r;
	size_t i, hl = 0;
	char *p;

	if (f->n_seen < FAKE_MAX) {
		s = &f->seen[f->n_seen++];
		s->method = strdup(req->method);
		s->url = strdup(req->url);
		for (i = 0; i < req->n_headers; i++)
			hl += strlen(req->headers[i]) + 1;
		s->headers = calloc(1, hl + 1);
		for (i = 0; i < req->n_headers; i++) {
			strcat(s->headers, req->headers[i]);
			strcat(s->headers, "\n");
		}
		s->body_len = req->body_len;
		s->body = calloc(1, req->body_len + 1);
		if (req->body_file && req->body_len &&
		    pread(req->body_file->fd, s->body, req->body_len,
			  (off_t)req->body_file->off) != (ssize_t)req->body_len)
			s->body_len = (size_t)-1; /* the file was too short */
		else if (req->body_len && req->body)
			memcpy(s->body, req->body, req->body_len);
	}
	if (f->next >= f->n_replies) {
		resp->err = HTTP_ERR_CONNECT;
		snprintf(resp->errmsg, sizeof(resp->errmsg), "no canned reply");
		return -1;
	}
	r = &f->replies[f->next++];
	if (r->status == 0) {
		resp->err = r->err;
		snprintf(resp->errmsg, sizeof(resp->errmsg), "fake transport error");
		return -1;
	}
	resp->status = r->status;
	if (r->headers) {
		const char *h = r->headers;

		while (*h) {
			size_t n = strcspn(h, "\n");

			if (http_response_add_header(resp, h, n) < 0) {
				resp->err = HTTP_ERR_TOO_LARGE;
				return -1;
			}
			h += n + (h[n] == '\n');
		}
	}
	if (r->body) {
		size_t n = strlen(r->body);

		if (req->recv_sink && r->status >= 200 && r->status < 300) {
			size_t at, k;

			/* in pieces of 3 bytes, as a network would */
			for (at = 0; at < n; at += k) {
				k = n - at < 3 ? n - at : 3;
				if (req->recv_sink(req->recv_arg, resp, r->body + at, k) != k) {
					resp->err = HTTP_ERR_CANCELLED;
					resp->status = 0;
					return -1;
				}
				resp->recv_len += k;
			}
		} else if (req->recv_buf && r->status >= 200 && r->status < 300) {
			if (n > req->recv_cap)
				n = req->recv_cap;
			memcpy(req->recv_buf, r->body, n);
			resp->recv_len = n;
		} else if (buf_append(&resp->body, r->body, n) < 0) {
			resp->err = HTTP_ERR_TOO_LARGE;
			return -1;
		}
	}
	(void)p;
	if (r->err != HTTP_OK) {
		/* the connection dropped after the body's bytes */
		resp->err = r->err;
		resp->status = 0;
		snprintf(resp->errmsg, sizeof(resp->errmsg), "fake cut");
		return -1;
	}
	return 0;
}

static void fake_destroy(void *ctx)
{
	(void)ctx;
}

static const struct http_transport_ops fake_ops = { fake_perform, fake_destroy };

struct http_transport fake_transport(struct fake *f)
{
	struct http_transport t = { &fake_ops, f };

	return t;
}

void fake_push(struct fake *f, long status, const char *headers,
	       const char *body)
{
	struct fake_reply *r = &f->replies[f->n_replies++];

	r->status = status;
	r->err = HTTP_OK;
	r->headers = headers;
	r->body = body;
}

void fake_push_cut(struct fake *f, long status, const char *headers,
		   const char *body, enum http_err err)
{
	fake_push(f, status, headers, body);
	f->replies[f->n_replies - 1].err = err;
}

void fake_push_err(struct fake *f, enum http_err err)
{
	struct fake_reply *r = &f->replies[f->n_replies++];

	r->status = 0;
	r->err = err;
	r->headers = NULL;
	r->body = NULL;
}

void fake_reset(struct fake *f)
{
	size_t i;

	for (i = 0; i < f->n_seen; i++) {
		free(f->seen[i].method);
		free(f->seen[i].url);
		free(f->seen[i].headers);
		free(f->seen[i].body);
	}
	memset(f, 0, sizeof(*f));
}

const char *fake_header(const struct fake *f, size_t i, const char *name)
{
	static char val[4096];
	const char *h = f->seen[i].headers;
	size_t nl = strlen(name);

	while (h && *h) {
		size_t n = strcspn(h, "\n");

		if (n > nl && strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			const char *v = h + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(n - (size_t)(v - h)), v);
			return val;
		}
		h += n + (h[n] == '\n');
	}
	return NULL;
}
