/*
 * copy.h -- server-side copies: start, wait, abort.
 *
 * Layer: copy (uses blob). A copy is scheduled by the service: Copy Blob
 * answers "success" when it completed in the request (same account), or
 * "pending" and the destination's x-ms-copy-* properties report progress
 * until it ends (Copy Blob, Abort Copy Blob and Get Blob Properties of the
 * Blob REST reference). All state is read from the server, so copies
 * started by other tools or before a remount are handled alike. Knows
 * nothing of FUSE. Thread-safe: the registry has a lock of its own; the
 * rest has no state.
 */
#ifndef AZB_COPY_COPY_H
#define AZB_COPY_COPY_H

#include "blob/blob.h"

/*
 * copy_stop: asked between the polls of a wait; nonzero ends the wait
 * (the caller's process was interrupted). arg is the caller's.
 */
typedef int (*copy_stop_fn)(void *arg);

/*
 * copy_wait: polls Get Blob Properties of name (backing off from 20 ms to
 * 2 s) until its copy copy_id (NULL: any) is no longer pending. On return 0
 * *final holds the ended status. Returns -1 with err filled if a poll
 * fails, or with err->kind BLOB_E_CANCELLED once stop (may be NULL,
 * asked at least every 50 ms) said so; the copy then goes on.
 */
int copy_wait(struct blob_client *c, const char *name, const char *copy_id,
	      copy_stop_fn stop, void *stop_arg, enum blob_copy_status *final,
	      struct blob_error *err);

/*
 * copy_source_url: the URL to send as x-ms-copy-source for a blob of this
 * container (with the SAS appended when the client signs with one).
 * Appends to out; returns 0 or -1.
 */
int copy_source_url(const struct blob_client *c, const char *name,
		    struct buf *out);
/* copy_source_url_at: the same for the snapshot or version at of blob
 * name (?snapshot= or ?versionid=, then the SAS); at NULL is the blob. */
int copy_source_url_at(const struct blob_client *c, const char *name,
		       const struct blob_at *at, struct buf *out);

/*
 * copy_start: Copy Blob of source_url into name. When the answer is lost
 * (no HTTP status), the destination is asked whether the copy started
 * (its x-ms-copy-source is ours) before Copy Blob is sent again, so a
 * dropped connection neither fails the copy nor starts it twice.
 * Arguments and result as blob_copy_start().
 */
int copy_start(struct blob_client *c, const char *name, const char *source_url,
	       const char *source_if_match, const char *source_lease_id,
	       const char *tier, const struct blob_meta *meta, size_t n_meta,
	       struct blob_copy_result *out, struct blob_error *err);

/*
 * copy_abort_pending: sends Abort Copy Blob for copy_id on name; a copy that
 * ended meanwhile (409 NoPendingCopyOperation) counts as success.
 */
int copy_abort_pending(struct blob_client *c, const char *name,
		       const char *copy_id, struct blob_error *err);

/* copy_progress_total: TOTAL of a "BYTES/TOTAL" progress string, or -1. */
long long copy_progress_total(const char *progress);
/* copy_progress_bytes: BYTES of a "BYTES/TOTAL" progress string, or -1. */
long long copy_progress_bytes(const char *progress);

/*
 * The copies a mount has seen: every copy into one of its paths that was
 * pending, or ended after the mount started, whoever started it (this
 * mount, an SDK, the portal), as lookups, listings and status reads saw
 * it. One row per destination path and copy id. Thread-safe: every
 * function takes the registry's lock, which is a leaf.
 */
struct copy_row {
	char *path;               /* the destination's path in the mount */
	char *id;
	enum blob_copy_status status;
	char *progress;           /* "BYTES/TOTAL" or "" */
	char *source;             /* as the service shows it, not redacted */
	char *completion_time;    /* "" while pending */
	char *description;
};

struct copy_reg;

/* copy_reg_new: an empty registry keeping copies that ended at or after
 * since (seconds of the epoch). NULL out of memory. _free(NULL) is a
 * no-op. */
struct copy_reg *copy_reg_new(long long since);
void copy_reg_free(struct copy_reg *r);
/* copy_reg_note: path's blob shows copy c: its row is added or brought
 * up to date (a copy that ended before since is left out). */
void copy_reg_note(struct copy_reg *r, const char *path,
		   const struct blob_copy *c);
/* copy_reg_drop: the copy id into path is no more (its blob is gone). */
void copy_reg_drop(struct copy_reg *r, const char *path, const char *id);
/* copy_reg_rows: a copy of every row, in the order they were first
 * seen (*rows, *n; free with copy_rows_free). 0 or -1 out of memory. */
int copy_reg_rows(struct copy_reg *r, struct copy_row **rows, size_t *n);
void copy_rows_free(struct copy_row *rows, size_t n);

/*
 * Source leases (copy_lease=on; Lease Blob and Copy Blob's
 * x-ms-source-lease-id): the lease a copy holds on its source so that
 * no other client changes it while the copy is pending. A lease lasts
 * COPY_LEASE_SECONDS and is renewed every renew_ms by a thread of the
 * mount's own, also after the operation that started the copy returned;
 * one that follows a copy is released once the copy is no longer
 * pending (success, failed, aborted, or its destination gone). A daemon
 * that dies leaves its leases to expire.
 *
 * Several copies of one source share its lease (a second acquire by
 * another id would be refused); each holds a ticket, and the lease is
 * released with the last one.
 *
 * Thread-safety: every function takes the keeper's lock, a leaf, and
 * makes its requests without it.
 */
#define COPY_LEASE_SECONDS 60
#define COPY_LEASE_RENEW_MS 20000

struct copy_leases;

/* copy_leases_new: a keeper over client c (not owned) renewing every
 * renew_ms (0: COPY_LEASE_RENEW_MS). NULL out of memory. Its thread
 * starts with copy_leases_start. */
struct copy_leases *copy_leases_new(struct blob_client *c, long renew_ms);
/* copy_leases_start: starts the renewing thread. 0 or -1. */
int copy_leases_start(struct copy_leases *l);
/* copy_leases_stop: stops the thread and releases every lease still
 * held (the copies go on unprotected). _free stops too; _free(NULL) is a
 * no-op. */
void copy_leases_stop(struct copy_leases *l);
void copy_leases_free(struct copy_leases *l);

/*
 * copy_lease_take: a lease on blob src for one copy: acquired (Lease
 * Blob, COPY_LEASE_SECONDS) unless one of this keeper's stands on src
 * already, which is then shared. Its id goes into id (BLOB_LEASE_ID_MAX)
 * and a ticket naming this copy's hold into *ticket. The lease is
 * renewed until the ticket is released, forgotten, or follows a copy
 * that ends. 0, or -1 with err filled (the service refused: the blob is
 * missing, leased by another client ...).
 */
int copy_lease_take(struct copy_leases *l, const char *src,
		    unsigned long *ticket, char *id, struct blob_error *err);
/* copy_lease_follow: the hold of ticket now ends when the copy copy_id
 * into dst is no longer pending (the keeper polls dst). */
void copy_lease_follow(struct copy_leases *l, unsigned long ticket,
		       const char *dst, const char *copy_id);
/* copy_lease_release: ends the hold of ticket now; the last one releases
 * the lease (Lease Blob release). An unknown ticket is a no-op. */
void copy_lease_release(struct copy_leases *l, unsigned long ticket);
/* copy_lease_forget: ends the hold of ticket without a request: its
 * blob was deleted with the lease. */
void copy_lease_forget(struct copy_leases *l, unsigned long ticket);
/* copy_lease_ended: the copy into dst ended (aborted by a delete): the
 * holds following it end as with copy_lease_release. */
void copy_lease_ended(struct copy_leases *l, const char *dst);
/* copy_lease_held: nonzero while this keeper holds a lease on blob name.
 * l may be NULL (no keeper: 0). */
int copy_lease_held(struct copy_leases *l, const char *name);
/*
 * copy_leases_tick: one round of the keeper at time now (monotonic
 * seconds): holds following a copy whose time to look came see whether
 * it is still pending, and leases due are renewed. The thread runs it;
 * tests call it. Returns the seconds until the next round is due.
 */
double copy_leases_tick(struct copy_leases *l, double now);

#endif
