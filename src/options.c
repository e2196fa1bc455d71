/*
 * options.c -- the command line (see options.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

enum { KEY_HELP, KEY_VERSION, KEY_FG, KEY_DEBUG, KEY_RO, KEY_SECRET,
       KEY_DROP, KEY_DIRECT_IO };

#define OPT(t, p) { t, offsetof(struct cli, p), 0 }
const struct fuse_opt options_table[] = {
	OPT("account=%s", account),
	OPT("endpoint=%s", endpoint),
	OPT("credentials=%s", credentials),
	OPT("auth=%s", auth),
	OPT("identity_client_id=%s", identity_client_id),
	OPT("cafile=%s", cafile),
	OPT("copy=%s", copy),
	OPT("copy_tier=%s", copy_tier),
	OPT("copy_lease=%s", copy_lease),
	OPT("upload=%s", upload),
	OPT("control=%s", control),
	OPT("cache_dir=%s", cache_dir),
	OPT("attr_timeout=%s", attr_timeout),
	OPT("block_size=%s", block_size),
	OPT("parallel=%s", parallel),
	OPT("retries=%s", retries),
	OPT("timeout=%s", timeout),
	OPT("log=%s", log),
	OPT("loglevel=%s", loglevel),
	OPT("uid=%s", uid),
	OPT("gid=%s", gid),
	OPT("umask=%s", umask),
	FUSE_OPT_KEY("key=", KEY_SECRET),
	FUSE_OPT_KEY("sas=", KEY_SECRET),
	FUSE_OPT_KEY("connection_string=", KEY_SECRET),
	FUSE_OPT_KEY("client_secret=", KEY_SECRET),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("direct_io", KEY_DIRECT_IO),
	/* mount(8) and fstab options that mean nothing to us */
	FUSE_OPT_KEY("_netdev", KEY_DROP),
	FUSE_OPT_KEY("nofail", KEY_DROP),
	FUSE_OPT_KEY("noauto", KEY_DROP),
	FUSE_OPT_KEY("auto", KEY_DROP),
	FUSE_OPT_KEY("defaults", KEY_DROP),
	FUSE_OPT_KEY("user", KEY_DROP),
	FUSE_OPT_KEY("users", KEY_DROP),
	FUSE_OPT_KEY("rw", KEY_DROP),
	FUSE_OPT_KEY("dev", KEY_DROP),
	FUSE_OPT_KEY("nodev", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("suid", KEY_DROP),
	FUSE_OPT_KEY("nosuid", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("exec", KEY_DROP),
	FUSE_OPT_KEY("noexec", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("atime", KEY_DROP),
	FUSE_OPT_KEY("noatime", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("comment=", KEY_DROP),
	FUSE_OPT_END
};

static int fail(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return 1;
}

/* fuse_passthrough: the FUSE options we hand to libfuse untouched. */
static int fuse_passthrough(const char *arg)
{
	static const char *const flags[] = {
		"allow_other", "allow_root", "auto_unmount", "default_permissions",
		"nodev", "nosuid", "noexec", "noatime", "kernel_cache",
		"auto_cache", "noforget",
	};
	static const char *const valued[] = {
		"fsname=", "subtype=", "max_read=", "entry_timeout=",
		"negative_timeout=", "remember=", "ac_attr_timeout=",
	};
	size_t i;

	if (arg[0] == '-')
		return 1;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(arg, flags[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
		if (strncmp(arg, valued[i], strlen(valued[i])) == 0)
			return 1;
	return 0;
}

int options_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *c = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!c->source) {
			c->source = strdup(arg);
			return 0;
		}
		if (!c->mountpoint) {
			c->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "azblobfs: unexpected argument '%s'; see azblobfs --help\n", arg);
		return -1;
	case KEY_HELP:
		c->show_help = 1;
		return 0;
	case KEY_VERSION:
		c->show_version = 1;
		return 0;
	case KEY_FG:
		c->foreground = 1;
		return 0;
	case KEY_DEBUG:
		c->debug = 1;
		c->foreground = 1;
		return 1;
	case KEY_RO:
		c->ro = 1;
		return 1;
	case KEY_SECRET:
		if (!c->secret_opt)
			c->secret_opt = strndup(arg, strcspn(arg, "="));
		return 0;
	case KEY_DROP:
		return 0;
	case KEY_DIRECT_IO:
		/* libfuse 3 takes it from fuse_config, not as an option */
		c->direct_io = 1;
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* libfuse wants init() to ask for the same max_read */
		if (strncmp(arg, "max_read=", 9) == 0)
			c->max_read = (unsigned)strtoul(arg + 9, NULL, 10);
		/* libfuse parses these; init must not replace them */
		if (strncmp(arg, "entry_timeout=", 14) == 0)
			c->entry_timeout = 1;
		if (strncmp(arg, "negative_timeout=", 17) == 0)
			c->negative_timeout = 1;
		if (fuse_passthrough(arg))
			return 1;
		if (!c->bad_opt)
			c->bad_opt = strdup(arg);
		return 0;
	default:
		return 1;
	}
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/*
 * num: the value of option name (NULL: not given, *out keeps its
 * default) when it is a number in [lo, hi], whole if asked; 1 with the
 * message "invalid name=VALUE: what" otherwise.
 */
static int num(const char *val, const char *name, double lo, double hi,
	       int whole, const char *what, double *out, char *msg,
	       size_t msglen)
{
	double v;

	if (!val)
		return 0;
	if (parse_num(val, lo, hi, &v) < 0 || (whole && v != (long long)v))
		return fail(msg, msglen, "invalid %s=%s: %s", name, val, what);
	*out = v;
	return 0;
}

/* settle_source: CONTAINER[/PREFIX] and MOUNTPOINT, and the options no
 * one knows or that must not be given. */
static int settle_source(struct cli *c, struct core_opts *o, char *msg,
			 size_t msglen)
{
	char *slash;

	if (!c->source)
		return fail(msg, msglen, "missing CONTAINER; usage: azblobfs CONTAINER[/PREFIX] MOUNTPOINT [-o OPTIONS]");
	if (!c->mountpoint)
		return fail(msg, msglen, "missing MOUNTPOINT; usage: azblobfs CONTAINER[/PREFIX] MOUNTPOINT [-o OPTIONS]");
	if (c->bad_opt)
		return fail(msg, msglen, "unknown option '%s'; see azblobfs --help for the options", c->bad_opt);
	if (c->secret_opt)
		return fail(msg, msglen, "refusing -o %s=...: a secret on the command line shows in ps; put it in -o credentials=FILE (mode 0600) or the environment",
			   c->secret_opt);
	slash = strchr(c->source, '/');
	if (slash) {
		size_t n;

		*slash++ = '\0';
		while (*slash == '/')
			slash++;
		n = strlen(slash);
		while (n && slash[n - 1] == '/')
			slash[--n] = '\0';
		if (n && asprintf(&o->prefix, "%s/", slash) < 0)
			return fail(msg, msglen, "out of memory");
	}
	if (!o->prefix && !(o->prefix = strdup("")))
		return fail(msg, msglen, "out of memory");
	if (strlen(c->source) < 3 || strlen(c->source) > 63 ||
	    strspn(c->source, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->source))
		return fail(msg, msglen, "invalid container name '%s': use 3-63 lower-case letters, digits and '-'",
			   c->source);
	return 0;
}

/* onoff: an on|off option (NULL: dflt) into *out; 1 with msg when it is
 * neither */
static int onoff(const char *val, const char *name, const char *on,
		 const char *off, int dflt, int *out, char *msg, size_t msglen)
{
	if (!val)
		*out = dflt;
	else if (strcmp(val, on) == 0)
		*out = 1;
	else if (strcmp(val, off) == 0)
		*out = 0;
	else
		return fail(msg, msglen, "invalid %s=%s: use %s=%s or %s=%s", name,
			    val, name, on, name, off);
	return 0;
}

/* settle_modes: upload=, copy_lease= and control=. */
static int settle_modes(struct cli *c, struct core_opts *o, char *msg,
			size_t msglen)
{
	const char *ctl = c->control ? c->control : CORE_CONTROL_NAME;
	const char *renew = getenv("AZBLOBFS_TEST_LEASE_RENEW_MS");

	if (onoff(c->upload, "upload", "async", "sync", 0, &o->upload_async, msg, msglen) ||
	    onoff(c->copy_lease, "copy_lease", "on", "off", 0, &o->copy_lease, msg, msglen))
		return 1;
	/* the tests see a renewal without waiting for one at full period;
	 * within the lease's 60 s, at least a second apart */
	if (renew && *renew) {
		char *end;
		long ms = strtol(renew, &end, 10);

		if (*end || ms < 1000 || ms > 50000)
			return fail(msg, msglen, "invalid AZBLOBFS_TEST_LEASE_RENEW_MS=%s: milliseconds from 1000 to 50000",
				    renew);
		o->lease_renew_ms = ms;
	}
	if (strcmp(ctl, "off") == 0)
		return 0;
	if (!*ctl || strchr(ctl, '/') || strcmp(ctl, ".") == 0 ||
	    strcmp(ctl, "..") == 0 || strlen(ctl) > CORE_NAME_MAX)
		return fail(msg, msglen, "invalid control=%s: a name without '/', or control=off", ctl);
	o->control = strdup(ctl);
	if (!o->control)
		return fail(msg, msglen, "out of memory");
	return 0;
}

/* settle_copy: copy= and copy_tier=. */
static int settle_copy(struct cli *c, struct core_opts *o, char *msg,
		       size_t msglen)
{
	o->copy_mode = CORE_COPY_SYNC;
	if (c->copy) {
		if (strcmp(c->copy, "async") == 0)
			o->copy_mode = CORE_COPY_ASYNC;
		else if (strcmp(c->copy, "sync") != 0)
			return fail(msg, msglen, "invalid copy=%s: use copy=sync or copy=async", c->copy);
	}
	if (c->copy_tier) {
		if (strcmp(c->copy_tier, "Hot") && strcmp(c->copy_tier, "Cool") &&
		    strcmp(c->copy_tier, "Cold") && strcmp(c->copy_tier, "Archive"))
			return fail(msg, msglen, "invalid copy_tier=%s: use Hot, Cool, Cold or Archive",
				   c->copy_tier);
		o->copy_tier = strdup(c->copy_tier);
		if (!o->copy_tier)
			return fail(msg, msglen, "out of memory");
	}
	return 0;
}

/* settle_numbers: the timeouts, sizes and counts. */
static int settle_numbers(struct cli *c, struct core_opts *o, int *retries,
			  long *timeout_ms, char *msg, size_t msglen)
{
	double at = 10, bs = 8, par = 8, rt = 5, to = 60;

	if (num(c->attr_timeout, "attr_timeout", 0, 86400, 0, "seconds from 0 to 86400", &at, msg, msglen) ||
	    num(c->block_size, "block_size", 1, 4000, 1, "whole MiB from 1 to 4000", &bs, msg, msglen) ||
	    num(c->parallel, "parallel", 1, 64, 1, "a whole number from 1 to 64", &par, msg, msglen) ||
	    num(c->retries, "retries", 0, 100, 1, "a whole number from 0 to 100", &rt, msg, msglen) ||
	    num(c->timeout, "timeout", 1, 86400, 0, "seconds from 1 to 86400", &to, msg, msglen))
		return 1;
	o->attr_timeout = at;
	o->block_size = (size_t)bs << 20;
	o->parallel = (int)par;
	*retries = (int)rt;
	*timeout_ms = (long)(to * 1000);
	return 0;
}

/* settle_owner: uid=, gid= and umask=, and whether each was given. */
static int settle_owner(struct cli *c, struct core_opts *o, char *msg,
			size_t msglen)
{
	double uid = getuid(), gid = getgid();

	if (num(c->uid, "uid", 0, 4294967294.0, 1, "a numeric user id", &uid, msg, msglen) ||
	    num(c->gid, "gid", 0, 4294967294.0, 1, "a numeric group id", &gid, msg, msglen))
		return 1;
	o->uid = (uid_t)uid;
	o->gid = (gid_t)gid;
	o->uid_given = c->uid != NULL;
	o->gid_given = c->gid != NULL;
	o->umask = 022;
	if (c->umask) {
		char *end;
		long m = strtol(c->umask, &end, 8);

		if (*end || end == c->umask || m < 0 || m > 0777)
			return fail(msg, msglen, "invalid umask=%s: an octal mask such as 022", c->umask);
		o->umask = (mode_t)m;
		o->umask_given = 1;
	}
	return 0;
}

/* settle_cache_dir: cache_dir= or its default. */
static int settle_cache_dir(struct cli *c, struct core_opts *o, char *msg,
			    size_t msglen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (c->cache_dir) {
		o->cache_dir = strdup(c->cache_dir);
	} else if (xdg && *xdg) {
		if (asprintf(&o->cache_dir, "%s/azblobfs", xdg) < 0)
			o->cache_dir = NULL;
	} else if (asprintf(&o->cache_dir, "/var/tmp/azblobfs-%u", (unsigned)getuid()) < 0) {
		o->cache_dir = NULL;
	}
	if (!o->cache_dir)
		return fail(msg, msglen, "out of memory");
	return 0;
}

int options_settle(struct cli *c, struct core_opts *o, int *retries,
		   long *timeout_ms, char *msg, size_t msglen)
{
	enum log_level lvl = LOG_LVL_WARN;

	if (settle_source(c, o, msg, msglen) || settle_copy(c, o, msg, msglen) ||
	    settle_numbers(c, o, retries, timeout_ms, msg, msglen) ||
	    settle_owner(c, o, msg, msglen) || settle_modes(c, o, msg, msglen))
		return 1;
	o->mounted = core_now();
	o->read_only = c->ro;
	o->direct_io = c->direct_io;
	o->max_read = c->max_read;
	o->entry_timeout_given = c->entry_timeout;
	o->negative_timeout_given = c->negative_timeout;
	if (c->loglevel && log_level_parse(c->loglevel, &lvl) < 0)
		return fail(msg, msglen, "invalid loglevel=%s: use error, warn, info or debug", c->loglevel);
	if (c->debug)
		lvl = LOG_LVL_DEBUG;
	if (c->log && strcmp(c->log, "stderr") && strcmp(c->log, "syslog"))
		return fail(msg, msglen, "invalid log=%s: use log=stderr or log=syslog", c->log);
	c->lvl = lvl;
	if (c->cafile && access(c->cafile, R_OK) < 0)
		return fail(msg, msglen, "cannot read cafile=%s: %s", c->cafile, strerror(errno));
	return settle_cache_dir(c, o, msg, msglen);
}

void options_free(struct cli *c)
{
	char **strs[] = { &c->source, &c->mountpoint, &c->account, &c->endpoint,
			  &c->credentials, &c->auth, &c->identity_client_id,
			  &c->cafile, &c->copy, &c->copy_tier, &c->cache_dir,
			  &c->copy_lease, &c->upload, &c->control,
			  &c->log, &c->loglevel, &c->attr_timeout, &c->block_size,
			  &c->parallel, &c->retries, &c->timeout, &c->uid,
			  &c->gid, &c->umask, &c->secret_opt, &c->bad_opt };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

