/*
 * fuzz_connstr.c -- connection strings and token endpoint answers.
 *
 * The input (up to its first NUL) is parsed by cred_conn_parse() as an
 * AZURE_STORAGE_CONNECTION_STRING, by token_json_field() as a token
 * endpoint's JSON answer (for the keys fetch() reads), and by
 * cred_endpoint_is_path_style() as an endpoint. Checks, besides ASan and
 * UBSan:
 *   - a failed parse explains itself in msg and leaves *out untouched;
 *   - a parsed string names an account or an endpoint; values are trimmed
 *     and hold no ';' (it separates parts); UseDevelopmentStorage=true
 *     fills in the emulator's account, key and endpoint when absent;
 *   - a JSON field is no longer than the input;
 *   - the input, escaped as the "access_token" string of a token answer,
 *     comes back unchanged, and "expires_in" beside it reads 3599.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/cred.h"
#include "auth/token.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			__builtin_trap(); \
	} while (0)

static void check_value(const char *v)
{
	size_t n;

	if (!v)
		return;
	n = strlen(v);
	CHECK(strchr(v, ';') == NULL);
	if (n)
		CHECK(!isspace((unsigned char)v[0]) &&
		      !isspace((unsigned char)v[n - 1]));
}

static void fuzz_conn(const char *s)
{
	struct cred_conn c;
	char msg[200];

	memset(&c, 0xA5, sizeof(c));
	msg[0] = '\0';
	if (cred_conn_parse(s, &c, msg, sizeof(msg)) < 0) {
		const unsigned char *b = (const unsigned char *)&c;
		size_t i;

		CHECK(msg[0] != '\0');
		for (i = 0; i < sizeof(c); i++)
			CHECK(b[i] == 0xA5);
		return;
	}
	CHECK(c.account || c.blob_endpoint);
	check_value(c.account);
	check_value(c.key);
	check_value(c.sas);
	check_value(c.blob_endpoint);
	check_value(c.protocol);
	check_value(c.suffix);
	if (c.dev_storage) {
		CHECK(c.account && c.blob_endpoint && (c.key || c.sas));
		(void)cred_endpoint_is_path_style(c.blob_endpoint);
	}
	cred_conn_release(&c);
	CHECK(!c.account && !c.key && !c.sas && !c.blob_endpoint);
}

static void fuzz_json(const char *s, size_t n, const char *key)
{
	char *v = token_json_field(s, key);

	if (v)
		CHECK(strlen(v) <= n);
	free(v);
}

/* json_round_trip: the input as an escaped access_token must come back. */
static void json_round_trip(const char *s, size_t n)
{
	static const char head[] =
		"{\"token_type\": \"Bearer\", \"expires_in\": 3599, \"access_token\": \"";
	struct buf b;
	char *tok, *exp;
	size_t i;

	buf_init(&b, 0);
	if (buf_puts(&b, head) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		const char *esc = s[i] == '"' ? "\\\"" : s[i] == '\\' ? "\\\\" :
				  s[i] == '\n' ? "\\n" : s[i] == '\t' ? "\\t" : NULL;

		if (esc ? buf_puts(&b, esc) < 0 : buf_append(&b, &s[i], 1) < 0)
			goto out;
	}
	if (buf_puts(&b, "\"}") < 0)
		goto out;
	tok = token_json_field(b.data, "access_token");
	exp = token_json_field(b.data, "expires_in");
	CHECK(tok && strcmp(tok, s) == 0);
	CHECK(exp && strcmp(exp, "3599") == 0);
	free(tok);
	free(exp);
out:
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);
	fuzz_conn(s);
	fuzz_json(s, n, "access_token");
	fuzz_json(s, n, "expires_in");
	fuzz_json(s, n, "error");
	json_round_trip(s, n);
	(void)cred_endpoint_is_path_style(s);
	free(s);
	return 0;
}
