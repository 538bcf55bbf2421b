/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - the daemon's counters and histograms, for every floor of the
 * core, rendered in the Prometheus text format (0.0.4) by the HTTP
 * listener's /metrics.
 *
 * A metric is a static description (name, help, type, label names); its
 * series are made on first use, one per set of label values, and live
 * until the process ends.  Label values are copied.  Every call is
 * thread-safe and costs one mutex and one hash lookup, so the API's hot
 * path can count.  Histograms share one set of buckets in seconds, from
 * 100 us to 10 s.  Label sets must stay few (op names, plugin names,
 * states): never a VM name or an id.
 */
#ifndef TRELLIS_CORE_UTIL_METRICS_H
#define TRELLIS_CORE_UTIL_METRICS_H

#include <stddef.h>
#include <stdio.h>

enum tr_metric_type {
	TR_METRIC_COUNTER,
	TR_METRIC_GAUGE,
	TR_METRIC_HISTOGRAM,
};

#define TR_METRIC_MAX_LABELS 3

struct tr_metric {
	const char *name; /* trellis_api_requests_total */
	const char *help;
	enum tr_metric_type type;
	const char *labels[TR_METRIC_MAX_LABELS + 1]; /* names, NULL-ended */
};

/* values: one per label name, in their order (NULL when none). */
void tr_metric_add(const struct tr_metric *m, const char *const *values,
		   double v);
void tr_metric_set(const struct tr_metric *m, const char *const *values,
		   double v);
/* A histogram's observation, in seconds. */
void tr_metric_observe(const struct tr_metric *m, const char *const *values,
		       double seconds);
/* CLOCK_MONOTONIC in nanoseconds, for durations. */
long long tr_metric_now_ns(void);

/* Writes every series so far in the text format.  0, or -1 on a write
 * error. */
int tr_metrics_write(FILE *out);
/* Writes one family's HELP and TYPE lines, and a sample of it, for
 * values measured when rendering (store counts, process figures); the
 * caller writes HELP/TYPE once per family (tr_metric_write_head). */
void tr_metric_write_head(FILE *out, const char *name, const char *type,
			  const char *help);
void tr_metric_write_sample(FILE *out, const char *name,
			    const char *const *labels,
			    const char *const *values, double v);
/* Forgets every series (tests). */
void tr_metrics_reset(void);

#endif
