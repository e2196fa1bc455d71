/*
 * pool.c -- run N tasks on at most P threads (see pool.h).
 */
#include "util/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct run {
	size_t n;
	size_t next;  /* atomically incremented */
	int failed;   /* first failure, atomically set */
	int (*fn)(void *ctx, size_t i);
	void *ctx;
};

static void *worker(void *arg)
{
	struct run *r = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
		int rc;

		if (i >= r->n || __atomic_load_n(&r->failed, __ATOMIC_RELAXED))
			break;
		rc = r->fn(r->ctx, i);
		if (rc) {
			int zero = 0;

			__atomic_compare_exchange_n(&r->failed, &zero, rc, 0,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int pool_run(size_t n, int parallel, int (*fn)(void *ctx, size_t i), void *ctx)
{
	struct run r = { n, 0, 0, fn, ctx };
	pthread_t *tids = NULL;
	int i, started = 0, extra;

	if (n == 0)
		return 0;
	extra = parallel > 1 ? parallel - 1 : 0;
	if ((size_t)extra > n - 1)
		extra = (int)(n - 1);
	if (extra > 0)
		tids = calloc((size_t)extra, sizeof(*tids));
	for (i = 0; tids && i < extra; i++) {
		if (pthread_create(&tids[i], NULL, worker, &r) != 0)
			break;
		started++;
	}
	worker(&r);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return r.failed;
}

int pool_detach(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}
