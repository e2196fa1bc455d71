/*
 * main.c -- azblobfs: option parsing, credential resolution, the checks a
 * mount must pass before it daemonizes, and the FUSE loop. Owns the one
 * struct azfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "auth/cred.h"
#include "fs/azfs.h"
#include "util/log.h"
#include "util/str.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct cli {
	char *source;      /* CONTAINER[/PREFIX] */
	char *mountpoint;
	char *account, *endpoint, *credentials, *auth, *identity_client_id;
	char *cafile, *copy, *copy_tier, *cache_dir, *log, *loglevel;
	char *attr_timeout, *block_size, *parallel, *retries, *timeout;
	char *uid, *gid, *umask;
	int foreground, debug, ro, show_help, show_version;
	enum log_level lvl;
	char *secret_opt;  /* the name of a secret given on the command line */
	char *bad_opt;     /* the first option nobody knows */
};

enum { KEY_HELP, KEY_VERSION, KEY_FG, KEY_DEBUG, KEY_RO, KEY_SECRET,
       KEY_DROP };

#define OPT(t, p) { t, offsetof(struct cli, p), 0 }
static const struct fuse_opt cli_opts[] = {
	OPT("account=%s", account),
	OPT("endpoint=%s", endpoint),
	OPT("credentials=%s", credentials),
	OPT("auth=%s", auth),
	OPT("identity_client_id=%s", identity_client_id),
	OPT("cafile=%s", cafile),
	OPT("copy=%s", copy),
	OPT("copy_tier=%s", copy_tier),
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

static void usage(FILE *f)
{
	fprintf(f,
"usage: azblobfs CONTAINER[/PREFIX] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
"\n"
"Mounts an Azure Blob Storage container; cp and mv inside the mount run as\n"
"server-side Copy Blob.\n"
"\n"
"options:\n"
"  -f                      stay in the foreground\n"
"  -d                      debug: foreground, FUSE and loglevel=debug output\n"
"  -h, --help              this help\n"
"  -V, --version           print the version\n"
"  -o account=NAME         storage account [from the credentials]\n"
"  -o endpoint=URL         blob endpoint [https://NAME.blob.core.windows.net];\n"
"                          an IP or localhost host means path-style (emulator)\n"
"  -o credentials=FILE     key=value file: account, key, sas, connection_string,\n"
"                          tenant_id, client_id, client_secret (mode 0600)\n"
"  -o auth=msi|anonymous   managed identity, or a public container\n"
"  -o identity_client_id=ID  user-assigned managed identity\n"
"  -o cafile=PATH          extra CA bundle; TLS is always verified\n"
"  -o copy=sync|async      cp/mv wait for the server copy, or not [sync]\n"
"  -o copy_tier=TIER       Hot, Cool, Cold or Archive for copy destinations\n"
"  -o cache_dir=PATH       private staging directory (0700)\n"
"                          [$XDG_RUNTIME_DIR/azblobfs or /var/tmp/azblobfs-UID]\n"
"  -o attr_timeout=S       metadata and listing cache lifetime [2]\n"
"  -o block_size=MiB       transfer block size [8]\n"
"  -o parallel=N           transfers in flight per file [8]\n"
"  -o retries=N            retries of a failed request [5]\n"
"  -o timeout=S            per-request timeout [60]\n"
"  -o log=stderr|syslog    log destination [stderr, syslog when daemonized]\n"
"  -o loglevel=LEVEL       error, warn, info or debug [warn]\n"
"  -o ro                   read-only mount\n"
"  -o allow_other          let other users in (FUSE)\n"
"  -o uid=N,gid=N,umask=M  ownership and permissions shown for every file\n"
"\n"
"credentials, first match wins: -o credentials=FILE; AZURE_STORAGE_CONNECTION_STRING;\n"
"AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY (AZURE_STORAGE_ACCESS_KEY) or\n"
"AZURE_STORAGE_SAS_TOKEN; AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET\n"
"or AZURE_FEDERATED_TOKEN_FILE; -o auth=msi|anonymous. Secrets are never\n"
"accepted as -o options.\n");
}

/* fuse_passthrough: the FUSE options we hand to libfuse untouched. */
static int fuse_passthrough(const char *arg)
{
	static const char *const flags[] = {
		"allow_other", "allow_root", "auto_unmount", "default_permissions",
		"nodev", "nosuid", "noexec", "noatime", "kernel_cache",
		"auto_cache", "noforget", "direct_io", "intr", "blkdev",
	};
	static const char *const valued[] = {
		"fsname=", "subtype=", "max_read=", "entry_timeout=",
		"negative_timeout=", "remember=", "max_idle_threads=", "ac_attr_timeout=",
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

static int cli_proc(void *data, const char *arg, int key,
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
	case FUSE_OPT_KEY_OPT:
		if (fuse_passthrough(arg))
			return 1;
		if (!c->bad_opt)
			c->bad_opt = strdup(arg);
		return 0;
	default:
		return 1;
	}
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die(const char *fmt, ...)
{
	va_list ap;

	fputs("azblobfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
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

/* settle: turns the strings into azfs options. 0, or 1 after a message. */
static int settle(struct cli *c, struct azfs *fs)
{
	struct azfs_opts *o = &fs->o;
	enum log_level lvl = LOG_LVL_WARN;
	double v;
	char *slash;

	if (!c->source)
		return die("missing CONTAINER; usage: azblobfs CONTAINER[/PREFIX] MOUNTPOINT [-o OPTIONS]");
	if (!c->mountpoint)
		return die("missing MOUNTPOINT; usage: azblobfs CONTAINER[/PREFIX] MOUNTPOINT [-o OPTIONS]");
	if (c->bad_opt)
		return die("unknown option '%s'; see azblobfs --help for the options", c->bad_opt);
	if (c->secret_opt)
		return die("refusing -o %s=...: a secret on the command line shows in ps; put it in -o credentials=FILE (mode 0600) or the environment",
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
			return die("out of memory");
	}
	if (!o->prefix && !(o->prefix = strdup("")))
		return die("out of memory");
	if (strlen(c->source) < 3 || strlen(c->source) > 63 ||
	    strspn(c->source, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->source))
		return die("invalid container name '%s': use 3-63 lower-case letters, digits and '-'",
			   c->source);
	o->copy_mode = AZFS_COPY_SYNC;
	if (c->copy) {
		if (strcmp(c->copy, "async") == 0)
			o->copy_mode = AZFS_COPY_ASYNC;
		else if (strcmp(c->copy, "sync") != 0)
			return die("invalid copy=%s: use copy=sync or copy=async", c->copy);
	}
	if (c->copy_tier) {
		if (strcmp(c->copy_tier, "Hot") && strcmp(c->copy_tier, "Cool") &&
		    strcmp(c->copy_tier, "Cold") && strcmp(c->copy_tier, "Archive"))
			return die("invalid copy_tier=%s: use Hot, Cool, Cold or Archive",
				   c->copy_tier);
		o->copy_tier = strdup(c->copy_tier);
	}
	o->attr_timeout = 2;
	if (c->attr_timeout) {
		if (parse_num(c->attr_timeout, 0, 86400, &v) < 0)
			return die("invalid attr_timeout=%s: seconds from 0 to 86400", c->attr_timeout);
		o->attr_timeout = v;
	}
	o->block_size = 8u << 20;
	if (c->block_size) {
		if (parse_num(c->block_size, 1, 4000, &v) < 0 || v != (int)v)
			return die("invalid block_size=%s: whole MiB from 1 to 4000", c->block_size);
		o->block_size = (size_t)v << 20;
	}
	o->parallel = 8;
	if (c->parallel) {
		if (parse_num(c->parallel, 1, 64, &v) < 0 || v != (int)v)
			return die("invalid parallel=%s: a whole number from 1 to 64", c->parallel);
		o->parallel = (int)v;
	}
	fs->http.retries = 5;
	if (c->retries) {
		if (parse_num(c->retries, 0, 100, &v) < 0 || v != (int)v)
			return die("invalid retries=%s: a whole number from 0 to 100", c->retries);
		fs->http.retries = (int)v;
	}
	fs->http.timeout_ms = 60000;
	if (c->timeout) {
		if (parse_num(c->timeout, 1, 86400, &v) < 0)
			return die("invalid timeout=%s: seconds from 1 to 86400", c->timeout);
		fs->http.timeout_ms = (long)(v * 1000);
	}
	o->uid = getuid();
	o->gid = getgid();
	o->umask = 022;
	if (c->uid) {
		if (parse_num(c->uid, 0, 4294967294.0, &v) < 0 || v != (long)v)
			return die("invalid uid=%s: a numeric user id", c->uid);
		o->uid = (uid_t)v;
	}
	if (c->gid) {
		if (parse_num(c->gid, 0, 4294967294.0, &v) < 0 || v != (long)v)
			return die("invalid gid=%s: a numeric group id", c->gid);
		o->gid = (gid_t)v;
	}
	if (c->umask) {
		char *end;
		long m = strtol(c->umask, &end, 8);

		if (*end || end == c->umask || m < 0 || m > 0777)
			return die("invalid umask=%s: an octal mask such as 022", c->umask);
		o->umask = (mode_t)m;
	}
	o->read_only = c->ro;
	if (c->loglevel && log_level_parse(c->loglevel, &lvl) < 0)
		return die("invalid loglevel=%s: use error, warn, info or debug", c->loglevel);
	if (c->debug)
		lvl = LOG_LVL_DEBUG;
	if (c->log && strcmp(c->log, "stderr") && strcmp(c->log, "syslog"))
		return die("invalid log=%s: use log=stderr or log=syslog", c->log);
	c->lvl = lvl;
	log_setup(lvl, LOG_SINK_STDERR);
	if (c->cafile && access(c->cafile, R_OK) < 0)
		return die("cannot read cafile=%s: %s", c->cafile, strerror(errno));
	if (c->cache_dir) {
		o->cache_dir = strdup(c->cache_dir);
	} else if (getenv("XDG_RUNTIME_DIR") && *getenv("XDG_RUNTIME_DIR")) {
		if (asprintf(&o->cache_dir, "%s/azblobfs", getenv("XDG_RUNTIME_DIR")) < 0)
			o->cache_dir = NULL;
	} else if (asprintf(&o->cache_dir, "/var/tmp/azblobfs-%u", (unsigned)getuid()) < 0) {
		o->cache_dir = NULL;
	}
	if (!o->cache_dir)
		return die("out of memory");
	return 0;
}

/* prepare_cache_dir: creates it 0700 or refuses one others can enter. */
static int prepare_cache_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return die("cannot create cache_dir %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return die("cache_dir %s is not a directory", dir);
	if (st.st_uid != getuid())
		return die("cache_dir %s belongs to another user; choose another with -o cache_dir=PATH", dir);
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0)
		return die("cache_dir %s is open to others and cannot be made private: %s",
			   dir, strerror(errno));
	return 0;
}

/* check_mount: one request that proves credentials, endpoint and container. */
static int check_mount(struct azfs *fs, const char *container)
{
	struct blob_error e;
	char msg[400];

	if (blob_container_check(&fs->blob, &e) == 0)
		return 0;
	if (e.status == 0)
		return die("cannot reach the endpoint %s: %s; check -o endpoint= and the network",
			   fs->blob.endpoint, e.transport_msg);
	if (e.status == 404)
		return die("container '%s' does not exist in account '%s'; create it first or fix the name",
			   container, fs->auth.account);
	if (e.status == 403 && fs->auth.kind == AUTH_ANONYMOUS)
		return die("container '%s' does not allow anonymous access; give credentials",
			   container);
	if (e.status == 403)
		return die("the server refused the credentials for account '%s' (%s); check the account key, SAS or identity",
			   fs->auth.account, e.code[0] ? e.code : "HTTP 403");
	return die("the server rejected the mount check: %s", blob_error_str(&e, msg, sizeof(msg)));
}

static void cli_free(struct cli *c)
{
	char **strs[] = { &c->source, &c->mountpoint, &c->account, &c->endpoint,
			  &c->credentials, &c->auth, &c->identity_client_id,
			  &c->cafile, &c->copy, &c->copy_tier, &c->cache_dir,
			  &c->log, &c->loglevel, &c->attr_timeout, &c->block_size,
			  &c->parallel, &c->retries, &c->timeout, &c->uid,
			  &c->gid, &c->umask, &c->secret_opt, &c->bad_opt };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

static void azfs_release(struct azfs *fs)
{
	nodes_release(fs);
	cache_release(fs);
	blob_client_release(&fs->blob);
	http_client_release(&fs->http);
	auth_release(&fs->auth);
	free(fs->o.prefix);
	free(fs->o.copy_tier);
	free(fs->o.cache_dir);
	pthread_mutex_destroy(&fs->lock);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cred_opts co;
	struct cli c;
	struct azfs fs;
	struct http_transport tr;
	struct fuse *fuse = NULL;
	char *endpoint = NULL, msg[512];
	int rc = 1, retries;
	long timeout_ms;

	memset(&c, 0, sizeof(c));
	memset(&fs, 0, sizeof(fs));
	pthread_mutex_init(&fs.lock, NULL);
	if (fuse_opt_parse(&args, &c, cli_opts, cli_proc) < 0) {
		fprintf(stderr, "azblobfs: invalid options; see azblobfs --help\n");
		goto out_args;
	}
	if (c.show_help) {
		usage(stdout);
		rc = 0;
		goto out_args;
	}
	if (c.show_version) {
		printf("azblobfs %s\n", PACKAGE_VERSION);
		rc = 0;
		goto out_args;
	}
	if (settle(&c, &fs))
		goto out_args;
	retries = fs.http.retries;
	timeout_ms = fs.http.timeout_ms;
	if (prepare_cache_dir(fs.o.cache_dir))
		goto out_args;

	memset(&co, 0, sizeof(co));
	co.account = c.account;
	co.endpoint = c.endpoint;
	co.credentials_file = c.credentials;
	co.auth = c.auth;
	co.identity_client_id = c.identity_client_id;
	if (cred_resolve(&co, NULL, &fs.auth, &endpoint, msg, sizeof(msg)) < 0) {
		die("%s", msg);
		goto out_args;
	}
	if (http_global_init() < 0) {
		die("cannot initialise libcurl");
		goto out_auth;
	}
	if (http_curl_transport_new(c.cafile, fs.o.parallel * 2 + 8, &tr) < 0) {
		die("out of memory");
		goto out_auth;
	}
	http_client_init(&fs.http, tr, retries, timeout_ms);
	fs.auth.http = &fs.http;
	if (blob_client_init(&fs.blob, &fs.http, &fs.auth, endpoint, c.source) < 0 ||
	    cache_init(&fs) < 0 || nodes_init(&fs) < 0) {
		die("out of memory");
		goto out_all;
	}
	if (check_mount(&fs, c.source))
		goto out_all;

	/* FUSE gets the mountpoint and the options we did not consume */
	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, "fsname=azblobfs,subtype=azblobfs,default_permissions");
	if (c.debug)
		fuse_opt_add_arg(&args, "-d");
	fuse = fuse_new(&args, &azfs_ops, sizeof(azfs_ops), &fs);
	if (!fuse) {
		die("invalid FUSE options; see azblobfs --help");
		goto out_all;
	}
	if (fuse_mount(fuse, c.mountpoint) != 0) {
		die("cannot mount on %s: check that it exists, is an empty directory and that /dev/fuse is usable",
		    c.mountpoint);
		goto out_fuse;
	}
	if (!c.foreground && fuse_daemonize(0) != 0) {
		die("cannot daemonize");
		goto out_unmount;
	}
	if (c.log ? strcmp(c.log, "syslog") == 0 : !c.foreground)
		log_setup(c.lvl, LOG_SINK_SYSLOG);
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_unmount;
	rc = fuse_loop_mt(fuse, 0) ? 1 : 0;
	fuse_remove_signal_handlers(fuse_get_session(fuse));
out_unmount:
	fuse_unmount(fuse);
out_fuse:
	fuse_destroy(fuse);
out_all:
	azfs_release(&fs);
	http_global_cleanup();
	free(endpoint);
	cli_free(&c);
	fuse_opt_free_args(&args);
	return rc;
out_auth:
	auth_release(&fs.auth);
out_args:
	free(fs.o.prefix);
	free(fs.o.copy_tier);
	free(fs.o.cache_dir);
	free(endpoint);
	cli_free(&c);
	fuse_opt_free_args(&args);
	return rc;
}
