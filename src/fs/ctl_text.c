/*
 * ctl_text.c -- what the control directory's files say (copies, status/,
 * uploads, metrics) and do (copy, snapshot); see ctl.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fs.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

/* ---- copies ---- */

struct refresh {
	struct azfs *fs;
	struct copy_row *rows;
};

/* refresh_one: a pending copy read fresh from the server */
static int refresh_one(void *ctx, size_t i)
{
	struct refresh *r = ctx;
	struct copy_row *w = &r->rows[i];
	struct blob_props p;
	struct blob_error e;
	char *name;
	int rc;

	if (w->status != BLOB_COPY_PENDING)
		return 0;
	name = core_blob_name(&r->fs->o, w->path, &rc);
	if (!name)
		return 0;
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&r->fs->blob, name, &p, &e) == 0) {
		if (p.copy.id && strcmp(p.copy.id, w->id) == 0)
			copy_reg_note(r->fs->copies, w->path, &p.copy);
		else if (p.copy.id)
			meta_saw(&r->fs->meta, w->path, &p);
		blob_props_release(&p);
	} else if (e.kind == BLOB_E_NOT_FOUND) {
		copy_reg_drop(r->fs->copies, w->path, w->id);
	}
	free(name);
	return 0;
}

/* field: s with tabs and line ends as spaces (one field of a line) */
static int field(struct buf *out, const char *s, const char *sep)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (buf_append(out, s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? " " : s + i, 1) < 0)
			return -1;
	return buf_puts(out, sep);
}

/* percent: BYTES/TOTAL as a percentage with one decimal ("" unknown) */
static void percent(const struct copy_row *w, char *out, size_t len)
{
	long long b = copy_progress_bytes(w->progress);
	long long t = copy_progress_total(w->progress);

	if (b >= 0 && t > 0)
		snprintf(out, len, "%.1f", 100.0 * (double)b / (double)t);
	else if (w->status == BLOB_COPY_SUCCESS)
		snprintf(out, len, "100.0");
	else if (b >= 0 && t == 0)
		snprintf(out, len, "0.0");
	else
		out[0] = '\0';
}

static int copies_text(struct azfs *fs, struct buf *out)
{
	struct refresh r = { fs, NULL };
	struct copy_row *rows = NULL;
	size_t n = 0, i;
	char pc[16], *red;
	int rc = 0;

	/* pending copies as they stand now */
	if (copy_reg_rows(fs->copies, &r.rows, &n) < 0)
		return -ENOMEM;
	pool_run(n, fs->o.parallel, refresh_one, &r);
	copy_rows_free(r.rows, n);
	if (copy_reg_rows(fs->copies, &rows, &n) < 0)
		return -ENOMEM;
	if (buf_puts(out, "status\tprogress\tpercent\tpath\tcopy_id\tsource\tcompletion_time\tdescription\n") < 0)
		rc = -ENOMEM;
	for (i = 0; rc == 0 && i < n; i++) {
		percent(&rows[i], pc, sizeof(pc));
		red = str_redact_url(rows[i].source);
		if (!red || field(out, blob_copy_status_name(rows[i].status), "\t") < 0 ||
		    field(out, rows[i].progress, "\t") < 0 || field(out, pc, "\t") < 0 ||
		    field(out, rows[i].path, "\t") < 0 || field(out, rows[i].id, "\t") < 0 ||
		    field(out, red, "\t") < 0 || field(out, rows[i].completion_time, "\t") < 0 ||
		    field(out, rows[i].description, "\n") < 0)
			rc = -ENOMEM;
		free(red);
	}
	copy_rows_free(rows, n);
	return rc;
}

/* ---- status/PATH ---- */

static int kv(struct buf *out, const char *key, const char *value)
{
	return buf_printf(out, "%s=%s\n", key, value ? value : "");
}

static int status_copy(struct buf *out, const struct blob_copy *c)
{
	char *red;
	int rc;

	if (c->status == BLOB_COPY_NONE && !c->id)
		return 0; /* never a copy destination: no copy keys */
	red = str_redact_url(c->source ? c->source : "");
	rc = !red || kv(out, "copy_status", blob_copy_status_name(c->status)) < 0 ||
	     kv(out, "copy_progress", c->progress) < 0 || kv(out, "copy_id", c->id) < 0 ||
	     kv(out, "copy_source", red) < 0 ||
	     kv(out, "copy_completion_time", c->completion_time) < 0 ||
	     kv(out, "copy_status_description", c->status_description) < 0 ? -1 : 0;
	free(red);
	return rc;
}

static int status_text(struct azfs *fs, const char *path, struct buf *out)
{
	struct blob_props p;
	struct blob_error e;
	struct attr a;
	char *name, date[64] = "";
	/* before the server is asked: an upload may end meanwhile */
	int rc, have, unsaved = stage_unsaved(&fs->stage, path);

	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		return rc;
	if (a.kind == ATTR_DIR)
		return -EISDIR;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	memset(&p, 0, sizeof(p));
	have = blob_get_props(&fs->blob, name, &p, &e) == 0;
	if (!have && e.kind != BLOB_E_NOT_FOUND) {
		rc = core_fail("Get Blob Properties", name, &e);
		goto out_free;
	}
	if (have) {
		meta_saw(&fs->meta, path, &p);
		blob_format_date(p.last_modified.tv_sec, date, sizeof(date));
	}
	rc = status_copy(out, &p.copy) < 0 || kv(out, "etag", p.etag) < 0 ||
	     kv(out, "blob_type", p.blob_type) < 0 || kv(out, "last_modified", date) < 0 ||
	     kv(out, "access_tier", p.access_tier) < 0 ||
	     kv(out, "content_type", p.content_type) < 0 ||
	     kv(out, "upload", unsaved ? "pending" : "none") < 0
		? -ENOMEM : 0;
	blob_props_release(&p);
out_free:
	free(name);
	return rc;
}

/* ---- metrics ---- */

/* label: an op name without its spaces ("Get Blob" -> GetBlob) */
static void label(const char *op, char *out, size_t len)
{
	size_t k = 0;

	for (; *op && k + 1 < len; op++)
		if (*op != ' ')
			out[k++] = *op;
	out[k] = '\0';
}

static int metric_head(struct buf *out, const char *name, const char *type,
		       const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int metrics_requests(struct azfs *fs, struct buf *out)
{
	struct blob_stats s;
	uint64_t cum = 0;
	char op[64];
	size_t i;
	int rc;

	blob_stats_get(&fs->blob, &s);
	rc = metric_head(out, "azblobfs_requests_total", "counter",
			 "Requests sent to the Blob service, by operation and HTTP status (0: no answer).");
	for (i = 0; rc == 0 && i < s.n_rows; i++) {
		label(s.rows[i].op, op, sizeof(op));
		rc = buf_printf(out, "azblobfs_requests_total{op=\"%s\",code=\"%ld\"} %llu\n", op,
				s.rows[i].code, (unsigned long long)s.rows[i].count);
	}
	if (rc == 0)
		rc = metric_head(out, "azblobfs_request_seconds", "histogram",
				 "Time from a request's start to its answer, retries included.");
	for (i = 0; rc == 0 && i < BLOB_STATS_BUCKETS; i++) {
		cum = s.bucket[i];
		if (i + 1 < BLOB_STATS_BUCKETS)
			rc = buf_printf(out, "azblobfs_request_seconds_bucket{le=\"%g\"} %llu\n",
					blob_stats_le[i], (unsigned long long)cum);
		else
			rc = buf_printf(out, "azblobfs_request_seconds_bucket{le=\"+Inf\"} %llu\n",
					(unsigned long long)s.count);
	}
	if (rc == 0)
		rc = buf_printf(out, "azblobfs_request_seconds_sum %.6f\nazblobfs_request_seconds_count %llu\n",
				s.sum, (unsigned long long)s.count);
	return rc;
}

static int metrics_text(struct azfs *fs, struct buf *out)
{
	static const enum blob_copy_status st[] = {
		BLOB_COPY_PENDING, BLOB_COPY_SUCCESS, BLOB_COPY_ABORTED, BLOB_COPY_FAILED,
	};
	struct blob_traffic hs;
	struct copy_row *rows = NULL;
	size_t n = 0, i, k, count;
	int rc;

	blob_traffic(&fs->blob, &hs);
	rc = metrics_requests(fs, out);
	if (rc == 0)
		rc = metric_head(out, "azblobfs_bytes_received_total", "counter",
				 "Bytes received from the Blob service.") ||
		     buf_printf(out, "azblobfs_bytes_received_total %llu\n",
				(unsigned long long)hs.bytes_received) ||
		     metric_head(out, "azblobfs_bytes_sent_total", "counter",
				 "Bytes sent to the Blob service.") ||
		     buf_printf(out, "azblobfs_bytes_sent_total %llu\n",
				(unsigned long long)hs.bytes_sent) ||
		     metric_head(out, "azblobfs_retries_total", "counter",
				 "Requests sent again after a failure.") ||
		     buf_printf(out, "azblobfs_retries_total %llu\n", (unsigned long long)hs.retries);
	if (rc == 0 && copy_reg_rows(fs->copies, &rows, &n) < 0)
		rc = -1;
	if (rc == 0)
		rc = metric_head(out, "azblobfs_copies", "gauge",
				 "Copies into this mount seen since it started, by status.");
	for (i = 0; rc == 0 && i < sizeof(st) / sizeof(st[0]); i++) {
		for (k = 0, count = 0; k < n; k++)
			count += rows[k].status == st[i];
		rc = buf_printf(out, "azblobfs_copies{status=\"%s\"} %zu\n",
				blob_copy_status_name(st[i]), count);
	}
	copy_rows_free(rows, n);
	if (rc == 0)
		rc = metric_head(out, "azblobfs_uploads_pending", "gauge",
				 "Files whose data the server does not have yet.") ||
		     buf_printf(out, "azblobfs_uploads_pending %zu\n", stage_pending(&fs->stage)) ||
		     metric_head(out, "azblobfs_cache_hits_total", "counter",
				 "Requests the caches saved: attributes, prefetched files, kept page cache.") ||
		     buf_printf(out, "azblobfs_cache_hits_total{cache=\"attr\"} %llu\n",
				(unsigned long long)meta_hits(&fs->meta)) ||
		     buf_printf(out, "azblobfs_cache_hits_total{cache=\"prefetch\"} %llu\n",
				(unsigned long long)ra_hits(&fs->ra)) ||
		     buf_printf(out, "azblobfs_cache_hits_total{cache=\"pages\"} %llu\n",
				(unsigned long long)__atomic_load_n(&fs->kept_pages, __ATOMIC_RELAXED));
	return rc ? -ENOMEM : 0;
}

int azfs_ctl_text(struct azfs *fs, enum ctl_kind k, const char *rest,
		  struct buf *out)
{
	switch (k) {
	case CTL_COPIES:
		return copies_text(fs, out);
	case CTL_STATUS:
		return status_text(fs, rest, out);
	case CTL_METRICS:
		return metrics_text(fs, out);
	case CTL_UPLOADS:
		return stage_uploads_text(&fs->stage, out) < 0 ? -ENOMEM : 0;
	default:
		return -EACCES;
	}
}

/* ---- copy, snapshot ---- */

/* is_url: an http(s) URL (no blanks in it) */
static int is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* names: path is a file or directory of the mount, or a snapshot or
 * version of the control directory's trees */
static int names(struct azfs *fs, const char *path)
{
	struct attr a;

	return meta_lookup(&fs->meta, path, &a) == 0 || azfs_hist_source(fs, path, NULL) == 1;
}

/*
 * split: SOURCE and DEST of a line of copy. A tab separates them when
 * both may hold blanks; else a URL ends at the first blank, and a path
 * where the name before the blank exists in the mount.
 */
static int split(struct azfs *fs, char *line, char **src, char **dst)
{
	char *sp = strchr(line, '\t');

	if (!sp && is_url(line))
		sp = strchr(line, ' ');
	while (!sp) {
		for (sp = strchr(line, ' '); sp; sp = strchr(sp + 1, ' ')) {
			*sp = '\0';
			if (names(fs, line))
				break;
			*sp = ' ';
		}
		if (!sp)
			sp = strchr(line, ' '); /* the source is missing: say so */
		if (!sp)
			return -EINVAL;
	}
	*sp = '\0';
	*src = line;
	*dst = sp + 1;
	while (**dst == ' ' || **dst == '\t')
		++*dst;
	return **src && **dst == '/' ? 0 : -EINVAL;
}

int azfs_ctl_copy(struct azfs *fs, const char *line)
{
	char *copy = strdup(line), *src = NULL, *dst = NULL, *name = NULL;
	struct attr a;
	int rc;

	if (!copy)
		return -ENOMEM;
	rc = split(fs, copy, &src, &dst);
	if (rc == 0)
		rc = meta_lookup(&fs->meta, dst, &a);
	if (rc == -ENOENT && (name = core_blob_name(&fs->o, dst, &rc))) {
		/* DEST is made, as a file of the writer's */
		azfs_creator(S_IFREG | 0644, 0, &a);
		rc = azfs_put_entry(fs, name, NULL, "", &a, a.etag);
		if (rc == -EEXIST)
			rc = 0;
		if (rc == 0)
			meta_dir_changed(&fs->meta, dst);
		meta_drop(&fs->meta, dst);
	} else if (rc == 0 && a.kind == ATTR_DIR) {
		rc = -EISDIR;
	}
	if (rc == 0)
		rc = azfs_start_copy(fs, dst, src);
	if (rc < 0)
		log_info("copy line \"%s ...\": %s", dst ? dst : "", strerror(-rc));
	free(name);
	free(copy);
	return rc;
}

int azfs_ctl_snapshot(struct azfs *fs, const char *path)
{
	struct blob_error e;
	struct attr a;
	char when[64], *name;
	int rc;

	if (path[0] != '/')
		return -EINVAL;
	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		return rc;
	if (a.kind == ATTR_DIR)
		return -EISDIR;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	rc = azfs_flush_path(fs, path);
	if (rc == 0 && blob_snapshot(&fs->blob, name, when, sizeof(when), &e) < 0)
		rc = core_fail("Snapshot Blob", name, &e);
	else if (rc == 0)
		log_info("snapshot of %s: %s", name, when);
	free(name);
	return rc;
}
