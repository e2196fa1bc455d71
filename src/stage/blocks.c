/*
 * blocks.c -- blocks of a large file go up while it is still written:
 * each complete block is sent (Put Block, in the background, at most
 * parallel at a time) and marked, so the commit sends only what changed
 * since. A block's state (BLOCK_* of stage.h): not sent, its Put Block in
 * flight, sent, changed after it was sent, or changed while its Put Block
 * was in flight (REDO: sent again once that one has ended -- never two
 * Put Block of one block id at once, whose order on the server nothing
 * fixes: the older bytes could be the ones it keeps). See stage.h for the
 * lock.
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

#include "stage/stage.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"

void stage_new_salt(struct node *n)
{
	snprintf(n->salt, sizeof(n->salt), "%08lx%08lx", (unsigned long)random(),
		 (unsigned long)random());
}

void stage_blocks_reset(struct node *n)
{
	free(n->bstate);
	n->bstate = NULL;
	n->n_bstate = 0;
	n->epoch++;
	n->salt[0] = '\0';
}

struct bgup {
	struct stage *sg;
	struct node *n;
	char *name;
	size_t idx;
	uint64_t epoch;
	char id[72];
};

static void start_uploads(struct stage *sg, struct node *n);

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
	struct stage *sg = b->sg;
	size_t bs = sg->o->block_size;
	struct blob_error e;
	int ok = 0;

	if (blob_put_block_fd(sg->blob, b->name, b->id, b->n->fd,
			      (uint64_t)b->idx * bs, bs, &e) == 0)
		ok = 1;
	pthread_mutex_lock(&sg->lock);
	if (b->epoch == b->n->epoch && b->idx < b->n->n_bstate) {
		unsigned char *st = &b->n->bstate[b->idx];

		if (*st == BLOCK_UPLOADING)
			*st = ok ? BLOCK_DONE : BLOCK_NONE;
		else if (*st == BLOCK_REDO)
			*st = BLOCK_DIRTY;
	}
	b->n->inflight--;
	if (ok && b->epoch == b->n->epoch)
		start_uploads(sg, b->n);
	pthread_cond_broadcast(&b->n->cond);
	pthread_mutex_unlock(&sg->lock);
	if (ok)
		drop_pages(b->n->fd, (off_t)b->idx * (off_t)bs, (off_t)bs);
	stage_put(sg, b->n);
	free(b->name);
	free(b);
	/* the last thing this thread touches of the room */
	pthread_mutex_lock(&sg->lock);
	if (--sg->threads == 0)
		pthread_cond_broadcast(&sg->idle);
	pthread_mutex_unlock(&sg->lock);
	return NULL;
}

/* start_uploads: background Put Block of complete blocks (stage.lock held). */
static void start_uploads(struct stage *sg, struct node *n)
{
	size_t bs = sg->o->block_size, full = (size_t)(n->size / bs), i;

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
		stage_new_salt(n);
	for (i = 0; i < full && n->inflight < sg->o->parallel; i++) {
		struct bgup *b;

		if (n->bstate[i] != BLOCK_NONE && n->bstate[i] != BLOCK_DIRTY)
			continue;
		b = calloc(1, sizeof(*b));
		if (!b || !(b->name = strdup(n->name))) {
			free(b);
			break;
		}
		b->sg = sg;
		b->n = n;
		b->idx = i;
		b->epoch = n->epoch;
		blob_block_id((uint32_t)i, n->salt, b->id, sizeof(b->id));
		n->refs++;
		n->inflight++;
		sg->threads++;
		n->bstate[i] = BLOCK_UPLOADING;
		if (pool_detach(bg_upload, b) < 0) {
			n->refs--;
			n->inflight--;
			sg->threads--;
			n->bstate[i] = BLOCK_NONE;
			free(b->name);
			free(b);
			break;
		}
	}
}

void stage_wrote(struct stage *sg, struct node *n, uint64_t off, size_t len)
{
	size_t bs = sg->o->block_size, i;

	pthread_mutex_lock(&sg->lock);
	for (i = (size_t)(off / bs); len && i <= (size_t)((off + len - 1) / bs) &&
	     i < n->n_bstate; i++)
		if (n->bstate[i] == BLOCK_UPLOADING || n->bstate[i] == BLOCK_REDO)
			n->bstate[i] = BLOCK_REDO;
		else if (n->bstate[i] != BLOCK_NONE)
			n->bstate[i] = BLOCK_DIRTY;
	start_uploads(sg, n);
	pthread_mutex_unlock(&sg->lock);
}

void stage_blocks_wait(struct stage *sg, struct node *n)
{
	while (n->inflight > 0)
		pthread_cond_wait(&n->cond, &sg->lock);
}
