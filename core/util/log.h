/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - the core's logger: stderr (default) or syslog, with a level
 * threshold.  Thread-safe.  Callers must never pass a secret.
 */
#ifndef TRELLIS_CORE_LOG_H
#define TRELLIS_CORE_LOG_H

#include <stdarg.h>

#include <trellis/host.h>

enum tr_log_target { TR_LOG_STDERR = 0, TR_LOG_SYSLOG = 1 };

void tr_log_setup(enum tr_log_target target, int max_level, const char *ident);
int tr_log_level(void);
/* Parses "error", "warning", "notice", "info", "debug"; -1 if unknown. */
int tr_log_level_parse(const char *name);
void tr_log(int level, const char *fmt, ...) TRELLIS_PRINTF(2, 3);
void tr_logv(int level, const char *tag, const char *fmt, va_list ap)
	TRELLIS_PRINTF(3, 0);

#define tr_err(...) tr_log(TRELLIS_LOG_ERR, __VA_ARGS__)
#define tr_warn(...) tr_log(TRELLIS_LOG_WARNING, __VA_ARGS__)
#define tr_info(...) tr_log(TRELLIS_LOG_INFO, __VA_ARGS__)
#define tr_debug(...) tr_log(TRELLIS_LOG_DEBUG, __VA_ARGS__)

#endif
