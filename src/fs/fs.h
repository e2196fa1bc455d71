/*
 * fs.h -- internal to fs/: the FUSE operations and the context they share.
 *
 * Layer: the top of the filesystem (uses the rooms meta/, stage/, ra/ and
 * core/, blob, copy). The only place that knows FUSE. One struct azfs is
 * owned by main.c and reached from every operation through
 * fuse_get_context()->private_data; it is the rooms put together:
 *
 *   meta   what a path is: attribute cache, lookups, kept listings
 *   stage  open files: staging files, block uploads, commits
 *   ra     read-ahead: streams within a file, prefetch across files
 *
 * Locks: fs/ has none of its own. Each room has one lock, a leaf: no room
 * calls another room, and none makes a request, while holding its lock,
 * so no two locks are ever held at once and there is no lock order to
 * keep. The rooms reach each other only through the hooks azfs_rooms_init
 * installs, which run without any lock held.
 */
#ifndef AZB_FS_FS_H
#define AZB_FS_FS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>

#include "auth/auth.h"
#include "blob/blob.h"
#include "copy/copy.h"
#include "core/core.h"
#include "http/http.h"
#include "meta/meta.h"
#include "ra/ra.h"
#include "stage/stage.h"

struct azfs {
	struct blob_client blob;
	struct http_client http;
	struct auth auth;
	struct core_opts o;
	struct copy_reg *copies; /* copies seen since the mount (copy.h) */
	struct copy_leases *leases; /* copy_lease=on: the source leases of
				     * pending copies (copy.h); else NULL */
	uint64_t kept_pages;   /* opens that kept the page cache (atomic) */
	struct meta meta;      /* meta.lock */
	struct stage stage;    /* stage.lock */
	struct ra ra;          /* ra.lock */
};

/* Handle behind fi->fh of an open file. */
struct handle {
	struct node *node;
	int flags;
	int writable;
	struct ra_file ra;
	/* the whole content, prefetched (ra.h), for blob version pf_gen;
	 * NULL when not */
	char *pf_data;
	size_t pf_len;
	uint64_t pf_gen;
};

/* ---- ops.c ---- */
int azfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
/* azfs_rooms_init: the rooms of fs over fs->blob and fs->o, wired to
 * each other. 0, or -1 out of memory. azfs_rooms_release frees them. */
int azfs_rooms_init(struct azfs *fs);
void azfs_rooms_release(struct azfs *fs);
/*
 * azfs_kernel_forget: makes the kernel drop its cached attributes and
 * pages of path (the blob changed on the server behind its back, e.g. a
 * copy started into it). Asynchronous; call from a FUSE operation.
 */
void azfs_kernel_forget(const char *path);
/* the operations table */
extern const struct fuse_operations azfs_ops;

/* ---- file.c ---- */
struct handle *azfs_handle(const struct fuse_file_info *fi);
int azfs_open(const char *path, struct fuse_file_info *fi);
int azfs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int azfs_read(const char *path, char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
int azfs_write(const char *path, const char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi);
int azfs_flush(const char *path, struct fuse_file_info *fi);
int azfs_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int azfs_release(const char *path, struct fuse_file_info *fi);
int azfs_truncate(const char *path, off_t size, struct fuse_file_info *fi);

/* ---- namespace.c ---- */
int azfs_unlink(const char *path);
int azfs_mkdir(const char *path, mode_t mode);
int azfs_rmdir(const char *path);
int azfs_symlink(const char *target, const char *path);
int azfs_readlink(const char *path, char *buf, size_t size);
int azfs_mknod(const char *path, mode_t mode, dev_t rdev);
int azfs_link(const char *from, const char *to);
/* azfs_dir_has_entries: *any = whether directory path (blob name name)
 * holds anything: a blob below it, or a file open there (created and
 * not uploaded yet, or unlinked while open). 0 or -errno. */
int azfs_dir_has_entries(struct azfs *fs, const char *path, const char *name,
			 int *any);
/* azfs_delete_if_exists: Delete Blob name; absent is success. 0 or -errno. */
int azfs_delete_if_exists(struct azfs *fs, const char *name);

/* ---- attrs.c ---- */
int azfs_utimens(const char *path, const struct timespec tv[2],
		 struct fuse_file_info *fi);
int azfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int azfs_chown(const char *path, uid_t uid, gid_t gid,
	       struct fuse_file_info *fi);
/* azfs_creator: the attributes of a new entry of mode (with its type
 * bits) and rdev: the calling process's uid and gid, times now. */
void azfs_creator(mode_t mode, dev_t rdev, struct attr *a);
/* azfs_entry_meta: the metadata a new entry with attributes a is made
 * with (mtime, the POSIX keys, key=true when key): *m, *n (free with
 * core_meta_free). 0 or -ENOMEM. */
int azfs_entry_meta(const struct attr *a, const char *key,
		    struct blob_meta **m, size_t *n);
/*
 * azfs_put_entry: makes blob name, body as its content (NULL: empty),
 * with the metadata of azfs_entry_meta, only if no blob has the name
 * (If-None-Match: *); its ETag into etag when not NULL. 0, -EEXIST or
 * -errno.
 */
int azfs_put_entry(struct azfs *fs, const char *name, const char *key,
		   const char *body, const struct attr *a, char *etag);

/* ---- dir.c ---- */
/* opendir/readdir/releasedir: the listing of an open directory, read at
 * offset 0 and served by offset (see dir.c) */
int azfs_opendir(const char *path, struct fuse_file_info *fi);
int azfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		 off_t off, struct fuse_file_info *fi,
		 enum fuse_readdir_flags flags);
int azfs_releasedir(const char *path, struct fuse_file_info *fi);
/* azfs_dir_read: the listing of directory path (sorted, each name once,
 * remembered in the cache): *d, *n (free with azfs_dents_free). 0 or
 * -errno. */
int azfs_dir_read(struct azfs *fs, const char *path, struct dent **d,
		  size_t *n);
void azfs_dents_free(struct dent *d, size_t n);

/* ---- xattr.c ---- */
int azfs_getxattr(const char *path, const char *name, char *value,
		  size_t size);
int azfs_setxattr(const char *path, const char *name, const char *value,
		  size_t size, int flags);
int azfs_listxattr(const char *path, char *list, size_t size);
int azfs_removexattr(const char *path, const char *name);

/* ---- rename.c ---- */
int azfs_rename(const char *from, const char *to, unsigned int flags);

/* ---- copy.c (fs side of server-side copies) ---- */
ssize_t azfs_copy_file_range(const char *path_in, struct fuse_file_info *fi_in,
			     off_t off_in, const char *path_out,
			     struct fuse_file_info *fi_out, off_t off_out,
			     size_t len, int flags);
/* azfs_flush_path: uploads what an open or just-closed file of path still
 * holds, so a server-side operation sees it ("touch f; setfattr ...").
 * 0 or -errno. */
int azfs_flush_path(struct azfs *fs, const char *path);
/* azfs_start_copy: Copy Blob of src (an http(s) URL, a path in the
 * mount, or a snapshot or version of the control directory's trees)
 * into the existing file path; returns once the service accepted
 * it (user.azblob.copy_source, the control directory's copy file). 0,
 * -EINVAL (bad source), -ENOENT, -EACCES, -EBUSY (a copy pending) or
 * -errno. */
int azfs_start_copy(struct azfs *fs, const char *path, const char *src);
/* azfs_copy_started: a copy this mount started into path (res, from
 * source_url) goes into the registry of copies. */
void azfs_copy_started(struct azfs *fs, const char *path,
		       const struct blob_copy_result *res,
		       const char *source_url);
/* How azfs_server_copy copies, and what it hands back. */
struct azfs_copy_how {
	const char *src_etag;  /* the source condition, or NULL */
	int wait;              /* until the copy ended (copy=sync, a move) */
	const struct blob_meta *meta; /* replaces the source's metadata */
	size_t n_meta;         /* ... when > 0 */
	/* the wait ends on an interrupt seen by this request (FUSE's), or
	 * by another thread of the same operation: set once, shared by the
	 * blobs of one directory move; may be NULL */
	int *interrupted;
	int keep_lease;        /* a move: its source lease outlives the copy */
	/* out, with keep_lease after a copy that succeeded: the source lease
	 * still held (lease_ticket 0: none was taken), to delete the source
	 * with (blob_delete_leased) and then forget (copy_lease_forget) */
	unsigned long lease_ticket;
	char lease_id[BLOB_LEASE_ID_MAX];
};
/*
 * azfs_server_copy: Copy Blob src_name -> dst_name as how says. With
 * copy_lease=on the source is leased first (copy.h, source leases) and
 * the lease goes when the copy ends, unless how->keep_lease. A wait that
 * is interrupted sends Abort Copy Blob and leaves the destination an
 * aborted copy: -EINTR. 0, -EIO (the copy failed or was aborted), or
 * -errno.
 */
int azfs_server_copy(struct azfs *fs, const char *src_name,
		     const char *dst_name, struct azfs_copy_how *how);
/* azfs_server_copy_url: the same from the source URL url (a snapshot or
 * version of the container): no source condition, no lease. */
int azfs_server_copy_url(struct azfs *fs, const char *url,
			 const char *dst_name, struct azfs_copy_how *how);
/* azfs_copy_range_url: copy_file_range into the open file fi_out (path
 * path_out) from the source URL url of size bytes (a snapshot or
 * version): Copy Blob on the terms of azfs_copy_file_range. */
ssize_t azfs_copy_range_url(const char *url, uint64_t size, off_t off_in,
			    const char *path_out, struct fuse_file_info *fi_out,
			    off_t off_out, size_t len, int flags);
/* azfs_lease_source: with copy_lease=on, a lease on blob src_name for a
 * copy from it (copy_lease_take): its ticket and id (BLOB_LEASE_ID_MAX);
 * 0 and empty both otherwise. 0 or -errno. */
int azfs_lease_source(struct azfs *fs, const char *src_name,
		      unsigned long *ticket, char *id);
/* azfs_delete_blob: aborts a pending copy into name first. 0 or -errno. */
int azfs_delete_blob(struct azfs *fs, const char *name);

/* ---- ctl.c, ctl_text.c: the control directory ---- */
enum ctl_kind {
	CTL_NONE = 0,          /* not in the control directory */
	CTL_MISSING,           /* in it, but no such entry */
	CTL_ROOT, CTL_COPIES, CTL_COPY, CTL_SNAPSHOT, CTL_UPLOADS, CTL_METRICS,
	CTL_STATUS, CTL_SNAPSHOTS, CTL_VERSIONS,
};
/* azfs_ctl_kind: what path is in the control directory; for status/,
 * snapshots/ and versions/ the mount path below it ("/" for the folder
 * itself) into *rest (malloc'd, the caller frees; NULL otherwise). */
enum ctl_kind azfs_ctl_kind(struct azfs *fs, const char *path, char **rest);
/* azfs_ctl_refuse: -EROFS for a path in the snapshot and version trees,
 * -EPERM for another in the control directory (no create, remove, rename
 * or attribute change there), else 0 */
int azfs_ctl_refuse(const char *path);
/* azfs_ctl_text: the content of a control file of kind k (rest: the
 * path of status/) into out. 0 or -errno. */
int azfs_ctl_text(struct azfs *fs, enum ctl_kind k, const char *rest,
		  struct buf *out);
/* azfs_ctl_copy: one line "SOURCE DEST" written to copy; azfs_ctl_snapshot:
 * one path written to snapshot. 0 or -errno. */
int azfs_ctl_copy(struct azfs *fs, const char *line);
int azfs_ctl_snapshot(struct azfs *fs, const char *line);
/* the operations of the table that know the control directory */
int route_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int route_opendir(const char *path, struct fuse_file_info *fi);
int route_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		  off_t off, struct fuse_file_info *fi,
		  enum fuse_readdir_flags flags);
int route_releasedir(const char *path, struct fuse_file_info *fi);
int route_open(const char *path, struct fuse_file_info *fi);
int route_read(const char *path, char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi);
int route_write(const char *path, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi);
int route_flush(const char *path, struct fuse_file_info *fi);
int route_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int route_release(const char *path, struct fuse_file_info *fi);
int route_truncate(const char *path, off_t size, struct fuse_file_info *fi);
ssize_t route_copy_file_range(const char *path_in, struct fuse_file_info *fi_in,
			      off_t off_in, const char *path_out,
			      struct fuse_file_info *fi_out, off_t off_out,
			      size_t len, int flags);

/* ---- history.c: the snapshot and version trees (snapshots/, versions/) ---- */
enum hist_what { HIST_DIR = 1, HIST_FILE };
/* One snapshot or version, as a file of a tree. */
struct hist_entry {
	enum blob_at_kind kind;
	char *name;            /* the blob's name */
	char *id;              /* the snapshot time or version id */
	uint64_t size;
	struct timespec mtime; /* its Last-Modified */
};
void azfs_hist_entry_release(struct hist_entry *e);
/*
 * azfs_hist_resolve: what mount path rest is in the tree of kind: a
 * directory (a directory or a file of the mount, or a path gone from it
 * whose history stays) or a file (PATH/ID: that snapshot or version of
 * PATH, *e filled; release it). 0, -ENOENT or -errno.
 */
int azfs_hist_resolve(struct azfs *fs, enum blob_at_kind kind,
		      const char *rest, enum hist_what *what,
		      struct hist_entry *e);
/* azfs_hist_dir: the entries of directory rest of the tree of kind
 * (sorted; free with azfs_dents_free): *d, *n. 0 or -errno. */
int azfs_hist_dir(struct azfs *fs, enum blob_at_kind kind, const char *rest,
		  struct dent **d, size_t *n);
/* azfs_hist_read: size bytes at off of e into buf; bytes read (fewer
 * only at the end) or -errno. */
int azfs_hist_read(struct azfs *fs, const struct hist_entry *e, char *buf,
		   size_t size, off_t off);
/* azfs_hist_url: the copy source URL of e appended to url. 0 or -ENOMEM. */
int azfs_hist_url(struct azfs *fs, const struct hist_entry *e, struct buf *url);
/*
 * azfs_hist_source: whether path (of the mount, control directory
 * included) is a snapshot or version file of a tree: 1 (its copy source
 * URL appended to url unless NULL), 0 when path is outside the trees, or
 * -errno (-ENOENT, -EISDIR: in a tree but no such file).
 */
int azfs_hist_source(struct azfs *fs, const char *path, struct buf *url);

static inline struct azfs *azfs_get(void)
{
	return fuse_get_context()->private_data;
}

#endif
