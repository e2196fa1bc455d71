/*
 * history.c -- naming the snapshots and versions of a blob: the query
 * that asks for one, the form of their names, which entries of a List
 * Blobs page with include=snapshots or include=versions are the history
 * of one blob. Pure functions (no request), so thread-safe.
 *
 * Layer: blob. The snapshot time (List Blobs <Snapshot>, Snapshot Blob's
 * x-ms-snapshot) and the version id (<VersionId>, x-ms-version-id) are
 * both a time the service writes as 2026-12-06T01:02:03.1234567Z
 * (x-ms-version 2021-12-02); they are kept exactly as written, for they
 * name the snapshot or version in ?snapshot= and ?versionid=.
 */
#include <ctype.h>
#include <string.h>

#include "blob/blob.h"
#include "util/str.h"

int blob_at_query(const struct blob_at *at, struct buf *out)
{
	const char *key = at->kind == BLOB_AT_VERSION ? "versionid=" : "snapshot=";

	if (buf_puts(out, key) < 0)
		return -1;
	return str_pct_encode(out, at->id, strlen(at->id), NULL);
}

/* digits: n decimal digits at s */
static int digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int blob_at_id_valid(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i, f;

	if (!s)
		return 0;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !digits(s + i, 1) : s[i] != shape[i])
			return 0;
	}
	if (s[i] == '.') {
		i++;
		for (f = 0; isdigit((unsigned char)s[i]); f++, i++)
			;
		if (f < 1 || f > 7)
			return 0;
	}
	return s[i] == 'Z' && s[i + 1] == '\0';
}

int blob_history_keep(const struct blob_item *item, const char *name,
		      enum blob_at_kind what)
{
	const char *id = what == BLOB_AT_VERSION ? item->version_id : item->snapshot;

	if (!item->name || strcmp(item->name, name) != 0)
		return 0;
	return blob_at_id_valid(id);
}
