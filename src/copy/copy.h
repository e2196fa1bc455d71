/*
 * copy.h -- server-side copies: start, wait, abort.
 *
 * Layer: copy (uses blob). A copy is scheduled by the service: Copy Blob
 * answers "success" when it completed in the request (same account), or
 * "pending" and the destination's x-ms-copy-* properties report progress
 * until it ends (Copy Blob, Abort Copy Blob and Get Blob Properties of the
 * Blob REST reference). All state is read from the server, so copies
 * started by other tools or before a remount are handled alike. Knows
 * nothing of FUSE. Thread-safe: no state of its own.
 */
#ifndef AZB_COPY_COPY_H
#define AZB_COPY_COPY_H

#include "blob/blob.h"

/*
 * copy_wait: polls Get Blob Properties of name (backing off from 20 ms to
 * 2 s) until its copy copy_id (NULL: any) is no longer pending. On return 0
 * *final holds the ended status. Returns -1 with err filled if a poll fails.
 */
int copy_wait(struct blob_client *c, const char *name, const char *copy_id,
	      enum blob_copy_status *final, struct blob_error *err);

/*
 * copy_source_url: the URL to send as x-ms-copy-source for a blob of this
 * container (with the SAS appended when the client signs with one).
 * Appends to out; returns 0 or -1.
 */
int copy_source_url(const struct blob_client *c, const char *name,
		    struct buf *out);

/*
 * copy_start: Copy Blob of source_url into name. When the answer is lost
 * (no HTTP status), the destination is asked whether the copy started
 * (its x-ms-copy-source is ours) before Copy Blob is sent again, so a
 * dropped connection neither fails the copy nor starts it twice.
 * Arguments and result as blob_copy_start().
 */
int copy_start(struct blob_client *c, const char *name, const char *source_url,
	       const char *source_if_match, const char *tier,
	       struct blob_copy_result *out, struct blob_error *err);

/*
 * copy_abort_pending: sends Abort Copy Blob for copy_id on name; a copy that
 * ended meanwhile (409 NoPendingCopyOperation) counts as success.
 */
int copy_abort_pending(struct blob_client *c, const char *name,
		       const char *copy_id, struct blob_error *err);

/* copy_progress_total: TOTAL of a "BYTES/TOTAL" progress string, or -1. */
long long copy_progress_total(const char *progress);

#endif
