/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - see log.h. */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum tr_log_target log_target = TR_LOG_STDERR;
static int log_max = TRELLIS_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[TRELLIS_LOG_ERR] = "error",   [TRELLIS_LOG_WARNING] = "warning",
	[TRELLIS_LOG_NOTICE] = "notice", [TRELLIS_LOG_INFO] = "info",
	[TRELLIS_LOG_DEBUG] = "debug",
};

void tr_log_setup(enum tr_log_target target, int max_level, const char *ident)
{
	log_target = target;
	log_max = max_level;
	if (target == TR_LOG_SYSLOG)
		openlog(ident ? ident : "trellisd", LOG_PID, LOG_DAEMON);
}

int tr_log_level(void)
{
	return log_max;
}

int tr_log_level_parse(const char *name)
{
	for (int i = TRELLIS_LOG_ERR; i <= TRELLIS_LOG_DEBUG; i++)
		if (name && strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void tr_logv(int level, const char *tag, const char *fmt, va_list ap)
{
	if (level > log_max)
		return;
	if (level < TRELLIS_LOG_ERR)
		level = TRELLIS_LOG_ERR;
	if (level > TRELLIS_LOG_DEBUG)
		level = TRELLIS_LOG_DEBUG;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_target == TR_LOG_SYSLOG) {
		if (tag)
			syslog(level, "[%s] %s", tag, msg);
		else
			syslog(level, "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %s%s%s%s: %s\n", when, ts.tv_nsec / 1000000,
		tag ? "[" : "", tag ? tag : "", tag ? "] " : "",
		level_names[level], msg);
	pthread_mutex_unlock(&log_lock);
}

void tr_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tr_logv(level, NULL, fmt, ap);
	va_end(ap);
}
