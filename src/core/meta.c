/*
 * meta.c -- metadata lists: copies, setting one key, the POSIX keys
 * (core.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"
#include "util/str.h"

void core_meta_free(struct blob_meta *m, size_t n)
{
	size_t i;

	for (i = 0; m && i < n; i++) {
		free(m[i].name);
		free(m[i].value);
	}
	free(m);
}

int core_meta_dup(const struct blob_meta *src, size_t n,
		  struct blob_meta **out)
{
	struct blob_meta *m = calloc(n ? n : 1, sizeof(*m));
	size_t i;

	if (!m)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		m[i].name = str_ndup(src[i].name, strlen(src[i].name));
		m[i].value = str_ndup(src[i].value, strlen(src[i].value));
		if (!m[i].name || !m[i].value) {
			core_meta_free(m, n);
			return -ENOMEM;
		}
	}
	*out = m;
	return 0;
}

int core_meta_set(struct blob_meta **m, size_t *n, const char *key,
		  const char *value)
{
	struct blob_meta *nm;
	char *k, *v;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcasecmp((*m)[i].name, key) == 0)
			break;
	if (!value) {
		if (i < *n) {
			free((*m)[i].name);
			free((*m)[i].value);
			(*m)[i] = (*m)[--*n];
		}
		return 0;
	}
	v = str_ndup(value, strlen(value));
	if (!v)
		return -ENOMEM;
	if (i < *n) {
		free((*m)[i].value);
		(*m)[i].value = v;
		return 0;
	}
	k = str_ndup(key, strlen(key));
	nm = k ? realloc(*m, (*n + 1) * sizeof(**m)) : NULL;
	if (!nm) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	*m = nm;
	nm[*n].name = k;
	nm[*n].value = v;
	++*n;
	return 0;
}

int core_meta_posix(struct blob_meta **m, size_t *n, const struct attr *a)
{
	char v[32];
	int rc = 0;

	if (a->mode) {
		snprintf(v, sizeof(v), "%o", (unsigned)a->mode);
		rc = core_meta_set(m, n, CORE_KEY_MODE, v);
	}
	if (rc == 0 && a->has_uid) {
		snprintf(v, sizeof(v), "%u", (unsigned)a->uid);
		rc = core_meta_set(m, n, CORE_KEY_UID, v);
	}
	if (rc == 0 && a->has_gid) {
		snprintf(v, sizeof(v), "%u", (unsigned)a->gid);
		rc = core_meta_set(m, n, CORE_KEY_GID, v);
	}
	if (rc == 0 && (S_ISCHR(a->mode) || S_ISBLK(a->mode))) {
		snprintf(v, sizeof(v), "%llx", (unsigned long long)a->rdev);
		rc = core_meta_set(m, n, CORE_KEY_RDEV, v);
	}
	return rc;
}
