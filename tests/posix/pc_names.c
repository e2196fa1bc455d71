/* pc_names.c -- posixcheck's checks of name lengths: a component of
 * _PC_NAME_MAX bytes works and one more is ENAMETOOLONG; a path whose
 * blob name (the path below the mount's root) is 1,024 bytes works, and
 * one of 1,025 bytes works on a POSIX file system but is a limit of the
 * Blob service (LIMITS). */
#define _GNU_SOURCE
#include "pc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ck_name_component(struct t *t)
{
	long max = pathconf(".", _PC_NAME_MAX);
	size_t n, room = PC_BLOB_NAME_MAX - t->base;
	char *name;
	int fd;

	if (max <= 0 || max > 4000) {
		t_fail(t, "pathconf(., _PC_NAME_MAX): expected a limit, got %ld", max);
		return;
	}
	name = malloc((size_t)max + 2);
	if (!name)
		return;
	/* the longest name allowed, within the blob name limit too */
	n = (size_t)max < room ? (size_t)max : room;
	memset(name, 'c', n);
	name[n] = '\0';
	fd = open(name, O_CREAT | O_WRONLY, 0644);
	if (t_ok(t, "open(O_CREAT) of a name of the longest length", fd)) {
		close(fd);
		t_size(t, name, 0);
		t_ok(t, "unlink of it", unlink(name));
	}
	memset(name, 'c', (size_t)max + 1);
	name[max + 1] = '\0';
	t_err(t, "open(O_CREAT) of a name of _PC_NAME_MAX + 1 bytes",
	      open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	t_err(t, "mkdir of a name of _PC_NAME_MAX + 1 bytes", mkdir(name, 0755), ENAMETOOLONG);
	t_list(t, ".", "");
	free(name);
}

static void ck_name_1024(struct t *t)
{
	char *p = long_path(t, PC_BLOB_NAME_MAX, 1);
	int fd;

	if (!p)
		return;
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (t_ok(t, "open(O_CREAT) of a path whose blob name is 1024 bytes", fd)) {
		t_eq(t, "write to it", 1, write(fd, "x", 1));
		t_ok(t, "close of it", close(fd));
		t_content_str(t, p, "x");
	}
	free(p);
}

/* the path whose blob name is 1025 bytes, its directories made */
static char *over_limit(struct t *t)
{
	return long_path(t, PC_BLOB_NAME_MAX + 1, 1);
}

/* after a refused over-long name: its directory holds WANT ("/"-joined)
 * when it is the check's own, else nothing */
static void nothing_left(struct t *t, char *p, const char *want)
{
	char *s = strrchr(p, '/');

	if (!s) {
		t_list(t, ".", want);
		return;
	}
	*s = '\0';
	t_list_as(t, p, "the directory of the long name", "");
	*s = '/';
}

static void ck_name_create_over(struct t *t)
{
	char *p = over_limit(t);
	int fd;

	if (!p)
		return;
	if (t->limit) {
		t_err(t, "open(O_CREAT) of a path whose blob name is 1025 bytes",
		      open(p, O_CREAT | O_WRONLY, 0644), t->limit);
		nothing_left(t, p, "");
	} else {
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		if (t_ok(t, "open(O_CREAT) of a path whose blob name is 1025 bytes", fd))
			close(fd);
	}
	free(p);
}

static void ck_name_mkdir_over(struct t *t)
{
	char *p = over_limit(t);

	if (!p)
		return;
	if (t->limit) {
		t_err(t, "mkdir of a path whose blob name is 1025 bytes", mkdir(p, 0755), t->limit);
		nothing_left(t, p, "");
	} else {
		t_ok(t, "mkdir of a path whose blob name is 1025 bytes", mkdir(p, 0755));
	}
	free(p);
}

static void ck_name_rename_over(struct t *t)
{
	char *p;

	if (!mk_file(t, "a", "A", 0644))
		return;
	p = over_limit(t);
	if (!p)
		return;
	if (t->limit) {
		t_err(t, "rename(a) to a path whose blob name is 1025 bytes", rename("a", p), t->limit);
		t_content_str(t, "a", "A");
		nothing_left(t, p, "a");
	} else {
		t_ok(t, "rename(a) to a path whose blob name is 1025 bytes", rename("a", p));
		t_content_str(t, p, "A");
	}
	free(p);
}

static void ck_name_symlink_over(struct t *t)
{
	char *p = over_limit(t);

	if (!p)
		return;
	if (t->limit) {
		t_err(t, "symlink at a path whose blob name is 1025 bytes", symlink("a", p), t->limit);
		nothing_left(t, p, "");
	} else {
		t_ok(t, "symlink at a path whose blob name is 1025 bytes", symlink("a", p));
	}
	free(p);
}

const struct pc_check pc_name_checks[] = {
	{ "name.component_max", ck_name_component, 0 },
	{ "name.blob_1024", ck_name_1024, 0 },
	{ "name.create_over_1024", ck_name_create_over, 1 },
	{ "name.mkdir_over_1024", ck_name_mkdir_over, 1 },
	{ "name.rename_over_1024", ck_name_rename_over, 1 },
	{ "name.symlink_over_1024", ck_name_symlink_over, 1 },
	{ NULL, NULL, 0 },
};
