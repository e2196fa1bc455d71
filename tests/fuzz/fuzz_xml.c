/*
 * fuzz_xml.c -- List Blobs and error bodies through the XML parsers.
 *
 * Every input is given to blob_parse_list_xml() and blob_parse_error_xml()
 * as a body of exactly that many bytes (no NUL after it, so a read past the
 * end is an ASan report). Besides memory errors, leaks and undefined
 * behaviour, it checks what callers rely on:
 *   - a parsed page holds a name for every blob and prefix, a name and a
 *     value for every metadata entry, NUL-terminated fixed fields, and no
 *     empty NextMarker (the last page reads as NULL);
 *   - no name or value is longer than three times the body: only entity
 *     expansion could make it so (a "billion laughs" body);
 *   - a failed list parse leaves the caller's page untouched;
 *   - the body fed to the streaming parser in pieces (of 1 to 16 bytes,
 *     sizes taken from the body itself) reads the same as in one piece;
 *   - an error body leaves code and message NUL-terminated, the message on
 *     one line, and blob_error_str() can format the result.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			__builtin_trap(); \
	} while (0)

static void check_fixed(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
}

/*
 * check_len: no string taken from a body is longer than the body could
 * make it. Re-encoding to UTF-8 at most triples a byte (a UTF-16 or a
 * single-byte charset body); anything longer came from expanding entities.
 */
static void check_len(const char *s, size_t body_len)
{
	if (s)
		CHECK(strlen(s) <= 3 * body_len);
}

static void check_props(const struct blob_props *p, size_t len)
{
	size_t i;

	check_fixed(p->etag, sizeof(p->etag));
	check_fixed(p->blob_type, sizeof(p->blob_type));
	check_fixed(p->access_tier, sizeof(p->access_tier));
	CHECK(p->n_meta == 0 || p->meta != NULL);
	for (i = 0; i < p->n_meta; i++) {
		CHECK(p->meta[i].name && p->meta[i].name[0]);
		CHECK(p->meta[i].value);
		check_len(p->meta[i].value, len);
		/* the lookup must find the entry (or an earlier one) */
		CHECK(blob_meta_get(p, p->meta[i].name) != NULL);
	}
	check_len(p->content_type, len);
	check_len(p->copy.id, len);
	check_len(p->copy.source, len);
	check_len(p->copy.progress, len);
	check_len(p->copy.completion_time, len);
	check_len(p->copy.status_description, len);
	CHECK(p->copy.status >= BLOB_COPY_NONE && p->copy.status <= BLOB_COPY_FAILED);
	(void)blob_copy_status_name(p->copy.status);
}

/* in_pieces: xml through the streaming parser in small pieces; 0 and the
 * page, or -1. */
static int in_pieces(const char *xml, size_t len, struct blob_list_page *pg)
{
	struct blob_list_parser *lp = blob_list_parser_new();
	size_t at = 0, i = 0;
	int rc = -1;

	CHECK(lp != NULL);
	while (at < len) {
		size_t k = (size_t)((unsigned char)xml[i++ % len] % 16) + 1;

		if (k > len - at)
			k = len - at;
		if (blob_list_parser_feed(lp, xml + at, k) < 0)
			goto out;
		at += k;
	}
	rc = blob_list_parser_finish(lp, pg);
out:
	blob_list_parser_free(lp);
	return rc;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same_page(const struct blob_list_page *a, const struct blob_list_page *b)
{
	size_t i, k;

	CHECK(a->n_items == b->n_items && a->n_prefixes == b->n_prefixes);
	CHECK(same(a->next_marker, b->next_marker));
	for (i = 0; i < a->n_prefixes; i++)
		CHECK(same(a->prefixes[i], b->prefixes[i]));
	for (i = 0; i < a->n_items; i++) {
		const struct blob_props *p = &a->items[i].props, *q = &b->items[i].props;

		CHECK(same(a->items[i].name, b->items[i].name));
		CHECK(p->size == q->size && same(p->etag, q->etag));
		CHECK(same(p->content_type, q->content_type));
		CHECK(same(p->copy.source, q->copy.source));
		CHECK(p->n_meta == q->n_meta);
		for (k = 0; k < p->n_meta; k++)
			CHECK(same(p->meta[k].name, q->meta[k].name) &&
			      same(p->meta[k].value, q->meta[k].value));
	}
}

static void fuzz_list(const char *xml, size_t len)
{
	struct blob_list_page pg, pieces;
	int piece_rc = len ? in_pieces(xml, len, &pieces) : -1;
	size_t i;

	memset(&pg, 0xA5, sizeof(pg));
	if (blob_parse_list_xml(xml, len, &pg) < 0) {
		CHECK(piece_rc < 0);
		const unsigned char *b = (const unsigned char *)&pg;

		/* out-parameters are written only on success */
		for (i = 0; i < sizeof(pg); i++)
			CHECK(b[i] == 0xA5);
		return;
	}
	CHECK(piece_rc == 0);
	same_page(&pg, &pieces);
	blob_list_page_release(&pieces);
	CHECK(pg.n_items == 0 || pg.items != NULL);
	CHECK(pg.n_prefixes == 0 || pg.prefixes != NULL);
	for (i = 0; i < pg.n_items; i++) {
		CHECK(pg.items[i].name != NULL);
		check_len(pg.items[i].name, len);
		check_props(&pg.items[i].props, len);
	}
	for (i = 0; i < pg.n_prefixes; i++) {
		CHECK(pg.prefixes[i] != NULL);
		check_len(pg.prefixes[i], len);
	}
	CHECK(pg.next_marker == NULL || pg.next_marker[0] != '\0');
	check_len(pg.next_marker, len);
	blob_list_page_release(&pg);
	CHECK(pg.items == NULL && pg.n_items == 0 && pg.next_marker == NULL);
}

static void fuzz_error(const char *xml, size_t len)
{
	struct blob_error err;
	char line[600];

	memset(&err, 0, sizeof(err));
	err.status = 409;
	if (blob_parse_error_xml(xml, len, &err) < 0)
		return;
	check_fixed(err.code, sizeof(err.code));
	check_fixed(err.message, sizeof(err.message));
	CHECK(strpbrk(err.message, "\r\n") == NULL);
	blob_error_str(&err, line, sizeof(line));
	check_fixed(line, sizeof(line));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_list((const char *)data, size);
	fuzz_error((const char *)data, size);
	return 0;
}
