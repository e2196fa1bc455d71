/*
 * registry.c -- the copies a mount has seen (copy.h, struct copy_reg):
 * what /.azblobfs/copies lists and the metrics count.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "copy/copy.h"
#include "util/str.h"

struct copy_reg {
	pthread_mutex_t lock;     /* guards rows and n */
	struct copy_row *rows;    /* in the order first seen */
	size_t n;
	long long since;
};

struct copy_reg *copy_reg_new(long long since)
{
	struct copy_reg *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->since = since;
	return r;
}

static void row_release(struct copy_row *w)
{
	free(w->path);
	free(w->id);
	free(w->progress);
	free(w->source);
	free(w->completion_time);
	free(w->description);
	memset(w, 0, sizeof(*w));
}

void copy_rows_free(struct copy_row *rows, size_t n)
{
	size_t i;

	for (i = 0; rows && i < n; i++)
		row_release(&rows[i]);
	free(rows);
}

void copy_reg_free(struct copy_reg *r)
{
	if (!r)
		return;
	copy_rows_free(r->rows, r->n);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static char *dup0(const char *s)
{
	return str_ndup(s ? s : "", s ? strlen(s) : 0);
}

/* fill: row w from path and c; -1 out of memory (w then released) */
static int fill(struct copy_row *w, const char *path, const struct blob_copy *c)
{
	row_release(w);
	w->path = dup0(path);
	w->id = dup0(c->id);
	w->status = c->status;
	w->progress = dup0(c->progress);
	w->source = dup0(c->source);
	w->completion_time = dup0(c->completion_time);
	w->description = dup0(c->status_description);
	if (!w->path || !w->id || !w->progress || !w->source ||
	    !w->completion_time || !w->description) {
		row_release(w);
		return -1;
	}
	return 0;
}

void copy_reg_note(struct copy_reg *r, const char *path,
		   const struct blob_copy *c)
{
	struct copy_row *nr;
	long long ended;
	size_t i;

	if (!r || c->status == BLOB_COPY_NONE || !c->id)
		return;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->rows[i].path, path) == 0 && strcmp(r->rows[i].id, c->id) == 0)
			break;
	if (i == r->n) {
		/* a copy that ended before the mount is not one of its own */
		ended = c->completion_time ? blob_parse_date(c->completion_time) : -1;
		if (c->status != BLOB_COPY_PENDING && ended >= 0 && ended < r->since)
			goto out_unlock;
		nr = realloc(r->rows, (r->n + 1) * sizeof(*nr));
		if (!nr)
			goto out_unlock;
		r->rows = nr;
		memset(&r->rows[r->n], 0, sizeof(*nr));
		r->n++;
	}
	if (fill(&r->rows[i], path, c) < 0) {
		/* out of memory: the row goes */
		r->rows[i] = r->rows[--r->n];
	}
out_unlock:
	pthread_mutex_unlock(&r->lock);
}

void copy_reg_drop(struct copy_reg *r, const char *path, const char *id)
{
	size_t i;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n; i++) {
		if (strcmp(r->rows[i].path, path) == 0 && strcmp(r->rows[i].id, id) == 0) {
			row_release(&r->rows[i]);
			memmove(&r->rows[i], &r->rows[i + 1], (r->n - i - 1) * sizeof(*r->rows));
			r->n--;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

int copy_reg_rows(struct copy_reg *r, struct copy_row **rows, size_t *n)
{
	struct copy_row *out;
	size_t i;
	int rc = 0;

	*rows = NULL;
	*n = 0;
	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	out = calloc(r->n + 1, sizeof(*out));
	for (i = 0; out && i < r->n; i++) {
		struct blob_copy c = {
			.status = r->rows[i].status, .id = r->rows[i].id,
			.source = r->rows[i].source, .progress = r->rows[i].progress,
			.completion_time = r->rows[i].completion_time,
			.status_description = r->rows[i].description,
		};

		if (fill(&out[i], r->rows[i].path, &c) < 0)
			break;
	}
	if (!out || i < r->n) {
		copy_rows_free(out, i);
		rc = -1;
	} else {
		*rows = out;
		*n = r->n;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}
