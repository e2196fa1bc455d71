/*
 * fuzz_url.c -- blob names and URLs: percent-coding, redaction, UTF-8 and
 * RFC 3339 checks, and blob_url().
 *
 * The input is used raw (exact size, no NUL after it) by str_pct_decode()
 * and str_utf8_valid(), and as a C string (up to its first NUL) by the
 * others. Checks, besides ASan and UBSan:
 *   - decoding never grows the input, and encode-then-decode gives the
 *     decoded bytes back;
 *   - str_utf8_valid() agrees with an independent validator written from
 *     the table of well-formed byte sequences in the Unicode standard;
 *   - str_redact_url() keeps everything up to the '?', keeps the number of
 *     query parameters, and every sig= parameter reads sig=REDACTED;
 *   - a timestamp str_rfc3339_parse() accepts has 0 <= nsec < 1e9 and,
 *     once formatted with str_rfc3339_format(), parses to the same instant;
 *   - blob_url() (through a blob_client with an anonymous auth) gives the
 *     endpoint and container, then the name with every byte outside RFC
 *     3986 unreserved and '/' escaped: only bytes 0x21..0x7e, no '?', '#'
 *     or '%' that is not an escape, and decoding gives the name back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "util/buf.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			__builtin_trap(); \
	} while (0)

#define ENDPOINT "https://acct.blob.core.windows.net"
#define CONTAINER "data"

static void fuzz_pct(const char *s, size_t n)
{
	struct buf dec, enc, again;

	buf_init(&dec, 0);
	buf_init(&enc, 0);
	buf_init(&again, 0);
	if (str_pct_decode(&dec, s, n) < 0)
		goto out;
	CHECK(dec.len <= n);
	if (!memchr(s, '%', n))
		CHECK(dec.len == n && (n == 0 || memcmp(dec.data, s, n) == 0));
	CHECK(str_pct_encode(&enc, dec.data ? dec.data : "", dec.len, NULL) == 0);
	CHECK(str_pct_decode(&again, enc.data ? enc.data : "", enc.len) == 0);
	CHECK(again.len == dec.len);
	CHECK(dec.len == 0 || memcmp(again.data, dec.data, dec.len) == 0);
out:
	buf_release(&dec);
	buf_release(&enc);
	buf_release(&again);
}

/* utf8_ok: Unicode 15, table 3-7 (well-formed UTF-8), NUL refused. */
static int utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t len, k;

		if (c == 0)
			return 0;
		if (c <= 0x7F) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		/* the second byte has its own range, the rest are 80..BF */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				return 0;
		i += len;
	}
	return 1;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void fuzz_redact(const char *url)
{
	char *r = str_redact_url(url);
	const char *q = strchr(url, '?'), *p;

	if (!r)
		return; /* out of memory only */
	if (!q) {
		CHECK(strcmp(r, url) == 0);
		goto out;
	}
	CHECK(strncmp(r, url, (size_t)(q - url) + 1) == 0);
	CHECK(count_char(r + (q - url), '&') == count_char(q, '&'));
	for (p = r + (q - url) + 1; *p;) {
		size_t len = strcspn(p, "&");

		if (len >= 4 && strncasecmp(p, "sig=", 4) == 0)
			CHECK(len == 12 && strncmp(p + 4, "REDACTED", 8) == 0);
		p += len;
		if (*p == '&')
			p++;
	}
out:
	free(r);
}

static void fuzz_time(const char *s)
{
	struct timespec ts, back;
	char out[64];

	if (str_rfc3339_parse(s, &ts) < 0)
		return;
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
	/* years 1000..9999: what "%Y" writes as the four digits we parse */
	if (ts.tv_sec < -30610224000LL || ts.tv_sec > 253402300799LL)
		return;
	CHECK(str_rfc3339_format(&ts, out, sizeof(out)) == 0);
	CHECK(str_rfc3339_parse(out, &back) == 0);
	CHECK(back.tv_sec == ts.tv_sec && back.tv_nsec == ts.tv_nsec);
}

static int hexdig(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static void fuzz_blob_url(const char *name)
{
	static const char prefix[] = ENDPOINT "/" CONTAINER "/";
	struct blob_client c;
	struct auth a;
	struct buf url, dec;
	size_t i, plen = sizeof(prefix) - 1;

	auth_init(&a);
	a.kind = AUTH_ANONYMOUS;
	buf_init(&url, 0);
	buf_init(&dec, 0);
	CHECK(blob_client_init(&c, NULL, &a, ENDPOINT "/", CONTAINER) == 0);
	CHECK(blob_url(&c, name, &url) == 0);
	CHECK(url.len >= plen && memcmp(url.data, prefix, plen) == 0);
	for (i = 0; i < url.len; i++) {
		unsigned char ch = (unsigned char)url.data[i];

		CHECK(ch >= 0x21 && ch <= 0x7e);
		CHECK(ch != '?' && ch != '#');
		if (ch == '%')
			CHECK(i + 2 < url.len && hexdig(url.data[i + 1]) &&
			      hexdig(url.data[i + 2]));
	}
	CHECK(count_char(url.data + plen, '/') == count_char(name, '/'));
	CHECK(str_pct_decode(&dec, url.data + plen, url.len - plen) == 0);
	CHECK(dec.len == strlen(name));
	CHECK(dec.len == 0 || memcmp(dec.data, name, dec.len) == 0);
	buf_release(&dec);
	buf_release(&url);
	blob_client_release(&c);
	auth_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_pct((const char *)data, size);
	CHECK(str_utf8_valid((const char *)data, size) == utf8_ok(data, size));
	fuzz_redact(s);
	fuzz_time(s);
	fuzz_blob_url(s);
	free(s);
	return 0;
}
