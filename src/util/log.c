/*
 * log.c -- level-filtered logging to stderr or syslog (see log.h).
 *
 * The two settings below are the only file-level state outside main.c: they
 * are written once in log_setup() before any thread exists, then only read.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum log_level cur_level = LOG_LVL_WARN;
static enum log_sink cur_sink = LOG_SINK_STDERR;

void log_setup(enum log_level level, enum log_sink sink)
{
	cur_level = level;
	cur_sink = sink;
	if (sink == LOG_SINK_SYSLOG)
		openlog("azblobfs", LOG_PID, LOG_DAEMON);
}

int log_enabled(enum log_level level)
{
	return level <= cur_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warn", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (cur_sink == LOG_SINK_SYSLOG) {
		syslog(prio[level], "%s", line);
	} else {
		fprintf(stderr, "azblobfs: %s: %s\n", tags[level], line);
	}
}
