/* pc.h -- what the sources of posixcheck share: the state of one check,
 * the assertions that fill it, the operations a check runs as another
 * user, and the tables of checks.
 *
 * Why a program in C: a shell sees "Permission denied", not whether the
 * call failed with EACCES or EPERM, and cannot ask for O_NOFOLLOW,
 * RENAME_NOREPLACE or UTIME_OMIT. Each check asserts the return value
 * and errno POSIX gives for one call and the attributes it leaves.
 *
 * Each check runs in a child process of its own, with umask 0, in a
 * fresh directory named after it that is its current directory; every
 * path a check names is relative to it, so a process that dropped to an
 * unprivileged uid (pc_other) reaches it without searching the
 * directories above. Single-threaded; nothing here is shared between
 * checks but the read-only options. */
#ifndef PC_H
#define PC_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* The Blob service's limit on a blob name, in characters (ASCII here). */
#define PC_BLOB_NAME_MAX 1024

struct pc_opts {
	uid_t other_uid;	/* the unprivileged user of the permission checks */
	gid_t other_gid;
	size_t name_base;	/* bytes the blob name of a check's directory
				 * takes before a name in it, with its '/' */
};

/* one check's outcome, filled by the assertions below */
struct t {
	const char *name;
	int limit;		/* errno LIMITS says the mount answers, or 0 */
	const struct pc_opts *o;
	size_t base;		/* blob name bytes before a name in the cwd */
	char msg[3072];		/* the failures, "; "-separated */
	size_t len;
	int fails;
};

struct pc_check {
	const char *name;
	void (*fn)(struct t *t);
	int limitable;		/* handles t->limit; may be listed in LIMITS */
};

/* The tables, each ended by an entry with a NULL name. */
extern const struct pc_check pc_file_checks[];	/* pc_files.c */
extern const struct pc_check pc_name_checks[];	/* pc_names.c */
extern const struct pc_check pc_attr_checks[];	/* pc_attrs.c */
extern const struct pc_check pc_perm_checks[];	/* pc_perm.c */
extern const struct pc_check pc_persist_setup[];	/* pc_persist.c */
extern const struct pc_check pc_persist_verify[];	/* pc_persist.c */

/* ---- assertions (pc_util.c) ----
 * Each records a failure in t and returns 0, or returns 1. Those taking
 * RC read errno first thing: pass the call itself as RC, e.g.
 * t_err(t, "unlink(d)", unlink("d"), EISDIR). */
void t_fail(struct t *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int t_ok(struct t *t, const char *what, long rc);	/* rc >= 0 */
int t_err(struct t *t, const char *what, long rc, int want);
int t_err2(struct t *t, const char *what, long rc, int want1, int want2);
int t_eq(struct t *t, const char *what, long long want, long long got);

/* lstat(path) into st, a failure recorded when it fails */
int t_lstat(struct t *t, const char *path, struct stat *st);
int t_mode(struct t *t, const char *path, mode_t want);	/* whole st_mode */
int t_owner(struct t *t, const char *path, uid_t uid, gid_t gid);
int t_size(struct t *t, const char *path, off_t size);
int t_rdev(struct t *t, const char *path, dev_t rdev);
int t_absent(struct t *t, const char *path);	/* lstat says ENOENT */
int t_content(struct t *t, const char *path, const void *data, size_t len);
int t_content_str(struct t *t, const char *path, const char *s);
/* st_mtime is SEC, and its nanoseconds NSEC or NSEC cut to a coarser
 * granularity (a file system may keep microseconds, or seconds) */
int t_mtime(struct t *t, const char *path, time_t sec, long nsec);
/* st_mtime (st_atime, st_ctime) is within [lo - 2, hi + 2] */
int t_mtime_within(struct t *t, const char *path, time_t lo, time_t hi);
int t_atime(struct t *t, const char *path, time_t sec, long nsec);
int t_ctime_after(struct t *t, const char *path, const struct timespec *before,
		  time_t lo);
/* the names in DIR other than "." and "..", sorted, '/'-separated */
int t_list(struct t *t, const char *dir, const char *want);
int t_list_as(struct t *t, const char *dir, const char *label, const char *want);

/* ---- fixtures (pc_util.c): a failure is recorded as "setup: ..." ---- */
int mk_file(struct t *t, const char *path, const char *data, mode_t mode);
int mk_dir(struct t *t, const char *path, mode_t mode);
int mk_symlink(struct t *t, const char *target, const char *path);
int set_owner(struct t *t, const char *path, uid_t uid, gid_t gid);
int set_mode(struct t *t, const char *path, mode_t mode);
int set_mtime(struct t *t, const char *path, time_t sec, long nsec);
void pause_tick(void);	/* sleeps past the next whole second */
/* a path whose blob name is exactly LEN bytes, its directories made */
char *long_path(struct t *t, size_t len, int make_dirs);

/* ---- as another user (pc_util.c) ---- */
enum pc_op_kind {
	OP_OPEN, OP_CREATE, OP_MKDIR, OP_UNLINK, OP_RMDIR, OP_RENAME,
	OP_CHMOD, OP_CHOWN, OP_UTIMES_NOW, OP_UTIMES_SET, OP_TRUNCATE,
	OP_STAT, OP_MKNOD,
};

struct pc_op {
	enum pc_op_kind kind;
	const char *a, *b;	/* path, and the new path of OP_RENAME */
	int flags;		/* OP_OPEN, OP_CREATE */
	mode_t mode;		/* OP_CREATE, OP_MKDIR, OP_CHMOD, OP_MKNOD */
	uid_t uid;		/* OP_CHOWN ((uid_t)-1 keeps it) */
	gid_t gid;
	dev_t dev;		/* OP_MKNOD */
	off_t size;		/* OP_TRUNCATE */
};

/* runs OP in a child that dropped to o->other_uid/other_gid (no
 * supplementary groups): records a failure unless it ended with WANT
 * (0: success) or WANT2 (another errno POSIX allows; 0 if none) */
int t_other(struct t *t, const char *what, const struct pc_op *op, int want,
	    int want2);

/* ---- helpers (pc_util.c) ---- */
const char *pc_errname(int e);	/* "ENOENT", or the number */
int pc_errno_of(const char *name);	/* 0 when unknown */
char *pc_rm_rf(const char *path);	/* NULL, or what failed (malloc'd) */
void pc_fmt_mode(char *buf, size_t n, mode_t m);	/* "0100644" */

#endif
