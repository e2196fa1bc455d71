/*
 * copy.c -- server-side copy tracking (see copy.h).
 */
#include "copy/copy.h"

#include <errno.h>
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

int copy_wait(struct blob_client *c, const char *name, const char *copy_id,
	      enum blob_copy_status *final, struct blob_error *err)
{
	long delay = 20;

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
		sleep_ms(delay);
		delay = delay * 3 / 2;
		if (delay > 2000)
			delay = 2000;
	}
}

int copy_source_url(const struct blob_client *c, const char *name,
		    struct buf *out)
{
	if (blob_url(c, name, out) < 0)
		return -1;
	if (c->auth->kind == AUTH_SAS)
		return buf_printf(out, "?%s", c->auth->sas);
	return 0;
}

int copy_abort_pending(struct blob_client *c, const char *name,
		       const char *copy_id, struct blob_error *err)
{
	if (blob_copy_abort(c, name, copy_id, err) == 0)
		return 0;
	if (err->status == 409 &&
	    strcmp(err->code, "NoPendingCopyOperation") == 0)
		return 0;
	return -1;
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
