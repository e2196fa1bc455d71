/*
 * node.c -- the node table: one node per open path, shared by its
 * handles, kept while it holds data the server does not have; the
 * phases that order work on a staging file; and what fs/ asks of a node.
 * See stage.h for the lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/xattr.h>

#include "stage/stage.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

#define STAGE_BUCKETS 1024

static size_t hash(const char *s)
{
	return str_hash(s) % STAGE_BUCKETS;
}

int stage_init(struct stage *sg, struct blob_client *blob,
	       const struct core_opts *o)
{
	memset(sg, 0, sizeof(*sg));
	sg->blob = blob;
	sg->o = o;
	sg->buckets = STAGE_BUCKETS;
	sg->nodes = calloc(STAGE_BUCKETS, sizeof(*sg->nodes));
	if (!sg->nodes)
		return -1;
	pthread_mutex_init(&sg->lock, NULL);
	pthread_cond_init(&sg->idle, NULL);
	return 0;
}

static void node_free(struct node *n)
{
	if (n->fd >= 0)
		close(n->fd);
	if (n->stage_path) {
		/* never throw away data the server does not have */
		if ((n->dirty || n->is_new) && !n->unlinked)
			log_error("unsaved data of %s is kept in %s", n->name,
				  n->stage_path);
		else
			unlink(n->stage_path);
		free(n->stage_path);
	}
	core_meta_free(n->meta, n->n_meta);
	if (n->journal_fd >= 0)
		close(n->journal_fd); /* the entry stays for the next mount */
	free(n->journal_path);
	free(n->bstate);
	pthread_cond_destroy(&n->cond);
	free(n->path);
	free(n->name);
	free(n);
}

void stage_release(struct stage *sg)
{
	size_t i;

	if (!sg->nodes)
		return;
	/* background uploads hold nodes until their very end */
	pthread_mutex_lock(&sg->lock);
	while (sg->threads > 0)
		pthread_cond_wait(&sg->idle, &sg->lock);
	pthread_mutex_unlock(&sg->lock);
	for (i = 0; i < sg->buckets; i++) {
		struct node *n = sg->nodes[i], *nx;

		for (; n; n = nx) {
			nx = n->next;
			node_free(n);
		}
	}
	free(sg->nodes);
	sg->nodes = NULL;
	pthread_cond_destroy(&sg->idle);
	pthread_mutex_destroy(&sg->lock);
}

static struct node *lookup_locked(struct stage *sg, const char *path)
{
	struct node *n;

	for (n = sg->nodes[hash(path)]; n; n = n->next)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

struct node *stage_find(struct stage *sg, const char *path)
{
	struct node *n;

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, path);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&sg->lock);
	return n;
}

struct node *stage_get(struct stage *sg, const char *path, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, path);
	if (n) {
		n->refs++;
		pthread_mutex_unlock(&sg->lock);
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (n) {
		n->path = str_ndup(path, strlen(path));
		n->name = str_ndup(name, strlen(name));
		n->fd = -1;
		n->journal_fd = -1;
		n->refs = 1;
		pthread_cond_init(&n->cond, NULL);
		if (!n->path || !n->name) {
			free(n->path);
			free(n->name);
			pthread_cond_destroy(&n->cond);
			free(n);
			n = NULL;
		} else {
			size_t b = hash(path);

			n->next = sg->nodes[b];
			sg->nodes[b] = n;
		}
	}
	pthread_mutex_unlock(&sg->lock);
	return n;
}

void stage_put(struct stage *sg, struct node *n)
{
	struct node **pp;
	int last;

	pthread_mutex_lock(&sg->lock);
	last = --n->refs == 0;
	/* data not yet on the server keeps its node (and staging file):
	 * a later open, fsync or the unmount uploads it */
	if (last && (n->dirty || (n->is_new && n->fd >= 0)) && !n->unlinked)
		last = 0;
	if (last) {
		for (pp = &sg->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
			if (*pp == n) {
				*pp = n->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&sg->lock);
	if (last)
		node_free(n);
}

void stage_unlinked(struct stage *sg, struct node *n, int *was_new)
{
	struct node **pp;

	pthread_mutex_lock(&sg->lock);
	*was_new = n->is_new;
	n->unlinked = 1;
	n->dirty = 0;
	n->is_new = 0;
	/* removed: a later mount must not upload it again */
	stage_journal_drop(n);
	/* out of the table: a file created anew under the name gets a node
	 * of its own, not this one, which never uploads again */
	for (pp = &sg->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&sg->lock);
}

/* admits: whether a phase of kind p may begin now (stage.lock held) */
static int admits(const struct node *n, enum stage_phase p)
{
	switch (p) {
	case STAGE_READ:
		return !n->excl;
	case STAGE_WRITE:
		return !n->excl && !n->upload;
	case STAGE_UPLOAD:
		return !n->excl && !n->upload && !n->writers;
	default:
		return !n->excl && !n->upload && !n->shared;
	}
}

void stage_begin(struct stage *sg, struct node *n, enum stage_phase p)
{
	pthread_mutex_lock(&sg->lock);
	while (!admits(n, p))
		pthread_cond_wait(&n->cond, &sg->lock);
	if (p == STAGE_READ || p == STAGE_WRITE)
		n->shared++;
	if (p == STAGE_WRITE)
		n->writers++;
	if (p == STAGE_UPLOAD)
		n->upload = 1;
	if (p == STAGE_EXCL)
		n->excl = 1;
	pthread_mutex_unlock(&sg->lock);
}

void stage_end(struct stage *sg, struct node *n, enum stage_phase p)
{
	pthread_mutex_lock(&sg->lock);
	if (p == STAGE_READ || p == STAGE_WRITE)
		n->shared--;
	if (p == STAGE_WRITE)
		n->writers--;
	if (p == STAGE_UPLOAD)
		n->upload = 0;
	if (p == STAGE_EXCL)
		n->excl = 0;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&sg->lock);
}

void stage_rename(struct stage *sg, const char *from, const char *to,
		 const char *name, const char *etag)
{
	struct node *n, **pp;
	char *np = str_ndup(to, strlen(to)), *nn = str_ndup(name, strlen(name));

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, from);
	if (n && np && nn) {
		for (pp = &sg->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
			if (*pp == n) {
				*pp = n->next;
				break;
			}
		}
		free(n->path);
		free(n->name);
		n->path = np;
		n->name = nn;
		np = nn = NULL;
		/* the blob moved by a copy: a new version */
		snprintf(n->etag, sizeof(n->etag), "%s", etag ? etag : "");
		n->next = sg->nodes[hash(n->path)];
		sg->nodes[hash(n->path)] = n;
	}
	pthread_mutex_unlock(&sg->lock);
	free(np);
	free(nn);
}

int stage_open_under(struct stage *sg, const char *dir, int only_new,
		     char ***paths, size_t *n)
{
	size_t dl = strlen(dir), b, cap = 0;
	struct node *nd;
	char **v = NULL, **g;
	int rc = 0;

	*n = 0;
	pthread_mutex_lock(&sg->lock);
	for (b = 0; b < STAGE_BUCKETS && rc == 0; b++) {
		for (nd = sg->nodes[b]; nd && rc == 0; nd = nd->next) {
			if (strncmp(nd->path, dir, dl) != 0 || nd->path[dl] != '/' ||
			    (only_new && (!nd->is_new || nd->unlinked)))
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				g = realloc(v, cap * sizeof(*v));
				if (!g) {
					rc = -ENOMEM;
					break;
				}
				v = g;
			}
			if (!(v[*n] = str_ndup(nd->path, strlen(nd->path))))
				rc = -ENOMEM;
			else
				(*n)++;
		}
	}
	pthread_mutex_unlock(&sg->lock);
	if (rc < 0) {
		while (*n)
			free(v[--*n]);
		free(v);
		v = NULL;
	}
	*paths = v;
	return rc;
}

int stage_size(struct stage *sg, const char *path, uint64_t *size)
{
	struct node *n;
	int have = 0;

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, path);
	if (n && (n->loaded || n->is_new)) {
		*size = n->size;
		have = 1;
	}
	pthread_mutex_unlock(&sg->lock);
	return have;
}

int stage_meta_set(struct stage *sg, struct node *n, const char *key,
		   const char *value, int xflags)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&sg->lock);
	if (!(n->dirty || n->is_new) || n->unlinked) {
		rc = STAGE_CLEAN;
		goto out_unlock;
	}
	for (i = 0; i < n->n_meta; i++)
		if (strcasecmp(n->meta[i].name, key) == 0)
			break;
	if (i < n->n_meta && (xflags & XATTR_CREATE))
		rc = -EEXIST;
	else if (i == n->n_meta && (!value || (xflags & XATTR_REPLACE)))
		rc = -ENODATA;
	else
		rc = core_meta_set(&n->meta, &n->n_meta, key, value);
out_unlock:
	pthread_mutex_unlock(&sg->lock);
	return rc;
}

int stage_meta_get(struct stage *sg, struct node *n, struct blob_meta **out,
		  size_t *count)
{
	int rc = STAGE_CLEAN;

	pthread_mutex_lock(&sg->lock);
	if ((n->dirty || n->is_new) && !n->unlinked) {
		rc = core_meta_dup(n->meta, n->n_meta, out);
		if (rc == 0)
			*count = n->n_meta;
	}
	pthread_mutex_unlock(&sg->lock);
	return rc;
}


void stage_invalidate(struct stage *sg, const char *path)
{
	struct node *n;

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, path);
	if (n && !n->dirty && !n->is_new) {
		n->loaded = 0;
		n->gen++;
	}
	pthread_mutex_unlock(&sg->lock);
}

void stage_ref(struct stage *sg, struct node *n)
{
	pthread_mutex_lock(&sg->lock);
	n->refs++;
	pthread_mutex_unlock(&sg->lock);
}

/* take_meta: n's metadata becomes a copy of m (stage.lock held) */
static int take_meta(struct node *n, const struct blob_meta *m, size_t nm)
{
	struct blob_meta *copy = NULL;
	int rc = core_meta_dup(m, nm, &copy);

	if (rc < 0)
		return rc;
	core_meta_free(n->meta, n->n_meta);
	n->meta = copy;
	n->n_meta = nm;
	return 0;
}

int stage_created(struct stage *sg, struct node *n, int no_clobber,
		  const struct blob_meta *m, size_t nm)
{
	int rc = 0;

	pthread_mutex_lock(&sg->lock);
	if (!n->loaded) {
		n->is_new = 1;
		n->no_clobber = no_clobber;
		n->loaded = 1;
		n->size = 0;
		n->unlinked = 0;
		rc = take_meta(n, m, nm);
	}
	pthread_mutex_unlock(&sg->lock);
	return rc;
}

int stage_made(struct stage *sg, struct node *n, const char *etag,
	       const struct blob_meta *m, size_t nm)
{
	int rc;

	/* the empty blob is on the server: writes stage on top of it and
	 * go up over this version (If-Match), with its metadata */
	pthread_mutex_lock(&sg->lock);
	rc = take_meta(n, m, nm);
	n->is_new = 0;
	n->dirty = 0;
	n->no_clobber = 0;
	n->loaded = 1;
	n->size = 0;
	n->unlinked = 0;
	n->gen++;
	snprintf(n->etag, sizeof(n->etag), "%s", etag);
	pthread_mutex_unlock(&sg->lock);
	return rc;
}

uint64_t stage_state(struct stage *sg, struct node *n, int *changed)
{
	uint64_t gen;

	pthread_mutex_lock(&sg->lock);
	gen = n->gen;
	*changed = n->dirty || n->is_new;
	pthread_mutex_unlock(&sg->lock);
	return gen;
}

void stage_content_changed(struct stage *sg, struct node *n)
{
	pthread_mutex_lock(&sg->lock);
	n->gen++;
	pthread_mutex_unlock(&sg->lock);
}

int stage_set_mtime(struct stage *sg, struct node *n,
		    const struct timespec *mtime)
{
	int pending;

	pthread_mutex_lock(&sg->lock);
	pending = n->dirty || n->is_new;
	if (pending) {
		n->mtime = *mtime;
		n->mtime_set = 1;
	}
	pthread_mutex_unlock(&sg->lock);
	return pending;
}

int stage_copy_target(struct stage *sg, struct node *n, int *known)
{
	int ok;

	pthread_mutex_lock(&sg->lock);
	*known = n->loaded || n->is_new;
	ok = !*known || n->size == 0;
	pthread_mutex_unlock(&sg->lock);
	return ok;
}

void stage_copy_done(struct stage *sg, struct node *n, uint64_t size)
{
	pthread_mutex_lock(&sg->lock);
	n->loaded = 0;
	n->dirty = 0;
	n->is_new = 0;
	n->size = 0;
	n->copied_size = size;
	n->gen++;
	pthread_mutex_unlock(&sg->lock);
	/* nothing staged is worth keeping: the copy made the content */
	if (n->fd >= 0 && ftruncate(n->fd, 0) < 0)
		log_warn("cannot empty a staging file: %s", strerror(errno));
}

uint64_t stage_copied(struct stage *sg, struct node *n)
{
	uint64_t done;

	pthread_mutex_lock(&sg->lock);
	done = n->copied_size;
	pthread_mutex_unlock(&sg->lock);
	return done;
}

int stage_keep(struct stage *sg, struct node *n)
{
	int need, rc;

	pthread_mutex_lock(&sg->lock);
	need = n->refs > 1 && !n->loaded && !n->is_new;
	pthread_mutex_unlock(&sg->lock);
	if (!need)
		return 0;
	stage_begin(sg, n, STAGE_EXCL);
	rc = stage_load(sg, n, 0);
	stage_end(sg, n, STAGE_EXCL);
	return rc;
}

char *stage_path_of(struct stage *sg, struct node *n)
{
	char *p;

	pthread_mutex_lock(&sg->lock);
	p = n->unlinked ? NULL : str_ndup(n->path, strlen(n->path));
	pthread_mutex_unlock(&sg->lock);
	return p;
}

int stage_node_size(struct stage *sg, struct node *n, uint64_t *size)
{
	int have;

	pthread_mutex_lock(&sg->lock);
	have = n->loaded || n->is_new;
	if (have)
		*size = n->size;
	pthread_mutex_unlock(&sg->lock);
	return have;
}

int stage_attr(struct stage *sg, const char *path, struct attr *a)
{
	struct blob_props p;
	struct node *n;
	int have;

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, path);
	have = n && (n->loaded || n->is_new);
	if (have) {
		/* the metadata it will be uploaded with, borrowed */
		memset(&p, 0, sizeof(p));
		p.size = n->size;
		p.meta = n->meta;
		p.n_meta = n->n_meta;
		core_attr_from_props(&p, a);
		a->kind = ATTR_FILE;
		a->size = n->size;
		a->ctime.tv_sec = 0;
		if (n->mtime_set)
			a->mtime = n->mtime;
		else if (n->dirty || !a->mtime.tv_sec)
			a->mtime = core_now(); /* written: modified now */
	}
	pthread_mutex_unlock(&sg->lock);
	return have;
}

void stage_hide(struct stage *sg, struct node *n, const char *hidden)
{
	char *p = str_ndup(hidden, strlen(hidden));
	struct node **pp;

	pthread_mutex_lock(&sg->lock);
	for (pp = &sg->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	stage_journal_drop(n);
	n->unlinked = 1;
	n->dirty = 0;
	n->is_new = 0;
	if (p) {
		free(n->path);
		n->path = p;
	}
	n->next = sg->nodes[hash(n->path)];
	sg->nodes[hash(n->path)] = n;
	pthread_mutex_unlock(&sg->lock);
}

int stage_unsaved(struct stage *sg, const char *path)
{
	struct node *n;
	int unsaved;

	pthread_mutex_lock(&sg->lock);
	n = lookup_locked(sg, path);
	unsaved = n && (n->dirty || n->is_new) && !n->unlinked;
	pthread_mutex_unlock(&sg->lock);
	return unsaved;
}

size_t stage_pending(struct stage *sg)
{
	struct node *n;
	size_t i, count = 0;

	pthread_mutex_lock(&sg->lock);
	for (i = 0; i < sg->buckets; i++)
		for (n = sg->nodes[i]; n; n = n->next)
			count += (n->dirty || n->is_new) && !n->unlinked;
	pthread_mutex_unlock(&sg->lock);
	return count;
}
