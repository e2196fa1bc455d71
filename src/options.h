/*
 * options.h -- the command line: -o options, their checks and defaults.
 *
 * Layer: the top (main). Pure parsing on top of fuse_opt_parse(): no I/O except the
 * environment lookup of XDG_RUNTIME_DIR and the cafile readability check,
 * so unit tests can run every option through it. Not thread-safe (runs
 * once, before any thread starts).
 */
#ifndef AZB_FS_OPTIONS_H
#define AZB_FS_OPTIONS_H

#include <fuse_opt.h>

#include "core/core.h"
#include "util/log.h"

struct cli {
	char *source;      /* CONTAINER[/PREFIX] */
	char *mountpoint;
	char *account, *endpoint, *credentials, *auth, *identity_client_id;
	char *cafile, *copy, *copy_tier, *cache_dir, *log, *loglevel;
	char *copy_lease, *upload, *control;
	char *attr_timeout, *block_size, *parallel, *retries, *timeout;
	char *uid, *gid, *umask;
	int foreground, debug, ro, show_help, show_version;
	int direct_io;     /* -o direct_io: no page cache (fuse_config) */
	unsigned max_read; /* -o max_read=N, also handed to libfuse */
	int entry_timeout, negative_timeout; /* given: libfuse's, kept in init */
	enum log_level lvl;
	char *secret_opt;  /* the name of a secret given on the command line */
	char *bad_opt;     /* the first option nobody knows */
};

extern const struct fuse_opt options_table[];

/*
 * options_proc: the fuse_opt_parse() callback for options_table; data is
 * a struct cli.
 */
int options_proc(void *data, const char *arg, int key,
		 struct fuse_args *outargs);

/*
 * options_settle: checks the strings in c and fills o, *retries and
 * *timeout_ms with values and defaults. Returns 0, or 1 with a one-line
 * cause-and-fix message in msg.
 */
int options_settle(struct cli *c, struct core_opts *o, int *retries,
		   long *timeout_ms, char *msg, size_t msglen);

/* options_free: frees every string of c. */
void options_free(struct cli *c);

#endif
