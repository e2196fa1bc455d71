/*
 * queue.c -- background uploads (upload=async): close returns once the
 * staged data is durable in cache_dir, and workers upload it.
 *
 * At a close the staging file is fsync'd and a journal entry written
 * (cache_dir/journal/NAME.j, fsync'd, renamed into place, the directory
 * fsync'd): what the file is (account, container, blob name, path), its
 * staging file and how it goes up (the version it replaces, or a new
 * blob, its metadata). The node then waits in the queue; parallel
 * workers upload (stage_flush) what is due. A failed upload is tried
 * again after a backoff, never dropped; one that cannot succeed (the
 * blob changed on the server, access denied) stops, stays staged and
 * journaled, is logged, and shows in the uploads list with its error.
 *
 * A mount that starts reads the journal: entries of its account and
 * container that no live mount holds (each live entry is flock'd by its
 * mount) become queued nodes again, so what a crashed daemon or machine
 * left goes up. A successful upload removes the entry. The unmount gives
 * every queued upload one more try and leaves the rest journaled.
 *
 * Locks: stage.lock guards the queue and the queue fields of nodes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stage/stage.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

#define BACKOFF_FIRST 1.0    /* seconds before the first retry */
#define BACKOFF_MAX 60.0     /* the longest wait between two tries */
#define JOURNAL_MAGIC "azblobfs-journal 1"

/* ---- the journal ---- */

/* put_field: "key value\n" with %, CR and LF of value percent-encoded */
static int put_field(struct buf *b, const char *key, const char *value)
{
	return buf_printf(b, "%s ", key) < 0 ||
	       str_pct_encode(b, value, strlen(value), " !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~") < 0 ||
	       buf_puts(b, "\n") < 0 ? -1 : 0;
}

static int entry_text(struct stage *sg, struct node *n, struct buf *b)
{
	char num[64];
	size_t i;
	int rc;

	rc = buf_printf(b, "%s\n", JOURNAL_MAGIC) < 0 ||
	     put_field(b, "account", sg->blob->auth->account ? sg->blob->auth->account : "") < 0 ||
	     put_field(b, "container", sg->blob->container) < 0 ||
	     put_field(b, "name", n->name) < 0 || put_field(b, "path", n->path) < 0 ||
	     put_field(b, "stage", n->stage_path) < 0 || put_field(b, "etag", n->etag) < 0;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)n->size);
	rc = rc || put_field(b, "size", num) < 0;
	snprintf(num, sizeof(num), "%d %d", n->is_new, n->no_clobber);
	rc = rc || put_field(b, "new", num) < 0;
	snprintf(num, sizeof(num), "%d %lld %ld", n->mtime_set, (long long)n->mtime.tv_sec,
		 n->mtime.tv_nsec);
	rc = rc || put_field(b, "mtime", num) < 0;
	for (i = 0; !rc && i < n->n_meta; i++)
		rc = put_field(b, "metakey", n->meta[i].name) < 0 ||
		     put_field(b, "metavalue", n->meta[i].value) < 0;
	return rc ? -ENOMEM : 0;
}

/* sync_dir: the directory entries of dir reach the disk */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * journal_write: n's entry, durable: written to a new file, fsync'd,
 * renamed over the old one, the directory fsync'd; the entry's file
 * stays open and flock'd while this mount holds it. Caller in an
 * exclusive phase of n. 0 or -errno.
 */
static int journal_write(struct stage *sg, struct node *n)
{
	char *dir = NULL, *tmp = NULL, *path = NULL;
	struct buf b;
	int fd = -1, rc;

	buf_init(&b, 0);
	if (asprintf(&dir, "%s/journal", sg->o->cache_dir) < 0) {
		dir = NULL;
		rc = -ENOMEM;
		goto out_free;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out_free;
	}
	pthread_mutex_lock(&sg->lock);
	rc = entry_text(sg, n, &b);
	pthread_mutex_unlock(&sg->lock);
	if (rc < 0)
		goto out_free;
	if (asprintf(&path, "%s/%s.j", dir, strrchr(n->stage_path, '/') + 1) < 0 ||
	    asprintf(&tmp, "%s.new", path) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		rc = -(errno ? errno : EIO);
		unlink(tmp);
		goto out_free;
	}
	sync_dir(dir);
	/* the renamed file is the entry: this mount holds it */
	flock(fd, LOCK_EX | LOCK_NB);
	pthread_mutex_lock(&sg->lock);
	if (n->journal_fd >= 0)
		close(n->journal_fd);
	n->journal_fd = fd;
	fd = -1;
	free(n->journal_path);
	n->journal_path = path;
	path = NULL;
	pthread_mutex_unlock(&sg->lock);
	rc = 0;
out_free:
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	free(tmp);
	free(path);
	free(dir);
	return rc;
}

void stage_journal_drop(struct node *n)
{
	if (n->journal_path) {
		unlink(n->journal_path);
		free(n->journal_path);
		n->journal_path = NULL;
	}
	if (n->journal_fd >= 0) {
		close(n->journal_fd);
		n->journal_fd = -1;
	}
}

/* ---- the queue ---- */

static int queue_push(struct stage *sg, struct node *n)
{
	struct node **q;

	if (n->queued)
		return 0;
	if (sg->nq == sg->capq) {
		size_t nc = sg->capq ? sg->capq * 2 : 64;

		q = realloc(sg->queue, nc * sizeof(*q));
		if (!q)
			return -ENOMEM;
		sg->queue = q;
		sg->capq = nc;
	}
	sg->queue[sg->nq++] = n;
	n->refs++;
	n->queued = 1;
	n->tries = 0;
	n->stuck = 0;
	n->last_error[0] = '\0';
	n->due = core_mono();
	pthread_cond_broadcast(&sg->work);
	return 0;
}

/* queue_remove: n leaves the queue (stage.lock held); the caller drops
 * its reference after the unlock */
static void queue_remove(struct stage *sg, struct node *n)
{
	size_t i;

	for (i = 0; i < sg->nq; i++) {
		if (sg->queue[i] == n) {
			sg->queue[i] = sg->queue[--sg->nq];
			break;
		}
	}
	n->queued = 0;
}

int stage_close_async(struct stage *sg, struct node *n)
{
	int need, tail, rc;

	/* decided in the exclusive phase: an upload in flight ends first,
	 * and what it uploaded needs no entry */
	stage_begin(sg, n, STAGE_UPLOAD);
	pthread_mutex_lock(&sg->lock);
	need = (n->dirty || n->is_new) && !n->unlinked;
	tail = n->tail;
	pthread_mutex_unlock(&sg->lock);
	if (!need || tail) {
		stage_end(sg, n, STAGE_UPLOAD);
		/* an append staged as a tail needs the server's blocks: now */
		return need ? stage_flush(sg, n) : 0;
	}
	rc = stage_open_file(sg, n);
	if (rc == 0 && fsync(n->fd) < 0)
		rc = -errno;
	if (rc == 0)
		rc = journal_write(sg, n);
	stage_end(sg, n, STAGE_UPLOAD);
	if (rc < 0) {
		log_warn("cannot stage %s for a background upload (%s): uploading it now",
			 n->name, strerror(-rc));
		return stage_flush(sg, n);
	}
	pthread_mutex_lock(&sg->lock);
	rc = queue_push(sg, n);
	pthread_mutex_unlock(&sg->lock);
	return rc < 0 ? stage_flush(sg, n) : 0;
}

/* permanent: an upload error that no retry mends */
static int permanent(int err)
{
	return err == -ESTALE || err == -EEXIST || err == -EACCES || err == -EPERM ||
	       err == -EFBIG || err == -ENAMETOOLONG || err == -EINVAL || err == -EROFS;
}

/* next_due: a queued node due now, not uploading, not stuck, taken for
 * upload (stage.lock held); NULL with *wait the seconds until one is */
static struct node *next_due(struct stage *sg, double *wait)
{
	double now = core_mono();
	size_t i;

	*wait = 3600;
	for (i = 0; i < sg->nq; i++) {
		struct node *n = sg->queue[i];

		if (n->uploading || n->stuck)
			continue;
		if (n->due <= now) {
			n->uploading = 1;
			return n;
		}
		if (n->due - now < *wait)
			*wait = n->due - now;
	}
	return NULL;
}

/* tried: the end of one upload of n (stage.lock held) */
static int tried(struct stage *sg, struct node *n, int rc)
{
	double backoff;

	n->uploading = 0;
	if (rc == 0 || n->unlinked) {
		queue_remove(sg, n);
		return 1; /* the queue's reference goes */
	}
	n->tries++;
	snprintf(n->last_error, sizeof(n->last_error), "%s", strerror(-rc));
	if (permanent(rc)) {
		n->stuck = 1;
		log_error("background upload of %s stopped: %s; the data stays in %s and is listed in the uploads of the control directory",
			  n->name, n->last_error, n->stage_path ? n->stage_path : "cache_dir");
		return 0;
	}
	backoff = BACKOFF_FIRST * (double)(1u << (n->tries < 7 ? n->tries - 1 : 6));
	n->due = core_mono() + (backoff < BACKOFF_MAX ? backoff : BACKOFF_MAX);
	log_warn("background upload of %s failed (%s), try %u; again in %.0f s", n->name,
		 n->last_error, n->tries, n->due - core_mono());
	return 0;
}

static void *worker(void *arg)
{
	struct stage *sg = arg;
	struct timespec until;
	struct node *n;
	double wait;
	int rc, drop;

	pthread_mutex_lock(&sg->lock);
	while (!sg->stopping) {
		n = next_due(sg, &wait);
		if (!n) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += (time_t)wait;
			until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&sg->work, &sg->lock, &until);
			continue;
		}
		pthread_mutex_unlock(&sg->lock);
		rc = stage_flush(sg, n);
		pthread_mutex_lock(&sg->lock);
		drop = tried(sg, n, rc);
		pthread_cond_broadcast(&sg->work);
		if (drop) {
			pthread_mutex_unlock(&sg->lock);
			stage_put(sg, n);
			pthread_mutex_lock(&sg->lock);
		}
	}
	pthread_mutex_unlock(&sg->lock);
	return NULL;
}

/* ---- recovery ---- */

struct entry {
	char *account, *container, *name, *path, *stage, *etag;
	unsigned long long size;
	int is_new, no_clobber, mtime_set;
	struct timespec mtime;
	struct blob_meta *meta;
	size_t n_meta;
};

static void entry_release(struct entry *e)
{
	free(e->account);
	free(e->container);
	free(e->name);
	free(e->path);
	free(e->stage);
	free(e->etag);
	core_meta_free(e->meta, e->n_meta);
	memset(e, 0, sizeof(*e));
}

static char *decode(const char *v)
{
	struct buf b;

	buf_init(&b, 0);
	if (str_pct_decode(&b, v, strlen(v)) < 0 || buf_append(&b, "", 1) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* entry_parse: one journal entry's text; 0 or -1 when it is not one */
static int entry_parse(char *text, struct entry *e)
{
	char *line, *save = NULL, *key = NULL, *v;
	long long sec;
	long nsec;

	memset(e, 0, sizeof(*e));
	line = strtok_r(text, "\n", &save);
	if (!line || strcmp(line, JOURNAL_MAGIC) != 0)
		return -1;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp = '\0';
		v = decode(sp + 1);
		if (!v)
			return -1;
		if (!strcmp(line, "account"))
			e->account = v, v = NULL;
		else if (!strcmp(line, "container"))
			e->container = v, v = NULL;
		else if (!strcmp(line, "name"))
			e->name = v, v = NULL;
		else if (!strcmp(line, "path"))
			e->path = v, v = NULL;
		else if (!strcmp(line, "stage"))
			e->stage = v, v = NULL;
		else if (!strcmp(line, "etag"))
			e->etag = v, v = NULL;
		else if (!strcmp(line, "size"))
			e->size = strtoull(v, NULL, 10);
		else if (!strcmp(line, "new"))
			sscanf(v, "%d %d", &e->is_new, &e->no_clobber);
		else if (!strcmp(line, "mtime") &&
			 sscanf(v, "%d %lld %ld", &e->mtime_set, &sec, &nsec) == 3) {
			e->mtime.tv_sec = (time_t)sec;
			e->mtime.tv_nsec = nsec;
		} else if (!strcmp(line, "metakey")) {
			free(key);
			key = v, v = NULL;
		} else if (!strcmp(line, "metavalue") && key) {
			core_meta_set(&e->meta, &e->n_meta, key, v);
		}
		free(v);
	}
	free(key);
	return e->account && e->container && e->name && e->path && e->stage && e->etag ? 0 : -1;
}

/* adopt: the node of a journal entry, queued (fd: the entry's, locked) */
static int adopt(struct stage *sg, struct entry *e, const char *jpath, int jfd)
{
	struct node *n;
	int fd = open(e->stage, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		log_error("journal entry %s: its staged data %s is gone (%s); dropping the entry",
			  jpath, e->stage, strerror(errno));
		unlink(jpath);
		return -1;
	}
	n = stage_get(sg, e->path, e->name);
	if (!n) {
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&sg->lock);
	n->fd = fd;
	n->stage_path = e->stage;
	e->stage = NULL;
	n->loaded = 1;
	n->dirty = 1;
	n->size = e->size;
	n->is_new = e->is_new;
	n->no_clobber = e->no_clobber;
	snprintf(n->etag, sizeof(n->etag), "%s", e->etag);
	n->mtime = e->mtime;
	n->mtime_set = e->mtime_set;
	core_meta_free(n->meta, n->n_meta);
	n->meta = e->meta;
	n->n_meta = e->n_meta;
	e->meta = NULL;
	e->n_meta = 0;
	n->journal_fd = jfd;
	n->journal_path = strdup(jpath);
	queue_push(sg, n);
	pthread_mutex_unlock(&sg->lock);
	log_info("the upload of %s (%llu bytes) left by an earlier mount is queued", n->name,
		 (unsigned long long)e->size);
	stage_put(sg, n);
	return 0;
}

/* recover_one: journal entry jpath, if it is this container's and free */
static void recover_one(struct stage *sg, const char *jpath)
{
	char text[65536];
	struct entry e;
	ssize_t got;
	int fd = open(jpath, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	/* held by a live mount: its own */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return;
	}
	got = read(fd, text, sizeof(text) - 1);
	text[got > 0 ? got : 0] = '\0';
	if (entry_parse(text, &e) == 0 &&
	    strcmp(e.account, sg->blob->auth->account ? sg->blob->auth->account : "") == 0 &&
	    strcmp(e.container, sg->blob->container) == 0 &&
	    strncmp(e.name, sg->o->prefix, strlen(sg->o->prefix)) == 0 &&
	    adopt(sg, &e, jpath, fd) == 0)
		fd = -1;
	entry_release(&e);
	if (fd >= 0)
		close(fd);
}

static void recover(struct stage *sg)
{
	char *dir = NULL, *p;
	struct dirent *d;
	DIR *dh;

	if (asprintf(&dir, "%s/journal", sg->o->cache_dir) < 0)
		return;
	dh = opendir(dir);
	while (dh && (d = readdir(dh))) {
		size_t l = strlen(d->d_name);

		if (l < 3 || strcmp(d->d_name + l - 2, ".j") != 0)
			continue;
		if (asprintf(&p, "%s/%s", dir, d->d_name) < 0)
			break;
		recover_one(sg, p);
		free(p);
	}
	if (dh)
		closedir(dh);
	free(dir);
}

int stage_queue_start(struct stage *sg)
{
	int i;

	pthread_cond_init(&sg->work, NULL);
	sg->queue_on = 1;
	recover(sg);
	sg->workers = calloc((size_t)sg->o->parallel, sizeof(*sg->workers));
	if (!sg->workers)
		return -ENOMEM;
	for (i = 0; i < sg->o->parallel; i++) {
		if (pthread_create(&sg->workers[i], NULL, worker, sg) != 0)
			break;
		sg->n_workers++;
	}
	return sg->n_workers ? 0 : -EAGAIN;
}

void stage_queue_stop(struct stage *sg)
{
	struct node **left = NULL;
	size_t i, n = 0;
	int rc;

	if (!sg->queue_on)
		return;
	pthread_mutex_lock(&sg->lock);
	sg->stopping = 1;
	pthread_cond_broadcast(&sg->work);
	pthread_mutex_unlock(&sg->lock);
	for (i = 0; i < (size_t)sg->n_workers; i++)
		pthread_join(sg->workers[i], NULL);
	free(sg->workers);
	sg->workers = NULL;
	sg->n_workers = 0;
	/* one more try for what waits; the rest stays journaled */
	pthread_mutex_lock(&sg->lock);
	left = sg->queue;
	n = sg->nq;
	sg->queue = NULL;
	sg->nq = sg->capq = 0;
	pthread_mutex_unlock(&sg->lock);
	for (i = 0; i < n; i++) {
		rc = left[i]->stuck ? -EAGAIN : stage_flush(sg, left[i]);
		if (rc < 0)
			log_error("%s is not uploaded (%s); its data stays in %s for the next mount",
				  left[i]->name, strerror(-rc), left[i]->stage_path ? left[i]->stage_path : "cache_dir");
		left[i]->queued = 0;
		stage_put(sg, left[i]);
	}
	free(left);
	pthread_cond_destroy(&sg->work);
	sg->queue_on = 0;
}

int stage_uploads_text(struct stage *sg, struct buf *out)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&sg->lock);
	for (i = 0; rc == 0 && i < sg->nq; i++) {
		struct node *n = sg->queue[i];

		rc = buf_printf(out, "%s\t%llu\t%u\t%s\n", n->path, (unsigned long long)n->size,
				n->tries, n->last_error);
	}
	pthread_mutex_unlock(&sg->lock);
	return rc;
}
