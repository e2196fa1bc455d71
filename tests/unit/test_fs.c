/* test_fs.c -- the errno table and path mapping of the fs layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "options.h"

static int map(long status, const char *code, enum http_err t)
{
	struct blob_error e;

	memset(&e, 0, sizeof(e));
	e.status = status;
	strcpy(e.code, code);
	e.transport = t;
	blob_error_classify(&e);
	return core_errno(&e);
}

static void test_errmap(void **st)
{
	(void)st;
	assert_int_equal(map(404, "BlobNotFound", 0), ENOENT);
	assert_int_equal(map(404, "", 0), ENOENT);
	assert_int_equal(map(403, "AuthenticationFailed", 0), EACCES);
	assert_int_equal(map(403, "", 0), EACCES);
	assert_int_equal(map(409, "PendingCopyOperation", 0), EBUSY);
	assert_int_equal(map(409, "BlobAlreadyExists", 0), EEXIST);
	assert_int_equal(map(409, "Whatever", 0), EBUSY);
	assert_int_equal(map(412, "ConditionNotMet", 0), ESTALE);
	assert_int_equal(map(500, "InternalError", 0), EIO);
	assert_int_equal(map(503, "ServerBusy", 0), EIO);
	assert_int_equal(map(400, "SomethingNew", 0), EIO);
	assert_int_equal(map(400, "InvalidMetadata", 0), EINVAL);
	assert_int_equal(map(0, "", HTTP_ERR_TIMEOUT), EIO);
	assert_int_equal(map(0, "", HTTP_ERR_NOMEM), ENOMEM);
	assert_int_equal(map(404, "CannotVerifyCopySource", 0), ENOENT);
	assert_int_equal(map(403, "CannotVerifyCopySource", 0), EACCES);
	assert_int_equal(map(200, "MalformedResponse", 0), EIO);
	assert_int_equal(map(412, "LeaseIdMissing", 0), EBUSY);
	assert_int_equal(map(412, "LeaseLost", 0), EBUSY);
	assert_int_equal(map(409, "LeaseNotPresentWithLeaseOperation", 0), EBUSY);
	assert_int_equal(map(405, "", 0), EOPNOTSUPP);
	assert_int_equal(map(413, "", 0), EFBIG);
	/* a body cut after the status line: the transport decides */
	assert_int_equal(map(200, "", HTTP_ERR_IO), EIO);
}

static void test_names(void **st)
{
	struct azfs fs;
	char path[1100], *n;
	int err = 0;

	(void)st;
	memset(&fs, 0, sizeof(fs));
	fs.o.prefix = (char *)"pre/";
	n = core_blob_name(&fs.o, "/a/b c", &err);
	assert_string_equal(n, "pre/a/b c");
	free(n);
	n = core_blob_name(&fs.o, "/", &err);
	assert_string_equal(n, "pre");
	free(n);
	fs.o.prefix = (char *)"";
	/* 1024 bytes in names of 255: the longest blob name */
	path[0] = '/';
	memset(path + 1, 'x', 1024);
	path[256] = path[512] = path[768] = path[1024] = '/';
	path[1025] = '\0';
	n = core_blob_name(&fs.o, path, &err);
	assert_non_null(n);
	assert_int_equal(strlen(n), 1024);
	free(n);
	/* a name of 256 bytes is too long, as statfs says */
	path[256] = 'x';
	assert_null(core_blob_name(&fs.o, path, &err));
	assert_int_equal(err, -ENAMETOOLONG);
	path[256] = '/';
	path[1025] = 'y';
	path[1026] = '\0';
	assert_null(core_blob_name(&fs.o, path, &err));
	assert_int_equal(err, -ENAMETOOLONG);
	assert_null(core_blob_name(&fs.o, "/bad\xff", &err));
	assert_int_equal(err, -EINVAL);
}

static void test_stat(void **st)
{
	struct azfs fs;
	struct blob_props p;
	struct blob_meta m[2] = { { (char *)"mtime", (char *)"2026-01-02T03:04:05.5Z" },
				  { (char *)"is_symlink", (char *)"true" } };
	struct attr a;
	struct stat s;

	(void)st;
	memset(&fs, 0, sizeof(fs));
	fs.o.umask = 022;
	memset(&p, 0, sizeof(p));
	p.size = 1000;
	p.meta = m;
	p.n_meta = 1;
	core_attr_from_props(&p, &a);
	meta_fill_stat(&fs.o, &a, &s);
	assert_true(S_ISREG(s.st_mode));
	assert_int_equal(s.st_mode & 0777, 0644);
	assert_int_equal(s.st_blocks, 2); /* never looks sparse to cp */
	assert_int_equal(s.st_mtim.tv_sec, 1767323045);
	assert_int_equal(s.st_mtim.tv_nsec, 500000000);
	p.n_meta = 2;
	core_attr_from_props(&p, &a);
	assert_int_equal(a.kind, ATTR_LINK);
	/* a pending copy shows its total size */
	p.n_meta = 0;
	p.size = 0;
	p.copy.status = BLOB_COPY_PENDING;
	p.copy.progress = (char *)"10/5000";
	core_attr_from_props(&p, &a);
	assert_int_equal(a.size, 5000);
	assert_true(a.copy_pending);
}

/* parse: runs argv through the real option table and checks. */
static int parse(const char *opts, struct cli *c, struct core_opts *o,
		 int *retries, long *timeout, char *msg)
{
	char *argv[] = { (char *)"azblobfs", (char *)"cont", (char *)"/mnt",
			 (char *)"-o", (char *)opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(5, argv);
	int rc;

	memset(c, 0, sizeof(*c));
	memset(o, 0, sizeof(*o));
	msg[0] = '\0';
	rc = fuse_opt_parse(&args, c, options_table, options_proc);
	if (rc == 0)
		rc = options_settle(c, o, retries, timeout, msg, 300);
	fuse_opt_free_args(&args);
	return rc;
}

static void release_opts(struct cli *c, struct core_opts *o)
{
	options_free(c);
	free(o->prefix);
	free(o->copy_tier);
	free(o->cache_dir);
	free(o->control);
}

static void test_options(void **st)
{
	struct cli c;
	struct core_opts o;
	int retries;
	long timeout;
	char msg[300];

	(void)st;
	assert_int_equal(parse("account=a,copy=async,copy_tier=Cool,block_size=4,parallel=3,"
			       "retries=2,timeout=1.5,attr_timeout=0,uid=7,gid=8,umask=027,"
			       "cache_dir=/tmp/x,loglevel=debug,_netdev,allow_other",
			       &c, &o, &retries, &timeout, msg), 0);
	assert_int_equal(o.copy_mode, CORE_COPY_ASYNC);
	assert_string_equal(o.copy_tier, "Cool");
	assert_int_equal(o.block_size, 4u << 20);
	assert_int_equal(o.parallel, 3);
	assert_int_equal(retries, 2);
	assert_int_equal(timeout, 1500);
	assert_true(o.attr_timeout == 0);
	assert_int_equal(o.uid, 7);
	assert_int_equal(o.gid, 8);
	assert_int_equal(o.umask, 027);
	assert_string_equal(o.cache_dir, "/tmp/x");
	assert_string_equal(o.prefix, "");
	assert_int_equal(c.lvl, LOG_LVL_DEBUG);
	assert_false(o.direct_io);
	release_opts(&c, &o);

	/* FUSE options libfuse 3 takes elsewhere */
	assert_int_equal(parse("direct_io,max_read=131072,kernel_cache", &c, &o, &retries,
			       &timeout, msg), 0);
	assert_true(o.direct_io);
	assert_int_equal(o.max_read, 131072);
	assert_false(o.entry_timeout_given);
	release_opts(&c, &o);
	/* libfuse parses these two; init keeps what it parsed */
	assert_int_equal(parse("entry_timeout=30,negative_timeout=0", &c, &o, &retries,
			       &timeout, msg), 0);
	assert_true(o.entry_timeout_given);
	assert_true(o.negative_timeout_given);
	release_opts(&c, &o);
	assert_int_equal(parse("intr", &c, &o, &retries, &timeout, msg), 1);
	assert_non_null(strstr(msg, "unknown option 'intr'"));
	release_opts(&c, &o);

	/* defaults */
	assert_int_equal(parse("account=a", &c, &o, &retries, &timeout, msg), 0);
	assert_int_equal(o.copy_mode, CORE_COPY_SYNC);
	assert_null(o.copy_tier);
	assert_int_equal(o.block_size, 8u << 20);
	assert_int_equal(o.parallel, 8);
	assert_int_equal(retries, 5);
	assert_int_equal(timeout, 60000);
	release_opts(&c, &o);

	/* refusals name the option */
	assert_int_equal(parse("copy=maybe", &c, &o, &retries, &timeout, msg), 1);
	assert_non_null(strstr(msg, "copy=sync or copy=async"));
	release_opts(&c, &o);
	assert_int_equal(parse("copy_tier=Warm", &c, &o, &retries, &timeout, msg), 1);
	release_opts(&c, &o);
	assert_int_equal(parse("block_size=0", &c, &o, &retries, &timeout, msg), 1);
	release_opts(&c, &o);
	assert_int_equal(parse("parallel=1000", &c, &o, &retries, &timeout, msg), 1);
	release_opts(&c, &o);
	assert_int_equal(parse("umask=999", &c, &o, &retries, &timeout, msg), 1);
	release_opts(&c, &o);
	assert_int_equal(parse("loglevel=loud", &c, &o, &retries, &timeout, msg), 1);
	release_opts(&c, &o);
	assert_int_equal(parse("frobnicate", &c, &o, &retries, &timeout, msg), 1);
	assert_non_null(strstr(msg, "unknown option 'frobnicate'"));
	release_opts(&c, &o);
	assert_int_equal(parse("key=SECRETKEY", &c, &o, &retries, &timeout, msg), 1);
	assert_non_null(strstr(msg, "refusing -o key="));
	assert_null(strstr(msg, "SECRETKEY"));
	release_opts(&c, &o);
	assert_int_equal(parse("client_secret=SECRETKEY", &c, &o, &retries, &timeout, msg), 1);
	assert_null(strstr(msg, "SECRETKEY"));
	release_opts(&c, &o);
}

static void test_prefix(void **st)
{
	char *argv[] = { (char *)"azblobfs", (char *)"cont//a/b/", (char *)"/mnt", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct cli c;
	struct core_opts o;
	int retries;
	long timeout;
	char msg[300];

	(void)st;
	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	assert_int_equal(fuse_opt_parse(&args, &c, options_table, options_proc), 0);
	assert_int_equal(options_settle(&c, &o, &retries, &timeout, msg, sizeof(msg)), 0);
	assert_string_equal(c.source, "cont");
	assert_string_equal(o.prefix, "a/b/");
	fuse_opt_free_args(&args);
	release_opts(&c, &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errmap),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
