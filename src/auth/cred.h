/*
 * cred.h -- where credentials come from: a credentials file, environment
 * variables, connection strings, or -o auth=msi|anonymous.
 *
 * Layer: auth. Order (first match wins): the credentials= file, then the
 * environment (connection string; account with key or SAS; service
 * principal; federated token file), then -o auth=. Pure functions over the
 * inputs they are given (environment lookups go through a function
 * pointer, so tests pass their own); thread-safe.
 */
#ifndef AZB_AUTH_CRED_H
#define AZB_AUTH_CRED_H

#include <stddef.h>

#include "auth/auth.h"

#define CRED_DEV_ACCOUNT "devstoreaccount1"
#define CRED_DEV_KEY \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define CRED_DEV_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"

/* What the command line said (all may be NULL). */
struct cred_opts {
	const char *account;
	const char *endpoint;
	const char *credentials_file;
	const char *auth;               /* "msi", "anonymous", or NULL */
	const char *identity_client_id;
};

/* A parsed connection string; every field malloc'd or NULL. */
struct cred_conn {
	char *account;
	char *key;
	char *sas;
	char *blob_endpoint;
	char *protocol;
	char *suffix;
	int dev_storage;
};

typedef const char *(*cred_getenv_fn)(const char *name);

/*
 * cred_conn_parse: parses "Key=Value;..." (keys case-insensitive, values
 * may contain '='). Returns 0, or -1 with msg filled. Release with
 * cred_conn_release().
 */
int cred_conn_parse(const char *s, struct cred_conn *out, char *msg,
		    size_t msglen);
void cred_conn_release(struct cred_conn *c);

/*
 * cred_resolve: builds an initialised struct auth and the blob endpoint
 * (malloc'd, no trailing slash; path-style endpoints include the account).
 * getenv_fn may be NULL for the real environment. Returns 0, or -1 with a
 * one-line cause-and-fix message (never a secret) in msg.
 */
int cred_resolve(const struct cred_opts *o, cred_getenv_fn getenv_fn,
		 struct auth *a, char **endpoint, char *msg, size_t msglen);

/*
 * cred_endpoint_is_path_style: 1 when the endpoint host is an IP address or
 * localhost (emulators address the account in the path).
 */
int cred_endpoint_is_path_style(const char *endpoint);

#endif
