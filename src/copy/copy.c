/*
 * copy.c -- server-side copy tracking (see copy.h).
 */
#include "copy/copy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* stopped: the wait ends (copy_wait's stop said so) */
static int stopped(struct blob_error *err)
{
	memset(err, 0, sizeof(*err));
	err->kind = BLOB_E_CANCELLED;
	snprintf(err->message, sizeof(err->message), "the wait was interrupted");
	return -1;
}

/* nap: sleeps ms in slices of 50 ms, asking stop between them; 1 when
 * stop said so */
static int nap(long ms, copy_stop_fn stop, void *arg)
{
	while (ms > 0) {
		long slice = ms < 50 ? ms : 50;

		if (stop && stop(arg))
			return 1;
		sleep_ms(slice);
		ms -= slice;
	}
	return stop && stop(arg);
}

int copy_wait(struct blob_client *c, const char *name, const char *copy_id,
	      copy_stop_fn stop, void *stop_arg, enum blob_copy_status *final,
	      struct blob_error *err)
{
	long delay = 20;

	if (stop && stop(stop_arg))
		return stopped(err);

	for (;;) {
		struct blob_props p;
		enum blob_copy_status st;
		int other;

		memset(&p, 0, sizeof(p));
		if (blob_get_props(c, name, &p, err) < 0)
			return -1;
		st = p.copy.status;
		/* a different id means our copy was replaced: it ended */
		other = copy_id && p.copy.id && strcmp(p.copy.id, copy_id) != 0;
		if (st == BLOB_COPY_PENDING && !other)
			log_debug("copy into %s pending: %s", name,
				  p.copy.progress ? p.copy.progress : "?");
		blob_props_release(&p);
		if (other) {
			*final = BLOB_COPY_ABORTED;
			return 0;
		}
		if (st != BLOB_COPY_PENDING) {
			*final = st == BLOB_COPY_NONE ? BLOB_COPY_SUCCESS : st;
			return 0;
		}
		if (nap(delay, stop, stop_arg))
			return stopped(err);
		delay = delay * 3 / 2;
		if (delay > 2000)
			delay = 2000;
	}
}

int copy_source_url(const struct blob_client *c, const char *name,
		    struct buf *out)
{
	return copy_source_url_at(c, name, NULL, out);
}

int copy_source_url_at(const struct blob_client *c, const char *name,
		       const struct blob_at *at, struct buf *out)
{
	if (blob_url(c, name, out) < 0)
		return -1;
	if (at && (buf_puts(out, "?") < 0 || blob_at_query(at, out) < 0))
		return -1;
	if (c->auth->kind == AUTH_SAS)
		return buf_printf(out, "%c%s", at ? '&' : '?', c->auth->sas);
	return 0;
}

/* same_source: the destination's x-ms-copy-source is url (query aside,
 * as the service may show it differently encoded). */
static int same_source(const char *shown, const char *url)
{
	size_t a = strcspn(shown, "?"), b = strcspn(url, "?");

	return a == b && strncmp(shown, url, a) == 0;
}

int copy_start(struct blob_client *c, const char *name, const char *source_url,
	       const char *source_if_match, const char *source_lease_id,
	       const char *tier, const struct blob_meta *meta, size_t n_meta,
	       struct blob_copy_result *out, struct blob_error *err)
{
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		time_t t0 = time(NULL);
		struct blob_props p;
		struct blob_error e2;
		int started = 0;

		if (blob_copy_start(c, name, source_url, source_if_match,
				    source_lease_id, tier, meta, n_meta, out,
				    err) == 0)
			return 0;
		if (err->kind != BLOB_E_TRANSPORT)
			return -1;
		/* no answer: did the copy start anyway? */
		memset(&p, 0, sizeof(p));
		/* ours if it names our source and began after we asked (a
		 * few seconds' leeway for the server's clock) */
		if (blob_get_props(c, name, &p, &e2) == 0 && p.copy.id &&
		    p.copy.source && same_source(p.copy.source, source_url) &&
		    p.copy.status != BLOB_COPY_NONE &&
		    p.last_modified.tv_sec >= t0 - 5) {
			memset(out, 0, sizeof(*out));
			snprintf(out->id, sizeof(out->id), "%s", p.copy.id);
			out->status = p.copy.status;
			memcpy(out->etag, p.etag, sizeof(out->etag));
			started = 1;
		}
		blob_props_release(&p);
		if (started) {
			log_info("Copy Blob into %s: the answer was lost, but the copy %s started",
				 name, out->id);
			return 0;
		}
		log_info("Copy Blob into %s: no answer and no copy started; sending it again",
			 name);
	}
	return -1;
}

int copy_abort_pending(struct blob_client *c, const char *name,
		       const char *copy_id, struct blob_error *err)
{
	if (blob_copy_abort(c, name, copy_id, err) == 0)
		return 0;
	if (err->kind == BLOB_E_NO_PENDING_COPY)
		return 0;
	return -1;
}

long long copy_progress_bytes(const char *progress)
{
	char *end;
	long long v;

	if (!progress || !*progress)
		return -1;
	errno = 0;
	v = strtoll(progress, &end, 10);
	if (errno || end == progress || *end != '/' || v < 0)
		return -1;
	return v;
}

long long copy_progress_total(const char *progress)
{
	const char *slash = progress ? strchr(progress, '/') : NULL;
	char *end;
	long long v;

	if (!slash)
		return -1;
	errno = 0;
	v = strtoll(slash + 1, &end, 10);
	if (errno || end == slash + 1 || v < 0)
		return -1;
	return v;
}
