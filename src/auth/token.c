/*
 * token.c -- fetches and caches Entra ID access tokens (see token.h).
 */
#include "auth/token.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "http/http.h"
#include "util/log.h"
#include "util/str.h"

#define STORAGE_SCOPE "https://storage.azure.com/.default"
#define STORAGE_RESOURCE "https://storage.azure.com/"

char *token_json_field(const char *json, const char *key)
{
	struct buf b;
	const char *p = json;
	size_t kl = strlen(key);

	while ((p = strchr(p, '"')) != NULL) {
		const char *v;

		if (strncmp(p + 1, key, kl) != 0 || p[1 + kl] != '"') {
			p++;
			/* skip the rest of this string */
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p)
				p++;
			continue;
		}
		v = p + kl + 2;
		while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
			v++;
		if (*v != ':') {
			p = v;
			continue;
		}
		v++;
		while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
			v++;
		buf_init(&b, 1 << 20);
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++) {
				char c = *v;

				if (c == '\\') {
					v++;
					if (!*v)
						break;
					c = *v == 'n' ? '\n' : *v == 't' ? '\t' : *v;
				}
				if (buf_append(&b, &c, 1) < 0)
					goto out_fail;
			}
			if (*v != '"')
				goto out_fail;
		} else {
			size_t n = strspn(v, "0123456789.-");

			if (!n || buf_append(&b, v, n) < 0)
				goto out_fail;
		}
		return buf_take(&b);
out_fail:
		buf_release(&b);
		return NULL;
	}
	return NULL;
}

static int form_add(struct buf *b, const char *k, const char *v)
{
	if (b->len && buf_append(b, "&", 1) < 0)
		return -1;
	if (buf_printf(b, "%s=", k) < 0)
		return -1;
	return str_pct_encode(b, v, strlen(v), NULL);
}

static char *read_small_file(const char *path)
{
	struct buf b;
	char chunk[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) < 0)
			break;
	fclose(f);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return b.len ? buf_take(&b) : (buf_release(&b), NULL);
}

/* msi_request: the managed identity endpoint's GET into url and hdr.
 * 0, or -1 out of memory. */
static int msi_request(const struct auth *a, struct buf *url, struct buf *hdr)
{
	if (buf_puts(url, a->msi_endpoint) < 0 ||
	    buf_puts(url, strchr(a->msi_endpoint, '?') ? "&" : "?") < 0 ||
	    buf_printf(url, "api-version=%s&resource=%s",
		       a->msi_header ? "2019-08-01" : "2018-02-01",
		       "https%3A%2F%2Fstorage.azure.com%2F") < 0)
		return -1;
	if (a->client_id && buf_printf(url, "&client_id=%s", a->client_id) < 0)
		return -1;
	if (a->msi_header)
		return buf_printf(hdr, "X-IDENTITY-HEADER: %s", a->msi_header) < 0 ? -1 : 0;
	return buf_puts(hdr, "Metadata: true") < 0 ? -1 : 0;
}

/* entra_request: the OAuth 2.0 client credentials POST (a client secret,
 * or the federated token file's assertion) into url and form. 0, or -1
 * with msg filled. */
static int entra_request(const struct auth *a, struct buf *url,
			 struct buf *form, char *msg, size_t msglen)
{
	char *assertion = NULL;
	int rc = -1;

	if (buf_printf(url, "%s/%s/oauth2/v2.0/token", a->authority,
		       a->tenant_id) < 0 ||
	    form_add(form, "grant_type", "client_credentials") < 0 ||
	    form_add(form, "client_id", a->client_id) < 0 ||
	    form_add(form, "scope", STORAGE_SCOPE) < 0)
		goto out_nomem;
	if (a->flow != AUTH_FLOW_FEDERATED) {
		if (form_add(form, "client_secret", a->client_secret) < 0)
			goto out_nomem;
		return 0;
	}
	assertion = read_small_file(a->token_file);
	if (!assertion) {
		snprintf(msg, msglen, "cannot read federated token file %s",
			 a->token_file);
		return -1;
	}
	if (form_add(form, "client_assertion_type",
		     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") < 0 ||
	    form_add(form, "client_assertion", assertion) < 0)
		goto out_nomem;
	rc = 0;
	goto out_free;
out_nomem:
	snprintf(msg, msglen, "out of memory");
out_free:
	if (assertion) {
		OPENSSL_cleanse(assertion, strlen(assertion));
		free(assertion);
	}
	return rc;
}

/* token_answer: the token and its lifetime from the endpoint's answer.
 * 0, or -1 with msg filled. */
static int token_answer(const struct http_response *resp, char **tok,
			long *ttl, char *msg, size_t msglen)
{
	char *exp;

	if (resp->status != 200) {
		char *err = resp->body.data ? token_json_field(resp->body.data, "error") : NULL;

		snprintf(msg, msglen, "token request refused: HTTP %ld %s",
			 resp->status, err ? err : "");
		free(err);
		return -1;
	}
	*tok = token_json_field(resp->body.data ? resp->body.data : "", "access_token");
	if (!*tok) {
		snprintf(msg, msglen, "token response has no access_token");
		return -1;
	}
	exp = token_json_field(resp->body.data, "expires_in");
	*ttl = exp ? strtol(exp, NULL, 10) : 3600;
	if (*ttl <= 0)
		*ttl = 300;
	free(exp);
	return 0;
}

int token_http_fetch(void *ctx, const struct auth *a, char **tok, long *ttl,
		     char *msg, size_t msglen)
{
	struct http_request req = { 0 };
	struct http_response resp;
	struct buf url, form, hdr;
	const char *hdrs[1];
	int rc = -1;

	buf_init(&url, 0);
	buf_init(&form, 0);
	buf_init(&hdr, 0);
	http_response_init(&resp);
	if (a->flow == AUTH_FLOW_MSI) {
		if (msi_request(a, &url, &hdr) < 0) {
			snprintf(msg, msglen, "out of memory");
			goto out_free;
		}
		hdrs[0] = hdr.data;
		req.method = "GET";
	} else {
		if (entra_request(a, &url, &form, msg, msglen) < 0)
			goto out_free;
		hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
		req.method = "POST";
		req.body = form.data;
		req.body_len = form.len;
	}
	req.url = url.data;
	req.headers = hdrs;
	req.n_headers = 1;
	req.idempotent = 1;
	req.body_max = 1 << 20;
	if (http_client_perform(ctx, &req, &resp) < 0)
		snprintf(msg, msglen, "token endpoint unreachable: %s", resp.errmsg);
	else
		rc = token_answer(&resp, tok, ttl, msg, msglen);
out_free:
	if (form.data)
		OPENSSL_cleanse(form.data, form.len);
	if (resp.body.data)
		OPENSSL_cleanse(resp.body.data, resp.body.len);
	http_response_release(&resp);
	buf_release(&form);
	buf_release(&url);
	buf_release(&hdr);
	return rc;
}

int token_get(struct auth *a, char **out, char *msg, size_t msglen)
{
	time_t now = time(NULL);
	char *tok = NULL, *copy;
	long ttl = 0;

	pthread_mutex_lock(&a->token_lock);
	if (a->token && now < a->token_expiry) {
		copy = str_ndup(a->token, strlen(a->token));
		pthread_mutex_unlock(&a->token_lock);
		if (!copy) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		*out = copy;
		return 0;
	}
	pthread_mutex_unlock(&a->token_lock);

	if (!a->tokens.fetch) {
		snprintf(msg, msglen, "no token source");
		return -1;
	}
	if (a->tokens.fetch(a->tokens.ctx, a, &tok, &ttl, msg, msglen) < 0)
		return -1;
	copy = str_ndup(tok, strlen(tok));
	if (!copy) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&a->token_lock);
	if (a->token) {
		OPENSSL_cleanse(a->token, strlen(a->token));
		free(a->token);
	}
	a->token = tok;
	a->token_expiry = now + (ttl > 600 ? ttl - 300 : ttl / 2);
	pthread_mutex_unlock(&a->token_lock);
	log_debug("obtained an access token valid for %ld s", ttl);
	*out = copy;
	return 0;
}
