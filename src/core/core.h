/*
 * core.h -- what every room of the filesystem shares: the mount's options,
 * the attributes of a path, the metadata keys azblobfs writes, paths to
 * blob names, the clocks, and the one table from a failed request to an
 * errno.
 *
 * Layer: the base of the filesystem (uses util, blob). The rooms meta/
 * (attributes and lookups), stage/ (open files and uploads) and ra/
 * (read-ahead) build on it, and fs/ (the FUSE operations) on all of them.
 * errno exists from this layer up, never below.
 *
 * Thread-safety: no state of its own; every function may run in many
 * threads at once. struct core_opts is read-only once the mount runs.
 */
#ifndef AZB_CORE_CORE_H
#define AZB_CORE_CORE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "blob/blob.h"

enum core_copy_mode { CORE_COPY_SYNC, CORE_COPY_ASYNC };

/* The mount's options, as main.c settled them. */
struct core_opts {
	char *prefix;          /* "" or "dir/sub/" (always ends with '/') */
	enum core_copy_mode copy_mode;
	char *copy_tier;       /* NULL or Hot/Cool/Cold/Archive */
	int copy_lease;        /* lease in-mount copy sources while pending */
	long lease_renew_ms;   /* their renewal period; 0: the keeper's own */
	int upload_async;      /* close returns once the data is staged */
	char *control;         /* name of the control directory, NULL: off */
	char *cache_dir;
	double attr_timeout;   /* seconds */
	size_t block_size;     /* bytes */
	int parallel;
	uid_t uid;             /* uid=, else the mounting user's */
	gid_t gid;
	mode_t umask;          /* umask=, else 022 */
	int uid_given, gid_given, umask_given; /* given explicitly */
	int read_only;
	int direct_io;         /* -o direct_io: reads and writes bypass the
				* page cache */
	unsigned max_read;     /* -o max_read=, 0 when not given */
	struct timespec mounted;   /* when the mount started: the times of
				    * a directory with no blob of its own */
	int entry_timeout_given;    /* -o entry_timeout= (libfuse has it) */
	int negative_timeout_given; /* -o negative_timeout= (likewise) */
};

/* the control directory's name unless control= says otherwise */
#define CORE_CONTROL_NAME ".azblobfs"

/* seconds a negative lookup is remembered (a listing never makes a name
 * absent) */
#define CORE_ABSENT_TTL 1.0

/* bytes of one name in a path (NAME_MAX, as statfs reports): a blob
 * name may hold longer ones, which listings leave out */
#define CORE_NAME_MAX 255

/* entries asked for per List Blobs page (the service's maximum) */
#define CORE_LIST_PAGE 5000

/*
 * Metadata keys azblobfs writes and reads. mtime is RFC 3339 (rclone's
 * convention); hdi_isfolder=true marks a directory blob (blobfuse2's and
 * Data Lake's); is_symlink=true a symlink whose body is the target
 * (blobfuse2's). They are kept out of the user.* attributes.
 */
#define CORE_KEY_MTIME "mtime"
#define CORE_KEY_FOLDER "hdi_isfolder"
#define CORE_KEY_SYMLINK "is_symlink"
/*
 * POSIX attributes, under the keys rclone's --metadata uses: mode in
 * octal with the file-type bits ("100644"), uid and gid in decimal, rdev
 * in hexadecimal, atime in RFC 3339. A blob without them has the mount's
 * owner and default modes.
 */
#define CORE_KEY_MODE "mode"
#define CORE_KEY_UID "uid"
#define CORE_KEY_GID "gid"
#define CORE_KEY_RDEV "rdev"
#define CORE_KEY_ATIME "atime"

/* ATTR_SPECIAL: a fifo, socket or device node (its mode says which) */
enum attr_kind { ATTR_NONE = 0, ATTR_FILE, ATTR_DIR, ATTR_LINK, ATTR_SPECIAL };

/* What getattr needs to know of one path. */
struct attr {
	enum attr_kind kind;
	uint64_t size;
	struct timespec mtime;
	struct timespec atime; /* 0: as mtime */
	struct timespec ctime; /* the blob's Last-Modified; 0: as mtime */
	char etag[BLOB_ETAG_MAX];
	int copy_pending;      /* a copy into this blob is pending */
	int copy_broken;       /* the last copy into it failed or was aborted */
	int explicit_dir;      /* a marker blob (hdi_isfolder / "dir/") exists */
	mode_t mode;           /* stored mode with its type bits; 0: none */
	int has_uid, has_gid;  /* uid, gid are stored */
	uid_t uid;
	gid_t gid;
	dev_t rdev;
};

/* One entry of a directory listing. */
struct dent {
	char *name;
	struct attr a;
	int stale;      /* a changed since listed: not given to the kernel */
};

/* ---- errmap.c: the one table from a failed request to an errno ---- */
/* core_errno: the errno of a failed request (positive). */
int core_errno(const struct blob_error *e);
/* core_fail: -errno of e; logs it (what, name and the service's words)
 * unless it is ENOENT. */
int core_fail(const char *what, const char *name, const struct blob_error *e);

/* ---- names.c ---- */
/*
 * core_blob_name: malloc'd blob name for FUSE path (prefix + path without
 * the leading '/'); "" -> the prefix without its '/'. Sets *err to
 * -ENAMETOOLONG (> 1024 bytes, or a component over CORE_NAME_MAX),
 * -EINVAL (not UTF-8) or -ENOMEM on failure.
 */
char *core_blob_name(const struct core_opts *o, const char *path, int *err);
/* core_path_of: the FUSE path of blob name (one below the prefix), or
 * NULL (not below it, out of memory). */
char *core_path_of(const struct core_opts *o, const char *name);
/* core_child_path: malloc'd path of entry name in directory dir (a FUSE
 * path), or NULL. */
char *core_child_path(const char *dir, const char *name);
/* core_dir_prefix: malloc'd listing prefix of the directory whose blob
 * name is name ("name/", or "" for the root), or NULL. */
char *core_dir_prefix(const char *name);
/* core_is_hidden: path is the name libfuse gives a file removed while
 * open (".fuse_hidden..."): it never reaches the server. */
int core_is_hidden(const char *path);
/* core_parent: path's parent directory into buf; -1 when it does not fit
 * or path has no '/'. */
int core_parent(const char *path, char *buf, size_t size);

/* ---- attr.c ---- */
/* core_now: the current time. core_mono: monotonic seconds. */
struct timespec core_now(void);
double core_mono(void);
/* core_mtime_of: mtime metadata, else Last-Modified. */
struct timespec core_mtime_of(const struct blob_props *p);
/* core_attr_from_props: the attributes of a blob. */
void core_attr_from_props(const struct blob_props *p, struct attr *a);
/* core_is_internal_meta: a key of CORE_KEY_*, never a user.* attribute. */
int core_is_internal_meta(const char *name);

/* ---- meta.c: metadata lists (struct blob_meta arrays, each string
 * malloc'd and owned by the list) ---- */
void core_meta_free(struct blob_meta *m, size_t n);
/* core_meta_dup: a copy of src (n entries) into *out. 0 or -ENOMEM. */
int core_meta_dup(const struct blob_meta *src, size_t n,
		  struct blob_meta **out);
/* core_meta_set: sets key to value (NULL: removes it) in *m (n
 * entries), names compared without case. 0 or -ENOMEM. */
int core_meta_set(struct blob_meta **m, size_t *n, const char *key,
		  const char *value);
/*
 * core_meta_posix: sets the POSIX keys of what *a holds (mode when
 * nonzero, uid and gid when has_uid/has_gid, rdev of a device node) in
 * *m. 0 or -ENOMEM.
 */
int core_meta_posix(struct blob_meta **m, size_t *n, const struct attr *a);

#endif
