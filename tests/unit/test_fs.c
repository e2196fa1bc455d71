/* test_fs.c -- the errno table and path mapping of the fs layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/azfs.h"

static int map(long status, const char *code, enum http_err t)
{
	struct blob_error e;

	memset(&e, 0, sizeof(e));
	e.status = status;
	strcpy(e.code, code);
	e.transport = t;
	return azfs_errno(&e);
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
}

static void test_names(void **st)
{
	struct azfs fs;
	char path[1100], *n;
	int err = 0;

	(void)st;
	memset(&fs, 0, sizeof(fs));
	fs.o.prefix = (char *)"pre/";
	n = azfs_blob_name(&fs, "/a/b c", &err);
	assert_string_equal(n, "pre/a/b c");
	free(n);
	n = azfs_blob_name(&fs, "/", &err);
	assert_string_equal(n, "pre");
	free(n);
	fs.o.prefix = (char *)"";
	path[0] = '/';
	memset(path + 1, 'x', 1024);
	path[1025] = '\0';
	n = azfs_blob_name(&fs, path, &err);
	assert_non_null(n);
	assert_int_equal(strlen(n), 1024);
	free(n);
	path[1025] = 'y';
	path[1026] = '\0';
	assert_null(azfs_blob_name(&fs, path, &err));
	assert_int_equal(err, -ENAMETOOLONG);
	assert_null(azfs_blob_name(&fs, "/bad\xff", &err));
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
	azfs_attr_from_props(&p, &a);
	azfs_fill_stat(&fs, &a, &s);
	assert_true(S_ISREG(s.st_mode));
	assert_int_equal(s.st_mode & 0777, 0644);
	assert_int_equal(s.st_blocks, 2); /* never looks sparse to cp */
	assert_int_equal(s.st_mtim.tv_sec, 1767323045);
	assert_int_equal(s.st_mtim.tv_nsec, 500000000);
	p.n_meta = 2;
	azfs_attr_from_props(&p, &a);
	assert_int_equal(a.kind, ATTR_LINK);
	/* a pending copy shows its total size */
	p.n_meta = 0;
	p.size = 0;
	p.copy.status = BLOB_COPY_PENDING;
	p.copy.progress = (char *)"10/5000";
	azfs_attr_from_props(&p, &a);
	assert_int_equal(a.size, 5000);
	assert_true(a.copy_pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errmap),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
