/*
 * buf.h -- growable byte buffers with a hard size cap.
 *
 * Layer: util (no dependencies). Every response body and every string built
 * from untrusted input goes through a buf, so a hostile server cannot make us
 * allocate without bound: appends past the cap fail instead of growing.
 * Thread-safety: a buf belongs to one thread at a time; no locking inside.
 */
#ifndef AZB_UTIL_BUF_H
#define AZB_UTIL_BUF_H

#include <stddef.h>

struct buf {
	char *data;  /* always NUL-terminated when non-NULL */
	size_t len;  /* bytes in use, not counting the NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* hard limit on len; 0 = unlimited */
};

/* buf_init: empty buffer that will refuse to grow beyond max bytes. */
void buf_init(struct buf *b, size_t max);

/* buf_release: frees the storage; b may be reused after buf_init. */
void buf_release(struct buf *b);

/* buf_reset: forgets the content, keeps the storage. */
void buf_reset(struct buf *b);

/*
 * buf_append: appends n bytes. Returns 0, or -1 when memory is exhausted or
 * the cap would be exceeded (b is then unchanged).
 */
int buf_append(struct buf *b, const void *p, size_t n);

/* buf_puts: appends a NUL-terminated string; same contract as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* buf_printf: appends formatted text; same contract as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * buf_take: hands the NUL-terminated content to the caller (who frees it)
 * and leaves b empty. Returns NULL when memory is exhausted.
 */
char *buf_take(struct buf *b);

/*
 * buf_big_alloc: n bytes of zeroed memory of its own mapping, the first
 * touch bytes of it already present (block and read-ahead buffers of
 * MiBs: touching fresh pages one fault at a time costs more than the copy
 * into them, and buf_big_free gives the memory straight back). NULL when
 * out of memory.
 */
void *buf_big_alloc(size_t n, size_t touch);

/* buf_big_free: frees p (NULL is a no-op) of size n from buf_big_alloc. */
void buf_big_free(void *p, size_t n);

#endif
