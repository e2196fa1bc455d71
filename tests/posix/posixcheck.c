/* posixcheck.c -- tells, call by call, whether a directory's file system
 * behaves as POSIX says.
 *
 *   posixcheck [OPTIONS] DIR [PATTERN...]
 *
 * runs the checks whose names match a PATTERN (fnmatch; all when none)
 * in a fresh directory DIR/posixcheck.PID, removed at the end, and prints
 * one line per check: "PASS name" or "FAIL name: expected ..., got ...".
 * Exit status: 0 when every check passed, 1 when one failed, 2 on bad
 * usage or when DIR cannot be used.
 *
 *   --limits FILE   checks listed there ("NAME ERRNO REASON" lines) expect
 *                   ERRNO instead of what POSIX promises: what a blob
 *                   container cannot do (tests/posix/LIMITS)
 *   --phase checks  the checks above (the default)
 *   --phase setup   makes DIR/persist for a later verify, and keeps it
 *   --phase verify  checks DIR/persist as setup left it (after a remount)
 *   --other-uid N, --other-gid N
 *                   the unprivileged user of the permission checks [65534]
 *   --name-prefix N bytes of blob name before the mount's root (the
 *                   length of PREFIX/ of a CONTAINER/PREFIX mount) [0]
 *   --timeout S     a check still running after S seconds fails [120]
 *   --list          prints the names of all checks
 *
 * Runs as root: the permission checks switch to the other user, and
 * mknod makes devices. */
#define _GNU_SOURCE
#include "pc.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum phase { PHASE_CHECKS, PHASE_SETUP, PHASE_VERIFY };

struct limit {
	const char *name;	/* the check's, from its table */
	int err;
};

struct run {
	struct pc_opts o;
	enum phase phase;
	unsigned timeout;
	char **pats;
	int n_pats;
	struct limit lim[32];
	size_t n_lim;
	int passed, failed;
};

static const struct pc_check *const check_tables[] = {
	pc_file_checks, pc_name_checks, pc_attr_checks, pc_perm_checks, NULL,
};

static const struct pc_check *find_check(const char *name)
{
	const struct pc_check *const all[] = {
		pc_file_checks, pc_name_checks, pc_attr_checks, pc_perm_checks,
		pc_persist_setup, pc_persist_verify, NULL,
	};
	size_t i, j;

	for (i = 0; all[i]; i++)
		for (j = 0; all[i][j].name; j++)
			if (strcmp(all[i][j].name, name) == 0)
				return &all[i][j];
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: posixcheck [--limits FILE] [--phase checks|setup|verify] "
		"[--other-uid N] [--other-gid N] [--name-prefix N] [--timeout S] [--list] "
		"DIR [PATTERN...]\n");
	exit(2);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posixcheck: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static unsigned long number(const char *s, const char *opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		die("%s wants a number, got \"%s\"", opt, s);
	return v;
}

/* one LIMITS line: "NAME ERRNO REASON..." (REASON required) */
static void add_limit(struct run *r, char *line, const char *file, int lineno)
{
	char where[PATH_MAX + 32], *name, *err, *reason, *save;
	const struct pc_check *c;
	size_t i;

	snprintf(where, sizeof(where), "%s:%d", file, lineno);
	name = strtok_r(line, " \t", &save);
	err = name ? strtok_r(NULL, " \t", &save) : NULL;
	reason = err ? strtok_r(NULL, "", &save) : NULL;
	if (!reason || !*reason)
		die("%s: expected \"CHECK ERRNO REASON\", got \"%s\"", where, name ? name : "");
	c = find_check(name);
	if (!c)
		die("%s: no check is named \"%s\"", where, name);
	if (!c->limitable)
		die("%s: check \"%s\" cannot be given a limit", where, name);
	for (i = 0; i < r->n_lim; i++)
		if (r->lim[i].name == c->name)
			die("%s: \"%s\" is listed twice", where, name);
	if (r->n_lim == sizeof(r->lim) / sizeof(r->lim[0]))
		die("%s: too many limits", where);
	r->lim[r->n_lim].name = c->name;
	r->lim[r->n_lim].err = pc_errno_of(err);
	if (!r->lim[r->n_lim].err)
		die("%s: \"%s\" is not an errno name such as EPERM", where, err);
	r->n_lim++;
}

static void load_limits(struct run *r, const char *file)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	int lineno = 0;

	if (!f)
		die("cannot read limits file %s: %s", file, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		lineno++;
		s[strcspn(s, "\r\n")] = '\0';
		if (*s && *s != '#')
			add_limit(r, s, file, lineno);
	}
	fclose(f);
}

static int limit_of(const struct run *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_lim; i++)
		if (strcmp(r->lim[i].name, name) == 0)
			return r->lim[i].err;
	return 0;
}

static int wanted(const struct run *r, const char *name)
{
	int i;

	if (r->n_pats == 0)
		return 1;
	for (i = 0; i < r->n_pats; i++)
		if (fnmatch(r->pats[i], name, 0) == 0)
			return 1;
	return 0;
}

/* one line on stdout, in one write (the children share it) */
static void emit(const char *status, const char *name, const char *detail, int limit)
{
	char line[4096];
	int n;

	if (detail && *detail)
		n = snprintf(line, sizeof(line), "%s %s: %s\n", status, name, detail);
	else if (limit)
		n = snprintf(line, sizeof(line), "%s %s (LIMITS: %s)\n", status, name,
			     pc_errname(limit));
	else
		n = snprintf(line, sizeof(line), "%s %s\n", status, name);
	if (n >= (int)sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(2);
}

/* in a child: the check itself, in its own directory when OWN_DIR */
static void child(const struct run *r, const struct pc_check *c, int own_dir, size_t base)
{
	struct t t = { .name = c->name, .o = &r->o, .limit = limit_of(r, c->name), .base = base };
	char *err;

	alarm(r->timeout);
	umask(0);
	if (own_dir && (mkdir(c->name, 0755) < 0 || chdir(c->name) < 0)) {
		t_fail(&t, "setup: the directory %s: %s", c->name, pc_errname(errno));
		emit("FAIL", c->name, t.msg, 0);
		_exit(1);
	}
	c->fn(&t);
	if (own_dir) {
		if (chdir("..") < 0) {
			t_fail(&t, "cleanup: chdir(..): %s", pc_errname(errno));
		} else if ((err = pc_rm_rf(c->name))) {
			t_fail(&t, "cleanup: %s", err);
			free(err);
		}
	}
	emit(t.fails ? "FAIL" : "PASS", c->name, t.msg, t.limit);
	_exit(t.fails ? 1 : 0);
}

static void run_one(struct run *r, const struct pc_check *c, int own_dir, size_t base)
{
	char why[96];
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		child(r, c, own_dir, base);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) <= 1) {
		if (WEXITSTATUS(status) == 0)
			r->passed++;
		else
			r->failed++;
		return;
	}
	r->failed++;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		snprintf(why, sizeof(why), "still running after %u s: killed", r->timeout);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "died of signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
	emit("FAIL", c->name, why, 0);
	if (own_dir) {
		char *err = pc_rm_rf(c->name);

		free(err);
	}
}

/* bytes of blob name before a name in DIR: the path of DIR below the
 * root of its mount, and its '/' */
static size_t name_base(const char *dir, size_t prefix)
{
	char *real = realpath(dir, NULL), *parent;
	struct stat st, pst;
	size_t len, plen, n;
	const char *rel;

	if (!real || stat(real, &st) < 0)
		die("%s: %s", dir, strerror(errno));
	/* real[0..len) climbs while its parent is on the same device */
	for (len = strlen(real); len > 1; len = plen) {
		plen = (size_t)((char *)memrchr(real, '/', len) - real);
		if (plen == 0)
			plen = 1;
		parent = strndup(real, plen);
		if (!parent || stat(parent, &pst) < 0)
			die("stat of the parent of %s: %s", real, strerror(errno));
		free(parent);
		if (pst.st_dev != st.st_dev)
			break;
	}
	rel = real + len + (real[len] == '/');
	n = strlen(rel);
	free(real);
	return prefix + (n ? n + 1 : 0);
}

static void run_table(struct run *r, const struct pc_check *tab, int own_dir, size_t base)
{
	size_t i;

	for (i = 0; tab[i].name; i++)
		if (wanted(r, tab[i].name))
			run_one(r, &tab[i], own_dir, base + (own_dir ? strlen(tab[i].name) + 1 : 0));
}

static void phase_checks(struct run *r, size_t base)
{
	char work[64], *err;
	size_t i, j, n = 0;

	for (i = 0; check_tables[i]; i++)
		for (j = 0; check_tables[i][j].name; j++)
			n += (size_t)wanted(r, check_tables[i][j].name);
	if (n == 0)
		die("no check matches the patterns given");
	snprintf(work, sizeof(work), "posixcheck.%ld", (long)getpid());
	if (mkdir(work, 0755) < 0 || chmod(work, 0755) < 0 || chdir(work) < 0)
		die("cannot make the directory %s: %s", work, strerror(errno));
	base += strlen(work) + 1;
	for (i = 0; check_tables[i]; i++)
		run_table(r, check_tables[i], 1, base);
	err = chdir("..") < 0 ? strdup("chdir(..) failed") : pc_rm_rf(work);
	if (err) {
		char msg[512];

		snprintf(msg, sizeof(msg), "removing %s: %s", work, err);
		emit("FAIL", "cleanup", msg, 0);
		r->failed++;
		free(err);
	}
}

static void list_checks(void)
{
	const struct pc_check *const all[] = {
		pc_file_checks, pc_name_checks, pc_attr_checks, pc_perm_checks,
		pc_persist_setup, pc_persist_verify, NULL,
	};
	size_t i, j;

	for (i = 0; all[i]; i++)
		for (j = 0; all[i][j].name; j++)
			printf("%s\n", all[i][j].name);
}

static void parse(struct run *r, int argc, char **argv, const char **dir)
{
	static const struct option opts[] = {
		{ "limits", required_argument, NULL, 'l' },
		{ "phase", required_argument, NULL, 'p' },
		{ "other-uid", required_argument, NULL, 'u' },
		{ "other-gid", required_argument, NULL, 'g' },
		{ "name-prefix", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "list", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': load_limits(r, optarg); break;
		case 'u': r->o.other_uid = (uid_t)number(optarg, "--other-uid"); break;
		case 'g': r->o.other_gid = (gid_t)number(optarg, "--other-gid"); break;
		case 'n': r->o.name_base = number(optarg, "--name-prefix"); break;
		case 't': r->timeout = (unsigned)number(optarg, "--timeout"); break;
		case 'L': list_checks(); exit(0);
		case 'p':
			if (strcmp(optarg, "checks") == 0)
				r->phase = PHASE_CHECKS;
			else if (strcmp(optarg, "setup") == 0)
				r->phase = PHASE_SETUP;
			else if (strcmp(optarg, "verify") == 0)
				r->phase = PHASE_VERIFY;
			else
				die("--phase wants checks, setup or verify, got \"%s\"", optarg);
			break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	*dir = argv[optind];
	r->pats = argv + optind + 1;
	r->n_pats = argc - optind - 1;
}

int main(int argc, char **argv)
{
	struct run r = { .o = { .other_uid = 65534, .other_gid = 65534 }, .timeout = 120 };
	const char *dir;
	size_t base;

	parse(&r, argc, argv, &dir);
	base = name_base(dir, r.o.name_base);
	if (chdir(dir) < 0)
		die("cannot enter %s: %s", dir, strerror(errno));
	switch (r.phase) {
	case PHASE_CHECKS:
		phase_checks(&r, base);
		break;
	case PHASE_SETUP:
		if (mkdir("persist", 0755) < 0 || chmod("persist", 0755) < 0 ||
		    chdir("persist") < 0)
			die("cannot make %s/persist: %s", dir, strerror(errno));
		run_table(&r, pc_persist_setup, 0, base + strlen("persist/"));
		break;
	case PHASE_VERIFY:
		if (chdir("persist") < 0)
			die("cannot enter %s/persist: %s", dir, strerror(errno));
		run_table(&r, pc_persist_verify, 0, base + strlen("persist/"));
		break;
	}
	fprintf(stderr, "posixcheck: %d passed, %d failed\n", r.passed, r.failed);
	return r.failed ? 1 : 0;
}
