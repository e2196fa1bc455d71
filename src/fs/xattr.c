/*
 * xattr.c -- extended attributes.
 *
 * user.NAME is blob metadata NAME (x-ms-meta-NAME). user.azblob.* are the
 * blob's own properties: copy status (always read fresh from the server),
 * etag, blob type, last modified (read-only), access tier and content type
 * (read-write); setting user.azblob.copy_source starts a server-side copy,
 * setting user.azblob.snapshot (any value, "" by convention; never read
 * or listed) takes a snapshot.
 * listxattr names user metadata only, so cp -a and rsync -X never copy
 * user.azblob.*. Internal metadata (mtime, hdi_isfolder, is_symlink) is not
 * shown: stat and readlink show it. Other namespaces (security.*, system.*
 * with its POSIX ACLs, trusted.*) are not supported, for reading as for
 * writing: ENOTSUP, which "ls -l" remembers for the whole filesystem, where
 * ENODATA would cost it two requests per file (SELinux label, ACL).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/xattr.h>

#include "copy/copy.h"
#include "fs/fs.h"
#include "util/log.h"
#include "util/str.h"

#define AZ_PREFIX "user.azblob."
#define META_NAME_MAX 256
#define META_VALUE_MAX 8192

static int reply(const char *v, size_t vlen, char *value, size_t size)
{
	if (vlen > 65536)
		return -E2BIG;
	if (size == 0)
		return (int)vlen;
	if (size < vlen)
		return -ERANGE;
	memcpy(value, v, vlen);
	return (int)vlen;
}

/* fresh_props: Get Blob Properties of path, never from a cache. */
static int fresh_props(struct azfs *fs, const char *path, char **name_out,
		       struct blob_props *p)
{
	struct blob_error e;
	char *name;
	int rc;

	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	memset(p, 0, sizeof(*p));
	if (blob_get_props(&fs->blob, name, p, &e) < 0) {
		struct attr a;

		rc = -core_errno(&e);
		/* an implicit directory exists but has no blob */
		if (rc == -ENOENT && meta_lookup(&fs->meta, path, &a) == 0)
			rc = -ENODATA;
		free(name);
		return rc;
	}
	if (name_out)
		*name_out = name;
	else
		free(name);
	return 0;
}

static int az_get(const struct blob_props *p, const char *key, char *value,
		  size_t size)
{
	const struct blob_copy *c = &p->copy;
	char tbuf[64];
	const char *v = NULL;
	char *red;
	int rc;

	if (strcmp(key, "etag") == 0) {
		v = p->etag;
	} else if (strcmp(key, "blob_type") == 0) {
		v = p->blob_type;
	} else if (strcmp(key, "last_modified") == 0) {
		blob_format_date(p->last_modified.tv_sec, tbuf, sizeof(tbuf));
		v = tbuf;
	} else if (strcmp(key, "access_tier") == 0) {
		v = p->access_tier[0] ? p->access_tier : NULL;
	} else if (strcmp(key, "content_type") == 0) {
		v = p->content_type;
	} else if (strncmp(key, "copy_", 5) == 0) {
		if (c->status == BLOB_COPY_NONE && !c->id)
			return -ENODATA;
		if (strcmp(key, "copy_status") == 0)
			v = blob_copy_status_name(c->status);
		else if (strcmp(key, "copy_progress") == 0)
			v = c->progress ? c->progress : "";
		else if (strcmp(key, "copy_id") == 0)
			v = c->id ? c->id : "";
		else if (strcmp(key, "copy_completion_time") == 0)
			v = c->completion_time ? c->completion_time : "";
		else if (strcmp(key, "copy_status_description") == 0)
			v = c->status_description ? c->status_description : "";
		else if (strcmp(key, "copy_source") == 0) {
			red = str_redact_url(c->source ? c->source : "");
			if (!red)
				return -ENOMEM;
			rc = reply(red, strlen(red), value, size);
			free(red);
			return rc;
		}
	}
	if (!v)
		return -ENODATA;
	return reply(v, strlen(v), value, size);
}

int azfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct azfs *fs = azfs_get();
	struct blob_props p;
	const char *v;
	int rc;

	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	/* the root tells tools (azblobfs status) where the control
	 * directory is */
	if (strcmp(path, "/") == 0 && strcmp(name, AZ_PREFIX "control") == 0)
		return fs->o.control ? reply(fs->o.control, strlen(fs->o.control), value, size)
			: -ENODATA;
	if (strncmp(name, AZ_PREFIX, strlen(AZ_PREFIX)) != 0) {
		/* metadata of a file whose data is not uploaded yet */
		struct node *n = stage_find(&fs->stage, path);
		struct blob_meta *m = NULL;
		size_t cnt = 0, i;

		rc = n ? stage_meta_get(&fs->stage, n, &m, &cnt) : 1;
		if (n)
			stage_put(&fs->stage, n);
		if (rc <= 0) {
			rc = rc < 0 ? rc : -ENODATA;
			for (i = 0; i < cnt; i++) {
				if (rc == -ENODATA && !core_is_internal_meta(m[i].name) &&
				    strcasecmp(m[i].name, name + 5) == 0)
					rc = reply(m[i].value, strlen(m[i].value), value, size);
				free(m[i].name);
				free(m[i].value);
			}
			free(m);
			return rc;
		}
	}
	rc = fresh_props(fs, path, NULL, &p);
	if (rc < 0)
		return rc;
	if (strncmp(name, AZ_PREFIX, strlen(AZ_PREFIX)) == 0) {
		rc = az_get(&p, name + strlen(AZ_PREFIX), value, size);
	} else {
		v = core_is_internal_meta(name + 5) ? NULL : blob_meta_get(&p, name + 5);
		rc = v ? reply(v, strlen(v), value, size) : -ENODATA;
	}
	blob_props_release(&p);
	return rc;
}

int azfs_listxattr(const char *path, char *list, size_t size)
{
	struct azfs *fs = azfs_get();
	struct blob_props p;
	struct buf b;
	size_t i;
	int rc;

	rc = fresh_props(fs, path, NULL, &p);
	if (rc == -ENODATA)
		return 0;
	if (rc < 0)
		return rc;
	buf_init(&b, 65536);
	for (i = 0; i < p.n_meta; i++) {
		if (core_is_internal_meta(p.meta[i].name))
			continue;
		if (buf_printf(&b, "user.%s", p.meta[i].name) < 0 ||
		    buf_append(&b, "", 1) < 0) {
			rc = -E2BIG;
			goto out_free;
		}
	}
	rc = reply(b.data ? b.data : "", b.len, list, size);
out_free:
	buf_release(&b);
	blob_props_release(&p);
	return rc;
}

/* valid_meta_name: a C# identifier, as the service requires. */
static int valid_meta_name(const char *s)
{
	size_t i;

	if (!*s || strlen(s) > META_NAME_MAX ||
	    !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* valid_meta_value: printable ASCII without edge spaces (HTTP trims). */
static int valid_meta_value(const char *v, size_t n)
{
	size_t i;

	if (n > META_VALUE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	return n == 0 || (v[0] != ' ' && v[n - 1] != ' ');
}

/*
 * set_meta: sets (value != NULL) or removes user metadata key. xflags are
 * XATTR_CREATE / XATTR_REPLACE.
 */
static int set_meta(struct azfs *fs, const char *path, const char *key,
		    const char *value, int xflags)
{
	char etag[BLOB_ETAG_MAX];
	struct blob_props p;
	struct blob_meta *m = NULL;
	struct blob_error e;
	struct node *n;
	char *name = NULL;
	size_t i, k = 0;
	int rc, found = 0;

	/* an open file not yet uploaded keeps its metadata in the node */
	n = stage_find(&fs->stage, path);
	if (n) {
		rc = stage_meta_set(&fs->stage, n, key, value, xflags);
		stage_put(&fs->stage, n);
		if (rc != 1)
			return rc;
	}
	rc = fresh_props(fs, path, &name, &p);
	if (rc < 0)
		return rc == -ENODATA ? -ENOTSUP : rc;
	found = blob_meta_get(&p, key) != NULL;
	if ((xflags & XATTR_CREATE) && found) {
		rc = -EEXIST;
		goto out_free;
	}
	if (((xflags & XATTR_REPLACE) || !value) && !found) {
		rc = -ENODATA;
		goto out_free;
	}
	m = calloc(p.n_meta + 1, sizeof(*m));
	if (!m) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < p.n_meta; i++)
		if (strcasecmp(p.meta[i].name, key) != 0)
			m[k++] = p.meta[i];
	if (value) {
		m[k].name = (char *)key;
		m[k].value = (char *)value;
		k++;
	}
	rc = 0;
	if (blob_set_metadata(&fs->blob, name, m, k, p.etag[0] ? p.etag : NULL, etag,
			      &e) < 0)
		rc = -core_errno(&e);
	else
		meta_known_put(&fs->meta, name, etag, m, k);
	stage_invalidate(&fs->stage, path);
	meta_drop(&fs->meta, path);
out_free:
	free(m);
	free(name);
	blob_props_release(&p);
	return rc;
}

static int valid_url(const char *v)
{
	const char *h;
	size_t i;

	if (strncmp(v, "http://", 7) == 0)
		h = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		h = v + 8;
	else
		return 0;
	if (!*h || *h == '/' || *h == '?' || *h == '#')
		return 0;
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			return 0;
	return 1;
}

int azfs_flush_path(struct azfs *fs, const char *path)
{
	struct node *n = stage_find(&fs->stage, path);
	int rc = 0;

	if (n) {
		rc = stage_flush(&fs->stage, n);
		stage_put(&fs->stage, n);
	}
	return rc;
}

int azfs_start_copy(struct azfs *fs, const char *path, const char *src)
{
	struct blob_copy_result res;
	struct blob_props p, sp;
	struct blob_error e;
	struct buf url;
	struct attr a;
	char *name = NULL, *sname = NULL, msg[400], lease[BLOB_LEASE_ID_MAX];
	const char *etag = NULL;
	unsigned long ticket = 0;
	int rc;

	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		return rc;
	if (a.kind != ATTR_FILE)
		return -EISDIR;
	rc = azfs_flush_path(fs, path);
	if (rc < 0)
		return rc;
	buf_init(&url, 0);
	memset(&sp, 0, sizeof(sp));
	if (src[0] == '/' && (rc = azfs_hist_source(fs, src, &url)) != 0) {
		/* a snapshot or version (the control directory's trees):
		 * it never changes, no source condition */
		if (rc < 0)
			goto out_free;
	} else if (src[0] == '/') {
		rc = fresh_props(fs, src, &sname, &sp);
		if (rc < 0)
			goto out_free;
		if (copy_source_url(&fs->blob, sname, &url) < 0) {
			rc = -ENOMEM;
			goto out_free;
		}
		etag = sp.etag[0] ? sp.etag : NULL;
	} else if (valid_url(src)) {
		if (buf_puts(&url, src) < 0) {
			rc = -ENOMEM;
			goto out_free;
		}
	} else {
		rc = -EINVAL;
		goto out_free;
	}
	rc = fresh_props(fs, path, &name, &p);
	if (rc < 0)
		goto out_free;
	if (p.copy.status == BLOB_COPY_PENDING)
		rc = -EBUSY;
	blob_props_release(&p);
	if (rc < 0)
		goto out_free;
	/* an in-mount source is leased while its copy is pending */
	if (sname) {
		rc = azfs_lease_source(fs, sname, &ticket, lease);
		if (rc < 0)
			goto out_free;
	}
	if (copy_start(&fs->blob, name, url.data, etag, ticket ? lease : NULL,
		       fs->o.copy_tier, NULL, 0, &res, &e) < 0) {
		char *red = str_redact_url(src);

		log_warn("Copy Blob from %s into %s: %s", red ? red : "?", name,
			 blob_error_str(&e, msg, sizeof(msg)));
		free(red);
		copy_lease_release(fs->leases, ticket);
		rc = -core_errno(&e);
		/* the service reports a bad source URL as 400/404 */
		if (e.kind == BLOB_E_BAD_REQUEST)
			rc = -EINVAL;
		goto out_free;
	}
	if (res.status == BLOB_COPY_PENDING)
		copy_lease_follow(fs->leases, ticket, name,
				  res.id[0] ? res.id : NULL);
	else
		copy_lease_release(fs->leases, ticket);
	azfs_copy_started(fs, path, &res, url.data);
	stage_invalidate(&fs->stage, path);
	meta_drop(&fs->meta, path);
	azfs_kernel_forget(path);
	rc = 0;
out_free:
	blob_props_release(&sp);
	buf_release(&url);
	free(name);
	free(sname);
	return rc;
}

int azfs_setxattr(const char *path, const char *name, const char *value,
		  size_t size, int flags)
{
	struct azfs *fs = azfs_get();
	struct blob_error e;
	char *v, *bname;
	int rc;

	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	if (fs->o.read_only)
		return -EROFS;
	v = str_ndup(value, size);
	if (!v)
		return -ENOMEM;
	if (strncmp(name, AZ_PREFIX, strlen(AZ_PREFIX)) == 0) {
		const char *key = name + strlen(AZ_PREFIX);

		if (strlen(v) != size || !str_utf8_valid(v, size)) {
			rc = -EINVAL;
		} else if (strcmp(key, "copy_source") == 0) {
			rc = azfs_start_copy(fs, path, v);
		} else if (strcmp(key, "snapshot") == 0) {
			/* write-only: the snapshots are listed in the
			 * control directory's snapshots/PATH/ */
			rc = azfs_ctl_snapshot(fs, path);
		} else if (strcmp(key, "access_tier") == 0 ||
			   strcmp(key, "content_type") == 0) {
			int tier = key[0] == 'a';

			if (tier && strcmp(v, "Hot") && strcmp(v, "Cool") &&
			    strcmp(v, "Cold") && strcmp(v, "Archive")) {
				rc = -EINVAL;
			} else if (!tier && (!size || !valid_meta_value(v, size))) {
				rc = -EINVAL;
			} else if ((rc = azfs_flush_path(fs, path)) == 0) {
				bname = core_blob_name(&fs->o, path, &rc);
				if (bname) {
					rc = (tier ? blob_set_tier(&fs->blob, bname, v, &e)
						   : blob_set_content_type(&fs->blob, bname, v, &e)) < 0
						? -core_errno(&e) : 0;
					stage_invalidate(&fs->stage, path);
					free(bname);
				}
			}
		} else {
			rc = -EPERM;
		}
	} else if (!valid_meta_name(name + 5) || core_is_internal_meta(name + 5) ||
		   !valid_meta_value(v, size) || strlen(v) != size) {
		rc = -EINVAL;
	} else {
		rc = set_meta(fs, path, name + 5, v, flags);
	}
	free(v);
	return rc;
}

int azfs_removexattr(const char *path, const char *name)
{
	struct azfs *fs = azfs_get();

	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	if (fs->o.read_only)
		return -EROFS;
	if (strncmp(name, AZ_PREFIX, strlen(AZ_PREFIX)) == 0)
		return -EPERM;
	if (!valid_meta_name(name + 5) || core_is_internal_meta(name + 5))
		return -ENODATA;
	return set_meta(fs, path, name + 5, NULL, 0);
}
