/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the state store: the inventory and every other durable record
 * of trellisd.
 *
 * The default backend is an embedded SQLite database (WAL, foreign keys on,
 * synchronous=NORMAL in WAL mode is durable against a process crash, FULL
 * against power loss: we use FULL).  The schema is versioned by a list of
 * named migrations (schema.c) applied in order at open, each in its own
 * transaction; other subsystems add their tables by appending entries there.
 *
 * The inventory interface is deliberately narrow - five verbs over object
 * kinds, objects as JSON - so that a PostgreSQL backend for
 * management-server clusters can implement the same functions without any
 * caller changing.  Subsystems that keep their own tables (workflow journal,
 * placement claims...) use tr_store_db(), the SQLite escape hatch, and own
 * the SQL they write.
 *
 * Threads: a struct tr_store belongs to one thread (the daemon's main
 * thread is the only writer).  Readers on other threads open their own
 * handle with tr_store_open(..., TR_STORE_READONLY).
 *
 * Errors go into a trellis_call_t (core/host/host.h): a stable code
 * (NOTFOUND, CONFLICT, INVALID_ARG, IO...) and a message naming the object.
 *
 * Object kinds and their JSON fields (read: every field; write: the ones
 * marked w; "parent" is a reference to the parent object):
 *   tenant   name(w)
 *   zone     name(w) private(w,bool) owner(w,tenant name) exclusive(w,bool)
 *            spill(w,"allow"|"deny")
 *   pod      name(w) zone(parent)
 *   cluster  name(w) pod(parent, "ZONE/POD") zone
 *   host     name(w) cluster(parent, "ZONE/POD/CLUSTER") hypervisor(w)
 *            uri(w) state(w) cpus(w) memory_kib(w) free_memory_kib(w)
 *            hv_type(w) hv_version(w) domain_type(w) arch(w) cpu_model(w)
 *            hostname(w) host_uuid(w) sockets(w) cores(w) threads(w) mhz(w)
 *            refreshed_at(w) error(w)
 *   vm       uuid(w) name(w) host(parent, host name) state(w) origin(w,
 *            "trellis"|"discovered") tenant(w) vcpus(w) memory_mib(w)
 *            spec(w, object)
 *   pool     name(w) plugin(w) target(w) cluster(w, optional) spec(w)
 *   volume   name(w) pool(parent) size_bytes(w) path(w) vm(w, uuid) spec(w)
 *   segment  name(w) plugin(w) type(w) vni(w) tenant(w) spec(w)
 * Every object also has "id" (int) and "created_at" (unix seconds).
 *
 * References ("ref") name an object the way users do: a tenant, zone, host,
 * pool or segment by name; a pod by "ZONE/POD" or by "POD" when that name
 * is unique; a cluster by "ZONE/POD/CLUSTER", "POD/CLUSTER" or "CLUSTER"
 * likewise; a VM by uuid or by name when unique; a volume by "POOL/NAME".
 * An ambiguous short reference is INVALID_ARG and lists the candidates.
 */
#ifndef TRELLIS_CORE_STORE_H
#define TRELLIS_CORE_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "../host/host.h"
#include "sql.h"

struct tr_store;

enum tr_kind {
	TR_KIND_TENANT = 0,
	TR_KIND_ZONE,
	TR_KIND_POD,
	TR_KIND_CLUSTER,
	TR_KIND_HOST,
	TR_KIND_VM,
	TR_KIND_POOL,
	TR_KIND_VOLUME,
	TR_KIND_SEGMENT,
	TR_KIND__COUNT,
};

/* "zone", "pod"...; NULL for an unknown kind. */
const char *tr_kind_str(enum tr_kind kind);

/* Open flags */
#define TR_STORE_READONLY (1u << 0) /* a reader: no migrations, no writes */

/* Opens (creating if needed) the database at path and applies pending
 * migrations.  NULL on failure with the reason in err.  path is a SQLite
 * file, or a PostgreSQL database: "pg:" and a libpq connection string
 * ("pg:host=/run/postgresql dbname=trellis"), or a postgresql:// URI.
 * On PostgreSQL the migrations run under an advisory lock, so managers
 * starting at once do not race, and a reader's sessions are read-only. */
struct tr_store *tr_store_open(const char *path, unsigned flags, char *err,
			       size_t errlen);
/* Finishes any open transaction (rolls back), checkpoints the WAL and
 * closes.  NULL is a no-op. */
void tr_store_close(struct tr_store *s);
/* The libpq connection string in a location tr_store_open() takes, or
 * NULL when it names a SQLite file. */
const char *tr_store_pg_dsn(const char *location);

/* The escape hatch: the SQLite handle, for subsystems with their own
 * tables (declared in schema.c).  Owned by the store.  NULL on the
 * PostgreSQL backend: use tr_store_sql(). */
sqlite3 *tr_store_db(struct tr_store *s);
/* The same connection through the SQL layer (sql.h), which both backends
 * implement: what subsystems with their own tables use.  Owned by the
 * store. */
struct tr_sql *tr_store_sql(struct tr_store *s);
/* The schema version: the number of migrations applied. */
int tr_store_schema_version(struct tr_store *s);

/* Transactions group several writes into one atomic commit (nesting is
 * counted: only the outermost commit commits).  Every single write below
 * is atomic on its own. */
int tr_store_begin(struct tr_store *s, trellis_call_t *call);
int tr_store_commit(struct tr_store *s, trellis_call_t *call);
void tr_store_rollback(struct tr_store *s);

/* Read snapshots, for a reader (TR_STORE_READONLY) that answers one
 * small read after another, as the API's receive threads do.  Call
 * tr_store_read_begin() before a read: the reads up to
 * tr_store_read_end() see one snapshot.  With keep set, the snapshot may
 * outlive tr_store_read_end(), and the next tr_store_read_begin() takes it
 * up again if nothing was committed since (a read transaction's begin and
 * end cost as much as a lookup by key).  It is kept only while the store
 * is quiet and for a second at most, so held snapshots never keep the WAL
 * from being checkpointed for long; end with keep = 0 before idling (a
 * held snapshot holds a WAL read mark).  Every commit of this process
 * makes held snapshots stale, so a read after an acknowledged write sees
 * it.  tr_store_read_begin() returns -1 when it cannot (then each read is
 * its own transaction, as without it). */
int tr_store_read_begin(struct tr_store *s);
void tr_store_read_end(struct tr_store *s, int keep);
/* Commits made so far by this process (all its writable connections). */
unsigned long tr_store_commits(void);

/* ---- inventory: five verbs ---- */

/* Creates an object under parent_ref (NULL for kinds without a parent).
 * fields holds the writable fields (unknown ones are INVALID_ARG).  Names
 * are unique within the parent (CONFLICT).  On success *out (may be NULL)
 * gets the new object. */
int tr_store_create(struct tr_store *s, enum tr_kind kind,
		    const char *parent_ref, json_t *fields, json_t **out,
		    trellis_call_t *call);
/* The object named by ref; NOTFOUND when there is none. */
int tr_store_get(struct tr_store *s, enum tr_kind kind, const char *ref,
		 json_t **out, trellis_call_t *call);

struct tr_store_query {
	const char *parent_ref; /* only children of this parent; NULL: all */
	const char *filter_key; /* only objects whose field equals filter_value */
	const char *filter_value;
	int64_t after_id;       /* keyset paging: objects with id > after_id */
	unsigned limit;         /* 0: no limit */
	/* Only objects of this tenant (business unit), NULL: all.  A kind
	 * no tenant owns (zones, hosts...) lists nothing under a scope; a
	 * volume is its VM's tenant's. */
	const char *scope_tenant;
	/* Only objects whose name holds this text (case-insensitive for
	 * ASCII; % and _ match themselves), NULL: all.  The dashboard's
	 * search. */
	const char *match;
};
/* The tenant that owns obj (an object of kind, as tr_store_get gives
 * it): a new string, or NULL when none does. */
char *tr_store_owner(struct tr_store *s, enum tr_kind kind, json_t *obj);
/* Objects in id order: *out = {"items":[...], "next": id or null}. */
int tr_store_list(struct tr_store *s, enum tr_kind kind,
		  const struct tr_store_query *q, json_t **out,
		  trellis_call_t *call);
/* The read path of the API: the same as tr_store_get() and
 * tr_store_list(), with the result as JSON text (a new string for free())
 * built by the database itself, so that a page of objects costs no
 * json_t per field.  The text is exactly what dumping the json_t results
 * would give. */
int tr_store_get_text(struct tr_store *s, enum tr_kind kind, const char *ref,
		      char **out, trellis_call_t *call);
int tr_store_list_text(struct tr_store *s, enum tr_kind kind,
		       const struct tr_store_query *q, char **out,
		       trellis_call_t *call);
/* Changes writable fields of an existing object (names cannot change). */
int tr_store_update(struct tr_store *s, enum tr_kind kind, const char *ref,
		    json_t *fields, json_t **out, trellis_call_t *call);
/* Deletes an object.  Refuses with CONFLICT while it has children, naming
 * them in the message and in *details (when not NULL: {"children":[...]}). */
int tr_store_delete(struct tr_store *s, enum tr_kind kind, const char *ref,
		    json_t **details, trellis_call_t *call);

/* The row id of the object named by ref (for foreign keys in subsystem
 * tables), or a negative error code. */
int64_t tr_store_id(struct tr_store *s, enum tr_kind kind, const char *ref,
		    trellis_call_t *call);

/* ---- managers and leader-only jobs (lead.c) ---- */

/* Names this manager (HOST:PID by default) on the store's connection, so
 * that the others see it.  0 or a negative code. */
int tr_store_set_manager(struct tr_store *s, const char *name,
			 trellis_call_t *call);
/* Whether this manager holds job now (1), another one does (0), or a
 * negative code: a periodic job that only one manager may run asks this
 * at every tick.  On PostgreSQL a session advisory lock, which the server
 * gives up when the holder's session ends; on SQLite always 1. */
int tr_store_lead(struct tr_store *s, const char *job, trellis_call_t *call);
/* {"backend", "managers":[{name, connected_at, self}], "jobs":[{job,
 * holder}]} for the NULL-terminated jobs. */
int tr_store_managers(struct tr_store *s, const char *const *jobs,
		      json_t **out, trellis_call_t *call);

/* ---- schema (schema.c) ---- */

struct tr_migration {
	const char *id;  /* unique and stable forever: "0001-inventory" */
	const char *sql; /* one or more statements (SQLite's) */
	/* PostgreSQL's text where it differs beyond the types (triggers,
	 * JSON); NULL: sql, with INTEGER made BIGINT, an "id INTEGER
	 * PRIMARY KEY" an identity column, REAL DOUBLE PRECISION, BLOB
	 * BYTEA and a column named user quoted (schema.c). */
	const char *pg;
};
/* The migrations, applied in this order.  Append only: never edit or
 * reorder an entry that has shipped. */
extern const struct tr_migration tr_migrations[];
extern const size_t tr_n_migrations;

#endif
