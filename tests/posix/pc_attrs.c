/* pc_attrs.c -- posixcheck's checks of attributes, as root: chmod and
 * fchmod, chown, fchown and lchown, utimensat and futimens, mknod and
 * mkfifo, the umask, and the change time (st_ctime) that each of these
 * calls must move. */
#define _GNU_SOURCE
#include "pc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* 2001-09-09T01:46:40.25Z, a time no test run happens at */
#define T_SEC 1000000000
#define T_NSEC 250000000L

/* ---- chmod ---- */

static void ck_chmod_file(struct t *t)
{
	if (!mk_file(t, "f", "content", 0644))
		return;
	t_ok(t, "chmod(f, 0640)", chmod("f", 0640));
	t_mode(t, "f", S_IFREG | 0640);
	t_ok(t, "chmod(f, 0)", chmod("f", 0));
	t_mode(t, "f", S_IFREG);
	t_content_str(t, "f", "content");	/* root reads it still */
	t_ok(t, "chmod(f, 07755)", chmod("f", 07755));
	t_mode(t, "f", S_IFREG | 07755);
	t_size(t, "f", 7);
}

static void ck_chmod_dir(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_file(t, "d/f", "F", 0644))
		return;
	t_ok(t, "chmod(d, 0700)", chmod("d", 0700));
	t_mode(t, "d", S_IFDIR | 0700);
	t_ok(t, "chmod(d, 01777)", chmod("d", 01777));
	t_mode(t, "d", S_IFDIR | 01777);
	t_content_str(t, "d/f", "F");
}

static void ck_fchmod(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "abc", 0644))
		return;
	fd = open("f", O_RDWR);
	if (!t_ok(t, "open(f, O_RDWR)", fd))
		return;
	t_ok(t, "fchmod(f, 0600)", fchmod(fd, 0600));
	t_eq(t, "write(f) after fchmod", 1, write(fd, "X", 1));
	t_ok(t, "close(f)", close(fd));
	t_mode(t, "f", S_IFREG | 0600);
	t_content_str(t, "f", "Xbc");
}

static void ck_chmod_symlink(struct t *t)
{
	if (!mk_file(t, "f", "F", 0644) || !mk_symlink(t, "f", "l"))
		return;
	t_ok(t, "chmod(l, 0600) through a symlink", chmod("l", 0600));
	t_mode(t, "f", S_IFREG | 0600);
	t_mode(t, "l", S_IFLNK | 0777);
}

static void ck_chmod_errors(struct t *t)
{
	if (!mk_file(t, "f", "F", 0644))
		return;
	t_err(t, "chmod(missing)", chmod("missing", 0644), ENOENT);
	t_err(t, "chmod(f/x)", chmod("f/x", 0644), ENOTDIR);
	t_mode(t, "f", S_IFREG | 0644);
}

/* ---- chown ---- */

static void ck_chown_file(struct t *t)
{
	if (!mk_file(t, "f", "F", 0640))
		return;
	t_ok(t, "chown(f, 1234, 5678)", chown("f", 1234, 5678));
	t_owner(t, "f", 1234, 5678);
	t_ok(t, "chown(f, 2345, -1)", chown("f", 2345, (gid_t)-1));
	t_owner(t, "f", 2345, 5678);
	t_ok(t, "chown(f, -1, 6789)", chown("f", (uid_t)-1, 6789));
	t_owner(t, "f", 2345, 6789);
	t_ok(t, "chown(f, -1, -1)", chown("f", (uid_t)-1, (gid_t)-1));
	t_owner(t, "f", 2345, 6789);
	t_mode(t, "f", S_IFREG | 0640);
	t_content_str(t, "f", "F");
}

static void ck_chown_dir(struct t *t)
{
	if (!mk_dir(t, "d", 0750))
		return;
	t_ok(t, "chown(d, 1234, 5678)", chown("d", 1234, 5678));
	t_owner(t, "d", 1234, 5678);
	t_mode(t, "d", S_IFDIR | 0750);
}

static void ck_fchown(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "F", 0644))
		return;
	fd = open("f", O_RDONLY);
	if (!t_ok(t, "open(f)", fd))
		return;
	t_ok(t, "fchown(f, 1234, 5678)", fchown(fd, 1234, 5678));
	close(fd);
	t_owner(t, "f", 1234, 5678);
}

static void ck_lchown(struct t *t)
{
	if (!mk_file(t, "f", "F", 0644) || !mk_symlink(t, "f", "l"))
		return;
	t_ok(t, "lchown(l, 1234, 5678)", lchown("l", 1234, 5678));
	t_owner(t, "l", 1234, 5678);
	t_owner(t, "f", getuid(), getgid());
	t_ok(t, "chown(l, 4321, 8765) through the symlink", chown("l", 4321, 8765));
	t_owner(t, "f", 4321, 8765);
	t_owner(t, "l", 1234, 5678);
	t_mode(t, "l", S_IFLNK | 0777);
}

static void ck_chown_errors(struct t *t)
{
	if (!mk_file(t, "f", "F", 0644))
		return;
	t_err(t, "chown(missing)", chown("missing", 1, 1), ENOENT);
	t_err(t, "chown(f/x)", chown("f/x", 1, 1), ENOTDIR);
	t_owner(t, "f", getuid(), getgid());
}

/* ---- utimensat and futimens ---- */

static void ck_utimensat_explicit(struct t *t)
{
	struct timespec ts[2] = { { T_SEC - 3600, 0 }, { T_SEC, T_NSEC } };

	if (!mk_file(t, "f", "F", 0644) || !mk_dir(t, "d", 0755))
		return;
	t_ok(t, "utimensat(f, explicit times)", utimensat(AT_FDCWD, "f", ts, 0));
	t_mtime(t, "f", T_SEC, T_NSEC);
	t_ok(t, "utimensat(d, explicit times)", utimensat(AT_FDCWD, "d", ts, 0));
	t_mtime(t, "d", T_SEC, T_NSEC);
	t_content_str(t, "f", "F");
}

static void ck_utimensat_atime(struct t *t)
{
	struct timespec ts[2] = { { T_SEC - 3600, 0 }, { T_SEC, T_NSEC } };

	if (!mk_file(t, "f", "F", 0644))
		return;
	t_ok(t, "utimensat(f, explicit times)", utimensat(AT_FDCWD, "f", ts, 0));
	t_atime(t, "f", T_SEC - 3600, 0);
}

static void ck_utimensat_now(struct t *t)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	time_t t0, t1;

	if (!mk_file(t, "f", "F", 0644) || !mk_file(t, "g", "G", 0644) ||
	    !set_mtime(t, "f", T_SEC, 0) || !set_mtime(t, "g", T_SEC, 0))
		return;
	t0 = time(NULL);
	t_ok(t, "utimensat(f, NULL)", utimensat(AT_FDCWD, "f", NULL, 0));
	t_ok(t, "utimensat(g, {UTIME_OMIT, UTIME_NOW})", utimensat(AT_FDCWD, "g", ts, 0));
	t1 = time(NULL);
	t_mtime_within(t, "f", t0, t1);
	t_mtime_within(t, "g", t0, t1);
}

static void ck_utimensat_omit(struct t *t)
{
	struct timespec a_only[2] = { { T_SEC + 7, 0 }, { 0, UTIME_OMIT } };
	struct timespec none[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

	if (!mk_file(t, "f", "F", 0644) || !set_mtime(t, "f", T_SEC, T_NSEC))
		return;
	t_ok(t, "utimensat(f, {explicit, UTIME_OMIT})", utimensat(AT_FDCWD, "f", a_only, 0));
	t_mtime(t, "f", T_SEC, T_NSEC);
	t_ok(t, "utimensat(f, {UTIME_OMIT, UTIME_OMIT})", utimensat(AT_FDCWD, "f", none, 0));
	t_mtime(t, "f", T_SEC, T_NSEC);
}

static void ck_utimensat_symlink(struct t *t)
{
	struct timespec ts[2] = { { T_SEC, 0 }, { T_SEC, 0 } };

	if (!mk_file(t, "f", "F", 0644) || !set_mtime(t, "f", T_SEC + 100, 0) ||
	    !mk_symlink(t, "f", "l"))
		return;
	t_ok(t, "utimensat(l, AT_SYMLINK_NOFOLLOW)",
	     utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
	t_mtime(t, "l", T_SEC, 0);
	t_mtime(t, "f", T_SEC + 100, 0);
	t_ok(t, "utimensat(l) following the symlink", utimensat(AT_FDCWD, "l", ts, 0));
	t_mtime(t, "f", T_SEC, 0);
}

static void ck_utimensat_errors(struct t *t)
{
	struct timespec bad[2] = { { T_SEC, 0 }, { T_SEC, 1000000000L } };

	if (!mk_file(t, "f", "F", 0644) || !set_mtime(t, "f", T_SEC + 5, 0))
		return;
	t_err(t, "utimensat(missing)", utimensat(AT_FDCWD, "missing", NULL, 0), ENOENT);
	t_err(t, "utimensat(f, tv_nsec 1000000000)", utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
	t_mtime(t, "f", T_SEC + 5, 0);
}

static void ck_futimens(struct t *t)
{
	struct timespec ts[2] = { { T_SEC, 0 }, { T_SEC, T_NSEC } };
	int fd;

	if (!mk_file(t, "f", "F", 0644))
		return;
	fd = open("f", O_RDONLY);
	if (!t_ok(t, "open(f)", fd))
		return;
	t_ok(t, "futimens(f)", futimens(fd, ts));
	close(fd);
	t_mtime(t, "f", T_SEC, T_NSEC);
}

/* tar and cp -p write a file, then set its times, then close it */
static void ck_futimens_before_close(struct t *t)
{
	struct timespec ts[2] = { { T_SEC, 0 }, { T_SEC, T_NSEC } };
	int fd = open("f", O_CREAT | O_WRONLY | O_TRUNC, 0644);

	if (!t_ok(t, "open(f, O_CREAT)", fd))
		return;
	t_eq(t, "write(f)", 4, write(fd, "data", 4));
	t_ok(t, "futimens(f) before close", futimens(fd, ts));
	t_ok(t, "close(f)", close(fd));
	t_mtime(t, "f", T_SEC, T_NSEC);
	t_content_str(t, "f", "data");
	fd = open("g", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (!t_ok(t, "open(g, O_CREAT)", fd))
		return;
	t_eq(t, "write(g)", 4, write(fd, "data", 4));
	t_ok(t, "utimensat(g) by name while open", utimensat(AT_FDCWD, "g", ts, 0));
	t_ok(t, "close(g)", close(fd));
	t_mtime(t, "g", T_SEC, T_NSEC);
}

static void ck_write_mtime(struct t *t)
{
	time_t t0, t1;
	int fd;

	if (!mk_file(t, "f", "abc", 0644) || !set_mtime(t, "f", T_SEC, 0))
		return;
	t0 = time(NULL);
	fd = open("f", O_WRONLY | O_APPEND);
	if (!t_ok(t, "open(f, O_APPEND)", fd))
		return;
	t_eq(t, "write(f)", 1, write(fd, "d", 1));
	t_ok(t, "close(f)", close(fd));
	t1 = time(NULL);
	t_mtime_within(t, "f", t0, t1);
	t_content_str(t, "f", "abcd");
}

/* ---- st_ctime: every change of the inode moves it ---- */

enum ctime_op { CT_CHMOD, CT_CHOWN, CT_UTIMENS, CT_WRITE, CT_TRUNCATE };

static void ctime_moves(struct t *t, enum ctime_op op)
{
	struct timespec ts[2] = { { T_SEC, 0 }, { T_SEC, 0 } };
	struct stat st;
	time_t t0;
	int fd;

	if (!mk_file(t, "f", "abc", 0644) || !t_lstat(t, "f", &st))
		return;
	pause_tick();
	t0 = time(NULL);
	switch (op) {
	case CT_CHMOD: t_ok(t, "chmod(f, 0600)", chmod("f", 0600)); break;
	case CT_CHOWN: t_ok(t, "chown(f, 1234, 5678)", chown("f", 1234, 5678)); break;
	case CT_UTIMENS: t_ok(t, "utimensat(f, 2001)", utimensat(AT_FDCWD, "f", ts, 0)); break;
	case CT_TRUNCATE: t_ok(t, "truncate(f, 1)", truncate("f", 1)); break;
	case CT_WRITE:
		fd = open("f", O_WRONLY | O_APPEND);
		if (!t_ok(t, "open(f, O_APPEND)", fd))
			return;
		t_eq(t, "write(f)", 1, write(fd, "d", 1));
		t_ok(t, "close(f)", close(fd));
		break;
	}
	t_ctime_after(t, "f", &st.st_ctim, t0);
}

static void ck_ctime_chmod(struct t *t) { ctime_moves(t, CT_CHMOD); }
static void ck_ctime_chown(struct t *t) { ctime_moves(t, CT_CHOWN); }
static void ck_ctime_utimens(struct t *t) { ctime_moves(t, CT_UTIMENS); }
static void ck_ctime_write(struct t *t) { ctime_moves(t, CT_WRITE); }
static void ck_ctime_truncate(struct t *t) { ctime_moves(t, CT_TRUNCATE); }

/* ---- mknod and mkfifo ---- */

static void ck_mknod_fifo(struct t *t)
{
	t_ok(t, "mknod(p, S_IFIFO|0640)", mknod("p", S_IFIFO | 0640, 0));
	t_mode(t, "p", S_IFIFO | 0640);
	t_size(t, "p", 0);
	t_owner(t, "p", getuid(), getgid());
	t_ok(t, "mkfifo(q, 0600)", mkfifo("q", 0600));
	t_mode(t, "q", S_IFIFO | 0600);
	t_err(t, "mkfifo(q) over an existing fifo", mkfifo("q", 0600), EEXIST);
}

static void ck_mknod_socket(struct t *t)
{
	t_ok(t, "mknod(s, S_IFSOCK|0600)", mknod("s", S_IFSOCK | 0600, 0));
	t_mode(t, "s", S_IFSOCK | 0600);
	t_size(t, "s", 0);
}

static void ck_mknod_char(struct t *t)
{
	t_ok(t, "mknod(c, S_IFCHR|0640, 1:3)", mknod("c", S_IFCHR | 0640, makedev(1, 3)));
	t_mode(t, "c", S_IFCHR | 0640);
	t_rdev(t, "c", makedev(1, 3));
	t_size(t, "c", 0);
	t_owner(t, "c", getuid(), getgid());
}

static void ck_mknod_block(struct t *t)
{
	t_ok(t, "mknod(b, S_IFBLK|0660, 7:3)", mknod("b", S_IFBLK | 0660, makedev(7, 3)));
	t_mode(t, "b", S_IFBLK | 0660);
	t_rdev(t, "b", makedev(7, 3));
	t_size(t, "b", 0);
}

static void ck_mknod_regular(struct t *t)
{
	t_ok(t, "mknod(f, S_IFREG|0640)", mknod("f", S_IFREG | 0640, 0));
	t_mode(t, "f", S_IFREG | 0640);
	t_size(t, "f", 0);
}

static void ck_mknod_errors(struct t *t)
{
	if (!mk_file(t, "f", "F", 0644))
		return;
	t_err(t, "mknod(f, S_IFIFO) over a file", mknod("f", S_IFIFO | 0644, 0), EEXIST);
	t_err(t, "mknod(nodir/p, S_IFIFO)", mknod("nodir/p", S_IFIFO | 0644, 0), ENOENT);
	t_mode(t, "f", S_IFREG | 0644);
	t_content_str(t, "f", "F");
}

static void ck_mknod_fifo_works(struct t *t)
{
	char buf[8] = "";
	int r, w;

	if (!t_ok(t, "mkfifo(p, 0600)", mkfifo("p", 0600)))
		return;
	r = open("p", O_RDONLY | O_NONBLOCK);
	if (!t_ok(t, "open(p, O_RDONLY|O_NONBLOCK)", r))
		return;
	w = open("p", O_WRONLY | O_NONBLOCK);
	if (t_ok(t, "open(p, O_WRONLY) with a reader", w)) {
		t_eq(t, "write(p, ping)", 4, write(w, "ping", 4));
		t_eq(t, "read(p)", 4, read(r, buf, sizeof(buf)));
		if (memcmp(buf, "ping", 4) != 0)
			t_fail(t, "read(p): expected \"ping\", got \"%.4s\"", buf);
		close(w);
	}
	close(r);
	t_size(t, "p", 0);
}

/* ---- the umask ---- */

static void ck_umask(struct t *t)
{
	int fd;

	umask(022);
	fd = open("f", O_CREAT | O_WRONLY, 0666);
	if (t_ok(t, "open(f, O_CREAT, 0666) under umask 022", fd))
		close(fd);
	umask(027);
	t_ok(t, "mkfifo(p, 0666) under umask 027", mkfifo("p", 0666));
	t_ok(t, "mknod(c, S_IFCHR|0666) under umask 027",
	     mknod("c", S_IFCHR | 0666, makedev(1, 3)));
	umask(077);
	t_ok(t, "symlink(f, l) under umask 077", symlink("f", "l"));
	umask(0);
	t_mode(t, "f", S_IFREG | 0644);
	t_mode(t, "p", S_IFIFO | 0640);
	t_mode(t, "c", S_IFCHR | 0640);
	t_mode(t, "l", S_IFLNK | 0777);
}

const struct pc_check pc_attr_checks[] = {
	{ "chmod.file", ck_chmod_file, 0 },
	{ "chmod.dir", ck_chmod_dir, 0 },
	{ "chmod.fchmod", ck_fchmod, 0 },
	{ "chmod.symlink", ck_chmod_symlink, 0 },
	{ "chmod.errors", ck_chmod_errors, 0 },
	{ "chown.file", ck_chown_file, 0 },
	{ "chown.dir", ck_chown_dir, 0 },
	{ "chown.fchown", ck_fchown, 0 },
	{ "chown.lchown", ck_lchown, 0 },
	{ "chown.errors", ck_chown_errors, 0 },
	{ "utimensat.explicit", ck_utimensat_explicit, 0 },
	{ "utimensat.atime", ck_utimensat_atime, 0 },
	{ "utimensat.now", ck_utimensat_now, 0 },
	{ "utimensat.omit", ck_utimensat_omit, 0 },
	{ "utimensat.symlink_nofollow", ck_utimensat_symlink, 0 },
	{ "utimensat.errors", ck_utimensat_errors, 0 },
	{ "utimensat.futimens", ck_futimens, 0 },
	{ "utimensat.before_close", ck_futimens_before_close, 0 },
	{ "write.mtime", ck_write_mtime, 0 },
	{ "ctime.chmod", ck_ctime_chmod, 0 },
	{ "ctime.chown", ck_ctime_chown, 0 },
	{ "ctime.utimensat", ck_ctime_utimens, 0 },
	{ "ctime.write", ck_ctime_write, 0 },
	{ "ctime.truncate", ck_ctime_truncate, 0 },
	{ "mknod.fifo", ck_mknod_fifo, 0 },
	{ "mknod.socket", ck_mknod_socket, 0 },
	{ "mknod.char", ck_mknod_char, 0 },
	{ "mknod.block", ck_mknod_block, 0 },
	{ "mknod.regular", ck_mknod_regular, 0 },
	{ "mknod.errors", ck_mknod_errors, 0 },
	{ "mknod.fifo_works", ck_mknod_fifo_works, 0 },
	{ "umask.create", ck_umask, 0 },
	{ NULL, NULL, 0 },
};
