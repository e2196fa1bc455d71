/*
 * fuzz_headers.c -- response header lines, as a transport hands them over.
 *
 * The input is cut into lines at '\n' (the '\n' stays on the line, as curl
 * passes it); each line goes, in a buffer of its own exact size, to
 * http_response_add_header(). Then blob_props_from_headers() reads the
 * result and http_parse_date() parses every value. Checks, besides ASan and
 * UBSan: a line is refused only over a cap (HTTP_MAX_HEADERS,
 * HTTP_MAX_HEADER_BYTES); names are lower case without ':'; values carry
 * no surrounding blanks; http_parse_date() gives a time or -1; the
 * properties hold one metadata entry per x-ms-meta-* header, NUL-terminated
 * fixed fields, no negative Last-Modified, and the content type and copy
 * headers exactly as sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			__builtin_trap(); \
	} while (0)

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* nul: the input holds a NUL byte, which ends a stored value early */
static void check_headers(const struct http_response *r, int nul)
{
	size_t i, j;

	CHECK(r->n_headers <= HTTP_MAX_HEADERS);
	for (i = 0; i < r->n_headers; i++) {
		const char *n = r->headers[i].name, *v = r->headers[i].value;
		size_t vl = strlen(v);

		for (j = 0; n[j]; j++)
			CHECK(!(n[j] >= 'A' && n[j] <= 'Z') && n[j] != ':');
		if (vl)
			CHECK(!blank(v[0]));
		if (vl && !nul)
			CHECK(!blank(v[vl - 1]));
		CHECK(http_parse_date(v) >= -1);
	}
}

static void check_copy_field(const struct http_response *r, const char *name,
			     const char *got)
{
	const char *want = http_response_header(r, name);

	CHECK((want == NULL) == (got == NULL));
	CHECK(!want || strcmp(want, got) == 0);
}

static void check_props(const struct http_response *r)
{
	struct blob_props p;
	size_t i, n_meta = 0;

	if (blob_props_from_headers(r, &p) < 0)
		return;
	for (i = 0; i < r->n_headers; i++)
		if (strncmp(r->headers[i].name, "x-ms-meta-", 10) == 0)
			n_meta++;
	CHECK(p.n_meta == n_meta);
	for (i = 0; i < p.n_meta; i++)
		CHECK(p.meta[i].name && p.meta[i].value);
	CHECK(memchr(p.etag, '\0', sizeof(p.etag)) != NULL);
	CHECK(memchr(p.blob_type, '\0', sizeof(p.blob_type)) != NULL);
	CHECK(memchr(p.access_tier, '\0', sizeof(p.access_tier)) != NULL);
	CHECK(p.last_modified.tv_sec >= 0);
	check_copy_field(r, "content-type", p.content_type);
	check_copy_field(r, "x-ms-copy-id", p.copy.id);
	check_copy_field(r, "x-ms-copy-source", p.copy.source);
	check_copy_field(r, "x-ms-copy-progress", p.copy.progress);
	check_copy_field(r, "x-ms-copy-completion-time", p.copy.completion_time);
	check_copy_field(r, "x-ms-copy-status-description",
			 p.copy.status_description);
	blob_props_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response resp;
	size_t off = 0, fed = 0;

	http_response_init(&resp);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
		char *line = malloc(len ? len : 1);

		if (!line)
			break;
		memcpy(line, data + off, len);
		fed += len;
		if (http_response_add_header(&resp, line, len) < 0) {
			free(line);
			/* refused only over a cap, never below it */
			CHECK(fed > HTTP_MAX_HEADER_BYTES ||
			      resp.n_headers >= HTTP_MAX_HEADERS);
			break;
		}
		free(line);
		off += len;
	}
	CHECK(resp.header_bytes == fed);
	check_headers(&resp, memchr(data, '\0', size) != NULL);
	check_props(&resp);
	http_response_release(&resp);
	return 0;
}
