/*
 * lease.c -- the source leases of pending copies (copy.h, struct
 * copy_leases).
 *
 * Why a keeper of its own: a lease of COPY_LEASE_SECONDS outlives no
 * copy longer than that unless it is renewed, and with copy=async the
 * operation that started the copy has returned long before it ends. So
 * one thread renews every lease held and, for the holds that follow a
 * copy, polls the destination until the copy is no longer pending, then
 * ends them. A hold is a ticket; the holds on one source share its
 * lease, which goes with the last of them.
 *
 * Lock: l->lock guards the lists of leases and holds, their times and
 * the thread's flags. It is a leaf; requests are made without it, on
 * copies of what they need, and their outcome is applied afterwards to
 * what is still listed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy/copy.h"
#include "util/log.h"
#include "util/str.h"

/* the first look at a followed copy, and the longest wait between two */
#define CHECK_FIRST_S 0.25
#define CHECK_MAX_S 5.0

struct lease {
	char id[BLOB_LEASE_ID_MAX];
	char *src;
	double renew_at;          /* monotonic seconds */
	int holds;                /* holds using it */
	int lost;                 /* a renewal was refused: no longer ours */
	struct lease *next;
};

struct hold {
	unsigned long ticket;
	struct lease *lease;
	char *dst;                /* the followed copy's destination, or NULL */
	char *copy_id;
	double check_at, check_every;
	struct hold *next;
};

struct copy_leases {
	struct blob_client *c;    /* not owned */
	double renew_s;
	pthread_mutex_t lock;     /* guards everything below */
	pthread_cond_t wake;
	struct lease *leases;
	struct hold *holds;
	unsigned long next_ticket;
	int running, stopping;
	pthread_t thread;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail_nomem(struct blob_error *err, const char *why)
{
	memset(err, 0, sizeof(*err));
	err->kind = BLOB_E_NOMEM;
	snprintf(err->message, sizeof(err->message), "%s", why);
	return -1;
}

struct copy_leases *copy_leases_new(struct blob_client *c, long renew_ms)
{
	struct copy_leases *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->c = c;
	l->renew_s = (double)(renew_ms > 0 ? renew_ms : COPY_LEASE_RENEW_MS) / 1000.0;
	l->next_ticket = 1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	return l;
}

static void lease_free(struct lease *ls)
{
	if (!ls)
		return;
	free(ls->src);
	free(ls);
}

static void hold_free(struct hold *h)
{
	if (!h)
		return;
	free(h->dst);
	free(h->copy_id);
	free(h);
}

/* let_go: Lease Blob release of ls (no longer listed), then frees it */
static void let_go(struct copy_leases *l, struct lease *ls)
{
	struct blob_error e;
	char msg[400];

	if (ls->lost) {
		/* refused at its renewal: nothing left to release */
	} else if (blob_lease(l->c, ls->src, BLOB_LEASE_RELEASE, ls->id, 0,
			      NULL, &e) == 0) {
		log_debug("released the lease on %s", ls->src);
	} else if (e.kind != BLOB_E_NOT_FOUND) {
		log_info("Lease Blob release %s: %s", ls->src,
			 blob_error_str(&e, msg, sizeof(msg)));
	}
	lease_free(ls);
}

/* drop_hold: unlinks the hold of ticket (lock held); its lease, when it
 * was the last hold, is unlinked too and returned for let_go (NULL
 * otherwise). *found says whether the ticket was known. */
static struct lease *drop_hold(struct copy_leases *l, unsigned long ticket,
			       int *found)
{
	struct hold **pp, *h = NULL;
	struct lease **lp, *ls;

	*found = 0;
	for (pp = &l->holds; *pp; pp = &(*pp)->next) {
		if ((*pp)->ticket == ticket) {
			h = *pp;
			*pp = h->next;
			break;
		}
	}
	if (!h)
		return NULL;
	*found = 1;
	ls = h->lease;
	hold_free(h);
	if (--ls->holds > 0)
		return NULL;
	for (lp = &l->leases; *lp; lp = &(*lp)->next) {
		if (*lp == ls) {
			*lp = ls->next;
			break;
		}
	}
	return ls;
}

/* add_hold: a new hold on ls (lock held); its ticket, or 0 out of memory */
static unsigned long add_hold(struct copy_leases *l, struct lease *ls)
{
	struct hold *h = calloc(1, sizeof(*h));

	if (!h)
		return 0;
	h->ticket = l->next_ticket++;
	h->lease = ls;
	ls->holds++;
	h->next = l->holds;
	l->holds = h;
	return h->ticket;
}

static struct lease *lease_of_src(struct copy_leases *l, const char *src)
{
	struct lease *ls;

	for (ls = l->leases; ls; ls = ls->next)
		if (!ls->lost && strcmp(ls->src, src) == 0)
			return ls;
	return NULL;
}

/* share: a hold on the lease of src this keeper has (lock held); 1 when
 * there was one, -1 out of memory, 0 when there is none */
static int share(struct copy_leases *l, const char *src,
		 unsigned long *ticket, char *id)
{
	struct lease *ls = lease_of_src(l, src);

	if (!ls)
		return 0;
	*ticket = add_hold(l, ls);
	if (!*ticket)
		return -1;
	memcpy(id, ls->id, BLOB_LEASE_ID_MAX);
	return 1;
}

int copy_lease_take(struct copy_leases *l, const char *src,
		    unsigned long *ticket, char *id, struct blob_error *err)
{
	struct lease *ls;
	char proposed[BLOB_LEASE_ID_MAX];
	int rc, tries;

	for (tries = 0;; tries++) {
		pthread_mutex_lock(&l->lock);
		rc = share(l, src, ticket, id);
		pthread_mutex_unlock(&l->lock);
		if (rc < 0)
			return fail_nomem(err, "out of memory");
		if (rc > 0)
			return 0;
		if (blob_lease_id_new(proposed) < 0)
			return fail_nomem(err, "no random bytes for a lease id");
		ls = calloc(1, sizeof(*ls));
		if (!ls || !(ls->src = str_ndup(src, strlen(src)))) {
			lease_free(ls);
			return fail_nomem(err, "out of memory");
		}
		if (blob_lease(l->c, src, BLOB_LEASE_ACQUIRE, proposed,
			       COPY_LEASE_SECONDS, ls->id, err) == 0)
			break;
		lease_free(ls);
		/* leased meanwhile by another copy of ours: share that */
		if (err->kind != BLOB_E_LEASED || tries > 0)
			return -1;
	}
	log_debug("leased %s for %d s", src, COPY_LEASE_SECONDS);
	pthread_mutex_lock(&l->lock);
	ls->renew_at = mono() + l->renew_s;
	ls->next = l->leases;
	l->leases = ls;
	*ticket = add_hold(l, ls);
	if (*ticket) {
		memcpy(id, ls->id, BLOB_LEASE_ID_MAX);
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	l->leases = ls->next;
	pthread_mutex_unlock(&l->lock);
	let_go(l, ls);
	return fail_nomem(err, "out of memory");
}

void copy_lease_follow(struct copy_leases *l, unsigned long ticket,
		       const char *dst, const char *copy_id)
{
	struct hold *h;
	char *d = str_ndup(dst, strlen(dst));
	char *id = copy_id ? str_ndup(copy_id, strlen(copy_id)) : NULL;

	if (!l)
		goto out_free;
	pthread_mutex_lock(&l->lock);
	for (h = l->holds; h; h = h->next)
		if (h->ticket == ticket)
			break;
	/* out of memory: the hold stays until its ticket is released */
	if (h && d && (id || !copy_id)) {
		free(h->dst);
		free(h->copy_id);
		h->dst = d;
		h->copy_id = id;
		d = id = NULL;
		h->check_every = CHECK_FIRST_S;
		h->check_at = mono() + h->check_every;
		pthread_cond_signal(&l->wake);
	}
	pthread_mutex_unlock(&l->lock);
out_free:
	free(d);
	free(id);
}

static void end_ticket(struct copy_leases *l, unsigned long ticket, int forget)
{
	struct lease *ls;
	int found;

	if (!l || !ticket)
		return;
	pthread_mutex_lock(&l->lock);
	ls = drop_hold(l, ticket, &found);
	pthread_mutex_unlock(&l->lock);
	if (ls && forget)
		lease_free(ls);
	else if (ls)
		let_go(l, ls);
}

void copy_lease_release(struct copy_leases *l, unsigned long ticket)
{
	end_ticket(l, ticket, 0);
}

void copy_lease_forget(struct copy_leases *l, unsigned long ticket)
{
	end_ticket(l, ticket, 1);
}

void copy_lease_ended(struct copy_leases *l, const char *dst)
{
	unsigned long ticket;
	struct hold *h;

	if (!l)
		return;
	for (;;) {
		ticket = 0;
		pthread_mutex_lock(&l->lock);
		for (h = l->holds; h; h = h->next)
			if (h->dst && strcmp(h->dst, dst) == 0)
				break;
		if (h)
			ticket = h->ticket;
		pthread_mutex_unlock(&l->lock);
		if (!ticket)
			return;
		copy_lease_release(l, ticket);
	}
}

int copy_lease_held(struct copy_leases *l, const char *name)
{
	int held;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	held = lease_of_src(l, name) != NULL;
	pthread_mutex_unlock(&l->lock);
	return held;
}

/* What one round asks of the service, copied out of the lists. */
struct job {
	int renew;                /* a renewal of lease id, else a look */
	char id[BLOB_LEASE_ID_MAX];
	char *name;               /* the source, or the destination */
	char *copy_id;
	unsigned long ticket;
};

/* due: the jobs of a round at now (lock held); *n of them, NULL when
 * there are none (or no memory: the next round tries again) */
static struct job *due(struct copy_leases *l, double now, size_t *n)
{
	struct lease *ls;
	struct hold *h;
	struct job *j;
	size_t cap = 0, i = 0;

	for (ls = l->leases; ls; ls = ls->next)
		cap++;
	for (h = l->holds; h; h = h->next)
		cap++;
	*n = 0;
	j = cap ? calloc(cap, sizeof(*j)) : NULL;
	if (!j)
		return NULL;
	for (ls = l->leases; ls; ls = ls->next) {
		if (ls->lost || ls->renew_at > now)
			continue;
		j[i].renew = 1;
		memcpy(j[i].id, ls->id, sizeof(j[i].id));
		j[i].name = str_ndup(ls->src, strlen(ls->src));
		ls->renew_at = now + l->renew_s;
		i += j[i].name != NULL;
	}
	for (h = l->holds; h; h = h->next) {
		if (!h->dst || h->check_at > now)
			continue;
		j[i].ticket = h->ticket;
		j[i].name = str_ndup(h->dst, strlen(h->dst));
		j[i].copy_id = h->copy_id ? str_ndup(h->copy_id, strlen(h->copy_id)) : NULL;
		h->check_every *= 2;
		if (h->check_every > CHECK_MAX_S)
			h->check_every = CHECK_MAX_S;
		h->check_at = now + h->check_every;
		i += j[i].name != NULL;
	}
	*n = i;
	return j;
}

/* renew: Lease Blob renew of job j; a refusal means the lease is lost */
static void renew(struct copy_leases *l, const struct job *j)
{
	struct blob_error e;
	struct lease *ls;
	char msg[400];

	if (blob_lease(l->c, j->name, BLOB_LEASE_RENEW, j->id, 0, NULL, &e) == 0) {
		log_debug("renewed the lease on %s", j->name);
		return;
	}
	log_warn("Lease Blob renew %s: %s", j->name,
		 blob_error_str(&e, msg, sizeof(msg)));
	if (e.kind != BLOB_E_LEASED && e.kind != BLOB_E_NOT_FOUND &&
	    e.kind != BLOB_E_CONFLICT)
		return; /* the next round tries again */
	pthread_mutex_lock(&l->lock);
	for (ls = l->leases; ls; ls = ls->next)
		if (strcmp(ls->id, j->id) == 0)
			ls->lost = 1;
	pthread_mutex_unlock(&l->lock);
}

/* look: is the copy of job j still pending? If not, its hold ends */
static void look(struct copy_leases *l, const struct job *j)
{
	struct blob_props p;
	struct blob_error e;
	int ended;

	memset(&p, 0, sizeof(p));
	if (blob_get_props(l->c, j->name, &p, &e) < 0) {
		/* the destination is gone: so is the copy */
		ended = e.kind == BLOB_E_NOT_FOUND;
	} else {
		ended = p.copy.status != BLOB_COPY_PENDING ||
			(j->copy_id && p.copy.id && strcmp(p.copy.id, j->copy_id) != 0);
		blob_props_release(&p);
	}
	if (ended) {
		log_debug("the copy into %s ended: its source lease goes", j->name);
		copy_lease_release(l, j->ticket);
	}
}

double copy_leases_tick(struct copy_leases *l, double now)
{
	struct lease *ls;
	struct hold *h;
	struct job *jobs;
	double next = l->renew_s;
	size_t n, i;

	pthread_mutex_lock(&l->lock);
	jobs = due(l, now, &n);
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < n; i++) {
		if (jobs[i].renew)
			renew(l, &jobs[i]);
		else
			look(l, &jobs[i]);
		free(jobs[i].name);
		free(jobs[i].copy_id);
	}
	free(jobs);
	pthread_mutex_lock(&l->lock);
	for (ls = l->leases; ls; ls = ls->next)
		if (!ls->lost && ls->renew_at - now < next)
			next = ls->renew_at - now;
	for (h = l->holds; h; h = h->next)
		if (h->dst && h->check_at - now < next)
			next = h->check_at - now;
	pthread_mutex_unlock(&l->lock);
	return next > 0 ? next : 0;
}

static void *keeper(void *arg)
{
	struct copy_leases *l = arg;
	double wait;

	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		struct timespec until;
		double at;

		pthread_mutex_unlock(&l->lock);
		wait = copy_leases_tick(l, mono());
		pthread_mutex_lock(&l->lock);
		if (l->stopping)
			break;
		/* new holds signal the condition: they may be due sooner */
		clock_gettime(CLOCK_REALTIME, &until);
		at = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + wait;
		until.tv_sec = (time_t)at;
		until.tv_nsec = (long)((at - (double)until.tv_sec) * 1e9);
		pthread_cond_timedwait(&l->wake, &l->lock, &until);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int copy_leases_start(struct copy_leases *l)
{
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (!l->running && !l->stopping) {
		if (pthread_create(&l->thread, NULL, keeper, l) == 0)
			l->running = 1;
		else
			rc = -1;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void copy_leases_stop(struct copy_leases *l)
{
	struct lease *ls;
	struct hold *h;
	int joined;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	joined = l->running;
	l->running = 0;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	if (joined)
		pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->lock);
	while ((h = l->holds)) {
		l->holds = h->next;
		hold_free(h);
	}
	ls = l->leases;
	l->leases = NULL;
	pthread_mutex_unlock(&l->lock);
	while (ls) {
		struct lease *next = ls->next;

		let_go(l, ls);
		ls = next;
	}
}

void copy_leases_free(struct copy_leases *l)
{
	if (!l)
		return;
	copy_leases_stop(l);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
