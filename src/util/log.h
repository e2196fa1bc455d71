/*
 * log.h -- the one logging entry point.
 *
 * Layer: util. The level and sink are set once by main() before any thread
 * starts and only read afterwards, so log_msg() is safe from every thread.
 * Callers never pass secrets: keys, SAS signatures, Authorization headers and
 * tokens are redacted before they reach a format string (see str_redact_url).
 */
#ifndef AZB_UTIL_LOG_H
#define AZB_UTIL_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

enum log_sink {
	LOG_SINK_STDERR = 0,
	LOG_SINK_SYSLOG = 1,
};

/* log_setup: called once by main() before threads start. */
void log_setup(enum log_level level, enum log_sink sink);

/* log_enabled: nonzero when messages at this level are written. */
int log_enabled(enum log_level level);

/* log_msg: formats and writes one line if level is enabled. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* log_level_parse: "error|warn|info|debug" -> level; -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                  \
	do {                                            \
		if (log_enabled(LOG_LVL_DEBUG))         \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
