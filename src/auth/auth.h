/*
 * auth.h -- request authorisation: Shared Key, SAS, bearer token, anonymous.
 *
 * Layer: auth (uses util). auth_authorize() turns an unsigned
 * request (method, URL, headers) into a signed one: it appends the SAS token
 * to the URL or produces the Authorization header line. The Shared Key
 * string-to-sign follows "Authorize with Shared Key" of the Storage REST
 * reference for x-ms-version 2009-09-19 and later. Signing is pure: a
 * bearer token comes from the token source the caller installs (token.h:
 * token_http_fetch, the HTTP exchange with the identity endpoint).
 *
 * Thread-safety: an initialised struct auth is read-only except for the
 * bearer token cache, which token_lock guards; auth_authorize() may run in
 * many threads. Secrets live only in this struct and are wiped on release.
 */
#ifndef AZB_AUTH_AUTH_H
#define AZB_AUTH_AUTH_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

enum auth_kind {
	AUTH_SHARED_KEY,
	AUTH_SAS,
	AUTH_BEARER,   /* Entra ID: client secret, workload identity or MSI */
	AUTH_ANONYMOUS,
};

enum auth_token_flow {
	AUTH_FLOW_CLIENT_SECRET,
	AUTH_FLOW_FEDERATED,  /* workload identity: assertion from a file */
	AUTH_FLOW_MSI,        /* managed identity endpoint */
};

struct auth;

/*
 * auth_token_source: where bearer tokens come from. fetch asks for a new
 * access token for a's identity: a malloc'd token in *token (the caller
 * wipes and frees it) and its lifetime in *ttl seconds. Returns 0, or -1
 * with msg filled (no secret in it). Called without any lock held.
 */
struct auth_token_source {
	int (*fetch)(void *ctx, const struct auth *a, char **token, long *ttl,
		     char *msg, size_t msglen);
	void *ctx;
};

struct auth {
	enum auth_kind kind;
	char *account;
	unsigned char *key;   /* decoded account key (AUTH_SHARED_KEY) */
	size_t key_len;
	char *sas;            /* token without '?' (AUTH_SAS) */
	/* AUTH_BEARER */
	enum auth_token_flow flow;
	char *tenant_id, *client_id, *client_secret, *token_file;
	char *authority;      /* e.g. https://login.microsoftonline.com */
	char *msi_endpoint;   /* managed identity token endpoint */
	char *msi_header;     /* IDENTITY_HEADER value, if any */
	struct auth_token_source tokens; /* for AUTH_BEARER */
	pthread_mutex_t token_lock; /* guards token and token_expiry */
	char *token;
	time_t token_expiry;
};

/* auth_init: zeroes a; then the caller fills kind and the fields it uses. */
void auth_init(struct auth *a);

/* auth_release: frees and wipes every secret. */
void auth_release(struct auth *a);

/*
 * auth_set_key_base64: decodes an account key. Returns 0, or -1 if it is not
 * valid base64.
 */
int auth_set_key_base64(struct auth *a, const char *b64);

/*
 * auth_authorize: signs one request. url is the encoded absolute URL; for
 * AUTH_SAS the token is appended to it. headers are "Name: value" lines that
 * will be sent as they are; content_length is the body size. On success
 * *authz receives the Authorization header line ("" when none is needed).
 * Returns 0, or -1 with msg filled (no secret in it).
 */
int auth_authorize(struct auth *a, const char *method, struct buf *url,
		   const char *const *headers, size_t n_headers,
		   size_t content_length, struct buf *authz, char *msg,
		   size_t msglen);

/*
 * auth_string_to_sign: the Shared Key string-to-sign (exposed for tests).
 * Returns 0, or -1 when out is full or the URL cannot be parsed.
 */
int auth_string_to_sign(const char *account, const char *method,
			const char *url, const char *const *headers,
			size_t n_headers, size_t content_length,
			struct buf *out);

/* auth_hmac_sha256_b64: base64(HMAC-SHA256(key, msg)) into out (>= 64 B). */
int auth_hmac_sha256_b64(const unsigned char *key, size_t key_len,
			 const char *msg, size_t msg_len, char *out,
			 size_t outlen);

/* auth_base64_decode: malloc'd decoded bytes; -1 if s is not base64. */
int auth_base64_decode(const char *s, unsigned char **out, size_t *out_len);

#endif
