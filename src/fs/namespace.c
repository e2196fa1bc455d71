/*
 * namespace.c -- the FUSE operations on names: unlink, mkdir, rmdir,
 * symlink, readlink, mknod, link. Directories are virtual (a '/' in blob
 * names) with a marker blob for one made here; symlinks are blobs whose
 * body is the target, fifos, sockets and device nodes empty blobs whose
 * mode says what they are (core.h, CORE_KEY_*).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/fs.h"
#include "util/log.h"
#include "util/pool.h"
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
	if (core_is_hidden(path)) {
		/* the last handle of a removed file closed (rename.c, hide):
		 * its blob went already */
		n = stage_find(&fs->stage, path);
		if (n) {
			stage_unlinked(&fs->stage, n, &was_new);
			stage_put(&fs->stage, n);
		}
		return 0;
	}
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	n = stage_find(&fs->stage, path);
	if (n) {
		/* open handles keep reading what the file held */
		rc = stage_keep(&fs->stage, n);
		if (rc < 0)
			log_warn("%s removed while open: its content is not kept (%s)",
				 name, strerror(-rc));
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

int azfs_mkdir(const char *path, mode_t mode)
{
	struct azfs *fs = azfs_get();
	struct attr a;
	char *name;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	azfs_creator(S_IFDIR | (mode & 07777), 0, &a);
	rc = azfs_put_entry(fs, name, CORE_KEY_FOLDER, NULL, &a, a.etag);
	if (rc == 0) {
		meta_put(&fs->meta, path, &a);
		meta_dir_changed(&fs->meta, path);
		meta_dir_made(&fs->meta, path);
	} else {
		meta_drop(&fs->meta, path);
	}
	free(name);
	return rc;
}

/* the two marker blobs a directory may have, deleted at once */
struct markers {
	struct azfs *fs;
	const char *name[2];
	int rc[2];
};

static int delete_marker(void *ctx, size_t i)
{
	struct markers *mk = ctx;

	mk->rc[i] = azfs_delete_if_exists(mk->fs, mk->name[i]);
	return 0;
}

int azfs_dir_has_entries(struct azfs *fs, const char *path, const char *name,
			 int *any)
{
	char **open = NULL;
	size_t k = 0;
	int rc;

	rc = meta_has_children(&fs->meta, name, any);
	if (rc < 0 || *any)
		return rc;
	/* a file created below and still open is there though not uploaded;
	 * so is one unlinked while open: it lives on under a hidden name
	 * below, and the directory's end would leave it without a path */
	rc = stage_open_under(&fs->stage, path, 0, &open, &k);
	if (rc < 0)
		return rc;
	*any = k > 0;
	while (k)
		free(open[--k]);
	free(open);
	return 0;
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
	rc = azfs_dir_has_entries(fs, path, name, &any);
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
	{
		struct markers mk = { fs, { name, slash }, { 0, 0 } };

		pool_run(2, 2, delete_marker, &mk);
		rc = mk.rc[0] < 0 ? mk.rc[0] : mk.rc[1];
	}
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
	struct attr a;
	char *name;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	azfs_creator(S_IFLNK | 0777, 0, &a);
	a.size = strlen(target);
	rc = azfs_put_entry(fs, name, CORE_KEY_SYMLINK, target, &a, a.etag);
	if (rc == 0)
		meta_put(&fs->meta, path, &a);
	else
		meta_drop(&fs->meta, path);
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

/*
 * mknod: a regular file, fifo, socket or device node is a zero-length
 * blob whose mode (and rdev) metadata says what it is; the kernel itself
 * serves a fifo's or a device's I/O. Only root gets this far for a
 * device (the kernel checks CAP_MKNOD).
 */
int azfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct azfs *fs = azfs_get();
	struct attr a;
	char *name;
	int rc;

	if (fs->o.read_only)
		return -EROFS;
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) &&
	    !S_ISCHR(mode) && !S_ISBLK(mode))
		return -EPERM;
	name = core_blob_name(&fs->o, path, &rc);
	if (!name)
		return rc;
	azfs_creator(mode, S_ISCHR(mode) || S_ISBLK(mode) ? rdev : 0, &a);
	rc = azfs_put_entry(fs, name, NULL, "", &a, a.etag);
	if (rc == 0) {
		meta_put(&fs->meta, path, &a);
		meta_dir_changed(&fs->meta, path);
	} else {
		meta_drop(&fs->meta, path);
	}
	free(name);
	return rc;
}

/* link: a blob has exactly one name, there is no second one for its
 * data */
int azfs_link(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EPERM;
}
