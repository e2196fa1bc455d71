/*
 * node.c -- open files: one node per path shared by all its handles, with a
 * private staging file under cache_dir that holds written data until it is
 * uploaded (Put Blob when small, parallel Put Block + Put Block List when
 * large). See azfs.h for the locking rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "fs/azfs.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

#define NODE_BUCKETS 1024

static size_t hash(const char *s)
{
	return str_hash(s) % NODE_BUCKETS;
}

int nodes_init(struct azfs *fs)
{
	fs->node_buckets = NODE_BUCKETS;
	fs->nodes = calloc(NODE_BUCKETS, sizeof(*fs->nodes));
	return fs->nodes ? 0 : -1;
}

static void meta_free(struct blob_meta *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].value);
	}
	free(m);
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
	meta_free(n->meta, n->n_meta);
	free(n->bstate);
	pthread_cond_destroy(&n->cond);
	free(n->path);
	free(n->name);
	free(n);
}

void nodes_release(struct azfs *fs)
{
	size_t i;

	if (!fs->nodes)
		return;
	for (i = 0; i < fs->node_buckets; i++) {
		struct node *n = fs->nodes[i], *nx;

		for (; n; n = nx) {
			nx = n->next;
			node_free(n);
		}
	}
	free(fs->nodes);
	fs->nodes = NULL;
}

static struct node *lookup_locked(struct azfs *fs, const char *path)
{
	struct node *n;

	for (n = fs->nodes[hash(path)]; n; n = n->next)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

struct node *node_find(struct azfs *fs, const char *path)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = lookup_locked(fs, path);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

struct node *node_get(struct azfs *fs, const char *path, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = lookup_locked(fs, path);
	if (n) {
		n->refs++;
		pthread_mutex_unlock(&fs->lock);
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (n) {
		n->path = str_ndup(path, strlen(path));
		n->name = str_ndup(name, strlen(name));
		n->fd = -1;
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

			n->next = fs->nodes[b];
			fs->nodes[b] = n;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

void node_put(struct azfs *fs, struct node *n)
{
	struct node **pp;
	int last;

	pthread_mutex_lock(&fs->lock);
	last = --n->refs == 0;
	/* data not yet on the server keeps its node (and staging file):
	 * a later open, fsync or the unmount uploads it */
	if (last && (n->dirty || (n->is_new && n->fd >= 0)) && !n->unlinked)
		last = 0;
	if (last) {
		for (pp = &fs->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
			if (*pp == n) {
				*pp = n->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (last)
		node_free(n);
}

void node_unlinked(struct azfs *fs, struct node *n, int *was_new)
{
	struct node **pp;

	pthread_mutex_lock(&fs->lock);
	*was_new = n->is_new;
	n->unlinked = 1;
	n->dirty = 0;
	n->is_new = 0;
	/* out of the table: a file created anew under the name gets a node
	 * of its own, not this one, which never uploads again */
	for (pp = &fs->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&fs->lock);
}

void node_begin(struct azfs *fs, struct node *n, int excl)
{
	pthread_mutex_lock(&fs->lock);
	if (excl) {
		while (n->excl || n->shared)
			pthread_cond_wait(&n->cond, &fs->lock);
		n->excl = 1;
	} else {
		while (n->excl)
			pthread_cond_wait(&n->cond, &fs->lock);
		n->shared++;
	}
	pthread_mutex_unlock(&fs->lock);
}

void node_end(struct azfs *fs, struct node *n, int excl)
{
	pthread_mutex_lock(&fs->lock);
	if (excl)
		n->excl = 0;
	else
		n->shared--;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&fs->lock);
}

void node_rename(struct azfs *fs, const char *from, const char *to,
		 const char *name)
{
	struct node *n, **pp;
	char *np = str_ndup(to, strlen(to)), *nn = str_ndup(name, strlen(name));

	pthread_mutex_lock(&fs->lock);
	n = lookup_locked(fs, from);
	if (n && np && nn) {
		for (pp = &fs->nodes[hash(n->path)]; *pp; pp = &(*pp)->next) {
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
		n->next = fs->nodes[hash(n->path)];
		fs->nodes[hash(n->path)] = n;
	}
	pthread_mutex_unlock(&fs->lock);
	free(np);
	free(nn);
}

int node_size(struct azfs *fs, const char *path, uint64_t *size)
{
	struct node *n;
	int have = 0;

	pthread_mutex_lock(&fs->lock);
	n = lookup_locked(fs, path);
	if (n && (n->loaded || n->is_new)) {
		*size = n->size;
		have = 1;
	}
	pthread_mutex_unlock(&fs->lock);
	return have;
}

static int open_staging(struct azfs *fs, struct node *n)
{
	char *p = NULL;
	int fd;

	if (n->fd >= 0)
		return 0;
	if (asprintf(&p, "%s/stage-XXXXXX", fs->o.cache_dir) < 0)
		return -ENOMEM;
	fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		log_error("cannot create a staging file in %s: %s",
			  fs->o.cache_dir, strerror(e));
		free(p);
		return -e;
	}
	fchmod(fd, 0600);
	n->fd = fd;
	n->stage_path = p;
	return 0;
}

static int dup_meta(const struct blob_meta *src, size_t n,
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
			meta_free(m, n);
			return -ENOMEM;
		}
	}
	*out = m;
	return 0;
}

/* remember_props: keep etag and metadata of the blob (fs->lock taken). */
static int remember_props(struct azfs *fs, struct node *n,
			  const struct blob_props *p)
{
	struct blob_meta *m = NULL;
	int rc = dup_meta(p->meta, p->n_meta, &m);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&fs->lock);
	meta_free(n->meta, n->n_meta);
	n->meta = m;
	n->n_meta = p->n_meta;
	memcpy(n->etag, p->etag, sizeof(n->etag));
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

struct dl {
	struct azfs *fs;
	const char *name;
	const char *etag;
	int fd;
	uint64_t size;
	size_t chunk;
};

/* dl_write: a Get Blob's bytes straight into the staging file. */
struct dl_at {
	int fd;
	uint64_t off;   /* where the next byte goes */
	int err;        /* errno of a failed write */
};

static size_t dl_write(void *arg, const void *data, size_t len)
{
	struct dl_at *at = arg;
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(at->fd, (const char *)data + done, len - done,
				   (off_t)(at->off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			at->err = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
	}
	at->off += len;
	return len;
}

/* dl_one: chunk i of the blob into the staging file, streamed (no buffer
 * of the chunk's size); a Get Blob cut after some bytes goes on from
 * there. */
static int dl_one(void *ctx, size_t i)
{
	struct dl *d = ctx;
	uint64_t off = (uint64_t)i * d->chunk;
	uint64_t end = d->size - off < d->chunk ? d->size : off + d->chunk;
	struct dl_at at = { .fd = d->fd };
	struct blob_error e;
	uint64_t got;

	while (off < end) {
		at.off = off;
		if (blob_read_stream(&d->fs->blob, d->name, off, end - off, d->etag,
				     dl_write, &at, &got, &e) < 0) {
			if (at.err)
				return -at.err;
			if (got == 0 || e.kind != BLOB_E_TRANSPORT)
				return -azfs_errno(&e);
		} else if (got != end - off) {
			return -EIO; /* shorter than its properties said */
		}
		off += got;
	}
	return 0;
}

int node_load(struct azfs *fs, struct node *n, int trunc)
{
	struct blob_props p;
	struct blob_error e;
	struct dl d;
	int rc, loaded, is_new;

	pthread_mutex_lock(&fs->lock);
	loaded = n->loaded;
	is_new = n->is_new;
	pthread_mutex_unlock(&fs->lock);
	if (loaded && !trunc && n->fd >= 0)
		return 0;
	rc = open_staging(fs, n);
	if (rc < 0)
		return rc;
	if (loaded || is_new) {
		if (trunc && ftruncate(n->fd, 0) < 0)
			return -errno;
		pthread_mutex_lock(&fs->lock);
		if (trunc) {
			n->tail = 0;
			n->base = 0;
			n->size = 0;
			n->dirty = 1;
			node_blocks_reset(n);
		}
		n->loaded = 1;
		pthread_mutex_unlock(&fs->lock);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, n->name, &p, &e) < 0)
		return -azfs_errno(&e);
	if (p.copy.status == BLOB_COPY_PENDING) {
		blob_props_release(&p);
		return -EBUSY;
	}
	rc = remember_props(fs, n, &p);
	if (rc < 0)
		goto out_props;
	if (ftruncate(n->fd, 0) < 0) {
		rc = -errno;
		goto out_props;
	}
	if (!trunc && p.size > 0) {
		d.fs = fs;
		d.name = n->name;
		d.etag = p.etag[0] ? p.etag : NULL;
		d.fd = n->fd;
		d.size = p.size;
		d.chunk = fs->o.block_size;
		rc = pool_run((size_t)((p.size + d.chunk - 1) / d.chunk),
			      fs->o.parallel, dl_one, &d);
		if (rc < 0)
			goto out_props;
	}
	pthread_mutex_lock(&fs->lock);
	n->size = trunc ? 0 : p.size;
	n->loaded = 1;
	if (trunc)
		n->dirty = 1;
	pthread_mutex_unlock(&fs->lock);
	rc = 0;
out_props:
	blob_props_release(&p);
	return rc;
}

/*
 * materialize: leaves tail mode by downloading [0, base) in front of the
 * staged tail (exclusive phase). 0 or -errno.
 */
static int materialize(struct azfs *fs, struct node *n)
{
	uint64_t base, size, off;
	char *p = NULL, *buf = NULL;
	struct dl d;
	int fd, rc;

	pthread_mutex_lock(&fs->lock);
	base = n->base;
	size = n->size;
	pthread_mutex_unlock(&fs->lock);
	if (asprintf(&p, "%s/stage-XXXXXX", fs->o.cache_dir) < 0)
		return -ENOMEM;
	fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(p);
		return rc;
	}
	memset(&d, 0, sizeof(d));
	d.fs = fs;
	d.name = n->name;
	d.etag = n->etag[0] ? n->etag : NULL;
	d.fd = fd;
	d.size = base;
	d.chunk = fs->o.block_size;
	rc = pool_run((size_t)((base + d.chunk - 1) / d.chunk), fs->o.parallel,
		      dl_one, &d);
	buf = rc == 0 ? malloc(1 << 20) : NULL;
	if (rc == 0 && !buf)
		rc = -ENOMEM;
	for (off = 0; rc == 0 && off < size - base;) {
		size_t len = size - base - off < (1 << 20) ? (size_t)(size - base - off) : (1 << 20);
		ssize_t r = pread(n->fd, buf, len, (off_t)off);

		if (r <= 0 || pwrite(fd, buf, (size_t)r, (off_t)(base + off)) != r)
			rc = -EIO;
		else
			off += (uint64_t)r;
	}
	free(buf);
	if (rc < 0) {
		close(fd);
		unlink(p);
		free(p);
		return rc;
	}
	close(n->fd);
	unlink(n->stage_path);
	free(n->stage_path);
	n->fd = fd;
	n->stage_path = p;
	pthread_mutex_lock(&fs->lock);
	n->tail = 0;
	n->base = 0;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

int node_prepare_write(struct azfs *fs, struct node *n, int64_t off)
{
	struct blob_props p;
	struct blob_error e;
	int loaded, tail, rc;
	uint64_t base;

	pthread_mutex_lock(&fs->lock);
	loaded = n->loaded && n->fd >= 0;
	tail = n->tail;
	base = n->base;
	pthread_mutex_unlock(&fs->lock);
	if (loaded)
		return tail && off >= 0 && (uint64_t)off < base ? materialize(fs, n) : 0;
	pthread_mutex_lock(&fs->lock);
	loaded = n->loaded || n->is_new;
	pthread_mutex_unlock(&fs->lock);
	if (loaded)
		return node_load(fs, n, 0);
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, n->name, &p, &e) < 0)
		return e.kind == BLOB_E_NOT_FOUND ? node_load(fs, n, 0) : -azfs_errno(&e);
	if (p.copy.status == BLOB_COPY_PENDING) {
		rc = -EBUSY;
	} else if ((off < 0 || (uint64_t)off == p.size) && p.size > fs->o.block_size &&
		   strcmp(p.blob_type, "BlockBlob") == 0) {
		rc = remember_props(fs, n, &p);
		if (rc == 0)
			rc = open_staging(fs, n);
		if (rc == 0 && ftruncate(n->fd, 0) < 0)
			rc = -errno;
		if (rc == 0) {
			pthread_mutex_lock(&fs->lock);
			n->tail = 1;
			n->base = p.size;
			n->size = p.size;
			n->loaded = 1;
			pthread_mutex_unlock(&fs->lock);
			log_debug("%s: appending after %llu bytes", n->name,
				  (unsigned long long)p.size);
		}
	} else {
		rc = node_load(fs, n, 0);
	}
	blob_props_release(&p);
	return rc;
}

ssize_t node_read_staged(struct azfs *fs, struct node *n, char *buf,
			 size_t size, uint64_t off)
{
	struct blob_error e;
	uint64_t base;
	size_t got = 0;
	ssize_t r;

	pthread_mutex_lock(&fs->lock);
	base = n->tail ? n->base : 0;
	pthread_mutex_unlock(&fs->lock);
	if (n->fd < 0)
		return 0;
	if (off >= base) {
		r = pread(n->fd, buf, size, (off_t)(off - base));
		return r < 0 ? -errno : r;
	}
	if (blob_read(&fs->blob, n->name, off,
		      (size_t)(base - off < size ? base - off : size), buf, &got,
		      n->etag[0] ? n->etag : NULL, &e) < 0)
		return -azfs_errno(&e);
	if (got < size && off + got == base) {
		r = pread(n->fd, buf + got, size - got, 0);
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * put_failed: -errno of a failed upload or commit of name, logged. A
 * conditional one that met a conflict (412, or 409 for If-None-Match: *)
 * is only info here: node_flush first checks whether the blob is our own
 * commit whose answer was lost, and logs a real conflict itself.
 */
static int put_failed(const char *what, const char *name,
		      const struct blob_put_opts *po, const struct blob_error *e)
{
	char msg[400];

	blob_error_str(e, msg, sizeof(msg));
	if (po && (po->if_match || po->if_none_match_any) &&
	    (e->kind == BLOB_E_CONDITION || e->kind == BLOB_E_EXISTS))
		log_info("%s of %s: %s", what, name, msg);
	else
		log_error("%s of %s failed: %s", what, name, msg);
	return -azfs_errno(e);
}

/*
 * upload_tail: commits an append as the blob's committed blocks plus new
 * blocks for the tail (Get Block List, Put Block, Put Block List with
 * If-Match), so the bytes already on the server are not sent again.
 * Returns 1 when the blob's layout does not allow it (the caller then
 * materializes and uploads everything), 0 or -errno otherwise.
 */
static int upload_tail(struct azfs *fs, struct node *n, const char *name,
		       const struct blob_put_opts *po, char *etag)
{
	struct blob_block *b = NULL;
	struct blob_error e;
	size_t nb = 0, i, k, nt, dlen = 0, bs = fs->o.block_size;
	uint64_t sum = 0, base, size;
	char **ids = NULL, salt[9];
	unsigned char *raw = NULL;
	int rc = 1;

	pthread_mutex_lock(&fs->lock);
	base = n->base;
	size = n->size;
	pthread_mutex_unlock(&fs->lock);
	if (blob_get_block_list(&fs->blob, name, &b, &nb, NULL, &e) < 0)
		return e.kind == BLOB_E_NOT_FOUND ? 1 : -azfs_errno(&e);
	for (i = 0; i < nb; i++)
		sum += b[i].size;
	if (nb)
		dlen = strlen(b[0].id) / 4 * 3 - (strchr(b[0].id, '=') ? strlen(strchr(b[0].id, '=')) : 0);
	nt = (size_t)((size - base + bs - 1) / bs);
	if (!nb || sum != base || dlen < 12 || dlen > 64 || nb + nt > BLOB_MAX_BLOCKS)
		goto out_free;
	ids = calloc(nb + nt, sizeof(*ids));
	raw = malloc(dlen + 1);
	if (!ids || !raw) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < nb; i++)
		ids[i] = b[i].id;
	snprintf(salt, sizeof(salt), "%08lx", (unsigned long)random());
	rc = 0;
	for (k = 0; k < nt && rc == 0; k++) {
		uint64_t off = (uint64_t)k * bs;
		size_t len = size - base - off < bs ? (size_t)(size - base - off) : bs;
		ids[nb + k] = malloc(4 * ((dlen + 2) / 3) + 1);
		if (!ids[nb + k]) {
			rc = -ENOMEM;
			break;
		}
		/* same decoded length as the blob's own ids, as required */
		snprintf((char *)raw, dlen + 1, "%s%0*zu", salt, (int)(dlen - 8), k);
		EVP_EncodeBlock((unsigned char *)ids[nb + k], raw, (int)dlen);
		if (blob_put_block_fd(&fs->blob, name, ids[nb + k], n->fd, off,
				      len, &e) < 0)
			rc = -azfs_errno(&e);
	}
	if (rc == 0 && blob_put_block_list(&fs->blob, name, ids, nb + nt, po,
					   etag, &e) < 0)
		rc = -azfs_errno(&e);
	if (rc == 0)
		log_debug("%s: appended %llu bytes as %zu new blocks after %zu",
			  name, (unsigned long long)(size - base), nt, nb);
	for (k = nb; k < nb + nt; k++)
		free(ids[k]);
out_free:
	free(raw);
	free(ids);
	blob_blocks_free(b, nb);
	return rc;
}

struct ul {
	struct azfs *fs;
	const char *name;
	int fd;
	uint64_t size;
	size_t block;
	char **ids;
	size_t *todo;   /* indices of the blocks to send */
	char salt[17];
};

static int ul_one(void *ctx, size_t k)
{
	struct ul *u = ctx;
	size_t i = u->todo[k];
	uint64_t off = (uint64_t)i * u->block;
	size_t len = u->size - off < u->block ? (size_t)(u->size - off) : u->block;
	struct blob_error e;
	int rc = 0;

	if (blob_put_block_fd(&u->fs->blob, u->name, u->ids[i], u->fd, off, len,
			      &e) < 0)
		rc = put_failed("upload", u->name, NULL, &e);
	return rc;
}

/*
 * A block's state while the staging file is written: not sent, its Put
 * Block in flight, sent, changed after it was sent, or changed while its
 * Put Block was in flight (REDO: sent again once that one has ended --
 * never two Put Block of one block id at once, whose order on the server
 * nothing fixes: the older bytes could be the ones it keeps).
 */
enum { BLOCK_NONE = 0, BLOCK_UPLOADING, BLOCK_DONE, BLOCK_DIRTY, BLOCK_REDO };

static void new_salt(struct node *n)
{
	snprintf(n->salt, sizeof(n->salt), "%08lx%08lx", (unsigned long)random(),
		 (unsigned long)random());
}

void node_blocks_reset(struct node *n)
{
	free(n->bstate);
	n->bstate = NULL;
	n->n_bstate = 0;
	n->epoch++;
	n->salt[0] = '\0';
}

struct bgup {
	struct azfs *fs;
	struct node *n;
	char *name;
	size_t idx;
	uint64_t epoch;
	char id[72];
};

static void start_uploads(struct azfs *fs, struct node *n);

/*
 * drop_pages: the staging file's bytes [at, at + len), which the server
 * has, leave the page cache (written to the disk first: the staging file
 * still holds them). Without this a write of N GiB takes N GiB of new
 * page cache on top of the writer's own, and a new page costs far more
 * than one used again (much more on a VM whose freed memory goes back to
 * its host): 1 GiB written took the daemon 2.7-3.2 s of CPU, 76 % of it
 * copying into new staging pages, and 0.7-0.9 s with this.
 */
static void drop_pages(int fd, off_t at, off_t len)
{
	if (sync_file_range(fd, at, len, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0)
		posix_fadvise(fd, at, len, POSIX_FADV_DONTNEED);
}

/* bg_upload: one Put Block of a complete block; a success starts the next
 * complete block, so the uploads stay `parallel` deep once the writer has
 * stopped writing (a failure waits for the next write or the flush), and
 * lets the block's pages go. */
static void *bg_upload(void *arg)
{
	struct bgup *b = arg;
	struct azfs *fs = b->fs;
	size_t bs = fs->o.block_size;
	struct blob_error e;
	int ok = 0;

	if (blob_put_block_fd(&fs->blob, b->name, b->id, b->n->fd,
			      (uint64_t)b->idx * bs, bs, &e) == 0)
		ok = 1;
	pthread_mutex_lock(&fs->lock);
	if (b->epoch == b->n->epoch && b->idx < b->n->n_bstate) {
		unsigned char *st = &b->n->bstate[b->idx];

		if (*st == BLOCK_UPLOADING)
			*st = ok ? BLOCK_DONE : BLOCK_NONE;
		else if (*st == BLOCK_REDO)
			*st = BLOCK_DIRTY;
	}
	b->n->inflight--;
	if (ok && b->epoch == b->n->epoch)
		start_uploads(fs, b->n);
	pthread_cond_broadcast(&b->n->cond);
	pthread_mutex_unlock(&fs->lock);
	if (ok)
		drop_pages(b->n->fd, (off_t)b->idx * (off_t)bs, (off_t)bs);
	node_put(fs, b->n);
	free(b->name);
	free(b);
	return NULL;
}

/* start_uploads: background Put Block of complete blocks (fs->lock held). */
static void start_uploads(struct azfs *fs, struct node *n)
{
	size_t bs = fs->o.block_size, full = (size_t)(n->size / bs), i;

	if (full < 2 || n->unlinked || n->fd < 0 || n->tail ||
	    full > BLOB_MAX_BLOCKS)
		return;
	if (n->n_bstate < full) {
		unsigned char *nb = realloc(n->bstate, full);

		if (!nb)
			return;
		memset(nb + n->n_bstate, BLOCK_NONE, full - n->n_bstate);
		n->bstate = nb;
		n->n_bstate = full;
	}
	if (!n->salt[0])
		new_salt(n);
	for (i = 0; i < full && n->inflight < fs->o.parallel; i++) {
		struct bgup *b;

		if (n->bstate[i] != BLOCK_NONE && n->bstate[i] != BLOCK_DIRTY)
			continue;
		b = calloc(1, sizeof(*b));
		if (!b || !(b->name = strdup(n->name))) {
			free(b);
			break;
		}
		b->fs = fs;
		b->n = n;
		b->idx = i;
		b->epoch = n->epoch;
		blob_block_id((uint32_t)i, n->salt, b->id, sizeof(b->id));
		n->refs++;
		n->inflight++;
		n->bstate[i] = BLOCK_UPLOADING;
		if (pool_detach(bg_upload, b) < 0) {
			n->refs--;
			n->inflight--;
			n->bstate[i] = BLOCK_NONE;
			free(b->name);
			free(b);
			break;
		}
	}
}

void node_wrote(struct azfs *fs, struct node *n, uint64_t off, size_t len)
{
	size_t bs = fs->o.block_size, i;

	pthread_mutex_lock(&fs->lock);
	for (i = (size_t)(off / bs); len && i <= (size_t)((off + len - 1) / bs) &&
	     i < n->n_bstate; i++)
		if (n->bstate[i] == BLOCK_UPLOADING || n->bstate[i] == BLOCK_REDO)
			n->bstate[i] = BLOCK_REDO;
		else if (n->bstate[i] != BLOCK_NONE)
			n->bstate[i] = BLOCK_DIRTY;
	start_uploads(fs, n);
	pthread_mutex_unlock(&fs->lock);
}

static int upload_blocks(struct azfs *fs, struct node *n, const char *name,
			 uint64_t size, const struct blob_put_opts *po,
			 char *etag)
{
	struct ul u;
	struct blob_error e;
	size_t nb, i, *todo = NULL, nt = 0;
	int rc = -ENOMEM;

	memset(&u, 0, sizeof(u));
	u.fs = fs;
	u.name = name;
	u.fd = n->fd;
	u.size = size;
	u.block = fs->o.block_size;
	nb = (size_t)((size + u.block - 1) / u.block);
	if (nb > BLOB_MAX_BLOCKS)
		return -EFBIG;
	/* wait for background uploads, then reuse the blocks they sent */
	pthread_mutex_lock(&fs->lock);
	while (n->inflight > 0)
		pthread_cond_wait(&n->cond, &fs->lock);
	if (!n->salt[0])
		new_salt(n);
	memcpy(u.salt, n->salt, sizeof(u.salt));
	u.ids = calloc(nb, sizeof(*u.ids));
	todo = calloc(nb, sizeof(*todo));
	for (i = 0; u.ids && todo && i < nb; i++) {
		u.ids[i] = malloc(72);
		if (!u.ids[i])
			break;
		blob_block_id((uint32_t)i, u.salt, u.ids[i], 72);
		/* the last block may be partial: always sent now */
		if (!(i < n->n_bstate && n->bstate[i] == BLOCK_DONE &&
		      (uint64_t)(i + 1) * u.block <= size))
			todo[nt++] = i;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!u.ids || !todo || i < nb)
		goto out_free;
	u.todo = todo;
	rc = pool_run(nt, fs->o.parallel, ul_one, &u);
	if (rc < 0)
		goto out_free;
	if (blob_put_block_list(&fs->blob, name, u.ids, nb, po, etag, &e) < 0)
		rc = put_failed("commit", name, po, &e);
	log_debug("%s: committed %zu blocks, %zu sent at commit", name, nb, nt);
out_free:
	for (i = 0; u.ids && i < nb; i++)
		free(u.ids[i]);
	free(u.ids);
	free(todo);
	return rc;
}

static int upload_small(struct azfs *fs, const char *name, int fd,
			uint64_t size, const struct blob_put_opts *po,
			char *etag)
{
	struct blob_error e;
	char *buf = malloc(size ? (size_t)size : 1);
	ssize_t got;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	got = size ? pread(fd, buf, (size_t)size, 0) : 0;
	if (got != (ssize_t)size) {
		rc = got < 0 ? -errno : -EIO;
		goto out_free;
	}
	if (blob_put(&fs->blob, name, buf, (size_t)size, po, etag, &e) < 0)
		rc = put_failed("upload", name, po, &e);
out_free:
	free(buf);
	return rc;
}

/* upload_meta: the node's metadata with mtime set (fs->lock held). */
static int upload_meta(struct node *n, struct blob_meta **out, size_t *count,
		       struct timespec *mtime)
{
	struct blob_meta *m = calloc(n->n_meta + 1, sizeof(*m));
	struct timespec ts = n->mtime_set ? n->mtime : azfs_now();
	char tbuf[48];
	size_t i, k = 0;

	if (!m)
		return -ENOMEM;
	for (i = 0; i < n->n_meta; i++) {
		if (strcasecmp(n->meta[i].name, "mtime") == 0)
			continue;
		m[k].name = str_ndup(n->meta[i].name, strlen(n->meta[i].name));
		m[k].value = str_ndup(n->meta[i].value, strlen(n->meta[i].value));
		k++;
		if (!m[k - 1].name || !m[k - 1].value)
			goto out_fail;
	}
	str_rfc3339_format(&ts, tbuf, sizeof(tbuf));
	m[k].name = str_ndup("mtime", 5);
	m[k].value = str_ndup(tbuf, strlen(tbuf));
	k++;
	if (!m[k - 1].name || !m[k - 1].value)
		goto out_fail;
	*out = m;
	*count = k;
	*mtime = ts;
	return 0;
out_fail:
	meta_free(m, k);
	return -ENOMEM;
}

/*
 * own_commit: after a 412 on our conditional commit, 1 when the blob is
 * the very upload we sent -- its answer was lost and the retry found our
 * own new ETag. The mtime metadata (nanoseconds) tags each upload.
 */
static int own_commit(struct azfs *fs, const char *name, uint64_t size,
		      const struct timespec *mtime, char *etag)
{
	struct blob_props p;
	struct blob_error e;
	char want[48];
	const char *got;
	int ours = 0;

	str_rfc3339_format(mtime, want, sizeof(want));
	memset(&p, 0, sizeof(p));
	if (blob_get_props(&fs->blob, name, &p, &e) < 0)
		return 0;
	got = blob_meta_get(&p, "mtime");
	if (got && strcmp(got, want) == 0 && p.size == size) {
		ours = 1;
		snprintf(etag, BLOB_ETAG_MAX, "%s", p.etag);
		log_info("%s: the commit's answer was lost, but it is on the server", name);
	}
	blob_props_release(&p);
	return ours;
}

int node_flush_maybe_empty(struct azfs *fs, struct node *n, int now)
{
	int defer;

	/* "cmd > file" closes a duplicate of the new file before writing to
	 * it: an empty new file goes up at release (or fsync), not at every
	 * close, so it is not uploaded twice */
	pthread_mutex_lock(&fs->lock);
	defer = !now && n->is_new && !n->dirty && n->size == 0;
	pthread_mutex_unlock(&fs->lock);
	return defer ? 0 : node_flush(fs, n);
}

int node_flush(struct azfs *fs, struct node *n)
{
	struct blob_put_opts po;
	struct blob_meta *m = NULL;
	size_t nm = 0;
	char etag[BLOB_ETAG_MAX] = "", if_match[BLOB_ETAG_MAX] = "";
	struct timespec mtime_sent = { 0, 0 };
	uint64_t size;
	char *name = NULL;
	int rc = 0, need;

	node_begin(fs, n, 1);
	pthread_mutex_lock(&fs->lock);
	need = (n->dirty || n->is_new) && !n->unlinked;
	size = n->size;
	if (need) {
		rc = upload_meta(n, &m, &nm, &mtime_sent);
		name = str_ndup(n->name, strlen(n->name));
		if (!name)
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!need || rc < 0)
		goto out_end;
	if (n->fd < 0) {
		rc = open_staging(fs, n);
		if (rc < 0)
			goto out_end;
	}
	memset(&po, 0, sizeof(po));
	po.meta = m;
	po.n_meta = nm;
	/* commit only over the version we started from: another writer's
	 * newer blob is never silently replaced (412 -> ESTALE) */
	pthread_mutex_lock(&fs->lock);
	if (!n->is_new && n->etag[0])
		memcpy(if_match, n->etag, sizeof(if_match));
	po.if_none_match_any = n->is_new && n->no_clobber;
	pthread_mutex_unlock(&fs->lock);
	if (if_match[0])
		po.if_match = if_match;
	log_debug("uploading %s: %llu bytes%s%s", name, (unsigned long long)size,
		  if_match[0] ? " if-match " : "", if_match);
	rc = 1;
	if (n->tail) {
		rc = upload_tail(fs, n, name, &po, etag);
		/* no block layout to extend: send everything */
		if (rc == 1 && (rc = materialize(fs, n)) == 0)
			rc = 1;
	}
	if (rc == 1) {
		if (size <= fs->o.block_size)
			rc = upload_small(fs, name, n->fd, size, &po, etag);
		else
			rc = upload_blocks(fs, n, name, size, &po, etag);
	}
	if ((rc == -ESTALE || rc == -EEXIST) && (po.if_match || po.if_none_match_any)) {
		if (own_commit(fs, name, size, &mtime_sent, etag))
			rc = 0;
		else
			log_error("upload of %s refused: %s on the server meanwhile; the data stays in the staging file",
				  name, rc == -EEXIST ? "another client made the blob"
				  : "another client changed the blob");
	}
	pthread_mutex_lock(&fs->lock);
	if (rc == 0) {
		n->dirty = 0;
		n->is_new = 0;
		n->no_clobber = 0;
		n->mtime_set = 0;
		n->gen++;
		node_blocks_reset(n);
		if (n->tail) {
			/* the staged tail is on the server now: forget it */
			n->tail = 0;
			n->base = 0;
			n->loaded = 0;
		}
		memcpy(n->etag, etag, sizeof(n->etag));
	}
	pthread_mutex_unlock(&fs->lock);
	if (rc == 0) {
		/* what we just wrote is what a lookup would find */
		struct attr a;

		memset(&a, 0, sizeof(a));
		a.kind = ATTR_FILE;
		a.size = size;
		a.mtime = mtime_sent;
		memcpy(a.etag, etag, sizeof(a.etag));
		cache_put(fs, n->path, &a);
	} else {
		cache_drop(fs, n->path);
	}
out_end:
	node_end(fs, n, 1);
	meta_free(m, nm);
	free(name);
	return rc;
}

int node_meta_set(struct azfs *fs, struct node *n, const char *key,
		  const char *value, int xflags)
{
	struct blob_meta *m;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	if (!(n->dirty || n->is_new) || n->unlinked) {
		rc = 1;
		goto out_unlock;
	}
	for (i = 0; i < n->n_meta; i++)
		if (strcasecmp(n->meta[i].name, key) == 0)
			break;
	if (i < n->n_meta && (xflags & XATTR_CREATE)) {
		rc = -EEXIST;
	} else if (i == n->n_meta && (!value || (xflags & XATTR_REPLACE))) {
		rc = -ENODATA;
	} else if (!value) {
		free(n->meta[i].name);
		free(n->meta[i].value);
		n->meta[i] = n->meta[--n->n_meta];
	} else if (i < n->n_meta) {
		char *v = str_ndup(value, strlen(value));

		if (!v) {
			rc = -ENOMEM;
		} else {
			free(n->meta[i].value);
			n->meta[i].value = v;
		}
	} else {
		m = realloc(n->meta, (n->n_meta + 1) * sizeof(*m));
		if (!m) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		n->meta = m;
		m[n->n_meta].name = str_ndup(key, strlen(key));
		m[n->n_meta].value = str_ndup(value, strlen(value));
		if (!m[n->n_meta].name || !m[n->n_meta].value) {
			free(m[n->n_meta].name);
			free(m[n->n_meta].value);
			rc = -ENOMEM;
		} else {
			n->n_meta++;
		}
	}
out_unlock:
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int node_meta_get(struct azfs *fs, struct node *n, struct blob_meta **out,
		  size_t *count)
{
	int rc = 1;

	pthread_mutex_lock(&fs->lock);
	if ((n->dirty || n->is_new) && !n->unlinked) {
		rc = dup_meta(n->meta, n->n_meta, out);
		if (rc == 0)
			*count = n->n_meta;
	}
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int nodes_flush_all(struct azfs *fs)
{
	struct node **todo = NULL, *n;
	size_t i, cnt = 0, cap = 0;
	int rc = 0, r;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < fs->node_buckets; i++) {
		for (n = fs->nodes[i]; n; n = n->next) {
			if (!((n->dirty || n->is_new) && !n->unlinked))
				continue;
			if (cnt == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct node **t = realloc(todo, nc * sizeof(*t));

				if (!t)
					break;
				todo = t;
				cap = nc;
			}
			n->refs++;
			todo[cnt++] = n;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < cnt; i++) {
		r = node_flush(fs, todo[i]);
		if (r < 0) {
			log_error("cannot upload %s: %s", todo[i]->name, strerror(-r));
			rc = r;
		}
		node_put(fs, todo[i]);
	}
	free(todo);
	return rc;
}

void node_invalidate(struct azfs *fs, const char *path)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = lookup_locked(fs, path);
	if (n && !n->dirty && !n->is_new) {
		n->loaded = 0;
		n->gen++;
	}
	pthread_mutex_unlock(&fs->lock);
}
