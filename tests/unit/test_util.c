/* test_util.c -- buffers, strings, time stamps, the task pool, readiness
 * notification, the syslog priority of log lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/notify.h"
#include "util/pool.h"
#include "util/str.h"

static void test_buf_cap(void **st)
{
	struct buf b;

	(void)st;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_puts(&b, "9"), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data, "42-x");
	buf_release(&b);
}

static void test_pct(void **st)
{
	struct buf b;

	(void)st;
	buf_init(&b, 0);
	assert_int_equal(str_pct_encode(&b, "a b/%#?+&'\"\xf0\x9f\x98\x80", 15, "/"), 0);
	assert_string_equal(b.data, "a%20b/%25%23%3F%2B%26%27%22%F0%9F%98%80");
	buf_reset(&b);
	assert_int_equal(str_pct_decode(&b, "a%20b%2Fc", 9), 0);
	assert_string_equal(b.data, "a b/c");
	buf_reset(&b);
	assert_int_equal(str_pct_decode(&b, "bad%2", 5), -1);
	buf_reset(&b);
	assert_int_equal(str_pct_decode(&b, "bad%zz", 6), -1);
	buf_release(&b);
}

static void test_redact(void **st)
{
	char *r;

	(void)st;
	r = str_redact_url("https://a.blob.core.windows.net/c/b?sv=2021&sig=abc%2Bdef&se=1");
	assert_string_equal(r, "https://a.blob.core.windows.net/c/b?sv=2021&sig=REDACTED&se=1");
	free(r);
	r = str_redact_url("http://x/y");
	assert_string_equal(r, "http://x/y");
	free(r);
	r = str_redact_url("http://x/y?SIG=zz");
	assert_string_equal(r, "http://x/y?sig=REDACTED");
	free(r);
}

static void test_utf8(void **st)
{
	(void)st;
	assert_true(str_utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
	assert_false(str_utf8_valid("\xff", 1));
	assert_false(str_utf8_valid("\xc3", 1));
	assert_false(str_utf8_valid("\xc0\xaf", 2));       /* overlong */
	assert_false(str_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
}

static void test_rfc3339(void **st)
{
	struct timespec ts = { 1764039600, 123456789 }, back;
	char out[48];

	(void)st;
	str_rfc3339_format(&ts, out, sizeof(out));
	assert_string_equal(out, "2025-11-25T03:00:00.123456789Z");
	assert_int_equal(str_rfc3339_parse(out, &back), 0);
	assert_int_equal(back.tv_sec, ts.tv_sec);
	assert_int_equal(back.tv_nsec, ts.tv_nsec);
	assert_int_equal(str_rfc3339_parse("2025-11-25T05:00:00+02:00", &back), 0);
	assert_int_equal(back.tv_sec, 1764039600);
	assert_int_equal(str_rfc3339_parse("2025-11-25 nonsense", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-13-25T05:00:00Z", &back), -1);
}

/* Found by fuzzing: offsets and days that do not exist were accepted. */
static void test_rfc3339_range(void **st)
{
	struct timespec back = { 7, 7 };

	(void)st;
	assert_int_equal(str_rfc3339_parse("2025-11-25T05:00:00+99:99", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-11-25T05:00:00+24:00", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-11-25T05:00:00-05:60", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-02-31T00:00:00Z", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-04-31T00:00:00Z", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-02-29T00:00:00Z", &back), -1);
	assert_int_equal(str_rfc3339_parse("1900-02-29T00:00:00Z", &back), -1);
	assert_int_equal(str_rfc3339_parse("2025-01-00T00:00:00Z", &back), -1);
	/* a refused time stamp leaves the output alone */
	assert_int_equal(back.tv_sec, 7);
	assert_int_equal(back.tv_nsec, 7);
	/* the edges that do exist */
	assert_int_equal(str_rfc3339_parse("2024-02-29T00:00:00Z", &back), 0);
	assert_int_equal(back.tv_sec, 1709164800);
	assert_int_equal(str_rfc3339_parse("2000-02-29T00:00:00Z", &back), 0);
	assert_int_equal(back.tv_sec, 951782400);
	assert_int_equal(str_rfc3339_parse("2025-12-31T23:59:59Z", &back), 0);
	assert_int_equal(back.tv_sec, 1767225599);
	assert_int_equal(str_rfc3339_parse("2025-11-25T05:00:00-23:59", &back), 0);
	assert_int_equal(back.tv_sec, 1764046800 + 23 * 3600 + 59 * 60);
	assert_int_equal(str_rfc3339_parse("2025-11-25T05:00:00+00:00", &back), 0);
	assert_int_equal(back.tv_sec, 1764046800);
}

static int square(void *ctx, size_t i)
{
	long *out = ctx;

	out[i] = (long)(i * i);
	return i == 1000 ? 7 : 0;
}

static void test_pool(void **st)
{
	long out[64];
	long big[1001];
	size_t i;

	(void)st;
	assert_int_equal(pool_run(64, 8, square, out), 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(out[i], (long)(i * i));
	assert_int_equal(pool_run(1001, 4, square, big), 7);
	assert_int_equal(pool_run(0, 4, square, big), 0);
}

/* bind_dgram: an AF_UNIX datagram socket bound to name (a path, or an
 * abstract name when it starts with '@'); the descriptor */
static int bind_dgram(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	return fd;
}

/* recv_text: the next datagram on fd as a string (waits at most 2 s) */
static void recv_text(int fd, char *out, size_t size)
{
	struct timeval tv = { 2, 0 };
	ssize_t n;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	n = recv(fd, out, size - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
}

static void test_notify_unset(void **st)
{
	(void)st;
	assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

static void test_notify_path(void **st)
{
	char dir[] = "/tmp/azb-notify.XXXXXX", path[128], got[64];
	int fd;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	assert_int_equal(notify_send("READY=1"), 1);
	recv_text(fd, got, sizeof(got));
	assert_string_equal(got, "READY=1");
	assert_int_equal(notify_send("STOPPING=1\nSTATUS=unmounting"), 1);
	recv_text(fd, got, sizeof(got));
	assert_string_equal(got, "STOPPING=1\nSTATUS=unmounting");
	close(fd);
	/* nobody listens any more: an error, not a hang */
	unlink(path);
	errno = 0;
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, ENOENT);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_notify_abstract(void **st)
{
	char name[64], got[64];
	int fd;

	(void)st;
	snprintf(name, sizeof(name), "@azb-notify-test-%ld", (long)getpid());
	fd = bind_dgram(name);
	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	assert_int_equal(notify_send("READY=1"), 1);
	recv_text(fd, got, sizeof(got));
	assert_string_equal(got, "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_notify_bad(void **st)
{
	char longname[200];

	(void)st;
	/* neither a path nor an abstract name */
	assert_int_equal(setenv("NOTIFY_SOCKET", "run/notify", 1), 0);
	errno = 0;
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	/* longer than sun_path: refused, not cut to another name */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(setenv("NOTIFY_SOCKET", longname, 1), 0);
	errno = 0;
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	unsetenv("NOTIFY_SOCKET");
}

/* log.c's openlog and syslog calls land here: the test binary is linked
 * with -Wl,--wrap for them (Makefile.am); __syslog_chk is what syslog
 * becomes under _FORTIFY_SOURCE */
#define WRAPPED_MAX 8
static int wrapped_facility = -1;
static int wrapped_n;
static int wrapped_prio[WRAPPED_MAX];
static char wrapped_text[WRAPPED_MAX][64];

void __wrap_openlog(const char *ident, int option, int facility);
void __wrap_syslog(int prio, const char *fmt, ...);
void __wrap___syslog_chk(int prio, int flag, const char *fmt, ...);

void __wrap_openlog(const char *ident, int option, int facility)
{
	(void)ident;
	(void)option;
	wrapped_facility = facility;
}

static void wrapped_record(int prio, const char *fmt, va_list ap)
{
	if (wrapped_n == WRAPPED_MAX)
		return;
	wrapped_prio[wrapped_n] = prio;
	vsnprintf(wrapped_text[wrapped_n], sizeof(wrapped_text[0]), fmt, ap);
	wrapped_n++;
}

void __wrap_syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wrapped_record(prio, fmt, ap);
	va_end(ap);
}

void __wrap___syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	wrapped_record(prio, fmt, ap);
	va_end(ap);
}

/* at log=syslog each line carries its level as the syslog priority, which
 * journald keeps (journalctl -p) */
static void test_log_syslog_priority(void **st)
{
	(void)st;
	wrapped_n = 0;
	log_setup(LOG_LVL_DEBUG, LOG_SINK_SYSLOG);
	assert_int_equal(wrapped_facility, LOG_DAEMON);
	log_error("e %d", 1);
	log_warn("w %s", "x");
	log_info("i");
	log_debug("d");
	assert_int_equal(wrapped_n, 4);
	assert_int_equal(wrapped_prio[0], LOG_ERR);
	assert_string_equal(wrapped_text[0], "e 1");
	assert_int_equal(wrapped_prio[1], LOG_WARNING);
	assert_string_equal(wrapped_text[1], "w x");
	assert_int_equal(wrapped_prio[2], LOG_INFO);
	assert_string_equal(wrapped_text[2], "i");
	assert_int_equal(wrapped_prio[3], LOG_DEBUG);
	assert_string_equal(wrapped_text[3], "d");
	/* below the level: nothing reaches syslog */
	wrapped_n = 0;
	log_setup(LOG_LVL_WARN, LOG_SINK_SYSLOG);
	log_info("not this");
	log_debug("nor this");
	log_warn("this");
	assert_int_equal(wrapped_n, 1);
	assert_int_equal(wrapped_prio[0], LOG_WARNING);
	log_setup(LOG_LVL_WARN, LOG_SINK_STDERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_rfc3339_range),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_notify_unset),
		cmocka_unit_test(test_notify_path),
		cmocka_unit_test(test_notify_abstract),
		cmocka_unit_test(test_notify_bad),
		cmocka_unit_test(test_log_syslog_priority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
