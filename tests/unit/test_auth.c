/* test_auth.c -- Shared Key vectors, SAS, connection strings, sources. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/cred.h"
#include "auth/token.h"
#include "fake.h"

static void test_hmac_vector(void **st)
{
	char out[64];
	const char *msg = "The quick brown fox jumps over the lazy dog";

	(void)st;
	assert_int_equal(auth_hmac_sha256_b64((const unsigned char *)"key", 3,
					      msg, strlen(msg), out, sizeof(out)), 0);
	assert_string_equal(out, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
}

static void test_list_signature_path_style(void **st)
{
	const char *h[] = { "x-ms-date: Wed, 25 Nov 2026 03:00:00 GMT",
			    "x-ms-version: 2021-12-02" };
	struct auth a;
	struct buf url, authz, sts;
	char msg[100];

	(void)st;
	auth_init(&a);
	a.kind = AUTH_SHARED_KEY;
	a.account = strdup(CRED_DEV_ACCOUNT);
	assert_int_equal(auth_set_key_base64(&a, CRED_DEV_KEY), 0);
	buf_init(&url, 0);
	buf_init(&authz, 0);
	buf_init(&sts, 0);
	buf_puts(&url, "http://127.0.0.1:10000/devstoreaccount1/c1?restype=container&comp=list&include=metadata,copy");
	assert_int_equal(auth_string_to_sign(a.account, "GET", url.data, h, 2, 0, &sts), 0);
	assert_string_equal(sts.data,
		"GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Wed, 25 Nov 2026 03:00:00 GMT\n"
		"x-ms-version:2021-12-02\n/devstoreaccount1/devstoreaccount1/c1\n"
		"comp:list\ninclude:metadata,copy\nrestype:container");
	assert_int_equal(auth_authorize(&a, "GET", &url, h, 2, 0, &authz, msg, sizeof(msg)), 0);
	assert_string_equal(authz.data,
		"Authorization: SharedKey devstoreaccount1:awcMv7d5E5HHPkMqJP5WmqzPiANOSGMlBkA/8IXznB8=");
	buf_release(&url);
	buf_release(&authz);
	buf_release(&sts);
	auth_release(&a);
}

static void test_put_signature_headers(void **st)
{
	/* standard headers in their slots, x-ms-* sorted, encoded path kept */
	const char *h[] = { "x-ms-version: 2021-12-02", "X-Ms-Meta-a: b",
			    "x-ms-date: Wed, 25 Nov 2026 03:00:00 GMT",
			    "Content-Type: text/plain", "If-Match: \"0x1\"",
			    "x-ms-blob-type:   BlockBlob  " };
	struct auth a;
	struct buf url, authz;
	char msg[100];

	(void)st;
	auth_init(&a);
	a.kind = AUTH_SHARED_KEY;
	a.account = strdup("acct");
	assert_int_equal(auth_set_key_base64(&a, CRED_DEV_KEY), 0);
	buf_init(&url, 0);
	buf_init(&authz, 0);
	buf_puts(&url, "https://acct.blob.core.windows.net/c1/dir/a%20b%23.txt");
	assert_int_equal(auth_authorize(&a, "PUT", &url, h, 6, 11, &authz, msg, sizeof(msg)), 0);
	assert_string_equal(authz.data,
		"Authorization: SharedKey acct:UfJPWksaZKSKRJ4ntTnHv99BR7nyCHBrB72+0wI66sw=");
	buf_release(&url);
	buf_release(&authz);
	auth_release(&a);
}

static void test_sas_and_base64(void **st)
{
	struct auth a;
	struct buf url, authz;
	char msg[100];
	unsigned char *out;
	size_t n;

	(void)st;
	auth_init(&a);
	a.kind = AUTH_SAS;
	a.sas = strdup("sv=2021&sig=abc");
	buf_init(&url, 0);
	buf_init(&authz, 0);
	buf_puts(&url, "https://x/c/b?comp=list");
	assert_int_equal(auth_authorize(&a, "GET", &url, NULL, 0, 0, &authz, msg, sizeof(msg)), 0);
	assert_string_equal(url.data, "https://x/c/b?comp=list&sv=2021&sig=abc");
	assert_int_equal(authz.len, 0);
	buf_release(&url);
	buf_release(&authz);
	auth_release(&a);
	assert_int_equal(auth_base64_decode("not base64!", &out, &n), -1);
	assert_int_equal(auth_base64_decode("abc", &out, &n), -1);
	assert_int_equal(auth_base64_decode("YWJj", &out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
	free(out);
}

static void test_conn_string(void **st)
{
	struct cred_conn c;
	char msg[200];

	(void)st;
	assert_int_equal(cred_conn_parse("UseDevelopmentStorage=true", &c, msg, sizeof(msg)), 0);
	assert_string_equal(c.account, "devstoreaccount1");
	assert_string_equal(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_string_equal(c.key, CRED_DEV_KEY);
	cred_conn_release(&c);
	assert_int_equal(cred_conn_parse("DefaultEndpointsProtocol=https;AccountName=acc;"
					 "AccountKey=a2V5PT0=;EndpointSuffix=core.example", &c, msg, sizeof(msg)), 0);
	assert_string_equal(c.account, "acc");
	assert_string_equal(c.key, "a2V5PT0=");
	assert_string_equal(c.suffix, "core.example");
	cred_conn_release(&c);
	assert_int_equal(cred_conn_parse("garbage", &c, msg, sizeof(msg)), -1);
	assert_int_equal(cred_conn_parse("Foo=bar", &c, msg, sizeof(msg)), -1);
}

/* a fake environment */
static const char *const *env_table;

static const char *fake_getenv(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; env_table && env_table[i]; i++)
		if (strncmp(env_table[i], name, n) == 0 && env_table[i][n] == '=')
			return env_table[i] + n + 1;
	return NULL;
}

static void test_resolve_env(void **st)
{
	static const char *const env1[] = {
		"AZURE_STORAGE_ACCOUNT=myacct", "AZURE_STORAGE_ACCESS_KEY=" CRED_DEV_KEY, NULL };
	static const char *const env2[] = {
		"AZURE_STORAGE_CONNECTION_STRING=UseDevelopmentStorage=true",
		"AZURE_STORAGE_ACCOUNT=other", "AZURE_STORAGE_KEY=bad", NULL };
	static const char *const env3[] = {
		"AZURE_STORAGE_ACCOUNT=myacct", "AZURE_STORAGE_KEY=%%%notbase64", NULL };
	static const char *const env4[] = {
		"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_CLIENT_SECRET=s3cr3t", NULL };
	struct cred_opts o;
	struct auth a;
	char *ep = NULL, msg[300];

	(void)st;
	memset(&o, 0, sizeof(o));
	env_table = env1;
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), 0);
	assert_int_equal(a.kind, AUTH_SHARED_KEY);
	assert_string_equal(a.account, "myacct");
	assert_string_equal(ep, "https://myacct.blob.core.windows.net");
	free(ep);
	auth_release(&a);

	env_table = env2;
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), 0);
	assert_string_equal(a.account, "devstoreaccount1");
	assert_string_equal(ep, "http://127.0.0.1:10000/devstoreaccount1");
	free(ep);
	auth_release(&a);

	/* the command line endpoint wins, path-style gets the account */
	o.endpoint = "http://127.0.0.1:5555/";
	env_table = env1;
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), 0);
	assert_string_equal(ep, "http://127.0.0.1:5555/myacct");
	free(ep);
	auth_release(&a);
	o.endpoint = NULL;

	env_table = env3;
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "base64"));
	assert_null(strstr(msg, "notbase64"));

	env_table = env4;
	o.account = "acct";
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), 0);
	assert_int_equal(a.kind, AUTH_BEARER);
	assert_int_equal(a.flow, AUTH_FLOW_CLIENT_SECRET);
	free(ep);
	auth_release(&a);
	o.account = NULL;

	env_table = NULL;
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "no credentials"));
	o.auth = "anonymous";
	o.account = "pub";
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), 0);
	assert_int_equal(a.kind, AUTH_ANONYMOUS);
	free(ep);
	auth_release(&a);
	o.auth = "bogus";
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), -1);
}

static void test_resolve_file(void **st)
{
	char path[] = "/tmp/azb-cred-XXXXXX";
	struct cred_opts o;
	struct auth a;
	char *ep = NULL, msg[300];
	int fd;
	FILE *f;

	(void)st;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# comment\naccount = fileacct\nsas=?sv=1&sig=TOPSECRET\n");
	fclose(f);
	memset(&o, 0, sizeof(o));
	o.credentials_file = path;
	env_table = NULL;
	chmod(path, 0600);
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), 0);
	assert_int_equal(a.kind, AUTH_SAS);
	assert_string_equal(a.sas, "sv=1&sig=TOPSECRET");
	assert_string_equal(a.account, "fileacct");
	free(ep);
	auth_release(&a);
	chmod(path, 0644);
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "chmod 600"));
	chmod(path, 0600);
	f = fopen(path, "w");
	fprintf(f, "account=x\nbogus=TOPSECRET\n");
	fclose(f);
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), -1);
	assert_null(strstr(msg, "TOPSECRET"));
	unlink(path);
	assert_int_equal(cred_resolve(&o, fake_getenv, &a, &ep, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot open"));
}

static void test_path_style_and_json(void **st)
{
	char *v;

	(void)st;
	assert_true(cred_endpoint_is_path_style("http://127.0.0.1:10000/x"));
	assert_true(cred_endpoint_is_path_style("http://localhost:10000"));
	assert_true(cred_endpoint_is_path_style("http://[::1]:10000"));
	assert_false(cred_endpoint_is_path_style("https://acct.blob.core.windows.net"));
	v = token_json_field("{\"token_type\":\"Bearer\",\"expires_in\": 3599,\"access_token\":\"ey\\\"J\"}", "access_token");
	assert_string_equal(v, "ey\"J");
	free(v);
	v = token_json_field("{\"expires_in\": 3599}", "expires_in");
	assert_string_equal(v, "3599");
	free(v);
	assert_null(token_json_field("{\"a\":\"unterminated", "a"));
	assert_null(token_json_field("{}", "a"));
}

static void test_token_flows(void **st)
{
	struct fake f;
	struct http_client http;
	struct auth a;
	struct buf url, authz;
	char msg[200];

	(void)st;
	memset(&f, 0, sizeof(f));
	http_client_init(&http, fake_transport(&f), 0, 1000);
	auth_init(&a);
	a.kind = AUTH_BEARER;
	a.flow = AUTH_FLOW_CLIENT_SECRET;
	a.tokens.fetch = token_http_fetch;
	a.tokens.ctx = &http;
	a.authority = strdup("http://127.0.0.1:1");
	a.tenant_id = strdup("tenant-1");
	a.client_id = strdup("client-1");
	a.client_secret = strdup("s3cr3t&=x");
	buf_init(&url, 0);
	buf_init(&authz, 0);
	buf_puts(&url, "https://acct.blob.core.windows.net/c?comp=list");
	fake_push(&f, 200, NULL, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"TOKEN-ONE\"}");
	assert_int_equal(auth_authorize(&a, "GET", &url, NULL, 0, 0, &authz, msg, sizeof(msg)), 0);
	assert_string_equal(authz.data, "Authorization: Bearer TOKEN-ONE");
	assert_string_equal(f.seen[0].method, "POST");
	assert_string_equal(f.seen[0].url, "http://127.0.0.1:1/tenant-1/oauth2/v2.0/token");
	assert_non_null(strstr(f.seen[0].body, "grant_type=client_credentials"));
	assert_non_null(strstr(f.seen[0].body, "client_id=client-1"));
	assert_non_null(strstr(f.seen[0].body, "client_secret=s3cr3t%26%3Dx"));
	assert_non_null(strstr(f.seen[0].body, "scope=https%3A%2F%2Fstorage.azure.com%2F.default"));
	/* cached: no second request */
	assert_int_equal(auth_authorize(&a, "GET", &url, NULL, 0, 0, &authz, msg, sizeof(msg)), 0);
	assert_int_equal(f.n_seen, 1);
	auth_release(&a);

	/* managed identity: GET with Metadata: true, refusal reported */
	auth_init(&a);
	a.kind = AUTH_BEARER;
	a.flow = AUTH_FLOW_MSI;
	a.tokens.fetch = token_http_fetch;
	a.tokens.ctx = &http;
	a.msi_endpoint = strdup("http://127.0.0.1:2/metadata/identity/oauth2/token");
	a.client_id = strdup("uai");
	fake_push(&f, 400, NULL, "{\"error\":\"invalid_request\"}");
	assert_int_equal(auth_authorize(&a, "GET", &url, NULL, 0, 0, &authz, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "invalid_request"));
	assert_string_equal(f.seen[1].method, "GET");
	assert_non_null(strstr(f.seen[1].url, "api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F&client_id=uai"));
	assert_string_equal(fake_header(&f, 1, "Metadata"), "true");
	fake_push(&f, 200, NULL, "{\"access_token\":\"MSI\",\"expires_in\":\"600\"}");
	assert_int_equal(auth_authorize(&a, "GET", &url, NULL, 0, 0, &authz, msg, sizeof(msg)), 0);
	assert_string_equal(authz.data, "Authorization: Bearer MSI");
	/* a reply without a token */
	auth_release(&a);
	auth_init(&a);
	a.kind = AUTH_BEARER;
	a.flow = AUTH_FLOW_FEDERATED;
	a.tokens.fetch = token_http_fetch;
	a.tokens.ctx = &http;
	a.authority = strdup("http://127.0.0.1:1");
	a.tenant_id = strdup("t");
	a.client_id = strdup("c");
	a.token_file = strdup("/nonexistent/token");
	assert_int_equal(auth_authorize(&a, "GET", &url, NULL, 0, 0, &authz, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "federated token file"));
	auth_release(&a);
	buf_release(&url);
	buf_release(&authz);
	http_client_release(&http);
	fake_reset(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_vector),
		cmocka_unit_test(test_list_signature_path_style),
		cmocka_unit_test(test_put_signature_headers),
		cmocka_unit_test(test_sas_and_base64),
		cmocka_unit_test(test_conn_string),
		cmocka_unit_test(test_resolve_env),
		cmocka_unit_test(test_resolve_file),
		cmocka_unit_test(test_path_style_and_json),
		cmocka_unit_test(test_token_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
