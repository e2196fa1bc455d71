/*
 * pool.h -- run N independent tasks on at most P threads.
 *
 * Layer: util. Used for parallel block uploads, ranged reads and the blob
 * by blob moves of a directory. Threads live only for one call, so nothing
 * persists between calls and there is no shared state to lock. Also one
 * detached thread for background work (read-ahead, block uploads).
 */
#ifndef AZB_UTIL_POOL_H
#define AZB_UTIL_POOL_H

#include <stddef.h>

/*
 * pool_run: calls fn(ctx, i) for every i in [0, n) on up to parallel
 * threads (the calling thread is one of them). Once a call fails, tasks not
 * yet started are skipped. Returns 0 when every call returned 0, otherwise
 * the first nonzero value returned.
 */
int pool_run(size_t n, int parallel, int (*fn)(void *ctx, size_t i), void *ctx);

/*
 * pool_detach: runs fn(arg) on a new detached thread (background work
 * whose end is signalled by fn itself). 0, or -1 when no thread could be
 * started (arg is then still the caller's).
 */
int pool_detach(void *(*fn)(void *), void *arg);

#endif
