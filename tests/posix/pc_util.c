/* pc_util.c -- the assertions, fixtures and helpers of posixcheck (see
 * pc.h). An assertion that fails appends one clause to the check's
 * message, "what: expected X, got Y", so the line a check prints says
 * every way in which the file system differed from POSIX. */
#define _GNU_SOURCE
#include "pc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

const char *pc_errname(int e)
{
	static char bufs[4][24];
	static unsigned next;
	const char *n = e ? strerrorname_np(e) : "0";
	char *b;

	if (n)
		return n;
	b = bufs[next++ % 4];
	snprintf(b, sizeof(bufs[0]), "errno %d", e);
	return b;
}

int pc_errno_of(const char *name)
{
	int e;

	for (e = 1; e < 256; e++) {
		const char *n = strerrorname_np(e);

		if (n && strcmp(n, name) == 0)
			return e;
	}
	return 0;
}

void pc_fmt_mode(char *buf, size_t n, mode_t m)
{
	snprintf(buf, n, "0%o", (unsigned)m);
}

void t_fail(struct t *t, const char *fmt, ...)
{
	char clause[1024];
	size_t room = sizeof(t->msg) - t->len, n;
	va_list ap;

	t->fails++;
	va_start(ap, fmt);
	vsnprintf(clause, sizeof(clause), fmt, ap);
	va_end(ap);
	/* a missing file fails every assertion about it alike: say it once */
	if (strstr(t->msg, clause))
		return;
	n = strlen(clause);
	if (t->len && room > 3) {
		memcpy(t->msg + t->len, "; ", 3);
		t->len += 2;
		room -= 2;
	}
	if (n < room) {
		memcpy(t->msg + t->len, clause, n + 1);
		t->len += n;
	} else if (room > 4) {
		memcpy(t->msg + t->len, clause, room - 4);
		memcpy(t->msg + sizeof(t->msg) - 4, "...", 4);
		t->len = sizeof(t->msg) - 1;
	}
}

int t_ok(struct t *t, const char *what, long rc)
{
	int e = errno;

	if (rc >= 0)
		return 1;
	t_fail(t, "%s: expected success, got -1 %s", what, pc_errname(e));
	return 0;
}

int t_err2(struct t *t, const char *what, long rc, int want1, int want2)
{
	int e = errno;
	char want[64];

	if (rc == -1 && (e == want1 || (want2 && e == want2)))
		return 1;
	if (want2)
		snprintf(want, sizeof(want), "%s or %s", pc_errname(want1), pc_errname(want2));
	else
		snprintf(want, sizeof(want), "%s", pc_errname(want1));
	if (rc == -1)
		t_fail(t, "%s: expected -1 %s, got -1 %s", what, want, pc_errname(e));
	else
		t_fail(t, "%s: expected -1 %s, got %ld", what, want, rc);
	return 0;
}

int t_err(struct t *t, const char *what, long rc, int want)
{
	return t_err2(t, what, rc, want, 0);	/* errno untouched on the way */
}

int t_eq(struct t *t, const char *what, long long want, long long got)
{
	if (want == got)
		return 1;
	t_fail(t, "%s: expected %lld, got %lld", what, want, got);
	return 0;
}

int t_lstat(struct t *t, const char *path, struct stat *st)
{
	if (lstat(path, st) == 0)
		return 1;
	t_fail(t, "lstat(%s): expected success, got -1 %s", path, pc_errname(errno));
	return 0;
}

int t_mode(struct t *t, const char *path, mode_t want)
{
	struct stat st;
	char w[16], g[16];

	if (!t_lstat(t, path, &st))
		return 0;
	if (st.st_mode == want)
		return 1;
	pc_fmt_mode(w, sizeof(w), want);
	pc_fmt_mode(g, sizeof(g), st.st_mode);
	t_fail(t, "st_mode of %s: expected %s, got %s", path, w, g);
	return 0;
}

int t_owner(struct t *t, const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	if (!t_lstat(t, path, &st))
		return 0;
	if (st.st_uid == uid && st.st_gid == gid)
		return 1;
	t_fail(t, "owner of %s: expected %u:%u, got %u:%u", path, (unsigned)uid,
	       (unsigned)gid, (unsigned)st.st_uid, (unsigned)st.st_gid);
	return 0;
}

int t_size(struct t *t, const char *path, off_t size)
{
	struct stat st;

	if (!t_lstat(t, path, &st))
		return 0;
	if (st.st_size == size)
		return 1;
	t_fail(t, "st_size of %s: expected %lld, got %lld", path, (long long)size,
	       (long long)st.st_size);
	return 0;
}

int t_rdev(struct t *t, const char *path, dev_t rdev)
{
	struct stat st;

	if (!t_lstat(t, path, &st))
		return 0;
	if (st.st_rdev == rdev)
		return 1;
	t_fail(t, "st_rdev of %s: expected %u:%u, got %u:%u", path, major(rdev),
	       minor(rdev), major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

int t_absent(struct t *t, const char *path)
{
	struct stat st;
	char m[16];

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 1;
		t_fail(t, "lstat(%s): expected -1 ENOENT, got -1 %s", path, pc_errname(errno));
		return 0;
	}
	pc_fmt_mode(m, sizeof(m), st.st_mode);
	t_fail(t, "%s: expected to be gone, still there (st_mode %s, st_size %lld)",
	       path, m, (long long)st.st_size);
	return 0;
}

/* a short printable rendering of DATA for a message */
static void show(char *out, size_t n, const unsigned char *data, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 6 < n; i++) {
		if (i == 24) {
			o += (size_t)snprintf(out + o, n - o, "...");
			break;
		}
		if (data[i] >= 32 && data[i] < 127 && data[i] != '"')
			out[o++] = (char)data[i];
		else
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", data[i]);
	}
	out[o] = '\0';
}

int t_content(struct t *t, const char *path, const void *data, size_t len)
{
	unsigned char *buf = malloc(len + 64);
	size_t got = 0;
	ssize_t r;
	char w[128], g[128];
	int fd, good = 0;

	if (!buf) {
		t_fail(t, "content of %s: out of memory", path);
		return 0;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		t_fail(t, "open(%s) to read it: expected success, got -1 %s", path,
		       pc_errname(errno));
		goto out;
	}
	while (got < len + 64 && (r = read(fd, buf + got, len + 64 - got)) > 0)
		got += (size_t)r;
	if (r < 0 && got < len + 64)
		t_fail(t, "read(%s): expected success, got -1 %s", path, pc_errname(errno));
	else if (got == len && memcmp(buf, data, len) == 0)
		good = 1;
	else {
		show(w, sizeof(w), data, len);
		show(g, sizeof(g), buf, got);
		t_fail(t, "content of %s: expected %zu bytes \"%s\", got %zu bytes \"%s\"",
		       path, len, w, got, g);
	}
	close(fd);
out:
	free(buf);
	return good;
}

int t_content_str(struct t *t, const char *path, const char *s)
{
	return t_content(t, path, s, strlen(s));
}

/* NSEC as kept at some granularity: exact, or cut to 10^k ns */
static int ns_match(long want, long got)
{
	long g;

	for (g = 1; g <= 1000000000L; g *= 10)
		if (got == want - want % g)
			return 1;
	return 0;
}

static int time_is(struct t *t, const char *what, const char *path,
		   const struct timespec *ts, time_t sec, long nsec)
{
	if (ts->tv_sec == sec && ns_match(nsec, ts->tv_nsec))
		return 1;
	t_fail(t, "%s of %s: expected %lld.%09ld, got %lld.%09ld", what, path,
	       (long long)sec, nsec, (long long)ts->tv_sec, ts->tv_nsec);
	return 0;
}

int t_mtime(struct t *t, const char *path, time_t sec, long nsec)
{
	struct stat st;

	return t_lstat(t, path, &st) && time_is(t, "st_mtime", path, &st.st_mtim, sec, nsec);
}

int t_atime(struct t *t, const char *path, time_t sec, long nsec)
{
	struct stat st;

	return t_lstat(t, path, &st) && time_is(t, "st_atime", path, &st.st_atim, sec, nsec);
}

int t_mtime_within(struct t *t, const char *path, time_t lo, time_t hi)
{
	struct stat st;

	if (!t_lstat(t, path, &st))
		return 0;
	if (st.st_mtim.tv_sec >= lo - 2 && st.st_mtim.tv_sec <= hi + 2)
		return 1;
	t_fail(t, "st_mtime of %s: expected the time of the call (%lld..%lld), got %lld",
	       path, (long long)lo, (long long)hi, (long long)st.st_mtim.tv_sec);
	return 0;
}

int t_ctime_after(struct t *t, const char *path, const struct timespec *before,
		  time_t lo)
{
	struct stat st;
	const struct timespec *c = &st.st_ctim;

	if (!t_lstat(t, path, &st))
		return 0;
	if ((c->tv_sec > before->tv_sec ||
	     (c->tv_sec == before->tv_sec && c->tv_nsec > before->tv_nsec)) &&
	    c->tv_sec >= lo - 1)
		return 1;
	t_fail(t, "st_ctime of %s: expected the time of the call (%lld or later, "
	       "after %lld.%09ld), got %lld.%09ld", path, (long long)lo,
	       (long long)before->tv_sec, before->tv_nsec, (long long)c->tv_sec, c->tv_nsec);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int t_list(struct t *t, const char *dir, const char *want)
{
	return t_list_as(t, dir, dir, want);
}

int t_list_as(struct t *t, const char *dir, const char *label, const char *want)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *names[64], got[1024];
	size_t n = 0, i, o = 0;
	int good;

	if (!d) {
		t_fail(t, "opendir(%s): expected success, got -1 %s", dir, pc_errname(errno));
		return 0;
	}
	while ((de = readdir(d)) && n < 64)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	got[0] = '\0';
	for (i = 0; i < n; i++) {
		if (names[i] && o + strlen(names[i]) + 2 < sizeof(got))
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", i ? "/" : "",
					      names[i]);
		free(names[i]);
	}
	good = strcmp(got, want) == 0;
	if (!good)
		t_fail(t, "entries of %s: expected [%s], got [%s]", label, want, got);
	return good;
}

/* ---- fixtures ---- */

int mk_file(struct t *t, const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);

	if (fd < 0) {
		t_fail(t, "setup: open(%s, O_CREAT): %s", path, pc_errname(errno));
		return 0;
	}
	if (len && write(fd, data, len) != (ssize_t)len) {
		t_fail(t, "setup: write(%s): %s", path, pc_errname(errno));
		close(fd);
		return 0;
	}
	if (close(fd) < 0) {
		t_fail(t, "setup: close(%s): %s", path, pc_errname(errno));
		return 0;
	}
	return 1;
}

int mk_dir(struct t *t, const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0)
		return 1;
	t_fail(t, "setup: mkdir(%s): %s", path, pc_errname(errno));
	return 0;
}

int mk_symlink(struct t *t, const char *target, const char *path)
{
	if (symlink(target, path) == 0)
		return 1;
	t_fail(t, "setup: symlink(%s): %s", path, pc_errname(errno));
	return 0;
}

int set_owner(struct t *t, const char *path, uid_t uid, gid_t gid)
{
	if (lchown(path, uid, gid) == 0)
		return 1;
	t_fail(t, "setup: lchown(%s): %s", path, pc_errname(errno));
	return 0;
}

int set_mode(struct t *t, const char *path, mode_t mode)
{
	if (chmod(path, mode) == 0)
		return 1;
	t_fail(t, "setup: chmod(%s): %s", path, pc_errname(errno));
	return 0;
}

int set_mtime(struct t *t, const char *path, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	t_fail(t, "setup: utimensat(%s): %s", path, pc_errname(errno));
	return 0;
}

void pause_tick(void)
{
	struct timespec now, d;

	clock_gettime(CLOCK_REALTIME, &now);
	d.tv_sec = 0;
	d.tv_nsec = 1000000000L - now.tv_nsec + 100000000L;
	if (d.tv_nsec >= 1000000000L) {
		d.tv_sec = 1;
		d.tv_nsec -= 1000000000L;
	}
	while (nanosleep(&d, &d) < 0 && errno == EINTR)
		;
}

char *long_path(struct t *t, size_t len, int make_dirs)
{
	size_t rest, o = 0, i;
	char *p;

	if (len <= t->base + 1) {
		t_fail(t, "setup: the check directory's name takes %zu of %zu bytes", t->base, len);
		return NULL;
	}
	rest = len - t->base;
	p = malloc(rest + 1);
	if (!p) {
		t_fail(t, "setup: out of memory");
		return NULL;
	}
	for (i = 0; rest > 255; i++) {
		/* a directory of 199 bytes and its '/' */
		memset(p + o, 'd', 199);
		p[o] = (char)('0' + i % 10);
		p[o + 199] = '\0';
		if (make_dirs && mkdir(p, 0755) < 0 && errno != EEXIST) {
			t_fail(t, "setup: mkdir of a %zu-byte path: %s", o + 199, pc_errname(errno));
			free(p);
			return NULL;
		}
		p[o + 199] = '/';
		o += 200;
		rest -= 200;
	}
	memset(p + o, 'n', rest);
	p[o + rest] = '\0';
	return p;
}

/* ---- as another user ---- */

static int do_op(const struct pc_op *op)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat st;
	int fd, rc = -1;

	switch (op->kind) {
	case OP_OPEN:
	case OP_CREATE:
		fd = op->kind == OP_OPEN ? open(op->a, op->flags)
			: open(op->a, op->flags | O_CREAT, op->mode);
		if (fd >= 0)
			rc = close(fd);
		break;
	case OP_MKDIR: rc = mkdir(op->a, op->mode); break;
	case OP_UNLINK: rc = unlink(op->a); break;
	case OP_RMDIR: rc = rmdir(op->a); break;
	case OP_RENAME: rc = rename(op->a, op->b); break;
	case OP_CHMOD: rc = chmod(op->a, op->mode); break;
	case OP_CHOWN: rc = chown(op->a, op->uid, op->gid); break;
	case OP_UTIMES_NOW: rc = utimensat(AT_FDCWD, op->a, NULL, 0); break;
	case OP_UTIMES_SET: rc = utimensat(AT_FDCWD, op->a, ts, 0); break;
	case OP_TRUNCATE: rc = truncate(op->a, op->size); break;
	case OP_STAT: rc = stat(op->a, &st); break;
	case OP_MKNOD: rc = mknod(op->a, op->mode, op->dev); break;
	}
	return rc == 0 ? 0 : errno;
}

/* 250: could not switch user; else 0 or the errno of the operation */
static int run_other(struct t *t, const struct pc_op *op)
{
	const struct pc_opts *o = t->o;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		t_fail(t, "fork: %s", pc_errname(errno));
		return -1;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(o->other_gid, o->other_gid, o->other_gid) < 0 ||
		    setresuid(o->other_uid, o->other_uid, o->other_uid) < 0)
			_exit(250);
		_exit(do_op(op) & 0xff);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			t_fail(t, "waitpid: %s", pc_errname(errno));
			return -1;
		}
	if (!WIFEXITED(status)) {
		t_fail(t, "the child of uid %u died of signal %d", (unsigned)o->other_uid,
		       WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) == 250) {
		t_fail(t, "cannot become uid %u gid %u (posixcheck must run as root)",
		       (unsigned)o->other_uid, (unsigned)o->other_gid);
		return -1;
	}
	return WEXITSTATUS(status);
}

static const char *outcome(int e)
{
	static char bufs[2][40];
	static unsigned next;
	char *b = bufs[next++ % 2];

	if (e == 0)
		return "success";
	snprintf(b, sizeof(bufs[0]), "-1 %s", pc_errname(e));
	return b;
}

int t_other(struct t *t, const char *what, const struct pc_op *op, int want, int want2)
{
	int e = run_other(t, op);

	if (e < 0)
		return 0;
	if (e == want || (want2 && e == want2))
		return 1;
	if (want2)
		t_fail(t, "%s as uid %u: expected %s or %s, got %s", what,
		       (unsigned)t->o->other_uid, outcome(want), outcome(want2), outcome(e));
	else
		t_fail(t, "%s as uid %u: expected %s, got %s", what,
		       (unsigned)t->o->other_uid, outcome(want), outcome(e));
	return 0;
}

/* ---- removing a tree ---- */

static char *rm_err(const char *what, const char *name, int e)
{
	char *s = NULL;

	if (asprintf(&s, "%s(%s): %s", what, name, pc_errname(e)) < 0)
		return strdup("out of memory");
	return s;
}

/* the names in the directory open as FD (not "." nor ".."): a list to
 * remove from, since removing while reading may skip entries */
static char **names_in(int fd, size_t *n)
{
	DIR *d = fdopendir(dup(fd));
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	return v;
}

static char *rm_at(int dirfd, const char *name)
{
	struct stat st;
	char **v, *err = NULL;
	size_t n, i;
	int fd, pass;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? NULL : rm_err("lstat", name, errno);
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT
			? rm_err("unlink", name, errno) : NULL;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		return rm_err("open", name, errno);
	for (pass = 0; pass < 3 && !err; pass++) {
		v = names_in(fd, &n);
		for (i = 0; i < n; i++) {
			if (!err && v[i])
				err = rm_at(fd, v[i]);
			free(v[i]);
		}
		free(v);
		if (err || unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			break;
		if (errno != ENOTEMPTY || pass == 2)
			err = rm_err("rmdir", name, errno);
	}
	close(fd);
	return err;
}

char *pc_rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path);
}
