/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c - see metrics.h. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "metrics.h"

static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
				 0.005,  0.01,    0.025,  0.05,  0.1,
				 0.25,   0.5,     1,      2.5,   5,
				 10};
#define NBUCKETS (sizeof buckets / sizeof *buckets)
#define NHASH 1024

struct series {
	const struct tr_metric *m;
	char *values[TR_METRIC_MAX_LABELS];
	uint64_t hash;
	double value; /* counter, gauge; a histogram's sum */
	unsigned long long count, bucket[NBUCKETS];
	struct series *hnext; /* hash chain */
	struct series *next;  /* in order of first use */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series *table[NHASH];
static struct series *first, **lastp = &first;

static size_t nlabels(const struct tr_metric *m)
{
	size_t n = 0;
	while (n < TR_METRIC_MAX_LABELS && m->labels[n])
		n++;
	return n;
}

static uint64_t hash_of(const struct tr_metric *m, const char *const *values,
			size_t n)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)m;
	for (size_t i = 0; i < n; i++) {
		for (const char *p = values[i] ? values[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0x1f) * 1099511628211ull;
	}
	return h;
}

/* The series of m with values, made if new; under lock.  NULL: no memory. */
static struct series *find(const struct tr_metric *m,
			   const char *const *values)
{
	size_t n = nlabels(m);
	uint64_t h = hash_of(m, values, n);
	struct series **b = &table[h % NHASH];
	for (struct series *s = *b; s; s = s->hnext) {
		if (s->m != m || s->hash != h)
			continue;
		size_t i = 0;
		while (i < n && strcmp(s->values[i], values[i] ? values[i] : "") == 0)
			i++;
		if (i == n)
			return s;
	}
	struct series *s = tr_xcalloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->m = m;
	s->hash = h;
	for (size_t i = 0; i < n; i++) {
		s->values[i] = tr_xstrdup(values[i] ? values[i] : "");
		if (!s->values[i]) {
			while (i--)
				free(s->values[i]);
			free(s);
			return NULL;
		}
	}
	s->hnext = *b;
	*b = s;
	*lastp = s;
	lastp = &s->next;
	return s;
}

void tr_metric_add(const struct tr_metric *m, const char *const *values,
		   double v)
{
	pthread_mutex_lock(&lock);
	struct series *s = find(m, values);
	if (s)
		s->value += v;
	pthread_mutex_unlock(&lock);
}

void tr_metric_set(const struct tr_metric *m, const char *const *values,
		   double v)
{
	pthread_mutex_lock(&lock);
	struct series *s = find(m, values);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&lock);
}

void tr_metric_observe(const struct tr_metric *m, const char *const *values,
		       double seconds)
{
	pthread_mutex_lock(&lock);
	struct series *s = find(m, values);
	if (s) {
		s->value += seconds;
		s->count++;
		for (size_t i = 0; i < NBUCKETS; i++)
			if (seconds <= buckets[i]) {
				s->bucket[i]++;
				break;
			}
	}
	pthread_mutex_unlock(&lock);
}

long long tr_metric_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* A label value: backslash, double quote and newline escaped. */
static void write_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out), fputc(*v, out);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void write_labels(FILE *out, const char *const *names,
			 const char *const *values, size_t n, const char *le)
{
	if (!n && !le)
		return;
	fputc('{', out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", names[i]);
		write_value(out, values[i] ? values[i] : "");
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", n ? "," : "", le);
	fputc('}', out);
}

static void write_number(FILE *out, double v)
{
	if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else if (v == (double)(long long)v && fabs(v) < 1e15)
		fprintf(out, "%lld", (long long)v);
	else
		fprintf(out, "%.9g", v);
}

void tr_metric_write_head(FILE *out, const char *name, const char *type,
			  const char *help)
{
	fprintf(out, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

void tr_metric_write_sample(FILE *out, const char *name,
			    const char *const *labels,
			    const char *const *values, double v)
{
	size_t n = 0;
	while (labels && labels[n])
		n++;
	fputs(name, out);
	write_labels(out, labels, values, n, NULL);
	fputc(' ', out);
	write_number(out, v);
	fputc('\n', out);
}

static const char *type_name(enum tr_metric_type t)
{
	return t == TR_METRIC_COUNTER ? "counter"
	       : t == TR_METRIC_GAUGE ? "gauge"
				      : "histogram";
}

int tr_metrics_write(FILE *out)
{
	pthread_mutex_lock(&lock);
	/* Families in order of first use; each family's series together. */
	for (struct series *f = first; f; f = f->next) {
		int seen = 0;
		for (struct series *p = first; p != f; p = p->next)
			if (p->m == f->m) {
				seen = 1;
				break;
			}
		if (seen)
			continue;
		const struct tr_metric *m = f->m;
		size_t n = nlabels(m);
		tr_metric_write_head(out, m->name, type_name(m->type), m->help);
		for (struct series *s = f; s; s = s->next) {
			if (s->m != m)
				continue;
			const char *const *vals = (const char *const *)s->values;
			if (m->type != TR_METRIC_HISTOGRAM) {
				tr_metric_write_sample(out, m->name, m->labels,
						       vals, s->value);
				continue;
			}
			unsigned long long cum = 0;
			char le[32];
			for (size_t i = 0; i <= NBUCKETS; i++) {
				if (i < NBUCKETS) {
					cum += s->bucket[i];
					snprintf(le, sizeof le, "%g", buckets[i]);
				} else {
					cum = s->count;
					snprintf(le, sizeof le, "+Inf");
				}
				fprintf(out, "%s_bucket", m->name);
				write_labels(out, m->labels, vals, n, le);
				fprintf(out, " %llu\n", cum);
			}
			fprintf(out, "%s_sum", m->name);
			write_labels(out, m->labels, vals, n, NULL);
			fputc(' ', out);
			write_number(out, s->value);
			fprintf(out, "\n%s_count", m->name);
			write_labels(out, m->labels, vals, n, NULL);
			fprintf(out, " %llu\n", s->count);
		}
	}
	pthread_mutex_unlock(&lock);
	return ferror(out) ? -1 : 0;
}

void tr_metrics_reset(void)
{
	pthread_mutex_lock(&lock);
	struct series *s = first;
	while (s) {
		struct series *next = s->next;
		for (size_t i = 0; i < TR_METRIC_MAX_LABELS; i++)
			free(s->values[i]);
		free(s);
		s = next;
	}
	first = NULL;
	lastp = &first;
	memset(table, 0, sizeof table);
	pthread_mutex_unlock(&lock);
}
