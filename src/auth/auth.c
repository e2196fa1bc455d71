/*
 * auth.c -- Shared Key signing, SAS and dispatch to the token flows.
 *
 * The canonical forms follow "Authorize with Shared Key" (Storage REST
 * reference, x-ms-version 2009-09-19 and later): twelve standard header
 * values, then the sorted x-ms-* headers, then "/account/encoded-path" and
 * the decoded, lower-cased, sorted query parameters. With path-style
 * emulator URLs the path already starts with the account, so the resource
 * names it twice ("/devstoreaccount1/devstoreaccount1/container/blob").
 */
#include "auth/auth.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/token.h"
#include "util/str.h"

void auth_init(struct auth *a)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->token_lock, NULL);
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void auth_release(struct auth *a)
{
	free(a->account);
	if (a->key) {
		OPENSSL_cleanse(a->key, a->key_len);
		free(a->key);
	}
	free_secret(a->sas);
	free(a->tenant_id);
	free(a->client_id);
	free_secret(a->client_secret);
	free(a->token_file);
	free(a->authority);
	free(a->msi_endpoint);
	free_secret(a->msi_header);
	free_secret(a->token);
	pthread_mutex_destroy(&a->token_lock);
	memset(a, 0, sizeof(*a));
}

int auth_base64_decode(const char *s, unsigned char **out, size_t *out_len)
{
	size_t n = strlen(s), i, pad = 0;
	unsigned char *p;
	int m;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			if (i < n - 2)
				return -1;
			pad++;
		} else if (!isalnum(c) && c != '+' && c != '/') {
			return -1;
		} else if (pad) {
			return -1;
		}
	}
	p = malloc(n / 4 * 3 + 1);
	if (!p)
		return -1;
	m = EVP_DecodeBlock(p, (const unsigned char *)s, (int)n);
	if (m < 0) {
		free(p);
		return -1;
	}
	*out = p;
	*out_len = (size_t)m - pad;
	return 0;
}

int auth_set_key_base64(struct auth *a, const char *b64)
{
	unsigned char *k;
	size_t n;

	if (auth_base64_decode(b64, &k, &n) < 0 || n == 0)
		return -1;
	if (a->key) {
		OPENSSL_cleanse(a->key, a->key_len);
		free(a->key);
	}
	a->key = k;
	a->key_len = n;
	return 0;
}

int auth_hmac_sha256_b64(const unsigned char *key, size_t key_len,
			 const char *msg, size_t msg_len, char *out,
			 size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	if (outlen < 64 || key_len > 0x7fffffff)
		return -1;
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
		  msg_len, mac, &mac_len))
		return -1;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* header_value: the value of header name among "Name: value" lines. */
static const char *header_value(const char *const *h, size_t n,
				const char *name, size_t *len)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < n; i++) {
		const char *v;

		if (strncasecmp(h[i], name, nl) != 0 || h[i][nl] != ':')
			continue;
		v = h[i] + nl + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		*len = strlen(v);
		while (*len && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
			(*len)--;
		return v;
	}
	return NULL;
}

struct kv {
	char *k;
	char *v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

static void kv_free(struct kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
}

static char *lower_dup(const char *s, size_t n)
{
	char *p = str_ndup(s, n);
	size_t i;

	if (p)
		for (i = 0; i < n; i++)
			p[i] = (char)tolower((unsigned char)p[i]);
	return p;
}

static char *decode_dup(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (str_pct_decode(&b, s, n) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* canonical_headers: sorted "x-ms-name:value\n" lines. */
static int canonical_headers(const char *const *h, size_t n, struct buf *out)
{
	struct kv *kv = calloc(n ? n : 1, sizeof(*kv));
	size_t i, m = 0;
	int rc = -1;

	if (!kv)
		return -1;
	for (i = 0; i < n; i++) {
		const char *colon = strchr(h[i], ':');
		const char *v;
		size_t vl;

		if (!colon || !str_has_prefix_ci(h[i], "x-ms-"))
			continue;
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		vl = strlen(v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		kv[m].k = lower_dup(h[i], (size_t)(colon - h[i]));
		kv[m].v = str_ndup(v, vl);
		m++;
		if (!kv[m - 1].k || !kv[m - 1].v)
			goto out_free;
	}
	qsort(kv, m, sizeof(*kv), kv_cmp);
	for (i = 0; i < m; i++)
		if (buf_printf(out, "%s:%s\n", kv[i].k, kv[i].v) < 0)
			goto out_free;
	rc = 0;
out_free:
	kv_free(kv, m);
	return rc;
}

/* canonical_resource: "/account/path" plus "\nname:v1,v2" per parameter. */
static int canonical_resource(const char *account, const char *url,
			      struct buf *out)
{
	const char *p = strstr(url, "://"), *q, *path;
	struct kv *kv = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (!p)
		return -1;
	path = strchr(p + 3, '/');
	if (!path)
		path = "/";
	q = strchr(path, '?');
	if (buf_printf(out, "/%s", account) < 0 ||
	    buf_append(out, path, q ? (size_t)(q - path) : strlen(path)) < 0)
		return -1;
	if (!q)
		return 0;
	for (p = q + 1; *p;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		struct kv *nkv;

		if (len) {
			nkv = realloc(kv, (n + 1) * sizeof(*kv));
			if (!nkv)
				goto out_free;
			kv = nkv;
			kv[n].v = NULL;
			kv[n].k = decode_dup(p, eq ? (size_t)(eq - p) : len);
			n++;
			if (!kv[n - 1].k)
				goto out_free;
			for (i = 0; kv[n - 1].k[i]; i++)
				kv[n - 1].k[i] = (char)tolower((unsigned char)kv[n - 1].k[i]);
			kv[n - 1].v = eq ? decode_dup(eq + 1, len - (size_t)(eq - p) - 1)
					 : str_ndup("", 0);
			if (!kv[n - 1].v)
				goto out_free;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(kv, n, sizeof(*kv), kv_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(kv[i].k, kv[i - 1].k) == 0) {
			if (buf_printf(out, ",%s", kv[i].v) < 0)
				goto out_free;
		} else if (buf_printf(out, "\n%s:%s", kv[i].k, kv[i].v) < 0) {
			goto out_free;
		}
	}
	rc = 0;
out_free:
	kv_free(kv, n);
	return rc;
}

int auth_string_to_sign(const char *account, const char *method,
			const char *url, const char *const *headers,
			size_t n_headers, size_t content_length,
			struct buf *out)
{
	static const char *const std_headers[] = {
		"Content-Encoding", "Content-Language", NULL /* length */,
		"Content-MD5", "Content-Type", "Date", "If-Modified-Since",
		"If-Match", "If-None-Match", "If-Unmodified-Since", "Range",
	};
	size_t i;

	if (buf_printf(out, "%s\n", method) < 0)
		return -1;
	for (i = 0; i < sizeof(std_headers) / sizeof(std_headers[0]); i++) {
		const char *v;
		size_t vl = 0;

		if (!std_headers[i]) {
			if (content_length &&
			    buf_printf(out, "%zu", content_length) < 0)
				return -1;
		} else {
			v = header_value(headers, n_headers, std_headers[i], &vl);
			if (v && buf_append(out, v, vl) < 0)
				return -1;
		}
		if (buf_append(out, "\n", 1) < 0)
			return -1;
	}
	if (canonical_headers(headers, n_headers, out) < 0)
		return -1;
	return canonical_resource(account, url, out);
}

static int sign_shared_key(struct auth *a, const char *method,
			   const char *url, const char *const *headers,
			   size_t n, size_t content_length, struct buf *authz)
{
	struct buf sts;
	char sig[128];
	int rc = -1;

	buf_init(&sts, 0);
	if (auth_string_to_sign(a->account, method, url, headers, n,
				content_length, &sts) < 0)
		goto out_free;
	if (auth_hmac_sha256_b64(a->key, a->key_len, sts.data, sts.len, sig,
				 sizeof(sig)) < 0)
		goto out_free;
	rc = buf_printf(authz, "Authorization: SharedKey %s:%s", a->account,
			sig);
	OPENSSL_cleanse(sig, sizeof(sig));
out_free:
	buf_release(&sts);
	return rc;
}

int auth_authorize(struct auth *a, const char *method, struct buf *url,
		   const char *const *headers, size_t n_headers,
		   size_t content_length, struct buf *authz, char *msg,
		   size_t msglen)
{
	char *tok = NULL;
	int rc = -1;

	buf_reset(authz);
	switch (a->kind) {
	case AUTH_SHARED_KEY:
		rc = sign_shared_key(a, method, url->data, headers, n_headers,
				     content_length, authz);
		if (rc < 0)
			snprintf(msg, msglen, "cannot sign request");
		return rc;
	case AUTH_SAS:
		if (buf_puts(url, strchr(url->data, '?') ? "&" : "?") < 0 ||
		    buf_puts(url, a->sas) < 0) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		return 0;
	case AUTH_BEARER:
		if (token_get(a, &tok, msg, msglen) < 0)
			return -1;
		rc = buf_printf(authz, "Authorization: Bearer %s", tok);
		free_secret(tok);
		if (rc < 0)
			snprintf(msg, msglen, "out of memory");
		return rc;
	case AUTH_ANONYMOUS:
		return 0;
	}
	return -1;
}
