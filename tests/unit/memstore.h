/*
 * memstore.h -- an in-memory Blob service behind struct blob_ops, for
 * unit tests that drive the layers above blob/ without a server.
 *
 * It keeps block blobs (content, ETag, metadata, committed block list)
 * and uncommitted blocks, and answers conditions as the service does
 * (If-Match -> 412 ConditionNotMet, If-None-Match: * -> 409
 * BlobAlreadyExists). A test can make the next calls of an operation
 * fail, hold them until it lets them go, count them, and see whether two
 * Put Block of one block id were ever in flight at once. Thread-safe:
 * the layers under test call it from their worker threads.
 */
#ifndef AZB_TESTS_MEMSTORE_H
#define AZB_TESTS_MEMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "blob/blob.h"

enum ms_op {
	MS_GET_PROPS, MS_READ, MS_READ_STREAM, MS_PUT, MS_PUT_BLOCK,
	MS_PUT_BLOCK_LIST, MS_GET_BLOCK_LIST, MS_DELETE, MS_LIST,
	MS_SET_METADATA, MS_SET_CONTENT_TYPE, MS_SET_TIER, MS_COPY_START,
	MS_COPY_ABORT, MS_SNAPSHOT, MS_LEASE, MS_N_OPS
};

struct memstore;

/* memstore_new: an empty container; memstore_attach makes c use it (c's
 * endpoint and container are set, release them with
 * blob_client_release). */
struct memstore *memstore_new(void);
void memstore_free(struct memstore *ms);
void memstore_attach(struct memstore *ms, struct blob_client *c);

/* memstore_put: a blob (as another client would write it); key/value:
 * one metadata pair, or NULL. memstore_get: a malloc'd copy of a blob's
 * content (NULL when absent). */
void memstore_put(struct memstore *ms, const char *name, const void *data,
		  size_t len, const char *key, const char *value);
char *memstore_get(struct memstore *ms, const char *name, size_t *len);
/* memstore_etag: the blob's ETag into out (BLOB_ETAG_MAX); 0 or -1. */
int memstore_etag(struct memstore *ms, const char *name, char *out);
/* memstore_meta: the value of metadata key of a blob, malloc'd, or NULL. */
char *memstore_meta(struct memstore *ms, const char *name, const char *key);

/* memstore_count: calls of op so far (failed ones too). */
unsigned memstore_count(struct memstore *ms, enum ms_op op);
/* memstore_lease: 1 and the id of the lease on name into out
 * (BLOB_LEASE_ID_MAX), or 0 when it has none. Leases are kept by Lease
 * Blob and checked by Delete Blob and Copy Blob's source lease id. */
int memstore_lease(struct memstore *ms, const char *name, char *out);
/* memstore_fail: the next n calls of op fail with status and code. */
void memstore_fail(struct memstore *ms, enum ms_op op, unsigned n,
		   long status, const char *code);
/* memstore_hold: while on, calls of op wait (before doing anything);
 * memstore_waiting tells how many wait; memstore_wait_for waits (at
 * most 5 s) until that many do and returns how many. */
void memstore_hold(struct memstore *ms, enum ms_op op, int on);
unsigned memstore_waiting(struct memstore *ms, enum ms_op op);
unsigned memstore_wait_for(struct memstore *ms, enum ms_op op, unsigned n);
/* memstore_block_overlaps: times a Put Block arrived while another of
 * the same blob and block id was still in flight. */
unsigned memstore_block_overlaps(struct memstore *ms);
/* memstore_block_puts: Put Blocks of block id number idx (blob_block_id
 * numbering) of name so far. */
unsigned memstore_block_puts(struct memstore *ms, const char *name,
			     uint32_t idx);
/* memstore_stream_call: 1 and the offset and length asked by the i-th
 * read_stream call (the first MS_STREAM_LOG are kept), else 0. */
#define MS_STREAM_LOG 1024
int memstore_stream_call(struct memstore *ms, unsigned i, uint64_t *off,
			 uint64_t *len);
/* memstore_stream_chunk: read_stream hands the sink this many bytes at a
 * time (default 16 KiB). */
void memstore_stream_chunk(struct memstore *ms, size_t n);

#endif
