/* log.h - the one leveled logger: one write() per line to stderr. */
#ifndef CF_LOG_H
#define CF_LOG_H

enum cf_log_level { CF_LOG_DEBUG = 0, CF_LOG_INFO, CF_LOG_WARN, CF_LOG_ERROR };

/* Lines below this level are dropped before any formatting. */
void cf_log_set_level(enum cf_log_level level);
/* Where lines go; default 2 (stderr). The worker points it at its private fd. */
void cf_log_set_fd(int fd);
/* Program tag printed at the start of each line ("cog-fcgi", "cog-fcgi-worker"). */
void cf_log_set_tag(const char *tag);

/* code is a stable identifier operators can grep for, e.g. "CF0101". */
void cf_log(enum cf_log_level level, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cf_log_debug(code, ...) cf_log(CF_LOG_DEBUG, code, __VA_ARGS__)
#define cf_log_info(code, ...) cf_log(CF_LOG_INFO, code, __VA_ARGS__)
#define cf_log_warn(code, ...) cf_log(CF_LOG_WARN, code, __VA_ARGS__)
#define cf_log_error(code, ...) cf_log(CF_LOG_ERROR, code, __VA_ARGS__)

#endif
