/* pc_files.c -- posixcheck's checks of the namespace: open and creat
 * flags, unlink, rename, mkdir, rmdir, truncate, symlinks and hard
 * links. Each asserts what POSIX (and Linux, where POSIX lets the system
 * choose) answers, then what the call left behind. */
#define _GNU_SOURCE
#include "pc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- open and creat ---- */

static void ck_open_creat(struct t *t)
{
	int fd = open("f", O_CREAT | O_WRONLY, 0640);

	if (!t_ok(t, "open(f, O_CREAT|O_WRONLY, 0640)", fd))
		return;
	t_ok(t, "close(f)", close(fd));
	t_list(t, ".", "f");
	t_mode(t, "f", S_IFREG | 0640);
	t_owner(t, "f", getuid(), getgid());
	t_size(t, "f", 0);
}

static void ck_open_creat_existing(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "keep", 0600))
		return;
	fd = open("f", O_CREAT | O_WRONLY, 0644);
	if (t_ok(t, "open(f, O_CREAT|O_WRONLY) of an existing file", fd))
		close(fd);
	t_content_str(t, "f", "keep");
	t_mode(t, "f", S_IFREG | 0600);
}

static void ck_open_excl_exists(struct t *t)
{
	if (!mk_file(t, "f", "keep", 0644))
		return;
	t_err(t, "open(f, O_CREAT|O_EXCL) of an existing file",
	      open("f", O_CREAT | O_EXCL | O_WRONLY, 0600), EEXIST);
	t_content_str(t, "f", "keep");
	t_mode(t, "f", S_IFREG | 0644);
}

static void ck_open_excl_new(struct t *t)
{
	int fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0600);

	if (!t_ok(t, "open(f, O_CREAT|O_EXCL|O_WRONLY, 0600)", fd))
		return;
	t_ok(t, "write(f)", write(fd, "new", 3));
	t_ok(t, "close(f)", close(fd));
	t_mode(t, "f", S_IFREG | 0600);
	t_content_str(t, "f", "new");
}

static void ck_open_excl_symlink(struct t *t)
{
	if (!mk_symlink(t, "target", "l"))
		return;
	t_err(t, "open(l, O_CREAT|O_EXCL) of a dangling symlink",
	      open("l", O_CREAT | O_EXCL | O_WRONLY, 0600), EEXIST);
	t_absent(t, "target");
	t_mode(t, "l", S_IFLNK | 0777);
}

static void ck_open_creat_dangling(struct t *t)
{
	int fd;

	if (!mk_symlink(t, "target", "l"))
		return;
	fd = open("l", O_CREAT | O_WRONLY, 0600);
	if (!t_ok(t, "open(l, O_CREAT) through a dangling symlink", fd))
		return;
	t_ok(t, "write(l)", write(fd, "x", 1));
	t_ok(t, "close(l)", close(fd));
	t_mode(t, "target", S_IFREG | 0600);
	t_content_str(t, "target", "x");
	t_mode(t, "l", S_IFLNK | 0777);
}

static void ck_open_trunc(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "abcdef", 0640))
		return;
	fd = open("f", O_WRONLY | O_TRUNC);
	if (t_ok(t, "open(f, O_WRONLY|O_TRUNC)", fd))
		t_ok(t, "close(f)", close(fd));
	t_size(t, "f", 0);
	t_mode(t, "f", S_IFREG | 0640);
}

static void rdonly_creat(struct t *t, int excl)
{
	struct stat st;
	char c;
	int fd = open("f", O_RDONLY | O_CREAT | (excl ? O_EXCL : 0), 0640);

	if (!t_ok(t, excl ? "open(f, O_RDONLY|O_CREAT|O_EXCL, 0640)"
		  : "open(f, O_RDONLY|O_CREAT, 0640)", fd))
		return;
	t_err(t, "write on the O_RDONLY descriptor", write(fd, "x", 1), EBADF);
	t_eq(t, "read(f) of the new file", 0, read(fd, &c, 1));
	if (t_ok(t, "fstat(f)", fstat(fd, &st)))
		t_eq(t, "st_size by fstat", 0, st.st_size);
	t_ok(t, "close(f)", close(fd));
	t_list(t, ".", "f");
	t_mode(t, "f", S_IFREG | 0640);
	t_owner(t, "f", getuid(), getgid());
	t_size(t, "f", 0);
	fd = open("f", O_RDONLY);
	if (t_ok(t, "open(f, O_RDONLY) after close", fd))
		close(fd);
}

static void ck_open_rdonly_creat(struct t *t)
{
	rdonly_creat(t, 0);
}

static void ck_open_rdonly_creat_excl(struct t *t)
{
	rdonly_creat(t, 1);
}

static void ck_open_append(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "abc", 0644))
		return;
	fd = open("f", O_WRONLY | O_APPEND);
	if (!t_ok(t, "open(f, O_WRONLY|O_APPEND)", fd))
		return;
	t_ok(t, "lseek(f, 0)", lseek(fd, 0, SEEK_SET));
	t_eq(t, "write(f, de)", 2, write(fd, "de", 2));
	t_eq(t, "offset after the append", 5, lseek(fd, 0, SEEK_CUR));
	t_ok(t, "lseek(f, 1)", lseek(fd, 1, SEEK_SET));
	t_eq(t, "write(f, fg)", 2, write(fd, "fg", 2));
	t_ok(t, "close(f)", close(fd));
	t_content_str(t, "f", "abcdefg");
}

static void ck_open_directory(struct t *t)
{
	struct stat st;
	int fd;

	if (!mk_file(t, "f", "x", 0644) || !mk_dir(t, "d", 0755))
		return;
	t_err(t, "open(f, O_DIRECTORY) of a file", open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	fd = open("d", O_RDONLY | O_DIRECTORY);
	if (!t_ok(t, "open(d, O_DIRECTORY)", fd))
		return;
	if (t_ok(t, "fstat(d)", fstat(fd, &st)) && !S_ISDIR(st.st_mode))
		t_fail(t, "fstat(d): expected a directory, got st_mode 0%o", (unsigned)st.st_mode);
	close(fd);
}

static void ck_open_nofollow(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "x", 0644) || !mk_symlink(t, "f", "l"))
		return;
	t_err(t, "open(l, O_NOFOLLOW) of a symlink", open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
	t_err(t, "open(l, O_NOFOLLOW|O_CREAT) of a symlink",
	      open("l", O_WRONLY | O_NOFOLLOW | O_CREAT, 0644), ELOOP);
	fd = open("f", O_RDONLY | O_NOFOLLOW);
	if (t_ok(t, "open(f, O_NOFOLLOW) of a file", fd))
		close(fd);
	t_content_str(t, "f", "x");
}

static void ck_open_dir_write(struct t *t)
{
	if (!mk_dir(t, "d", 0755))
		return;
	t_err(t, "open(d, O_WRONLY)", open("d", O_WRONLY), EISDIR);
	t_err(t, "open(d, O_RDWR)", open("d", O_RDWR), EISDIR);
	t_err(t, "open(d, O_CREAT|O_WRONLY)", open("d", O_CREAT | O_WRONLY, 0644), EISDIR);
	t_mode(t, "d", S_IFDIR | 0755);
}

static void ck_open_noent(struct t *t)
{
	t_err(t, "open(missing, O_RDONLY)", open("missing", O_RDONLY), ENOENT);
	t_err(t, "open(nodir/f, O_CREAT)", open("nodir/f", O_CREAT | O_WRONLY, 0644), ENOENT);
	t_absent(t, "nodir");
}

static void ck_open_enotdir(struct t *t)
{
	if (!mk_file(t, "f", "x", 0644))
		return;
	t_err(t, "open(f/x, O_RDONLY)", open("f/x", O_RDONLY), ENOTDIR);
	t_err(t, "open(f/x, O_CREAT)", open("f/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	t_content_str(t, "f", "x");
}

static void ck_open_access_mode(struct t *t)
{
	char c;
	int fd;

	if (!mk_file(t, "f", "abc", 0644))
		return;
	fd = open("f", O_RDONLY);
	if (t_ok(t, "open(f, O_RDONLY)", fd)) {
		t_err(t, "write on an O_RDONLY descriptor", write(fd, "x", 1), EBADF);
		close(fd);
	}
	fd = open("f", O_WRONLY);
	if (t_ok(t, "open(f, O_WRONLY)", fd)) {
		t_err(t, "read on an O_WRONLY descriptor", read(fd, &c, 1), EBADF);
		close(fd);
	}
	t_content_str(t, "f", "abc");
}

static void ck_open_rdwr(struct t *t)
{
	char buf[8] = "";
	int fd = open("f", O_RDWR | O_CREAT, 0644);

	if (!t_ok(t, "open(f, O_RDWR|O_CREAT)", fd))
		return;
	t_eq(t, "write(f, hello)", 5, write(fd, "hello", 5));
	t_eq(t, "pread(f) of what was written", 5, pread(fd, buf, sizeof(buf), 0));
	if (memcmp(buf, "hello", 5) != 0)
		t_fail(t, "pread(f): expected \"hello\", got \"%.5s\"", buf);
	t_ok(t, "close(f)", close(fd));
	t_content_str(t, "f", "hello");
}

static void ck_open_mode_zero(struct t *t)
{
	int fd = open("f", O_CREAT | O_WRONLY, 0);

	if (!t_ok(t, "open(f, O_CREAT|O_WRONLY, 0)", fd))
		return;
	t_eq(t, "write(f)", 2, write(fd, "ok", 2));
	t_ok(t, "close(f)", close(fd));
	t_mode(t, "f", S_IFREG);
	/* the owner is root here: no permission bit needed */
	t_content_str(t, "f", "ok");
}

static void ck_creat_new(struct t *t)
{
	int fd = creat("f", 0640);

	if (!t_ok(t, "creat(f, 0640)", fd))
		return;
	t_eq(t, "write(f)", 3, write(fd, "abc", 3));
	t_ok(t, "close(f)", close(fd));
	t_mode(t, "f", S_IFREG | 0640);
	t_content_str(t, "f", "abc");
}

static void ck_creat_existing(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "old content", 0644))
		return;
	fd = creat("f", 0600);
	if (t_ok(t, "creat(f, 0600) of an existing file", fd))
		t_ok(t, "close(f)", close(fd));
	t_size(t, "f", 0);
	t_mode(t, "f", S_IFREG | 0644);
}

/* ---- unlink ---- */

static void ck_unlink_file(struct t *t)
{
	if (!mk_file(t, "f", "x", 0644))
		return;
	t_ok(t, "unlink(f)", unlink("f"));
	t_absent(t, "f");
	t_list(t, ".", "");
}

static void ck_unlink_errors(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_file(t, "f", "x", 0644))
		return;
	/* POSIX: EPERM; Linux: EISDIR */
	t_err2(t, "unlink(d) of a directory", unlink("d"), EISDIR, EPERM);
	t_err(t, "unlink(missing)", unlink("missing"), ENOENT);
	t_err(t, "unlink(f/x)", unlink("f/x"), ENOTDIR);
	t_mode(t, "d", S_IFDIR | 0755);
	t_content_str(t, "f", "x");
}

static void ck_unlink_symlink(struct t *t)
{
	if (!mk_file(t, "f", "target", 0644) || !mk_symlink(t, "f", "l"))
		return;
	t_ok(t, "unlink(l)", unlink("l"));
	t_absent(t, "l");
	t_content_str(t, "f", "target");
}

static void ck_unlink_open_file(struct t *t)
{
	struct stat st;
	char buf[16] = "";
	int fd;

	if (!mk_file(t, "f", "still here", 0644))
		return;
	fd = open("f", O_RDONLY);
	if (!t_ok(t, "open(f)", fd))
		return;
	t_ok(t, "unlink(f) while open", unlink("f"));
	t_absent(t, "f");
	t_eq(t, "pread of the unlinked file", 10, pread(fd, buf, sizeof(buf), 0));
	if (memcmp(buf, "still here", 10) != 0)
		t_fail(t, "pread of the unlinked file: expected \"still here\", got \"%.10s\"", buf);
	if (t_ok(t, "fstat of the unlinked file", fstat(fd, &st)))
		t_eq(t, "st_size by fstat", 10, st.st_size);
	close(fd);
}

/* ---- rename ---- */

static void ck_rename_file(struct t *t)
{
	if (!mk_file(t, "a", "A", 0600))
		return;
	t_ok(t, "rename(a, b)", rename("a", "b"));
	t_absent(t, "a");
	t_content_str(t, "b", "A");
	t_mode(t, "b", S_IFREG | 0600);
}

static void ck_rename_over_file(struct t *t)
{
	if (!mk_file(t, "a", "A", 0600) || !mk_file(t, "b", "BB", 0644))
		return;
	t_ok(t, "rename(a, b) over a file", rename("a", "b"));
	t_absent(t, "a");
	t_content_str(t, "b", "A");
	t_mode(t, "b", S_IFREG | 0600);
}

static void ck_rename_dir(struct t *t)
{
	if (!mk_dir(t, "d", 0700) || !mk_dir(t, "d/s", 0755) || !mk_file(t, "d/s/f", "F", 0644))
		return;
	t_ok(t, "rename(d, e)", rename("d", "e"));
	t_absent(t, "d");
	t_mode(t, "e", S_IFDIR | 0700);
	t_mode(t, "e/s", S_IFDIR | 0755);
	t_content_str(t, "e/s/f", "F");
}

static void ck_rename_dir_over_empty(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_file(t, "d/f", "F", 0644) || !mk_dir(t, "e", 0700))
		return;
	t_ok(t, "rename(d, e) over an empty directory", rename("d", "e"));
	t_absent(t, "d");
	t_mode(t, "e", S_IFDIR | 0755);
	t_content_str(t, "e/f", "F");
}

static void ck_rename_dir_over_nonempty(struct t *t)
{
	int fd;

	if (!mk_dir(t, "d", 0755) || !mk_file(t, "d/f", "F", 0644) || !mk_dir(t, "e", 0755) ||
	    !mk_file(t, "e/g", "G", 0644))
		return;
	t_err2(t, "rename(d, e) over a non-empty directory", rename("d", "e"), ENOTEMPTY, EEXIST);
	t_content_str(t, "d/f", "F");
	t_content_str(t, "e/g", "G");
	t_absent(t, "e/f");
	/* a file just created in the target and still open counts */
	if (!mk_dir(t, "h", 0755))
		return;
	fd = open("h/new", O_WRONLY | O_CREAT | O_TRUNC, 0640);
	t_ok(t, "open(h/new, O_WRONLY|O_CREAT|O_TRUNC)", fd < 0 ? -1 : 0);
	t_err2(t, "rename(d, h) over a directory holding a file still open",
	       rename("d", "h"), ENOTEMPTY, EEXIST);
	if (fd >= 0)
		close(fd);
	t_content_str(t, "d/f", "F");
	t_mode(t, "h/new", S_IFREG | 0640);
}

static void ck_rename_type_mismatch(struct t *t)
{
	if (!mk_file(t, "a", "A", 0644) || !mk_dir(t, "d", 0755))
		return;
	t_err(t, "rename(a, d): a file over a directory", rename("a", "d"), EISDIR);
	t_err(t, "rename(d, a): a directory over a file", rename("d", "a"), ENOTDIR);
	t_content_str(t, "a", "A");
	t_mode(t, "d", S_IFDIR | 0755);
}

static void ck_rename_into_self(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_dir(t, "d/s", 0755))
		return;
	t_err(t, "rename(d, d/s/x): into its own subdirectory", rename("d", "d/s/x"), EINVAL);
	t_err(t, "rename(d, d/x)", rename("d", "d/x"), EINVAL);
	t_mode(t, "d/s", S_IFDIR | 0755);
	t_absent(t, "d/s/x");
}

static void ck_rename_noreplace(struct t *t)
{
	if (!mk_file(t, "a", "A", 0644) || !mk_file(t, "b", "B", 0644))
		return;
	t_err(t, "renameat2(a, b, RENAME_NOREPLACE) over a file",
	      renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
	t_content_str(t, "a", "A");
	t_content_str(t, "b", "B");
	t_ok(t, "renameat2(a, c, RENAME_NOREPLACE) to a new name",
	     renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	t_absent(t, "a");
	t_content_str(t, "c", "A");
}

static void ck_rename_errors(struct t *t)
{
	if (!mk_file(t, "a", "A", 0644) || !mk_file(t, "f", "F", 0644))
		return;
	t_ok(t, "rename(a, a) onto itself", rename("a", "a"));
	t_content_str(t, "a", "A");
	t_err(t, "rename(missing, b)", rename("missing", "b"), ENOENT);
	t_err(t, "rename(a, nodir/b)", rename("a", "nodir/b"), ENOENT);
	t_err(t, "rename(a, f/x)", rename("a", "f/x"), ENOTDIR);
	t_content_str(t, "a", "A");
	t_absent(t, "b");
}

static void ck_rename_keeps_attrs(struct t *t)
{
	if (!mk_file(t, "a", "A", 0600) || !set_owner(t, "a", 1234, 5678) ||
	    !set_mtime(t, "a", 1000000000, 0))
		return;
	t_ok(t, "rename(a, b)", rename("a", "b"));
	t_mode(t, "b", S_IFREG | 0600);
	t_owner(t, "b", 1234, 5678);
	t_mtime(t, "b", 1000000000, 0);
}

static void ck_rename_symlink(struct t *t)
{
	char buf[32];
	ssize_t n;

	if (!mk_symlink(t, "some/target", "l"))
		return;
	t_ok(t, "rename(l, m) of a symlink", rename("l", "m"));
	t_absent(t, "l");
	t_mode(t, "m", S_IFLNK | 0777);
	n = readlink("m", buf, sizeof(buf));
	if (t_eq(t, "readlink(m)", 11, n) && memcmp(buf, "some/target", 11) != 0)
		t_fail(t, "readlink(m): expected \"some/target\", got \"%.11s\"", buf);
}

/* ---- mkdir and rmdir ---- */

static void ck_mkdir_mode(struct t *t)
{
	t_ok(t, "mkdir(d, 0750)", mkdir("d", 0750));
	t_mode(t, "d", S_IFDIR | 0750);
	t_owner(t, "d", getuid(), getgid());
	t_list(t, "d", "");
	t_ok(t, "mkdir(s, 01777)", mkdir("s", 01777));
	t_mode(t, "s", S_IFDIR | 01777);
}

static void ck_mkdir_umask(struct t *t)
{
	umask(027);
	t_ok(t, "mkdir(d, 0777) under umask 027", mkdir("d", 0777));
	umask(0);
	t_mode(t, "d", S_IFDIR | 0750);
}

static void ck_mkdir_errors(struct t *t)
{
	if (!mk_dir(t, "d", 0700) || !mk_file(t, "f", "F", 0644))
		return;
	t_err(t, "mkdir(d) of an existing directory", mkdir("d", 0755), EEXIST);
	t_err(t, "mkdir(f) of an existing file", mkdir("f", 0755), EEXIST);
	t_err(t, "mkdir(nodir/d)", mkdir("nodir/d", 0755), ENOENT);
	t_err(t, "mkdir(f/d)", mkdir("f/d", 0755), ENOTDIR);
	t_mode(t, "d", S_IFDIR | 0700);
	t_content_str(t, "f", "F");
	t_absent(t, "nodir");
}

static void ck_rmdir_empty(struct t *t)
{
	if (!mk_dir(t, "d", 0755))
		return;
	t_ok(t, "rmdir(d)", rmdir("d"));
	t_absent(t, "d");
}

static void ck_rmdir_nonempty(struct t *t)
{
	int fd;

	if (!mk_dir(t, "d", 0755) || !mk_file(t, "d/f", "F", 0644))
		return;
	t_err2(t, "rmdir(d) of a non-empty directory", rmdir("d"), ENOTEMPTY, EEXIST);
	t_content_str(t, "d/f", "F");
	if (!mk_dir(t, "e", 0755) || !mk_dir(t, "e/s", 0755))
		return;
	t_err2(t, "rmdir(e) holding an empty directory", rmdir("e"), ENOTEMPTY, EEXIST);
	t_mode(t, "e/s", S_IFDIR | 0755);
	/* a file just created and still open counts, written or not */
	if (!mk_dir(t, "g", 0755))
		return;
	fd = open("g/new", O_WRONLY | O_CREAT | O_TRUNC, 0640);

	t_ok(t, "open(g/new, O_WRONLY|O_CREAT|O_TRUNC)", fd < 0 ? -1 : 0);
	t_err2(t, "rmdir(g) holding a file still open", rmdir("g"), ENOTEMPTY, EEXIST);
	if (fd >= 0)
		close(fd);
	t_mode(t, "g/new", S_IFREG | 0640);
}

/* a directory whose only file was unlinked while still open */
static void ck_rmdir_unlinked_open(struct t *t)
{
	int fd;

	if (!mk_dir(t, "d", 0755))
		return;
	fd = open("d/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!t_ok(t, "open(d/f, O_RDWR|O_CREAT|O_TRUNC)", fd < 0 ? -1 : 0))
		return;
	t_ok(t, "unlink(d/f) while open", unlink("d/f"));
	if (t->limit) {
		t_err(t, "rmdir(d) holding d/f unlinked and open", rmdir("d"), t->limit);
		t_mode(t, "d", S_IFDIR | 0755);
	} else {
		t_ok(t, "rmdir(d) holding d/f unlinked and open", rmdir("d"));
		t_absent(t, "d");
	}
	t_eq(t, "write(fd) after both", 2, (long long)write(fd, "ok", 2));
	t_eq(t, "pread(fd) after both", 2, (long long)pread(fd, (char[2]){ 0 }, 2, 0));
	close(fd);
}

static void ck_rmdir_errors(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_file(t, "f", "F", 0644) || !mk_symlink(t, "d", "l"))
		return;
	t_err(t, "rmdir(f) of a file", rmdir("f"), ENOTDIR);
	t_err(t, "rmdir(l) of a symlink to a directory", rmdir("l"), ENOTDIR);
	t_err(t, "rmdir(d/.)", rmdir("d/."), EINVAL);
	t_err(t, "rmdir(missing)", rmdir("missing"), ENOENT);
	t_content_str(t, "f", "F");
	t_mode(t, "d", S_IFDIR | 0755);
	t_mode(t, "l", S_IFLNK | 0777);
}

/* ---- truncate and ftruncate ---- */

static void ck_truncate_grow(struct t *t)
{
	if (!mk_file(t, "f", "abc", 0644))
		return;
	t_ok(t, "truncate(f, 10)", truncate("f", 10));
	t_size(t, "f", 10);
	t_content(t, "f", "abc\0\0\0\0\0\0\0", 10);
}

static void ck_truncate_shrink(struct t *t)
{
	if (!mk_file(t, "f", "abcdef", 0644) || !mk_file(t, "g", "abcdef", 0644))
		return;
	t_ok(t, "truncate(f, 2)", truncate("f", 2));
	t_content_str(t, "f", "ab");
	t_ok(t, "truncate(g, 0)", truncate("g", 0));
	t_size(t, "g", 0);
}

static void ck_truncate_errors(struct t *t)
{
	if (!mk_file(t, "f", "abc", 0644) || !mk_dir(t, "d", 0755))
		return;
	t_err(t, "truncate(f, -1)", truncate("f", -1), EINVAL);
	t_err(t, "truncate(d, 0) of a directory", truncate("d", 0), EISDIR);
	t_err(t, "truncate(missing, 0)", truncate("missing", 0), ENOENT);
	t_err(t, "truncate(f/x, 0)", truncate("f/x", 0), ENOTDIR);
	t_content_str(t, "f", "abc");
	t_absent(t, "missing");
}

static void ck_truncate_mtime(struct t *t)
{
	time_t t0, t1;

	if (!mk_file(t, "f", "abc", 0644) || !set_mtime(t, "f", 1000000000, 0))
		return;
	t0 = time(NULL);
	t_ok(t, "truncate(f, 1)", truncate("f", 1));
	t1 = time(NULL);
	t_mtime_within(t, "f", t0, t1);
}

static void ck_ftruncate(struct t *t)
{
	char buf[4] = "";
	int fd;

	if (!mk_file(t, "f", "abcdef", 0644))
		return;
	fd = open("f", O_RDWR);
	if (!t_ok(t, "open(f, O_RDWR)", fd))
		return;
	t_ok(t, "ftruncate(f, 3)", ftruncate(fd, 3));
	t_eq(t, "pread(f) after the shrink", 3, pread(fd, buf, sizeof(buf), 0));
	t_ok(t, "ftruncate(f, 8192)", ftruncate(fd, 8192));
	t_eq(t, "pread(f) of the last byte after the growth", 1, pread(fd, buf, 1, 8191));
	if (buf[0] != 0)
		t_fail(t, "the grown part of f: expected a zero byte, got 0x%02x", buf[0]);
	t_err(t, "ftruncate(f, -1)", ftruncate(fd, -1), EINVAL);
	t_ok(t, "close(f)", close(fd));
	t_size(t, "f", 8192);
}

static void ck_ftruncate_errors(struct t *t)
{
	int fd;

	if (!mk_file(t, "f", "abc", 0644) || !mk_dir(t, "d", 0755))
		return;
	fd = open("f", O_RDONLY);
	if (t_ok(t, "open(f, O_RDONLY)", fd)) {
		/* POSIX: EBADF or EINVAL; Linux: EINVAL */
		t_err2(t, "ftruncate of an O_RDONLY descriptor", ftruncate(fd, 0), EINVAL, EBADF);
		close(fd);
	}
	fd = open("d", O_RDONLY | O_DIRECTORY);
	if (t_ok(t, "open(d, O_DIRECTORY)", fd)) {
		t_err2(t, "ftruncate of a directory", ftruncate(fd, 0), EINVAL, EBADF);
		close(fd);
	}
	t_content_str(t, "f", "abc");
}

/* ---- symlinks ---- */

static void ck_symlink(struct t *t)
{
	char buf[64];
	struct stat st;
	ssize_t n;

	if (!mk_file(t, "f", "target data", 0640))
		return;
	t_ok(t, "symlink(f, l)", symlink("f", "l"));
	t_mode(t, "l", S_IFLNK | 0777);
	t_size(t, "l", 1);
	t_owner(t, "l", getuid(), getgid());
	n = readlink("l", buf, sizeof(buf));
	if (t_eq(t, "readlink(l)", 1, n) && buf[0] != 'f')
		t_fail(t, "readlink(l): expected \"f\", got \"%c\"", buf[0]);
	if (t_ok(t, "stat(l) follows", stat("l", &st)) && st.st_mode != (S_IFREG | 0640))
		t_fail(t, "stat(l): expected st_mode 0100640, got 0%o", (unsigned)st.st_mode);
	t_content_str(t, "l", "target data");
	t_err(t, "symlink(f, l) over an existing name", symlink("x", "l"), EEXIST);
	t_err(t, "symlink(x, f) over a file", symlink("x", "f"), EEXIST);
	t_content_str(t, "f", "target data");
}

static void ck_symlink_dangling(struct t *t)
{
	struct stat st;

	if (!mk_symlink(t, "missing", "l"))
		return;
	t_err(t, "stat(l) of a dangling symlink", stat("l", &st), ENOENT);
	t_err(t, "open(l) of a dangling symlink", open("l", O_RDONLY), ENOENT);
	t_mode(t, "l", S_IFLNK | 0777);
	t_size(t, "l", 7);
}

static void ck_symlink_loop(struct t *t)
{
	struct stat st;

	if (!mk_symlink(t, "b", "a") || !mk_symlink(t, "a", "b") || !mk_symlink(t, "s", "s"))
		return;
	t_err(t, "open(a) of a symlink loop", open("a", O_RDONLY), ELOOP);
	t_err(t, "stat(a) of a symlink loop", stat("a", &st), ELOOP);
	t_err(t, "open(s) of a symlink to itself", open("s", O_RDONLY), ELOOP);
	t_err(t, "open(a, O_CREAT) of a symlink loop", open("a", O_CREAT | O_WRONLY, 0644), ELOOP);
	t_mode(t, "a", S_IFLNK | 0777);
}

static void ck_symlink_dir(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_file(t, "d/f", "in d", 0644) || !mk_symlink(t, "d", "l"))
		return;
	t_content_str(t, "l/f", "in d");
	t_mode(t, "l/f", S_IFREG | 0644);
	t_list(t, "l", "f");
}

static void ck_readlink(struct t *t)
{
	char buf[8];
	static char target[1001];

	memset(target, 't', 1000);
	if (!mk_file(t, "f", "x", 0644) || !mk_symlink(t, "abcdef", "l") ||
	    !mk_symlink(t, target, "long"))
		return;
	t_err(t, "readlink(f) of a file", readlink("f", buf, sizeof(buf)), EINVAL);
	t_err(t, "readlink(missing)", readlink("missing", buf, sizeof(buf)), ENOENT);
	t_eq(t, "readlink(l) into 3 bytes", 3, readlink("l", buf, 3));
	if (memcmp(buf, "abc", 3) != 0)
		t_fail(t, "readlink(l) into 3 bytes: expected \"abc\", got \"%.3s\"", buf);
	t_size(t, "long", 1000);
	{
		char big[1100];

		if (t_eq(t, "readlink(long) of a 1000-byte target", 1000,
			 readlink("long", big, sizeof(big))) && memcmp(big, target, 1000) != 0)
			t_fail(t, "readlink(long): the 1000 bytes differ from the target");
	}
}

/* ---- hard links: a blob container has none (LIMITS) ---- */

static void ck_link_file(struct t *t)
{
	struct stat a, b;

	if (!mk_file(t, "a", "shared", 0644))
		return;
	if (t->limit) {
		t_err(t, "link(a, b)", link("a", "b"), t->limit);
		t_absent(t, "b");
		t_content_str(t, "a", "shared");
		return;
	}
	if (!t_ok(t, "link(a, b)", link("a", "b")))
		return;
	if (t_lstat(t, "a", &a) && t_lstat(t, "b", &b)) {
		t_eq(t, "st_nlink of a", 2, (long long)a.st_nlink);
		t_eq(t, "st_ino of b is st_ino of a", (long long)a.st_ino, (long long)b.st_ino);
	}
	t_content_str(t, "b", "shared");
	t_ok(t, "unlink(a)", unlink("a"));
	t_content_str(t, "b", "shared");
}

static void ck_link_errors(struct t *t)
{
	if (!mk_dir(t, "d", 0755) || !mk_file(t, "a", "A", 0644) || !mk_file(t, "b", "B", 0644))
		return;
	t_err(t, "link(d, e) of a directory", link("d", "e"), EPERM);
	t_err(t, "link(missing, c)", link("missing", "c"), ENOENT);
	t_err(t, "link(a, b) onto an existing name", link("a", "b"), EEXIST);
	t_absent(t, "e");
	t_absent(t, "c");
	t_content_str(t, "b", "B");
}

const struct pc_check pc_file_checks[] = {
	{ "open.creat", ck_open_creat, 0 },
	{ "open.creat_existing", ck_open_creat_existing, 0 },
	{ "open.excl_exists", ck_open_excl_exists, 0 },
	{ "open.excl_new", ck_open_excl_new, 0 },
	{ "open.excl_symlink", ck_open_excl_symlink, 0 },
	{ "open.creat_dangling_symlink", ck_open_creat_dangling, 0 },
	{ "open.trunc", ck_open_trunc, 0 },
	{ "open.rdonly_creat", ck_open_rdonly_creat, 0 },
	{ "open.rdonly_creat_excl", ck_open_rdonly_creat_excl, 0 },
	{ "open.append", ck_open_append, 0 },
	{ "open.directory", ck_open_directory, 0 },
	{ "open.nofollow", ck_open_nofollow, 0 },
	{ "open.dir_for_writing", ck_open_dir_write, 0 },
	{ "open.noent", ck_open_noent, 0 },
	{ "open.enotdir", ck_open_enotdir, 0 },
	{ "open.access_mode", ck_open_access_mode, 0 },
	{ "open.rdwr", ck_open_rdwr, 0 },
	{ "open.mode_zero", ck_open_mode_zero, 0 },
	{ "creat.new", ck_creat_new, 0 },
	{ "creat.existing", ck_creat_existing, 0 },
	{ "unlink.file", ck_unlink_file, 0 },
	{ "unlink.errors", ck_unlink_errors, 0 },
	{ "unlink.symlink", ck_unlink_symlink, 0 },
	{ "unlink.open_file", ck_unlink_open_file, 0 },
	{ "rename.file", ck_rename_file, 0 },
	{ "rename.over_file", ck_rename_over_file, 0 },
	{ "rename.dir", ck_rename_dir, 0 },
	{ "rename.dir_over_empty_dir", ck_rename_dir_over_empty, 0 },
	{ "rename.dir_over_nonempty_dir", ck_rename_dir_over_nonempty, 0 },
	{ "rename.type_mismatch", ck_rename_type_mismatch, 0 },
	{ "rename.into_own_subdir", ck_rename_into_self, 0 },
	{ "rename.noreplace", ck_rename_noreplace, 0 },
	{ "rename.errors", ck_rename_errors, 0 },
	{ "rename.keeps_attrs", ck_rename_keeps_attrs, 0 },
	{ "rename.symlink", ck_rename_symlink, 0 },
	{ "mkdir.mode", ck_mkdir_mode, 0 },
	{ "mkdir.umask", ck_mkdir_umask, 0 },
	{ "mkdir.errors", ck_mkdir_errors, 0 },
	{ "rmdir.empty", ck_rmdir_empty, 0 },
	{ "rmdir.nonempty", ck_rmdir_nonempty, 0 },
	{ "rmdir.unlinked_open", ck_rmdir_unlinked_open, 1 },
	{ "rmdir.errors", ck_rmdir_errors, 0 },
	{ "truncate.grow", ck_truncate_grow, 0 },
	{ "truncate.shrink", ck_truncate_shrink, 0 },
	{ "truncate.errors", ck_truncate_errors, 0 },
	{ "truncate.mtime", ck_truncate_mtime, 0 },
	{ "ftruncate.grow_shrink", ck_ftruncate, 0 },
	{ "ftruncate.errors", ck_ftruncate_errors, 0 },
	{ "symlink.create", ck_symlink, 0 },
	{ "symlink.dangling", ck_symlink_dangling, 0 },
	{ "symlink.loop", ck_symlink_loop, 0 },
	{ "symlink.to_dir", ck_symlink_dir, 0 },
	{ "readlink.read", ck_readlink, 0 },
	{ "link.file", ck_link_file, 1 },
	{ "link.errors", ck_link_errors, 0 },
	{ NULL, NULL, 0 },
};
