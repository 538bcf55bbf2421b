/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - the text of /metrics (http.h): the registry's series, then
 * what is counted at each scrape: the inventory and the journal by state
 * (one grouped query each, on the listener's own read-only connection),
 * pool and segment-id use, and the process's RSS and descriptors.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "../util/metrics.h"
#include "http.h"

/* One gauge family from "SELECT label..., value" rows. */
static void gauge_query(FILE *out, struct tr_sql *db, const char *name,
			const char *help, const char *const *labels,
			const char *sql)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return;
	size_t n = 0;
	while (labels[n])
		n++;
	tr_metric_write_head(out, name, "gauge", help);
	while (tr_sql_step(st) == TR_SQL_ROW) {
		const char *vals[4] = {NULL};
		for (size_t i = 0; i < n && i < 4; i++) {
			const char *t = tr_sql_column_text(st, (int)i);
			vals[i] = t ? (const char *)t : "";
		}
		tr_metric_write_sample(out, name, labels, vals,
				       tr_sql_column_double(st, (int)n));
	}
	tr_sql_finalize(st);
}

static void store_gauges(FILE *out, struct tr_store *s)
{
	struct tr_sql *db = tr_store_sql(s);
	if (!db)
		return;
	static const char *const state[] = {"state", NULL};
	static const char *const pool[] = {"pool", NULL};
	static const char *const netpool[] = {"netpool", "mode", NULL};
	/* One read transaction: every figure from the same moment. */
	tr_sql_exec(db, "BEGIN");
	gauge_query(out, db, "trellis_hosts", "hosts by state", state,
		    "SELECT state, count(*) FROM host GROUP BY state");
	gauge_query(out, db, "trellis_vms", "VMs by state", state,
		    "SELECT state, count(*) FROM vm GROUP BY state");
	gauge_query(out, db, "trellis_workflow_instances",
		    "workflow instances in the journal by state", state,
		    "SELECT state, count(*) FROM wf_instance GROUP BY state");
	gauge_query(out, db, "trellis_pool_volumes", "volumes by pool", pool,
		    "SELECT p.name, count(v.id) FROM pool p LEFT JOIN volume v "
		    "ON v.pool_id = p.id GROUP BY p.id");
	gauge_query(out, db, "trellis_pool_volume_bytes",
		    "bytes of the volumes of each pool", pool,
		    "SELECT p.name, coalesce(sum(v.size_bytes), 0) FROM pool p "
		    "LEFT JOIN volume v ON v.pool_id = p.id GROUP BY p.id");
	gauge_query(out, db, "trellis_segment_ids_used",
		    "segment ids (VNIs, VLANs) in use by pool", netpool,
		    "SELECT n.name, n.mode, count(i.seg_id) FROM netpool n "
		    "LEFT JOIN netpool_id i ON i.pool_id = n.id GROUP BY n.id");
	gauge_query(out, db, "trellis_segment_ids_total",
		    "segment ids (VNIs, VLANs) in each pool", netpool,
		    "SELECT name, mode, last - first + 1 FROM netpool");
	tr_sql_exec(db, "COMMIT");
}

static void process_gauges(FILE *out)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	tr_metric_write_head(out, "process_resident_memory_bytes", "gauge",
			     "resident memory size in bytes");
	tr_metric_write_sample(out, "process_resident_memory_bytes", NULL,
			       NULL, (double)rss * (double)sysconf(_SC_PAGESIZE));
	long fds = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--; /* the one opendir holds */
	}
	tr_metric_write_head(out, "process_open_fds", "gauge",
			     "open file descriptors");
	tr_metric_write_sample(out, "process_open_fds", NULL, NULL,
			       (double)fds);
}

char *tr_http_metrics_render(struct tr_store *s, size_t pre, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	if (!out)
		return NULL;
	for (size_t i = 0; i < pre; i++)
		fputc(' ', out);
	tr_metrics_write(out);
	if (s)
		store_gauges(out, s);
	process_gauges(out);
	if (fclose(out) != 0 || size < pre) {
		free(buf);
		return NULL;
	}
	*len = size - pre;
	return buf;
}
