/*
 * ops.c -- the table of FUSE operations, the mount's start and end, the
 * rooms put together (azfs_rooms_init), and what fits nowhere else:
 * getattr, statfs, making the kernel forget a path.
 *
 * Every operation returns 0 or -errno; errors from the service are turned
 * into errno by core_errno() alone. Files: file.c; names: namespace.c;
 * listings: dir.c; xattrs: xattr.c; server-side copies: copy.c; rename:
 * rename.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/fs.h"
#include "util/log.h"
#include "util/pool.h"

int azfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct azfs *fs = azfs_get();
	struct attr a;
	int rc;

	if (!path) {
		/* fstat of a file removed since it was opened */
		struct handle *h = fi ? azfs_handle(fi) : NULL;

		if (!h)
			return -ENOENT;
		memset(&a, 0, sizeof(a));
		a.kind = ATTR_FILE;
		a.mtime = core_now();
		if (!stage_node_size(&fs->stage, h->node, &a.size))
			a.size = h->ra.size_hint != UINT64_MAX ? h->ra.size_hint : 0;
		meta_fill_stat(&fs->o, &a, st);
		return 0;
	}
	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		return rc;
	meta_fill_stat(&fs->o, &a, st);
	return 0;
}

static int op_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_blocks = 1ULL << 40;
	st->f_bfree = 1ULL << 40;
	st->f_bavail = 1ULL << 40;
	st->f_files = 1ULL << 32;
	st->f_ffree = 1ULL << 32;
	st->f_favail = 1ULL << 32;
	st->f_namemax = 255;
	return 0;
}

struct forget {
	struct fuse *fuse;
	char *path;
};

static void *forget_thread(void *arg)
{
	struct forget *f = arg;

	/* -ENOENT: the kernel did not know the path, nothing to forget */
	fuse_invalidate_path(f->fuse, f->path);
	free(f->path);
	free(f);
	return NULL;
}

void azfs_kernel_forget(const char *path)
{
	struct forget *f = calloc(1, sizeof(*f));

	if (!f)
		return;
	f->fuse = fuse_get_context()->fuse;
	f->path = strdup(path);
	if (!f->fuse || !f->path) {
		free(f->path);
		free(f);
		return;
	}
	/* from another thread: the request that asks may hold the inode */
	if (pool_detach(forget_thread, f) < 0) {
		free(f->path);
		free(f);
	}
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct azfs *fs = azfs_get();

	cfg->attr_timeout = fs->o.attr_timeout;
	if (!fs->o.entry_timeout_given)
		cfg->entry_timeout = fs->o.attr_timeout;
	if (!fs->o.negative_timeout_given)
		cfg->negative_timeout = fs->o.attr_timeout < CORE_ABSENT_TTL ? fs->o.attr_timeout : CORE_ABSENT_TTL;
	cfg->use_ino = 0;
	/* a file removed while open is renamed to a hidden name (rename.c,
	 * hide), so its handles keep a path: fstat works */
	cfg->hard_remove = 0;
	cfg->direct_io = fs->o.direct_io;
	if (fs->o.max_read)
		conn->max_read = fs->o.max_read;
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
	/* the kernel skips read-ahead once congestion_threshold reads are
	 * queued (9 by default, of 12): with a read-ahead of some MiB in
	 * 1 MiB reads, it left holes read later, after their bytes had
	 * gone (48 still did with 16 MiB) */
	conn->max_background = 256;
	conn->congestion_threshold = 192;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* (here, not in azfs_rooms_init: a thread must not start before
	 * the daemon forked) */
	if (fs->leases && copy_leases_start(fs->leases) < 0) {
		log_error("cannot start renewing source leases: copy_lease=off");
		copy_leases_free(fs->leases);
		fs->leases = NULL;
	}
	return fs;
}

static void op_destroy(void *data)
{
	struct azfs *fs = data;

	/* unmount: the background uploads end, whatever is still unsaved
	 * goes up now */
	stage_queue_stop(&fs->stage);
	stage_flush_all(&fs->stage);
	/* copies still pending go on without their source leases */
	copy_leases_stop(fs->leases);
}

/* the staging room's open files for the metadata room's lookups */
static int staged(void *arg, const char *path, struct attr *a)
{
	return stage_attr(arg, path, a);
}

/* an upload's outcome for the metadata room */
static void uploaded(void *arg, const char *path, const char *name,
		     const struct attr *a, const struct blob_meta *m, size_t nm)
{
	if (a) {
		meta_put(arg, path, a);
		meta_known_put(arg, name, a->etag, m, nm);
	} else {
		meta_drop(arg, path);
		meta_known_drop(arg, name);
	}
}

/* a copy seen by a lookup, a listing or a status read, for the registry */
static void seen(void *arg, const char *path, const struct blob_props *p)
{
	struct azfs *fs = arg;

	copy_reg_note(fs->copies, path, &p->copy);
}

int azfs_rooms_init(struct azfs *fs)
{
	fs->copies = copy_reg_new((long long)fs->o.mounted.tv_sec);
	if (!fs->copies)
		return -1;
	fs->leases = NULL;
	if (fs->o.copy_lease) {
		fs->leases = copy_leases_new(&fs->blob, fs->o.lease_renew_ms);
		if (!fs->leases)
			goto out_copies;
	}
	if (meta_init(&fs->meta, &fs->blob, &fs->o) < 0)
		goto out_leases;
	if (stage_init(&fs->stage, &fs->blob, &fs->o) < 0) {
		meta_release(&fs->meta);
		goto out_leases;
	}
	ra_init(&fs->ra, &fs->blob, &fs->o);
	fs->meta.staged = staged;
	fs->meta.staged_arg = &fs->stage;
	fs->stage.uploaded = uploaded;
	fs->stage.uploaded_arg = &fs->meta;
	fs->meta.seen = seen;
	fs->meta.seen_arg = fs;
	if (fs->o.upload_async && stage_queue_start(&fs->stage) < 0) {
		log_error("cannot start the background uploads: closes upload themselves");
		fs->o.upload_async = 0;
	}
	return 0;
out_leases:
	copy_leases_free(fs->leases);
	fs->leases = NULL;
out_copies:
	copy_reg_free(fs->copies);
	fs->copies = NULL;
	return -1;
}

void azfs_rooms_release(struct azfs *fs)
{
	stage_release(&fs->stage);
	ra_release(&fs->ra);
	meta_release(&fs->meta);
	copy_leases_free(fs->leases);
	fs->leases = NULL;
	copy_reg_free(fs->copies);
	fs->copies = NULL;
}

/*
 * The operations that change names or attributes refuse the control
 * directory (ctl.c) and hand every other path on.
 */
#define REFUSE_CTL(path)                           \
	do {                                       \
		int refused_ = azfs_ctl_refuse(path); \
		if (refused_)                      \
			return refused_;           \
	} while (0)

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	REFUSE_CTL(path);
	return azfs_create(path, mode, fi);
}

static int op_unlink(const char *path)
{
	REFUSE_CTL(path);
	return azfs_unlink(path);
}

static int op_mkdir(const char *path, mode_t mode)
{
	REFUSE_CTL(path);
	return azfs_mkdir(path, mode);
}

static int op_rmdir(const char *path)
{
	REFUSE_CTL(path);
	return azfs_rmdir(path);
}

static int op_symlink(const char *target, const char *path)
{
	REFUSE_CTL(path);
	return azfs_symlink(target, path);
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	if (azfs_ctl_refuse(path))
		return -EINVAL;
	return azfs_readlink(path, buf, size);
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	REFUSE_CTL(from);
	REFUSE_CTL(to);
	return azfs_rename(from, to, flags);
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	REFUSE_CTL(path);
	return azfs_mknod(path, mode, rdev);
}

static int op_link(const char *from, const char *to)
{
	REFUSE_CTL(to);
	return azfs_link(from, to);
}

static int op_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	REFUSE_CTL(path);
	return azfs_utimens(path, tv, fi);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	REFUSE_CTL(path);
	return azfs_chmod(path, mode, fi);
}

static int op_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	REFUSE_CTL(path);
	return azfs_chown(path, uid, gid, fi);
}

static int op_getxattr(const char *path, const char *name, char *value,
		       size_t size)
{
	if (azfs_ctl_refuse(path))
		return -ENODATA;
	return azfs_getxattr(path, name, value, size);
}

static int op_setxattr(const char *path, const char *name, const char *value,
		       size_t size, int flags)
{
	REFUSE_CTL(path);
	return azfs_setxattr(path, name, value, size, flags);
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	if (azfs_ctl_refuse(path))
		return 0;
	return azfs_listxattr(path, list, size);
}

static int op_removexattr(const char *path, const char *name)
{
	REFUSE_CTL(path);
	return azfs_removexattr(path, name);
}

const struct fuse_operations azfs_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.getattr = route_getattr,
	.opendir = route_opendir,
	.readdir = route_readdir,
	.releasedir = route_releasedir,
	.open = route_open,
	.create = op_create,
	.read = route_read,
	.write = route_write,
	.flush = route_flush,
	.fsync = route_fsync,
	.release = route_release,
	.truncate = route_truncate,
	.unlink = op_unlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.rename = op_rename,
	.utimens = op_utimens,
	.mknod = op_mknod,
	.link = op_link,
	.chmod = op_chmod,
	.chown = op_chown,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.setxattr = op_setxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.copy_file_range = route_copy_file_range,
};
