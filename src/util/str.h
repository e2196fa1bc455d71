/*
 * str.h -- small string helpers: percent-encoding, secret redaction,
 * RFC 3339 timestamps, UTF-8 validation.
 *
 * Layer: util (no dependencies). All functions are pure and thread-safe.
 */
#ifndef AZB_UTIL_STR_H
#define AZB_UTIL_STR_H

#include <stddef.h>
#include <time.h>

#include "util/buf.h"

/* str_ndup: malloc'd copy of the first n bytes of s, NUL-terminated. */
char *str_ndup(const char *s, size_t n);

/*
 * str_pct_encode: appends s[0..n) to out, percent-encoding every byte except
 * RFC 3986 unreserved characters and those listed in keep (may be NULL).
 * Returns 0, or -1 if out is full.
 */
int str_pct_encode(struct buf *out, const char *s, size_t n, const char *keep);

/*
 * str_pct_decode: appends the decoded form of s[0..n) to out ("+" is kept
 * as is). Returns 0, or -1 on a malformed escape or a full buffer.
 */
int str_pct_decode(struct buf *out, const char *s, size_t n);

/*
 * str_redact_url: malloc'd copy of url in which the value of every "sig"
 * query parameter reads REDACTED. NULL when memory is exhausted.
 */
char *str_redact_url(const char *url);

/* str_utf8_valid: 1 if s[0..n) is well-formed UTF-8 without NUL bytes. */
int str_utf8_valid(const char *s, size_t n);

/*
 * str_rfc3339_format: writes ts as "2006-01-02T15:04:05.123456789Z" (UTC)
 * into out (at least 40 bytes). Returns 0.
 */
int str_rfc3339_format(const struct timespec *ts, char *out, size_t outlen);

/*
 * str_rfc3339_parse: parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)".
 * Returns 0 and fills *ts, or -1 if s is not such a timestamp: also for a
 * day the month does not have (Feb 29 only in leap years) and an offset
 * outside 00:00-23:59.
 */
int str_rfc3339_parse(const char *s, struct timespec *ts);

/* str_hash: a string hash (djb2) for hash tables. */
size_t str_hash(const char *s);

/* str_casecmp_prefix: 1 if s starts with prefix, ASCII case-insensitive. */
int str_has_prefix_ci(const char *s, const char *prefix);

#endif
