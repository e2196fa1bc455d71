/*
 * dispatch.c -- the blob_* operations that talk to the service, each
 * handing its call to the client's table (blob.h, struct blob_ops): the
 * REST calls of ops.c, or a test's stand-in.
 *
 * Layer: blob. Thread-safe as the table it calls.
 */
#include <stdio.h>
#include <string.h>

#include "blob/blob.h"

int blob_container_check(struct blob_client *c, struct blob_error *err)
{
	return c->ops->container_check(c, err);
}

int blob_get_props(struct blob_client *c, const char *name,
		   struct blob_props *p, struct blob_error *err)
{
	return c->ops->get_props(c, name, p, err);
}

int blob_read(struct blob_client *c, const char *name, uint64_t off,
	      size_t len, void *buf, size_t *got, const char *if_match,
	      struct blob_error *err)
{
	return c->ops->read(c, name, off, len, buf, got, if_match, err);
}

int blob_read_stream(struct blob_client *c, const char *name, uint64_t off,
		     uint64_t len, const char *if_match, blob_sink sink,
		     void *arg, uint64_t *got, struct blob_error *err)
{
	return c->ops->read_stream(c, name, off, len, if_match, sink, arg, got,
				   err);
}

int blob_put(struct blob_client *c, const char *name, const void *data,
	     size_t len, const struct blob_put_opts *o, char *etag_out,
	     struct blob_error *err)
{
	return c->ops->put(c, name, data, len, o, etag_out, err);
}

int blob_put_block_fd(struct blob_client *c, const char *name,
		      const char *block_id, int fd, uint64_t off, size_t len,
		      struct blob_error *err)
{
	return c->ops->put_block_fd(c, name, block_id, fd, off, len, err);
}

int blob_put_block_list(struct blob_client *c, const char *name,
			char *const *ids, size_t n, const struct blob_put_opts *o,
			char *etag_out, struct blob_error *err)
{
	return c->ops->put_block_list(c, name, ids, n, o, etag_out, err);
}

int blob_get_block_list(struct blob_client *c, const char *name,
			struct blob_block **blocks, size_t *n, char *etag_out,
			struct blob_error *err)
{
	return c->ops->get_block_list(c, name, blocks, n, etag_out, err);
}

int blob_delete(struct blob_client *c, const char *name,
		struct blob_error *err)
{
	return c->ops->delete(c, name, NULL, err);
}

int blob_delete_leased(struct blob_client *c, const char *name,
		       const char *lease_id, struct blob_error *err)
{
	return c->ops->delete(c, name, lease_id, err);
}

int blob_list(struct blob_client *c, const char *prefix, const char *delim,
	      const char *marker, int max_results, struct blob_list_page *pg,
	      struct blob_error *err)
{
	return c->ops->list(c, prefix, delim, marker, max_results, pg, err);
}

int blob_set_metadata(struct blob_client *c, const char *name,
		      const struct blob_meta *meta, size_t n,
		      const char *if_match, char *etag_out,
		      struct blob_error *err)
{
	return c->ops->set_metadata(c, name, meta, n, if_match, etag_out, err);
}

int blob_set_content_type(struct blob_client *c, const char *name,
			  const char *type, struct blob_error *err)
{
	return c->ops->set_content_type(c, name, type, err);
}

int blob_set_tier(struct blob_client *c, const char *name, const char *tier,
		  struct blob_error *err)
{
	return c->ops->set_tier(c, name, tier, err);
}

int blob_copy_start(struct blob_client *c, const char *name,
		    const char *source_url, const char *source_if_match,
		    const char *source_lease_id, const char *tier,
		    const struct blob_meta *meta, size_t n,
		    struct blob_copy_result *out, struct blob_error *err)
{
	return c->ops->copy_start(c, name, source_url, source_if_match,
				  source_lease_id, tier, meta, n, out, err);
}

int blob_copy_abort(struct blob_client *c, const char *name,
		    const char *copy_id, struct blob_error *err)
{
	return c->ops->copy_abort(c, name, copy_id, err);
}

int blob_snapshot(struct blob_client *c, const char *name, char *when,
		  size_t len, struct blob_error *err)
{
	return c->ops->snapshot(c, name, when, len, err);
}

/* unsupported: the table has no such operation (a stand-in's) */
static int unsupported(struct blob_error *err)
{
	memset(err, 0, sizeof(*err));
	err->status = 501;
	snprintf(err->code, sizeof(err->code), "NotImplemented");
	blob_error_classify(err);
	return -1;
}

int blob_read_at(struct blob_client *c, const char *name,
		 const struct blob_at *at, uint64_t off, size_t len, void *buf,
		 size_t *got, struct blob_error *err)
{
	if (!c->ops->read_at)
		return unsupported(err);
	return c->ops->read_at(c, name, at, off, len, buf, got, err);
}

int blob_list_history(struct blob_client *c, const char *name,
		      enum blob_at_kind what, const char *marker,
		      struct blob_list_page *pg, struct blob_error *err)
{
	if (!c->ops->list_history)
		return unsupported(err);
	return c->ops->list_history(c, name, what, marker, pg, err);
}

int blob_lease(struct blob_client *c, const char *name,
	       enum blob_lease_action action, const char *lease_id,
	       int duration, char *id_out, struct blob_error *err)
{
	return c->ops->lease(c, name, action, lease_id, duration, id_out, err);
}
