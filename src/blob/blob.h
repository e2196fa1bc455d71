/*
 * blob.h -- the Azure Blob REST operations azblobfs needs.
 *
 * Layer: blob (uses util, http, auth). Knows HTTP and the Blob service's
 * headers and XML; knows nothing of FUSE or errno. Every operation returns 0
 * on success or -1 with a struct blob_error filled: HTTP status, the
 * service's x-ms-error-code, its message, the request id, or the transport
 * error when no answer came. Requests use x-ms-version BLOB_API_VERSION.
 *
 * Thread-safety: a struct blob_client is read-only after blob_client_init(),
 * so every function may be called from many threads at once.
 */
#ifndef AZB_BLOB_BLOB_H
#define AZB_BLOB_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/auth.h"
#include "http/http.h"

#define BLOB_API_VERSION "2021-12-02"
#define BLOB_NAME_MAX 1024       /* bytes, as the service limits names */
#define BLOB_ETAG_MAX 80
#define BLOB_MAX_BLOCKS 50000

struct blob_ops;
struct blob_stats_box;

/* What the requests of a client did, for metrics (blob_stats_get). */
#define BLOB_STATS_ROWS 96
#define BLOB_STATS_BUCKETS 12
struct blob_stat_row {
	const char *op;           /* "Get Blob" ... (a string literal) */
	long code;                /* HTTP status, 0: no answer */
	uint64_t count;
};
struct blob_stats {
	struct blob_stat_row rows[BLOB_STATS_ROWS];
	size_t n_rows;
	uint64_t bucket[BLOB_STATS_BUCKETS]; /* took at most blob_stats_le[i] s */
	uint64_t count;
	double sum;               /* seconds */
};
/* the buckets' upper bounds in seconds; the last is +Inf */
extern const double blob_stats_le[BLOB_STATS_BUCKETS];

struct blob_client {
	const struct blob_ops *ops; /* what the operations below run: the
				     * REST one (blob_rest_ops), or a
				     * test's stand-in */
	void *ops_ctx;              /* the stand-in's own state */
	struct blob_stats_box *stats; /* owned; NULL: not counted */
	struct http_client *http; /* not owned */
	struct auth *auth;        /* not owned */
	char *endpoint;           /* ".../devstoreaccount1" or "https://acct.blob..." */
	char *container;
};

/*
 * What went wrong, classified once here (blob_error_classify in
 * request.c) from the x-ms-error-code, the HTTP status and the transport
 * error, so no layer above reads a status code. fs/errmap.c turns a kind
 * into an errno.
 */
enum blob_kind {
	BLOB_E_NONE = 0,
	BLOB_E_NOT_FOUND,         /* 404: the blob or the container */
	BLOB_E_CONDITION,         /* 412: an If-Match or source condition */
	BLOB_E_EXISTS,            /* 409 BlobAlreadyExists (If-None-Match: *) */
	BLOB_E_COPY_PENDING,      /* 409 PendingCopyOperation */
	BLOB_E_NO_PENDING_COPY,   /* 409 NoPendingCopyOperation */
	BLOB_E_LEASED,            /* a lease stands in the way (409/412) */
	BLOB_E_CONFLICT,          /* any other 409 */
	BLOB_E_COPY_SOURCE,       /* 404 CannotVerifyCopySource */
	BLOB_E_DENIED,            /* 403: authentication, authorisation */
	BLOB_E_INVALID,           /* 400 with a code naming a bad argument */
	BLOB_E_BAD_REQUEST,       /* 400 otherwise: most likely our bug */
	BLOB_E_RANGE,             /* 416: a range at or past the end */
	BLOB_E_TOO_LARGE,         /* 413 */
	BLOB_E_UNSUPPORTED,       /* 405, 501 */
	BLOB_E_THROTTLED,         /* 429, 503 (after the retries) */
	BLOB_E_SERVER,            /* any other status */
	BLOB_E_MALFORMED,         /* an answer the operation cannot give */
	BLOB_E_TRANSPORT,         /* no whole answer: connect, reset, timeout */
	BLOB_E_TLS,               /* certificate or handshake */
	BLOB_E_CANCELLED,         /* the sink stopped the transfer */
	BLOB_E_NOMEM,
};

struct blob_error {
	enum blob_kind kind;
	long status;              /* 0: no HTTP answer (see transport) */
	char code[64];            /* x-ms-error-code, e.g. "BlobNotFound" */
	char message[256];
	char request_id[64];
	enum http_err transport;
	char transport_msg[160];
};

enum blob_copy_status {
	BLOB_COPY_NONE = 0,       /* never a copy destination */
	BLOB_COPY_PENDING,
	BLOB_COPY_SUCCESS,
	BLOB_COPY_ABORTED,
	BLOB_COPY_FAILED,
};

struct blob_meta {
	char *name;
	char *value;
};

struct blob_copy {
	enum blob_copy_status status;
	char *id;
	char *source;
	char *progress;           /* "BYTES/TOTAL" as sent */
	char *completion_time;
	char *status_description;
};

struct blob_props {
	uint64_t size;
	char etag[BLOB_ETAG_MAX];
	struct timespec last_modified;
	char *content_type;
	char blob_type[24];       /* BlockBlob, PageBlob, AppendBlob */
	char access_tier[16];
	struct blob_meta *meta;
	size_t n_meta;
	struct blob_copy copy;
};

struct blob_item {
	char *name;               /* full blob name */
	char *snapshot;           /* <Snapshot> (include=snapshots), or NULL */
	char *version_id;         /* <VersionId> (include=versions), or NULL */
	int is_current_version;   /* <IsCurrentVersion>true */
	struct blob_props props;
};

/*
 * A snapshot or a version of a blob, named the way the service names it:
 * the snapshot's time (?snapshot=, Snapshot Blob's x-ms-snapshot) or the
 * version id (?versionid=, x-ms-version-id), both a time such as
 * 2026-12-06T01:02:03.1234567Z.
 */
enum blob_at_kind {
	BLOB_AT_SNAPSHOT = 1,
	BLOB_AT_VERSION,
};
struct blob_at {
	enum blob_at_kind kind;
	const char *id;
};

struct blob_list_page {
	struct blob_item *items;
	size_t n_items;
	char **prefixes;          /* BlobPrefix names, ending with the delimiter */
	size_t n_prefixes;
	char *next_marker;        /* NULL on the last page */
};

/* Options for uploads; all fields optional. */
struct blob_put_opts {
	const struct blob_meta *meta;
	size_t n_meta;
	const char *content_type;
	const char *if_match;     /* ETag, or NULL */
	int if_none_match_any;    /* create only: If-None-Match: * */
	const char *access_tier;
};

void blob_props_release(struct blob_props *p);
void blob_list_page_release(struct blob_list_page *pg);

/* blob_meta_get: value of metadata name (case-insensitive) or NULL. */
const char *blob_meta_get(const struct blob_props *p, const char *name);

/* blob_stats_get: a copy of what the client's requests did so far
 * (zeroes when it does not count). Thread-safe. */
void blob_stats_get(struct blob_client *c, struct blob_stats *out);

/* blob_at_query: appends "snapshot=ID" or "versionid=ID" (ID
 * percent-encoded) to out. 0 or -1 (no memory). */
int blob_at_query(const struct blob_at *at, struct buf *out);

/*
 * blob_at_id_valid: s has the form the service gives snapshot times and
 * version ids: YYYY-MM-DDTHH:MM:SS, an optional fraction of 1 to 7
 * digits, Z. Anything else cannot name a snapshot or a version.
 */
int blob_at_id_valid(const char *s);

/*
 * blob_history_keep: item of a List Blobs page of include=snapshots
 * (what = BLOB_AT_SNAPSHOT) or include=versions (BLOB_AT_VERSION) with
 * prefix name is a snapshot / a version of blob name itself: its name
 * is name exactly (a prefix also lists "name2", "name/x") and it carries
 * a valid snapshot time / version id (the base blob in a snapshot
 * listing carries none, nor does any entry of an account without
 * versioning). Returns 1 or 0.
 */
int blob_history_keep(const struct blob_item *item, const char *name,
		      enum blob_at_kind what);

/* blob_parse_date: an HTTP (RFC 1123) date, or -1. */
long long blob_parse_date(const char *s);

/* blob_error_classify: sets e->kind from the other fields. */
void blob_error_classify(struct blob_error *e);

/* blob_format_date: an HTTP (RFC 1123) date of t into out (>= 32 B). */
void blob_format_date(time_t t, char *out, size_t outlen);

/*
 * blob_sink: takes the next len bytes of a Get Blob body; returns len to
 * go on, anything else stops the transfer (BLOB_E_CANCELLED). May block:
 * it runs on the requesting thread and holds only that transfer up.
 */
typedef size_t (*blob_sink)(void *arg, const void *data, size_t len);

/* blob_error_str: "HTTP 404 BlobNotFound (request id ...)" into out. */
const char *blob_error_str(const struct blob_error *e, char *out, size_t len);

/* blob_traffic: what the client's connections carried since start, for
 * the metrics: bytes both ways and requests sent again. */
struct blob_traffic {
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t retries;
};
void blob_traffic(struct blob_client *c, struct blob_traffic *out);

/* blob_copy_status_name: "pending", "success", ...; "" for NONE. */
const char *blob_copy_status_name(enum blob_copy_status s);
enum blob_copy_status blob_copy_status_parse(const char *s);

/*
 * blob_client_init: copies endpoint and container. Returns 0 or -1 (ENOMEM).
 */
int blob_client_init(struct blob_client *c, struct http_client *http,
		     struct auth *auth, const char *endpoint,
		     const char *container);
void blob_client_release(struct blob_client *c);

/*
 * blob_url: appends the encoded URL of blob name (each '/'-separated segment
 * percent-encoded; NULL name = the container) to out. Returns 0 or -1.
 */
int blob_url(const struct blob_client *c, const char *name, struct buf *out);

/* Get Container Properties: 0 if the container exists and we may use it. */
int blob_container_check(struct blob_client *c, struct blob_error *err);

/* Get Blob Properties (HEAD). On success fills *p (release it). */
int blob_get_props(struct blob_client *c, const char *name,
		   struct blob_props *p, struct blob_error *err);

/*
 * Get Blob with "Range: bytes=off-(off+len-1)" into buf. *got receives the
 * byte count (0 at or past the end). if_match may be NULL. An answer that
 * does not hold exactly the bytes from off on (a 206 without a matching
 * Content-Range, a 200 for off > 0) fails with code MalformedResponse.
 */
int blob_read(struct blob_client *c, const char *name, uint64_t off,
	      size_t len, void *buf, size_t *got, const char *if_match,
	      struct blob_error *err);

/*
 * blob_read_stream: Get Blob of bytes [off, off+len) handed to sink as they
 * arrive (the sink may block, and stops the transfer by returning less
 * than it was given: kind BLOB_E_CANCELLED).
 * *got receives the bytes the sink took, also on failure: a transfer cut
 * after some bytes is not retried (the caller goes on from off + *got).
 * An answer that does not start at off fails with MalformedResponse before
 * the sink sees a byte. if_match may be NULL.
 */
int blob_read_stream(struct blob_client *c, const char *name, uint64_t off,
		     uint64_t len, const char *if_match, blob_sink sink,
		     void *arg, uint64_t *got, struct blob_error *err);

/*
 * blob_read_at: blob_read of the snapshot or version at of blob name
 * (Get Blob with ?snapshot= or ?versionid=), without a condition.
 */
int blob_read_at(struct blob_client *c, const char *name,
		 const struct blob_at *at, uint64_t off, size_t len, void *buf,
		 size_t *got, struct blob_error *err);

/* Put Blob (BlockBlob) of len bytes; etag_out (BLOB_ETAG_MAX) may be NULL. */
int blob_put(struct blob_client *c, const char *name, const void *data,
	     size_t len, const struct blob_put_opts *o, char *etag_out,
	     struct blob_error *err);

/*
 * blob_block_id: the base64 id of block number n, the same length for every
 * n (the service requires it). out needs 64 bytes.
 */
void blob_block_id(uint32_t n, const char *salt, char *out, size_t outlen);

/*
 * blob_put_block_fd: Put Block (stages one uncommitted block) of the len
 * bytes of file fd at off, read while they are sent (no copy in memory; a retry reads them again). The
 * file must keep those bytes until the call returns: a shorter file fails
 * it with a transport error.
 */
int blob_put_block_fd(struct blob_client *c, const char *name,
		      const char *block_id, int fd, uint64_t off, size_t len,
		      struct blob_error *err);

/* Put Block List: commits ids (as <Latest>) with opts. */
int blob_put_block_list(struct blob_client *c, const char *name,
			char *const *ids, size_t n, const struct blob_put_opts *o,
			char *etag_out, struct blob_error *err);

struct blob_block {
	char *id;                 /* base64, as the service lists it */
	uint64_t size;
};

/*
 * Get Block List (committed blocks only). On success *blocks (n entries,
 * release with blob_blocks_free) and *etag_out (BLOB_ETAG_MAX, may be NULL).
 */
int blob_get_block_list(struct blob_client *c, const char *name,
			struct blob_block **blocks, size_t *n, char *etag_out,
			struct blob_error *err);
void blob_blocks_free(struct blob_block *b, size_t n);

/* blob_parse_block_list_xml: a BlockList body (exposed for tests). */
int blob_parse_block_list_xml(const char *xml, size_t len,
			      struct blob_block **blocks, size_t *n);

/* Delete Blob (with its snapshots). */
int blob_delete(struct blob_client *c, const char *name,
		struct blob_error *err);
/* blob_delete_leased: Delete Blob of a blob leased with lease_id, sent as
 * x-ms-lease-id (without it the service refuses: 412 LeaseIdMissing). */
int blob_delete_leased(struct blob_client *c, const char *name,
		       const char *lease_id, struct blob_error *err);

/*
 * List Blobs: one page under prefix (may be NULL), delimiter "/" or NULL,
 * marker from the previous page or NULL, include=metadata,copy.
 */
int blob_list(struct blob_client *c, const char *prefix, const char *delim,
	      const char *marker, int max_results, struct blob_list_page *pg,
	      struct blob_error *err);

/*
 * blob_list_history: one page of List Blobs with prefix name, no
 * delimiter and include=snapshots (what = BLOB_AT_SNAPSHOT) or
 * include=versions (BLOB_AT_VERSION); marker from the previous page or
 * NULL. The page also holds other blobs whose names start with name, and
 * the base blob: blob_history_keep picks the snapshots or versions of
 * name. List Blobs, x-ms-version 2021-12-02: an account without
 * versioning lists no <VersionId>.
 */
int blob_list_history(struct blob_client *c, const char *name,
		      enum blob_at_kind what, const char *marker,
		      struct blob_list_page *pg, struct blob_error *err);

/* Set Blob Metadata: replaces all metadata; the blob's new ETag into
 * etag_out (BLOB_ETAG_MAX; may be NULL). */
int blob_set_metadata(struct blob_client *c, const char *name,
		      const struct blob_meta *meta, size_t n,
		      const char *if_match, char *etag_out,
		      struct blob_error *err);

/* Set Blob Properties: content type (other content headers kept). */
int blob_set_content_type(struct blob_client *c, const char *name,
			  const char *type, struct blob_error *err);

/* Set Blob Tier. */
int blob_set_tier(struct blob_client *c, const char *name, const char *tier,
		  struct blob_error *err);

struct blob_copy_result {
	char id[128];
	enum blob_copy_status status;
	char etag[BLOB_ETAG_MAX];
};

/*
 * Copy Blob: starts a copy of source_url (absolute, encoded) into name.
 * source_if_match, source_lease_id and tier may be NULL; a lease id goes
 * as x-ms-source-lease-id (the copy then starts only while the source
 * holds that lease). meta (n entries) replaces the destination's
 * metadata when n > 0.
 */
int blob_copy_start(struct blob_client *c, const char *name,
		    const char *source_url, const char *source_if_match,
		    const char *source_lease_id, const char *tier,
		    const struct blob_meta *meta, size_t n,
		    struct blob_copy_result *out, struct blob_error *err);

/* Abort Copy Blob. */
int blob_copy_abort(struct blob_client *c, const char *name,
		    const char *copy_id, struct blob_error *err);

/*
 * Lease Blob (x-ms-lease-action). ACQUIRE takes a lease of duration
 * seconds (15 to 60, or -1 for ever) with lease_id as
 * x-ms-proposed-lease-id, so that sending it again after a lost answer
 * finds the lease already ours and succeeds; RENEW and RELEASE name the
 * lease held (x-ms-lease-id). id_out (BLOB_LEASE_ID_MAX, may be NULL)
 * receives the x-ms-lease-id of the answer (ACQUIRE, RENEW).
 */
#define BLOB_LEASE_ID_MAX 40
enum blob_lease_action {
	BLOB_LEASE_ACQUIRE,
	BLOB_LEASE_RENEW,
	BLOB_LEASE_RELEASE,
};
int blob_lease(struct blob_client *c, const char *name,
	       enum blob_lease_action action, const char *lease_id,
	       int duration, char *id_out, struct blob_error *err);
/* blob_lease_id_new: a random lease id in the GUID form the service
 * requires of a proposed one, into out (BLOB_LEASE_ID_MAX bytes).
 * 0, or -1 when no random bytes could be had. */
int blob_lease_id_new(char *out);

/* Snapshot Blob: the snapshot's time (x-ms-snapshot, as the service
 * writes it, e.g. 2026-12-05T22:17:41.5970000Z) into when (len bytes). */
int blob_snapshot(struct blob_client *c, const char *name, char *when,
		  size_t len, struct blob_error *err);

/*
 * blob_ops: every operation above that talks to the service, as a table.
 * blob_client_init installs blob_rest_ops (the REST calls of ops.c); a
 * test installs its own (an in-memory store, a failing one) to drive the
 * layers above without a server. Each entry has the contract of the
 * blob_* function of its name, which calls it.
 */
struct blob_ops {
	int (*container_check)(struct blob_client *c, struct blob_error *err);
	int (*get_props)(struct blob_client *c, const char *name,
			 struct blob_props *p, struct blob_error *err);
	int (*read)(struct blob_client *c, const char *name, uint64_t off,
		    size_t len, void *buf, size_t *got, const char *if_match,
		    struct blob_error *err);
	int (*read_stream)(struct blob_client *c, const char *name,
			   uint64_t off, uint64_t len, const char *if_match,
			   blob_sink sink, void *arg, uint64_t *got,
			   struct blob_error *err);
	int (*put)(struct blob_client *c, const char *name, const void *data,
		   size_t len, const struct blob_put_opts *o, char *etag_out,
		   struct blob_error *err);
	int (*put_block_fd)(struct blob_client *c, const char *name,
			    const char *block_id, int fd, uint64_t off,
			    size_t len, struct blob_error *err);
	int (*put_block_list)(struct blob_client *c, const char *name,
			      char *const *ids, size_t n,
			      const struct blob_put_opts *o, char *etag_out,
			      struct blob_error *err);
	int (*get_block_list)(struct blob_client *c, const char *name,
			      struct blob_block **blocks, size_t *n,
			      char *etag_out, struct blob_error *err);
	int (*delete)(struct blob_client *c, const char *name,
		      const char *lease_id, struct blob_error *err);
	int (*list)(struct blob_client *c, const char *prefix,
		    const char *delim, const char *marker, int max_results,
		    struct blob_list_page *pg, struct blob_error *err);
	int (*set_metadata)(struct blob_client *c, const char *name,
			    const struct blob_meta *meta, size_t n,
			    const char *if_match, char *etag_out,
			    struct blob_error *err);
	int (*set_content_type)(struct blob_client *c, const char *name,
				const char *type, struct blob_error *err);
	int (*set_tier)(struct blob_client *c, const char *name,
			const char *tier, struct blob_error *err);
	int (*copy_start)(struct blob_client *c, const char *name,
			  const char *source_url, const char *source_if_match,
			  const char *source_lease_id, const char *tier,
			  const struct blob_meta *meta, size_t n,
			  struct blob_copy_result *out,
			  struct blob_error *err);
	int (*copy_abort)(struct blob_client *c, const char *name,
			  const char *copy_id, struct blob_error *err);
	int (*snapshot)(struct blob_client *c, const char *name, char *when,
			size_t len, struct blob_error *err);
	/* NULL in a stand-in without snapshots and versions: the call
	 * fails with BLOB_E_UNSUPPORTED */
	int (*read_at)(struct blob_client *c, const char *name,
		       const struct blob_at *at, uint64_t off, size_t len,
		       void *buf, size_t *got, struct blob_error *err);
	int (*list_history)(struct blob_client *c, const char *name,
			    enum blob_at_kind what, const char *marker,
			    struct blob_list_page *pg, struct blob_error *err);
	int (*lease)(struct blob_client *c, const char *name,
		     enum blob_lease_action action, const char *lease_id,
		     int duration, char *id_out, struct blob_error *err);
};

extern const struct blob_ops blob_rest_ops;

/*
 * blob_parse_error_xml: fills code/message from an <Error> body (exposed
 * for tests). Returns 0 or -1 if the body is not such XML.
 */
int blob_parse_error_xml(const char *xml, size_t len, struct blob_error *err);

/*
 * blob_parse_list_xml: parses an EnumerationResults body (exposed for
 * tests). Returns 0 or -1 on malformed XML; *pg is filled only on success.
 */
int blob_parse_list_xml(const char *xml, size_t len, struct blob_list_page *pg);

/*
 * A List Blobs body parsed piece by piece as it arrives (what
 * blob_parse_list_xml does with a whole one). _new returns NULL when out of
 * memory; _feed takes the next len bytes and returns 0, or -1 once the body
 * is known to be malformed (or over 64 MiB); _finish ends the body and
 * fills *pg (the caller releases it), or returns -1; _reset forgets
 * what was fed so far, for the body sent anew, and returns 0, or -1 when
 * out of memory (the parser then fails what it is fed); _free(NULL) is a
 * no-op. One parser per body, used by one thread at a time.
 */
struct blob_list_parser;
struct blob_list_parser *blob_list_parser_new(void);
int blob_list_parser_reset(struct blob_list_parser *lp);
int blob_list_parser_feed(struct blob_list_parser *lp, const char *data,
			  size_t len);
int blob_list_parser_finish(struct blob_list_parser *lp,
			    struct blob_list_page *pg);
void blob_list_parser_free(struct blob_list_parser *lp);

/* blob_props_from_headers: Get Blob Properties headers -> *p. */
int blob_props_from_headers(const struct http_response *resp,
			    struct blob_props *p);

#endif
