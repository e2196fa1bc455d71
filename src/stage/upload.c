/*
 * upload.c -- a node's staged data to the server: Put Blob when small,
 * the blocks not sent yet and Put Block List when large, the new blocks
 * after the committed ones for a tail; always conditional (If-Match on
 * the version the staging came from, If-None-Match: * for a new file),
 * so another writer's newer blob is never silently replaced. See stage.h
 * for the lock.
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

#include <openssl/evp.h>

#include "stage/stage.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

/* an upload_tail that cannot extend the blob: the whole file goes up */
enum { UPLOAD_WHOLE = 1 };

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
	return -core_errno(e);
}

/*
 * upload_tail: commits an append as the blob's committed blocks plus new
 * blocks for the tail (Get Block List, Put Block, Put Block List with
 * If-Match), so the bytes already on the server are not sent again.
 * Returns UPLOAD_WHOLE when the blob's layout does not allow it (the
 * caller then materializes and uploads everything), 0 or -errno.
 */
static int upload_tail(struct stage *sg, struct node *n, const char *name,
		       const struct blob_put_opts *po, char *etag)
{
	struct blob_block *b = NULL;
	struct blob_error e;
	size_t nb = 0, i, k, nt, dlen = 0, bs = sg->o->block_size;
	uint64_t sum = 0, base, size;
	char **ids = NULL, salt[9];
	unsigned char *raw = NULL;
	int rc = UPLOAD_WHOLE;

	pthread_mutex_lock(&sg->lock);
	base = n->base;
	size = n->size;
	pthread_mutex_unlock(&sg->lock);
	if (blob_get_block_list(sg->blob, name, &b, &nb, NULL, &e) < 0)
		return e.kind == BLOB_E_NOT_FOUND ? UPLOAD_WHOLE : -core_errno(&e);
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
		if (blob_put_block_fd(sg->blob, name, ids[nb + k], n->fd, off,
				      len, &e) < 0)
			rc = -core_errno(&e);
	}
	if (rc == 0 && blob_put_block_list(sg->blob, name, ids, nb + nt, po,
					   etag, &e) < 0)
		rc = -core_errno(&e);
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
	struct stage *sg;
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

	if (blob_put_block_fd(u->sg->blob, u->name, u->ids[i], u->fd, off, len,
			      &e) < 0)
		rc = put_failed("upload", u->name, NULL, &e);
	return rc;
}

static int upload_blocks(struct stage *sg, struct node *n, const char *name,
			 uint64_t size, const struct blob_put_opts *po,
			 char *etag)
{
	struct ul u;
	struct blob_error e;
	size_t nb, i, *todo = NULL, nt = 0;
	int rc = -ENOMEM;

	memset(&u, 0, sizeof(u));
	u.sg = sg;
	u.name = name;
	u.fd = n->fd;
	u.size = size;
	u.block = sg->o->block_size;
	nb = (size_t)((size + u.block - 1) / u.block);
	if (nb > BLOB_MAX_BLOCKS)
		return -EFBIG;
	/* wait for background uploads, then reuse the blocks they sent */
	pthread_mutex_lock(&sg->lock);
	stage_blocks_wait(sg, n);
	if (!n->salt[0])
		stage_new_salt(n);
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
	pthread_mutex_unlock(&sg->lock);
	if (!u.ids || !todo || i < nb)
		goto out_free;
	u.todo = todo;
	rc = pool_run(nt, sg->o->parallel, ul_one, &u);
	if (rc < 0)
		goto out_free;
	if (blob_put_block_list(sg->blob, name, u.ids, nb, po, etag, &e) < 0)
		rc = put_failed("commit", name, po, &e);
	log_debug("%s: committed %zu blocks, %zu sent at commit", name, nb, nt);
out_free:
	for (i = 0; u.ids && i < nb; i++)
		free(u.ids[i]);
	free(u.ids);
	free(todo);
	return rc;
}

static int upload_small(struct stage *sg, const char *name, int fd,
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
	if (blob_put(sg->blob, name, buf, (size_t)size, po, etag, &e) < 0)
		rc = put_failed("upload", name, po, &e);
out_free:
	free(buf);
	return rc;
}

/* upload_meta: the node's metadata with mtime set (stage.lock held). */
static int upload_meta(struct node *n, struct blob_meta **out, size_t *count,
		       struct timespec *mtime)
{
	struct timespec ts = n->mtime_set ? n->mtime : core_now();
	struct blob_meta *m = NULL;
	size_t k = n->n_meta;
	char tbuf[48];
	int rc;

	rc = core_meta_dup(n->meta, n->n_meta, &m);
	if (rc < 0)
		return rc;
	str_rfc3339_format(&ts, tbuf, sizeof(tbuf));
	rc = core_meta_set(&m, &k, CORE_KEY_MTIME, tbuf);
	if (rc < 0) {
		core_meta_free(m, k);
		return rc;
	}
	*out = m;
	*count = k;
	*mtime = ts;
	return 0;
}

/*
 * own_commit: after a 412 on our conditional commit, 1 when the blob is
 * the very upload we sent -- its answer was lost and the retry found our
 * own new ETag. The mtime metadata (nanoseconds) tags each upload.
 */
static int own_commit(struct stage *sg, const char *name, uint64_t size,
		      const struct timespec *mtime, char *etag)
{
	struct blob_props p;
	struct blob_error e;
	char want[48];
	const char *got;
	int ours = 0;

	str_rfc3339_format(mtime, want, sizeof(want));
	memset(&p, 0, sizeof(p));
	if (blob_get_props(sg->blob, name, &p, &e) < 0)
		return 0;
	got = blob_meta_get(&p, CORE_KEY_MTIME);
	if (got && strcmp(got, want) == 0 && p.size == size) {
		ours = 1;
		snprintf(etag, BLOB_ETAG_MAX, "%s", p.etag);
		log_info("%s: the commit's answer was lost, but it is on the server", name);
	}
	blob_props_release(&p);
	return ours;
}

/*
 * flushed: the end of an upload of n (rc: its outcome) that sent size
 * bytes with metadata m: the node is clean on success, and the uploaded
 * hook hears what a lookup would now find (or that it is stale).
 */
static void flushed(struct stage *sg, struct node *n, int rc, uint64_t size,
		    const char *etag, const struct blob_meta *m, size_t nm)
{
	/* the metadata sent, borrowed as properties to look it up */
	const struct blob_props sent = { .meta = (struct blob_meta *)m, .n_meta = nm };
	const char *mtime = blob_meta_get(&sent, CORE_KEY_MTIME);
	struct blob_props p;
	struct attr a;

	pthread_mutex_lock(&sg->lock);
	if (rc == 0) {
		n->dirty = 0;
		n->is_new = 0;
		n->no_clobber = 0;
		n->mtime_set = 0;
		n->gen++;
		stage_blocks_reset(n);
		if (n->tail) {
			/* the staged tail is on the server now: forget it */
			n->tail = 0;
			n->base = 0;
			n->loaded = 0;
		}
		snprintf(n->etag, sizeof(n->etag), "%s", etag);
		/* the mtime just sent is the node's until it is written again
		 * (a stat between this flush and the release sees it) */
		if (mtime)
			core_meta_set(&n->meta, &n->n_meta, CORE_KEY_MTIME, mtime);
		/* on the server now: nothing for a later mount to upload */
		stage_journal_drop(n);
	}
	pthread_mutex_unlock(&sg->lock);
	if (!sg->uploaded)
		return;
	if (rc < 0) {
		sg->uploaded(sg->uploaded_arg, n->path, n->name, NULL, NULL, 0);
		return;
	}
	/* what we just wrote is what a lookup would find */
	memset(&p, 0, sizeof(p));
	p.size = size;
	p.meta = (struct blob_meta *)m;
	p.n_meta = nm;
	p.last_modified = core_now();
	snprintf(p.etag, sizeof(p.etag), "%s", etag);
	core_attr_from_props(&p, &a);
	sg->uploaded(sg->uploaded_arg, n->path, n->name, &a, m, nm);
}

/* begin_upload: the phase an upload of n runs in: readers go on while
 * it sends; a tail that may have to be made whole first excludes them */
static enum stage_phase begin_upload(struct stage *sg, struct node *n)
{
	int tail;

	stage_begin(sg, n, STAGE_UPLOAD);
	pthread_mutex_lock(&sg->lock);
	tail = n->tail;
	pthread_mutex_unlock(&sg->lock);
	if (!tail)
		return STAGE_UPLOAD;
	stage_end(sg, n, STAGE_UPLOAD);
	stage_begin(sg, n, STAGE_EXCL);
	return STAGE_EXCL;
}

int stage_flush(struct stage *sg, struct node *n)
{
	struct blob_put_opts po;
	struct blob_meta *m = NULL;
	size_t nm = 0;
	char etag[BLOB_ETAG_MAX] = "", if_match[BLOB_ETAG_MAX] = "";
	struct timespec mtime_sent = { 0, 0 };
	uint64_t size;
	char *name = NULL;
	int rc = 0, need;
	enum stage_phase ph = begin_upload(sg, n);

	pthread_mutex_lock(&sg->lock);
	need = (n->dirty || n->is_new) && !n->unlinked;
	size = n->size;
	if (need) {
		rc = upload_meta(n, &m, &nm, &mtime_sent);
		name = str_ndup(n->name, strlen(n->name));
		if (!name)
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&sg->lock);
	if (!need || rc < 0)
		goto out_end;
	if (n->fd < 0) {
		rc = stage_open_file(sg, n);
		if (rc < 0)
			goto out_end;
	}
	memset(&po, 0, sizeof(po));
	po.meta = m;
	po.n_meta = nm;
	/* commit only over the version we started from: another writer's
	 * newer blob is never silently replaced (412 -> ESTALE) */
	pthread_mutex_lock(&sg->lock);
	if (!n->is_new && n->etag[0])
		memcpy(if_match, n->etag, sizeof(if_match));
	po.if_none_match_any = n->is_new && n->no_clobber;
	pthread_mutex_unlock(&sg->lock);
	if (if_match[0])
		po.if_match = if_match;
	log_debug("uploading %s: %llu bytes%s%s", name, (unsigned long long)size,
		  if_match[0] ? " if-match " : "", if_match);
	rc = UPLOAD_WHOLE;
	if (n->tail) {
		rc = upload_tail(sg, n, name, &po, etag);
		/* no block layout to extend: send everything */
		if (rc == UPLOAD_WHOLE && (rc = stage_materialize(sg, n)) == 0)
			rc = UPLOAD_WHOLE;
	}
	if (rc == UPLOAD_WHOLE) {
		if (size <= sg->o->block_size)
			rc = upload_small(sg, name, n->fd, size, &po, etag);
		else
			rc = upload_blocks(sg, n, name, size, &po, etag);
	}
	if ((rc == -ESTALE || rc == -EEXIST) && (po.if_match || po.if_none_match_any)) {
		if (own_commit(sg, name, size, &mtime_sent, etag))
			rc = 0;
		else
			log_error("upload of %s refused: %s on the server meanwhile; the data stays in the staging file",
				  name, rc == -EEXIST ? "another client made the blob"
				  : "another client changed the blob");
	}
	flushed(sg, n, rc, size, etag, m, nm);
out_end:
	stage_end(sg, n, ph);
	core_meta_free(m, nm);
	free(name);
	return rc;
}

int stage_flush_close(struct stage *sg, struct node *n)
{
	int defer;

	/* "cmd > file" (O_CREAT|O_TRUNC) closes a duplicate of the new file
	 * before writing to it: that close leaves the still empty file to
	 * the next one, or to the release, so it is not uploaded twice.
	 * Any other new file is on the server when close returns. */
	pthread_mutex_lock(&sg->lock);
	defer = n->is_new && !n->no_clobber && !n->dirty && n->size == 0;
	pthread_mutex_unlock(&sg->lock);
	return defer ? 0 : stage_flush(sg, n);
}

int stage_flush_all(struct stage *sg)
{
	struct node **todo = NULL, *n;
	size_t i, cnt = 0, cap = 0;
	int rc = 0, r;

	pthread_mutex_lock(&sg->lock);
	for (i = 0; i < sg->buckets; i++) {
		for (n = sg->nodes[i]; n; n = n->next) {
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
	pthread_mutex_unlock(&sg->lock);
	for (i = 0; i < cnt; i++) {
		r = stage_flush(sg, todo[i]);
		if (r < 0) {
			log_error("cannot upload %s: %s", todo[i]->name, strerror(-r));
			rc = r;
		}
		stage_put(sg, todo[i]);
	}
	free(todo);
	return rc;
}
