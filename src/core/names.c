/*
 * names.c -- FUSE paths to blob names and back (core.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "util/str.h"

/* longest: the length of the longest '/'-separated component of path */
static size_t longest(const char *path)
{
	size_t most = 0, n;

	while (*path) {
		n = strcspn(path, "/");
		if (n > most)
			most = n;
		path += n;
		path += *path == '/';
	}
	return most;
}

char *core_blob_name(const struct core_opts *o, const char *path, int *err)
{
	size_t pl = strlen(o->prefix), l;
	char *name;

	while (*path == '/')
		path++;
	l = strlen(path);
	if (pl + l > BLOB_NAME_MAX || longest(path) > CORE_NAME_MAX) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	if (!str_utf8_valid(path, l)) {
		*err = -EINVAL;
		return NULL;
	}
	name = malloc(pl + l + 1);
	if (!name) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(name, o->prefix, pl);
	memcpy(name + pl, path, l + 1);
	if (l == 0 && pl > 0)
		name[pl - 1] = '\0'; /* the root: the prefix itself */
	return name;
}

char *core_dir_prefix(const char *name)
{
	char *prefix = NULL;

	if (asprintf(&prefix, "%s%s", name, *name ? "/" : "") < 0)
		return NULL;
	return prefix;
}

char *core_child_path(const char *dir, const char *name)
{
	char *child = NULL;

	if (asprintf(&child, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0)
		return NULL;
	return child;
}

int core_parent(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	if (!slash || n >= size)
		return -1;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

int core_is_hidden(const char *path)
{
	const char *base = strrchr(path, '/');

	return strncmp(base ? base + 1 : path, ".fuse_hidden", 12) == 0;
}

char *core_path_of(const struct core_opts *o, const char *name)
{
	size_t pl = strlen(o->prefix);
	char *p = NULL;

	if (strncmp(name, o->prefix, pl) != 0)
		return NULL;
	if (asprintf(&p, "/%s", name + pl) < 0)
		return NULL;
	return p;
}
