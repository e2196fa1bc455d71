/*
 * token.h -- Entra ID bearer tokens for AUTH_BEARER (see auth.h).
 *
 * Layer: auth. Three flows: a service principal with a client secret
 * (OAuth 2.0 client credentials), workload identity (the same with a
 * client_assertion read from AZURE_FEDERATED_TOKEN_FILE), and managed
 * identity (the IMDS endpoint, or IDENTITY_ENDPOINT/IDENTITY_HEADER).
 * Tokens are cached until five minutes before they expire.
 *
 * Thread-safety: token_get() takes a->token_lock only to read or replace
 * the cached token; the HTTP exchange happens without it held.
 */
#ifndef AZB_AUTH_TOKEN_H
#define AZB_AUTH_TOKEN_H

#include <stddef.h>

struct auth;

/*
 * token_http_fetch: an auth_token_source fetch (auth.h) that asks the
 * identity endpoint over HTTP; ctx is the struct http_client to use.
 */
int token_http_fetch(void *ctx, const struct auth *a, char **token,
		     long *ttl, char *msg, size_t msglen);

/*
 * token_get: a malloc'd copy of a valid access token in *out (the caller
 * wipes and frees it). Returns 0, or -1 with msg filled (no secret in it).
 */
int token_get(struct auth *a, char **out, char *msg, size_t msglen);

/*
 * token_json_field: the value of a top-level "key" in a flat JSON object,
 * as a malloc'd string (string or number values). NULL when absent.
 */
char *token_json_field(const char *json, const char *key);

#endif
