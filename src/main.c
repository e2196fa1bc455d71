/*
 * main.c -- azblobfs: option parsing, credential resolution, the checks a
 * mount must pass before it daemonizes, and the FUSE loop. Owns the one
 * struct azfs (fs/fs.h) and everything it is made of.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse_log.h>
#include <fuse_lowlevel.h>
#include <malloc.h>

#include "auth/cred.h"
#include "auth/token.h"
#include "fs/fs.h"
#include "options.h"
#include "status.h"
#include "util/log.h"
#include "util/notify.h"
#include "util/str.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: azblobfs CONTAINER[/PREFIX] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
"       azblobfs status MOUNTPOINT [--watch]\n"
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
"  -o copy_lease=on|off    lease an in-mount copy source while pending [off]\n"
"  -o upload=sync|async    close waits for the upload, or for the data to be\n"
"                          staged in cache_dir (uploads in the background) [sync]\n"
"  -o control=NAME|off     the control directory at the mount root [.azblobfs]\n"
"  -o cache_dir=PATH       private staging directory (0700)\n"
"                          [$XDG_RUNTIME_DIR/azblobfs or /var/tmp/azblobfs-UID]\n"
"  -o attr_timeout=S       metadata and listing cache lifetime [10]\n"
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
	if (e.kind == BLOB_E_TLS)
		return die("TLS verification of %s failed (%s); if the server uses a private CA, give it with -o cafile=PATH",
			   fs->blob.endpoint, e.transport_msg);
	/* an answer came, but not one of HTTP (garbage, a lying length) or
	 * larger than any Blob service answer */
	if (e.kind == BLOB_E_TRANSPORT && (e.transport == HTTP_ERR_IO ||
					   e.transport == HTTP_ERR_TOO_LARGE))
		return die("the endpoint %s does not answer like a Blob service (%s); check -o endpoint=",
			   fs->blob.endpoint, e.transport_msg);
	if (e.kind == BLOB_E_TRANSPORT)
		return die("cannot reach the endpoint %s: %s; check -o endpoint= and the network",
			   fs->blob.endpoint, e.transport_msg);
	if (e.kind == BLOB_E_NOT_FOUND)
		return die("container '%s' does not exist in account '%s'; create it first or fix the name",
			   container, fs->auth.account);
	if (e.kind == BLOB_E_DENIED && fs->auth.kind == AUTH_ANONYMOUS)
		return die("container '%s' does not allow anonymous access; give credentials",
			   container);
	if (e.kind == BLOB_E_DENIED)
		return die("the server refused the credentials for account '%s' (%s); check the account key, SAS or identity",
			   fs->auth.account, e.code[0] ? e.code : "HTTP 403");
	return die("the server rejected the mount check: %s", blob_error_str(&e, msg, sizeof(msg)));
}

/* hidden_by_control: a blob or directory at the root with the control
 * directory's name is out of reach while it is there: said once */
static void hidden_by_control(struct azfs *fs)
{
	struct blob_list_page pg;
	struct blob_props p;
	struct blob_error e;
	char *name = NULL, *dir = NULL;
	int rc, found;

	if (!fs->o.control || !(name = core_blob_name(&fs->o, fs->o.control, &rc)) ||
	    asprintf(&dir, "%s/", name) < 0) {
		free(name);
		return;
	}
	memset(&p, 0, sizeof(p));
	memset(&pg, 0, sizeof(pg));
	found = blob_get_props(&fs->blob, name, &p, &e) == 0 ||
		(blob_list(&fs->blob, dir, "/", NULL, 1, &pg, &e) == 0 &&
		 (pg.n_items || pg.n_prefixes));
	if (found)
		log_warn("/%s in the container is hidden by the control directory of the same name; mount with -o control=off or control=NAME to reach it",
			 fs->o.control);
	blob_props_release(&p);
	blob_list_page_release(&pg);
	free(dir);
	free(name);
}

static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt,
			     va_list ap)
{
	char line[1024];
	enum log_level l = level <= FUSE_LOG_ERR ? LOG_LVL_ERROR
		: level == FUSE_LOG_WARNING ? LOG_LVL_WARN
		: level <= FUSE_LOG_INFO ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	if (!log_enabled(l))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_msg(l, "fuse: %s", line);
}

static void mount_release(struct azfs *fs, int rooms)
{
	if (rooms)
		azfs_rooms_release(fs);
	blob_client_release(&fs->blob);
	http_client_release(&fs->http);
	auth_release(&fs->auth);
	free(fs->o.prefix);
	free(fs->o.copy_tier);
	free(fs->o.cache_dir);
	free(fs->o.control);
}

/*
 * run_fuse: mounts fs on c's mountpoint with the FUSE options args holds,
 * daemonizes unless asked not to, and serves until the unmount. The exit
 * status: 0 after a clean unmount, 1 when mounting or serving failed.
 */
static int run_fuse(struct azfs *fs, struct cli *c, struct fuse_args *args)
{
	struct fuse *fuse;
	int rc = 1, res;

	/* FUSE gets the mountpoint and the options we did not consume */
	fuse_opt_add_arg(args, "-o");
	fuse_opt_add_arg(args, "fsname=azblobfs,subtype=azblobfs,default_permissions");
	if (c->debug)
		fuse_opt_add_arg(args, "-d");
	fuse = fuse_new(args, &azfs_ops, sizeof(azfs_ops), fs);
	if (!fuse)
		return die("invalid FUSE options; see azblobfs --help");
	if (fuse_mount(fuse, c->mountpoint) != 0) {
		die("cannot mount on %s: check that it exists, is an empty directory and that /dev/fuse is usable",
		    c->mountpoint);
		goto out_fuse;
	}
	if (!c->foreground && fuse_daemonize(0) != 0) {
		die("cannot daemonize");
		goto out_unmount;
	}
	if (c->log ? strcmp(c->log, "syslog") == 0 : !c->foreground) {
		log_setup(c->lvl, LOG_SINK_SYSLOG);
		/* libfuse's own messages go the same way */
		fuse_set_log_func(fuse_log_to_ours);
	}
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_unmount;
	/* the mount is live: tell a Type=notify service manager */
	if (notify_send("READY=1") < 0)
		log_warn("cannot notify the service manager: %s", strerror(errno));
	/* the loop ends with the number of the signal that stopped it: a
	 * stop asked for (SIGTERM, SIGINT, SIGHUP) is a clean end */
	res = fuse_loop_mt(fuse, 0);
	rc = res == 0 || res == SIGTERM || res == SIGINT || res == SIGHUP ? 0 : 1;
	notify_send("STOPPING=1");
	fuse_remove_signal_handlers(fuse_get_session(fuse));
out_unmount:
	fuse_unmount(fuse);
out_fuse:
	fuse_destroy(fuse);
	return rc;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cred_opts co;
	struct cli c;
	struct azfs fs;
	struct http_transport tr;
	char *endpoint = NULL, msg[512];
	int rc = 1, retries, rooms = 0;
	long timeout_ms;

	/* FUSE request buffers (up to 1 MiB) come from the heap and stay
	 * there between requests: mapping and trimming them each time cost
	 * a page fault per 4 KiB copied. Block and read-ahead buffers have
	 * mappings of their own (buf_big_alloc). Few arenas keep many FUSE
	 * threads from multiplying the kept memory. */
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);
	mallopt(M_MMAP_THRESHOLD, 2 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_ARENA_MAX, 4);
	memset(&c, 0, sizeof(c));
	memset(&fs, 0, sizeof(fs));
	if (fuse_opt_parse(&args, &c, options_table, options_proc) < 0) {
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
	if (options_settle(&c, &fs.o, &retries, &timeout_ms, msg, sizeof(msg))) {
		die("%s", msg);
		goto out_args;
	}
	log_setup(c.lvl, LOG_SINK_STDERR);
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
	fs.auth.tokens.fetch = token_http_fetch;
	fs.auth.tokens.ctx = &fs.http;
	if (blob_client_init(&fs.blob, &fs.http, &fs.auth, endpoint, c.source) < 0 ||
	    azfs_rooms_init(&fs) < 0) {
		die("out of memory");
		goto out_all;
	}
	rooms = 1;
	if (check_mount(&fs, c.source))
		goto out_all;
	hidden_by_control(&fs);

	rc = run_fuse(&fs, &c, &args);
out_all:
	mount_release(&fs, rooms);
	http_global_cleanup();
	free(endpoint);
	options_free(&c);
	fuse_opt_free_args(&args);
	return rc;
out_auth:
	auth_release(&fs.auth);
out_args:
	free(fs.o.prefix);
	free(fs.o.copy_tier);
	free(fs.o.cache_dir);
	free(fs.o.control);
	free(endpoint);
	options_free(&c);
	fuse_opt_free_args(&args);
	return rc;
}
