/*
 * namespace.c -- the FUSE operations on names: unlink, mkdir, rmdir,
 * symlink, readlink, utimens, chmod, chown. Directories are virtual
 * (a '/' in blob names) with a marker blob for one made here; symlinks
 * are blobs whose body is the target (core.h, CORE_KEY_*).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/fs.h"
#include "util/str.h"

int azfs_delete_if_exists(struct azfs *fs, const char *name)
{
	struct blob_error e;

	if (blob_delete(&fs->blob, name, &e) == 0 || e.kind == BLOB_E_NOT_FOUND)
		return 0;
	return core_fail("Delete Blob", name, &e);
}

int azfs_unlink(const char *path)
{
	struct azfs *fs = azfs_get();
	struct node *n;
	char *name;
	int rc, was_new = 0;

	if (fs->o.read_only)
		return -EROFS;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	n = stage_find(&fs->stage, path);
	if (n) {
		stage_unlinked(&fs->stage, n, &was_new);
		stage_put(&fs->stage, n);
	}
	rc = azfs_delete_blob(fs, name);
	if (rc == -ENOENT && was_new)
		rc = 0;
	if (rc == 0) {
		/* gone: absent, for as long as absence is remembered */
		struct attr a;

		memset(&a, 0, sizeof(a));
		meta_put(&fs->meta, path, &a);
	} else {
		meta_drop(&fs->meta, path);
	}
	meta_dir_changed(&fs->meta, path);
	free(name);
	return rc;
}

/* put_special: a zero-length blob with metadata (directory or symlink). */
static int put_special(struct azfs *fs, const char *name, const char *key,
		       const char *body)
{
	struct blob_meta m[2];
	struct blob_put_opts po;
	struct blob_error e;
	struct timespec now = core_now();
	char tbuf[48];

	str_rfc3339_format(&now, tbuf, sizeof(tbuf));
	m[0].name = (char *)key;
	m[0].value = (char *)"true";
	m[1].name = (char *)CORE_KEY_MTIME;
	m[1].value = tbuf;
	memset(&po, 0, sizeof(po));
	po.meta = m;
	po.n_meta = 2;
	if (blob_put(&fs->blob, name, body, body ? strlen(body) : 0, &po, NULL,
		     &e) < 0)
		return core_fail("Put Blob", name, &e);
	return 0;
}

int azfs_mkdir(const char *path, mode_t mode)
{
	struct azfs *fs = azfs_get();
	char *name;
	int rc;

	(void)mode;
	if (fs->o.read_only)
		return -EROFS;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	rc = put_special(fs, name, CORE_KEY_FOLDER, NULL);
	if (rc < 0)
		meta_drop(&fs->meta, path);
	if (rc == 0) {
		struct attr a;

		memset(&a, 0, sizeof(a));
		a.kind = ATTR_DIR;
		a.explicit_dir = 1;
		a.mtime = core_now();
		meta_put(&fs->meta, path, &a);
		meta_dir_created(&fs->meta, path);
	}
	free(name);
	return rc;
}

int azfs_rmdir(const char *path)
{
	struct azfs *fs = azfs_get();
	char *name, *slash = NULL;
	struct attr a;
	int rc, any = 0;

	if (fs->o.read_only)
		return -EROFS;
	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		return rc;
	if (a.kind != ATTR_DIR)
		return -ENOTDIR;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	rc = meta_has_children(&fs->meta, name, &any);
	if (rc < 0)
		goto out_free;
	if (any) {
		rc = -ENOTEMPTY;
		goto out_free;
	}
	if (asprintf(&slash, "%s/", name) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = azfs_delete_if_exists(fs, name);
	if (rc == 0)
		rc = azfs_delete_if_exists(fs, slash);
	meta_drop_tree(&fs->meta, path);
	meta_dir_changed(&fs->meta, path);
out_free:
	free(slash);
	free(name);
	return rc;
}

int azfs_symlink(const char *target, const char *path)
{
	struct azfs *fs = azfs_get();
	char *name;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	rc = put_special(fs, name, CORE_KEY_SYMLINK, target);
	if (rc == 0) {
		struct attr a;

		memset(&a, 0, sizeof(a));
		a.kind = ATTR_LINK;
		a.size = strlen(target);
		a.mtime = core_now();
		meta_put(&fs->meta, path, &a);
	} else {
		meta_drop(&fs->meta, path);
	}
	meta_dir_changed(&fs->meta, path);
	free(name);
	return rc;
}

int azfs_readlink(const char *path, char *buf, size_t size)
{
	struct azfs *fs = azfs_get();
	struct blob_error e;
	size_t got = 0;
	char *name;
	int rc;

	if (size == 0)
		return -EINVAL;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	rc = 0;
	if (blob_read(&fs->blob, name, 0, size - 1, buf, &got, NULL, &e) < 0)
		rc = core_fail("Get Blob", name, &e);
	else
		buf[got] = '\0';
	free(name);
	return rc;
}

int azfs_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct timespec mt;
	struct blob_props p;
	struct blob_error e;
	struct blob_meta *m = NULL;
	struct node *n;
	char tbuf[48];
	char *name;
	size_t i, k = 0;
	int rc;

	(void)fi;
	if (fs->o.read_only)
		return -EROFS;
	if (tv && tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	mt = (!tv || tv[1].tv_nsec == UTIME_NOW) ? core_now() : tv[1];
	n = stage_find(&fs->stage, path);
	if (n) {
		int pending = stage_set_mtime(&fs->stage, n, &mt);

		stage_put(&fs->stage, n);
		if (pending) {
			meta_drop(&fs->meta, path);
			return 0;
		}
	}
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) < 0) {
		struct attr a;

		/* a directory without a marker blob has no time to set */
		rc = e.kind == BLOB_E_NOT_FOUND && meta_lookup(&fs->meta, path, &a) == 0 ? 0
			: core_fail("Get Blob Properties", name, &e);
		goto out_name;
	}
	m = calloc(p.n_meta + 1, sizeof(*m));
	if (!m) {
		rc = -ENOMEM;
		goto out_props;
	}
	for (i = 0; i < p.n_meta; i++)
		if (strcasecmp(p.meta[i].name, CORE_KEY_MTIME) != 0)
			m[k++] = p.meta[i];
	str_rfc3339_format(&mt, tbuf, sizeof(tbuf));
	m[k].name = (char *)CORE_KEY_MTIME;
	m[k].value = tbuf;
	k++;
	rc = blob_set_metadata(&fs->blob, name, m, k, p.etag[0] ? p.etag : NULL, &e) < 0
		? core_fail("Set Blob Metadata", name, &e) : 0;
	if (rc == 0)
		stage_invalidate(&fs->stage, path);
	free(m);
out_props:
	blob_props_release(&p);
out_name:
	meta_drop(&fs->meta, path);
	free(name);
	return rc;
}

int azfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct attr a;

	(void)mode;
	(void)fi;
	return meta_lookup(&azfs_get()->meta, path, &a);
}

int azfs_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	struct attr a;

	(void)uid;
	(void)gid;
	(void)fi;
	return meta_lookup(&azfs_get()->meta, path, &a);
}

