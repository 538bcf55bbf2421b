/* SPDX-License-Identifier: Apache-2.0 */
/*
 * schema.c - the store's migrations, applied in order at open, each in
 * its own transaction, recorded by id in schema_migrations.
 *
 * Subsystems with their own tables append an entry here (workflow journal,
 * placement claims, pools and volumes, segments...).  Never edit or
 * reorder an entry that has shipped: add a new one that alters.  Ids are
 * names rather than numbers so that entries added in parallel by
 * different subsystems do not collide.
 *
 * PostgreSQL: a migration's text is translated for the few idioms where
 * SQLite's DDL means something else there (tr_store_pg_ddl): INTEGER is
 * 64 bits in SQLite, so BIGINT; "id INTEGER PRIMARY KEY" is SQLite's
 * rowid, so an identity column; REAL and BLOB; a column named user (a
 * reserved word there) quoted.  Where more differs - triggers, which are
 * functions in PostgreSQL, and SQLite's json and string functions - the
 * entry gives PostgreSQL's own text (the pg field, translated the same
 * way).  A translation rather than a second copy of every table keeps
 * one text to read and to review for the tables, which are most of it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "store_int.h"

#define VM_DOC                                                                 \
	"json_object('id', id, 'uuid', uuid, 'name', name,"                    \
	" 'host', (SELECT name FROM host WHERE host.id = vm.host_id),"         \
	" 'state', state, 'origin', origin,"                                   \
	" 'tenant', (SELECT name FROM tenant WHERE tenant.id = vm.tenant_id)," \
	" 'vcpus', vcpus, 'memory_mib', memory_mib, 'spec', json(spec),"       \
	" 'created_at', created_at)"

/* Pieces both engines' texts of a migration share (translated for
 * PostgreSQL by tr_store_pg_ddl). */
#define SAFETY1_TABLES \
	"CREATE INDEX placement_claim_owner ON placement_claim(owner);" \
	"CREATE TABLE placement_released (" \
	"  key TEXT PRIMARY KEY," \
	"  host_id INTEGER," \
	"  owner TEXT," \
	"  released_by TEXT," \
	"  why TEXT," \
	"  released_at INTEGER NOT NULL);" \
	"CREATE TABLE vm_name_hold (" \
	"  name TEXT PRIMARY KEY," \
	"  instance TEXT NOT NULL," \
	"  created_at INTEGER NOT NULL);"
#define BU1_TABLES \
	"CREATE TABLE tr_user (" \
	"  id INTEGER PRIMARY KEY," \
	"  name TEXT NOT NULL UNIQUE," \
	"  uid INTEGER UNIQUE," \
	"  tenant_id INTEGER REFERENCES tenant(id)," \
	"  role TEXT NOT NULL," \
	"  created_at INTEGER NOT NULL);" \
	"CREATE TABLE user_key (" \
	"  id INTEGER PRIMARY KEY," \
	"  user_id INTEGER NOT NULL REFERENCES tr_user(id) ON DELETE CASCADE," \
	"  name TEXT NOT NULL," \
	"  hash TEXT NOT NULL UNIQUE," \
	"  expires INTEGER NOT NULL DEFAULT 0," \
	"  created_at INTEGER NOT NULL," \
	"  UNIQUE (user_id, name));" \
	"CREATE TABLE audit (" \
	"  id INTEGER PRIMARY KEY," \
	"  at INTEGER NOT NULL," \
	"  user TEXT NOT NULL," \
	"  bu TEXT," \
	"  op TEXT NOT NULL," \
	"  object TEXT," \
	"  result TEXT NOT NULL," \
	"  code TEXT," \
	"  via TEXT);" \
	"CREATE INDEX audit_at ON audit(at);"
#define BU1_AUDIT_LITE                                                         \
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"          \
	" SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"         \
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"          \
	" SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
/* An integrity constraint's SQLSTATE, as SQLite's RAISE(ABORT) is a
 * constraint failure: both are CONFLICT (sql.h). */
#define BU1_AUDIT_PG                                                           \
	"CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql" \
	" AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '23000',"                \
	" MESSAGE = 'the audit trail is append-only'; END $$;"                 \
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"                \
	" FOR EACH ROW EXECUTE FUNCTION audit_append_only();"                  \
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"                \
	" FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
#define BU1_WF_OWNER                                                           \
	"CREATE TABLE wf_owner ("                                              \
	"  instance TEXT PRIMARY KEY,"                                         \
	"  user TEXT NOT NULL,"                                                \
	"  tenant_id INTEGER REFERENCES tenant(id));"                          \
	"CREATE INDEX wf_owner_tenant ON wf_owner(tenant_id);"

#define BU4_VM_USAGE \
	"CREATE TABLE vm_usage (" \
	"  id INTEGER PRIMARY KEY," \
	"  uuid TEXT NOT NULL," \
	"  name TEXT," \
	"  tenant TEXT," \
	"  vcpus INTEGER NOT NULL DEFAULT 0," \
	"  memory_mib INTEGER NOT NULL DEFAULT 0," \
	"  disk_gib INTEGER NOT NULL DEFAULT 0," \
	"  template TEXT," \
	"  started_at INTEGER NOT NULL," \
	"  ended_at INTEGER);" \
	"CREATE INDEX vm_usage_tenant ON vm_usage(tenant, started_at);" \
	"CREATE INDEX vm_usage_uuid ON vm_usage(uuid);"
#define BU4_ALLOC_USAGE \
	"CREATE TABLE alloc_usage (" \
	"  id INTEGER PRIMARY KEY," \
	"  allocation TEXT NOT NULL," \
	"  tenant TEXT NOT NULL," \
	"  vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL," \
	"  storage_gib INTEGER NOT NULL, segments INTEGER NOT NULL," \
	"  started_at INTEGER NOT NULL," \
	"  ended_at INTEGER);" \
	"CREATE INDEX alloc_usage_tenant ON alloc_usage(tenant, started_at);"

/* PostgreSQL: a row trigger is a function and its trigger; what SQLite's
 * CAST(strftime('%s', 'now') AS INTEGER) gives. */
#define PG_NOW "CAST(extract(epoch FROM now()) AS bigint)"
#define PG_TRIGGER(name, when, cond, body)                                     \
	"CREATE FUNCTION " name "() RETURNS trigger LANGUAGE plpgsql AS $$"    \
	" BEGIN " body "; RETURN NULL; END $$;"                                \
	"CREATE TRIGGER " name " " when " FOR EACH ROW WHEN (" cond ")"        \
	" EXECUTE FUNCTION " name "();"

/* An entry that needs no PostgreSQL text of its own leaves pg out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const struct tr_migration tr_migrations[] = {
	{"0001-inventory",
	 "CREATE TABLE tenant ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE TABLE zone ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  private INTEGER NOT NULL DEFAULT 0,"
	 "  owner_id INTEGER REFERENCES tenant(id),"
	 "  exclusive INTEGER NOT NULL DEFAULT 0,"
	 "  spill TEXT NOT NULL DEFAULT 'allow' CHECK (spill IN ('allow','deny')),"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE TABLE pod ("
	 "  id INTEGER PRIMARY KEY,"
	 "  zone_id INTEGER NOT NULL REFERENCES zone(id),"
	 "  name TEXT NOT NULL,"
	 "  created_at INTEGER NOT NULL,"
	 "  UNIQUE (zone_id, name));"
	 "CREATE TABLE cluster ("
	 "  id INTEGER PRIMARY KEY,"
	 "  pod_id INTEGER NOT NULL REFERENCES pod(id),"
	 "  name TEXT NOT NULL,"
	 "  created_at INTEGER NOT NULL,"
	 "  UNIQUE (pod_id, name));"
	 "CREATE TABLE host ("
	 "  id INTEGER PRIMARY KEY,"
	 "  cluster_id INTEGER NOT NULL REFERENCES cluster(id),"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  hypervisor TEXT NOT NULL,"
	 "  uri TEXT NOT NULL,"
	 "  state TEXT NOT NULL DEFAULT 'up',"
	 "  cpus INTEGER, memory_kib INTEGER, free_memory_kib INTEGER,"
	 "  hv_type TEXT, hv_version INTEGER, domain_type TEXT,"
	 "  arch TEXT, cpu_model TEXT, hostname TEXT,"
	 "  sockets INTEGER, cores INTEGER, threads INTEGER, mhz INTEGER,"
	 "  refreshed_at INTEGER, error TEXT,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE TABLE vm ("
	 "  id INTEGER PRIMARY KEY,"
	 "  uuid TEXT NOT NULL UNIQUE,"
	 "  name TEXT NOT NULL,"
	 "  host_id INTEGER REFERENCES host(id),"
	 "  state TEXT NOT NULL DEFAULT 'unknown',"
	 "  origin TEXT NOT NULL DEFAULT 'trellis'"
	 "    CHECK (origin IN ('trellis','discovered')),"
	 "  tenant_id INTEGER REFERENCES tenant(id),"
	 "  vcpus INTEGER, memory_mib INTEGER,"
	 "  spec TEXT,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE INDEX vm_host ON vm(host_id);"
	 "CREATE INDEX vm_name ON vm(name);"
	 "CREATE TABLE pool ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  plugin TEXT NOT NULL,"
	 "  target TEXT NOT NULL,"
	 "  cluster_id INTEGER REFERENCES cluster(id),"
	 "  spec TEXT,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE TABLE volume ("
	 "  id INTEGER PRIMARY KEY,"
	 "  pool_id INTEGER NOT NULL REFERENCES pool(id),"
	 "  name TEXT NOT NULL,"
	 "  size_bytes INTEGER,"
	 "  path TEXT,"
	 "  vm_uuid TEXT,"
	 "  spec TEXT,"
	 "  created_at INTEGER NOT NULL,"
	 "  UNIQUE (pool_id, name));"
	 "CREATE TABLE segment ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  plugin TEXT NOT NULL,"
	 "  type TEXT,"
	 "  vni INTEGER,"
	 "  tenant_id INTEGER REFERENCES tenant(id),"
	 "  spec TEXT,"
	 "  created_at INTEGER NOT NULL);"},
	{"placement-0001-claims", /* core/placement/claims.h */
	 "CREATE TABLE placement_claim ("
	 "  key TEXT PRIMARY KEY,"
	 "  host_id INTEGER NOT NULL,"
	 "  vcpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL,"
	 "  disk_gib INTEGER NOT NULL,"
	 "  grp TEXT, anti_grp TEXT, tenant TEXT,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE INDEX placement_claim_host ON placement_claim(host_id);"
	 "CREATE TABLE placement_host ("
	 "  host_id INTEGER PRIMARY KEY REFERENCES host(id) ON DELETE CASCADE,"
	 "  vm_limit INTEGER NOT NULL DEFAULT 0,"
	 "  disk_gib INTEGER NOT NULL DEFAULT 0,"
	 "  tags TEXT NOT NULL DEFAULT '');"
	 "CREATE TABLE placement_zone ("
	 "  zone_id INTEGER PRIMARY KEY REFERENCES zone(id) ON DELETE CASCADE,"
	 "  policy TEXT NOT NULL);"},
	/* The workflow engine's journal (core/workflow/journal.c). */
	{"workflow-0001-journal",
	 "CREATE TABLE wf_instance ("
	 "  id TEXT PRIMARY KEY,"
	 "  seq INTEGER NOT NULL,"
	 "  workflow TEXT NOT NULL,"
	 "  file TEXT,"
	 "  source TEXT NOT NULL,"
	 "  inputs TEXT NOT NULL,"
	 "  sealed TEXT,"
	 "  priority INTEGER NOT NULL DEFAULT 0,"
	 "  state TEXT NOT NULL,"
	 "  compensation TEXT,"
	 "  error TEXT,"
	 "  failed_step TEXT,"
	 "  outputs TEXT,"
	 "  left_behind TEXT,"
	 "  created_at INTEGER NOT NULL,"
	 "  started_at INTEGER,"
	 "  finished_at INTEGER);"
	 "CREATE INDEX wf_instance_state ON wf_instance(state, seq);"
	 "CREATE TABLE wf_step ("
	 "  instance TEXT NOT NULL REFERENCES wf_instance(id) ON DELETE CASCADE,"
	 "  idx INTEGER NOT NULL,"
	 "  step TEXT NOT NULL,"
	 "  state TEXT NOT NULL,"
	 "  attempts INTEGER NOT NULL DEFAULT 0,"
	 "  inputs TEXT,"
	 "  outputs TEXT,"
	 "  error TEXT,"
	 "  started_at INTEGER,"
	 "  finished_at INTEGER,"
	 "  done_seq INTEGER,"
	 "  undo_state TEXT,"
	 "  undo_error TEXT,"
	 "  PRIMARY KEY (instance, idx));"},
	/* Segment-id pools and who holds which id (core/netpool). */
	{"netpool-0001",
	 "CREATE TABLE netpool ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  mode TEXT NOT NULL CHECK (mode IN ('vxlan','vlan')),"
	 "  first INTEGER NOT NULL,"
	 "  last INTEGER NOT NULL,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE TABLE netpool_id ("
	 "  pool_id INTEGER NOT NULL REFERENCES netpool(id),"
	 "  seg_id INTEGER NOT NULL,"
	 "  segment TEXT NOT NULL,"
	 "  created_at INTEGER NOT NULL,"
	 "  PRIMARY KEY (pool_id, seg_id),"
	 "  UNIQUE (pool_id, segment));"},
	{"placement-0002-settings", /* core/placement/service.h */
	 "CREATE TABLE placement_setting ("
	 "  key TEXT PRIMARY KEY,"
	 "  value TEXT NOT NULL);"},
	/* vm.doc: each VM's JSON (what vm.show answers), kept by triggers so
	 * that a page of vm.list is one indexed scan instead of building 100
	 * objects, and so that writes through tr_store_db() keep it right
	 * too.  Host and tenant names never change, so the names copied in
	 * stay true.  Keep the expression in step with inventory.c's VM
	 * SELECT (test_store's text-form test compares them). */
	{"0002-vm-doc",
	 "ALTER TABLE vm ADD COLUMN doc TEXT;"
	 "CREATE TRIGGER vm_doc_insert AFTER INSERT ON vm BEGIN"
	 " UPDATE vm SET doc = " VM_DOC " WHERE id = NEW.id; END;"
	 "CREATE TRIGGER vm_doc_update AFTER UPDATE OF uuid, name, host_id,"
	 " state, origin, tenant_id, vcpus, memory_mib, spec, created_at"
	 " ON vm BEGIN"
	 " UPDATE vm SET doc = " VM_DOC " WHERE id = NEW.id; END;"
	 "UPDATE vm SET doc = " VM_DOC ";",
	 /* PostgreSQL: no triggers, doc stays NULL: the store builds a VM's
	  * text from its row there (query.c), as PostgreSQL's JSON text is
	  * not spaced the way SQLite's and jansson's is. */
	 "ALTER TABLE vm ADD COLUMN doc TEXT;"},
	/* The journal's retention (core/workflow/retention.c) deletes the
	 * instances that finished longest ago. */
	{"workflow-0002-finished",
	 "CREATE INDEX wf_instance_finished ON wf_instance(finished_at);"},
	/* Who owns what (issue 14).  A claim's owner is "vm:UUID" once its
	 * VM is recorded and "wf:INSTANCE" until then (claims made before
	 * this migration go to the VM their instance recorded, else to the
	 * instance); a released claim leaves a tombstone, so a replayed
	 * release knows it released already and an unknown claim is an
	 * error.  vm_name_hold: the names of VMs being provisioned (the
	 * instance that holds each). */
	{"safety-0001-ownership",
	 "ALTER TABLE placement_claim ADD COLUMN owner TEXT;"
	 "UPDATE placement_claim SET owner = 'wf:' || substr(key, 1,"
	 " instr(key, '/') - 1) WHERE instr(key, '/') > 1;"
	 "UPDATE placement_claim SET owner = 'vm:' || (SELECT uuid FROM vm"
	 " WHERE json_extract(vm.spec, '$.workflow') = substr(owner, 4)"
	 " ORDER BY id LIMIT 1) WHERE owner LIKE 'wf:%' AND EXISTS (SELECT 1"
	 " FROM vm WHERE json_extract(vm.spec, '$.workflow') ="
	 " substr(owner, 4));"
	 SAFETY1_TABLES,
	 "ALTER TABLE placement_claim ADD COLUMN owner TEXT;"
	 "UPDATE placement_claim SET owner = 'wf:' || substr(key, 1,"
	 " strpos(key, '/') - 1) WHERE strpos(key, '/') > 1;"
	 "UPDATE placement_claim SET owner = 'vm:' || (SELECT uuid FROM vm"
	 " WHERE CAST(vm.spec AS json) ->> 'workflow' = substr(owner, 4)"
	 " ORDER BY id LIMIT 1) WHERE owner LIKE 'wf:%' AND EXISTS (SELECT 1"
	 " FROM vm WHERE CAST(vm.spec AS json) ->> 'workflow' ="
	 " substr(owner, 4));"
	 SAFETY1_TABLES},
	/* The machine a host's hypervisor runs on (host_info's host_uuid,
	 * ABI 1.1): one machine is never added as two hosts. */
	{"safety-0002-host-uuid",
	 "ALTER TABLE host ADD COLUMN host_uuid TEXT;"
	 "CREATE INDEX host_host_uuid ON host(host_uuid);"},
	/* Private zones' agents (core/relay, docs/agent.md): one-time
	 * enrolment tokens, kept hashed; agents and their Ed25519 keys; the
	 * agent a host is reached through (NULL: directly). */
	{"agent-0001",
	 "CREATE TABLE agent_token ("
	 "  id INTEGER PRIMARY KEY,"
	 "  zone_id INTEGER NOT NULL REFERENCES zone(id) ON DELETE CASCADE,"
	 "  hash TEXT NOT NULL UNIQUE,"
	 "  created_at INTEGER NOT NULL,"
	 "  expires_at INTEGER NOT NULL,"
	 "  used_at INTEGER, used_by TEXT, revoked_at INTEGER);"
	 "CREATE TABLE agent ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  zone_id INTEGER NOT NULL REFERENCES zone(id),"
	 "  pubkey TEXT NOT NULL UNIQUE,"
	 "  enrolled_at INTEGER NOT NULL,"
	 "  revoked_at INTEGER);"
	 "ALTER TABLE host ADD COLUMN agent_id INTEGER REFERENCES agent(id);"},
	/* A host's own options (issue 16): {"options": {...}}, given to its
	 * hypervisor plugin's connect. */
	{"sdk-0001-host-spec", "ALTER TABLE host ADD COLUMN spec TEXT;"},
	/* Business units (issue 17, core/auth/auth.h): a tenant is a BU.
	 * Users (a role, at most one BU, optionally a Unix uid), their API
	 * keys (hashes only), the append-only audit trail (triggers refuse
	 * UPDATE and DELETE), and the BU and user that started each
	 * workflow instance. */
	{"bu-0001-identity",
	 BU1_TABLES
	 BU1_AUDIT_LITE
	 /* Written before the instance's first step runs, which may be
	  * before its journal row is: no foreign key, a trigger instead. */
	 BU1_WF_OWNER
	 "CREATE TRIGGER wf_owner_gone AFTER DELETE ON wf_instance BEGIN"
	 " DELETE FROM wf_owner WHERE instance = OLD.id; END;",
	 BU1_TABLES BU1_AUDIT_PG BU1_WF_OWNER
	 "CREATE FUNCTION wf_owner_gone() RETURNS trigger LANGUAGE plpgsql AS"
	 " $$ BEGIN DELETE FROM wf_owner WHERE instance = OLD.id; RETURN NULL;"
	 " END $$;"
	 "CREATE TRIGGER wf_owner_gone AFTER DELETE ON wf_instance"
	 " FOR EACH ROW EXECUTE FUNCTION wf_owner_gone();"},
	/* Quotas and VM templates (issue 17): a BU's limits (-1: none) are
	 * checked by the claim's own INSERT (core/placement/claims.c), which
	 * sums the BU's claims by the index on tenant; a claim records the
	 * template its VM was made from. */
	{"bu-0002-quotas",
	 "CREATE TABLE vm_template ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  vcpus INTEGER NOT NULL,"
	 "  memory_mib INTEGER NOT NULL,"
	 "  disk_gib INTEGER NOT NULL,"
	 "  image TEXT, kernel TEXT, initrd TEXT, cmdline TEXT,"
	 "  max_nics INTEGER NOT NULL DEFAULT 1,"
	 "  max_disks INTEGER NOT NULL DEFAULT 1,"
	 "  created_at INTEGER NOT NULL);"
	 "CREATE TABLE bu_quota ("
	 "  tenant TEXT PRIMARY KEY,"
	 "  vcpus INTEGER NOT NULL DEFAULT -1,"
	 "  memory_mib INTEGER NOT NULL DEFAULT -1,"
	 "  disk_gib INTEGER NOT NULL DEFAULT -1,"
	 "  vms INTEGER NOT NULL DEFAULT -1);"
	 "CREATE TABLE bu_template_quota ("
	 "  tenant TEXT NOT NULL,"
	 "  template TEXT NOT NULL,"
	 "  vms INTEGER NOT NULL,"
	 "  PRIMARY KEY (tenant, template));"
	 "ALTER TABLE placement_claim ADD COLUMN template TEXT;"
	 "CREATE INDEX placement_claim_tenant ON placement_claim(tenant,"
	 " template);"},
	/* Allocations (issue 17, core/tenancy/alloc.c). */
	{"bu-0003-allocations",
	 "CREATE TABLE allocation ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	 "  kind TEXT NOT NULL CHECK (kind IN ('initial','change')),"
	 "  changes TEXT,"
	 "  state TEXT NOT NULL CHECK (state IN ('requested','provisioning',"
	 "    'active','rejected','failed','superseded')),"
	 "  vcpus INTEGER NOT NULL DEFAULT 0,"
	 "  memory_mib INTEGER NOT NULL DEFAULT 0,"
	 "  storage_gib INTEGER NOT NULL DEFAULT 0,"
	 "  pool TEXT,"
	 "  segments INTEGER NOT NULL DEFAULT 0,"
	 "  netpool TEXT,"
	 "  zone TEXT,"
	 "  zone_before TEXT,"
	 "  requested_by TEXT,"
	 "  decided_by TEXT,"
	 "  reason TEXT,"
	 "  instance TEXT,"
	 "  created_at INTEGER NOT NULL,"
	 "  decided_at INTEGER);"
	 "CREATE INDEX allocation_tenant ON allocation(tenant_id, state);"},
	/* Chargeback (issue 17, core/tenancy/report.c): the life of every
	 * VM (from its record to its deletion, with the size of its claim
	 * and its template) and of every active allocation, kept by
	 * triggers so that no writer can forget them. */
	{"bu-0004-usage",
	 BU4_VM_USAGE
	 "CREATE TRIGGER vm_usage_start AFTER INSERT ON vm"
	 " WHEN NEW.origin = 'trellis' BEGIN"
	 " INSERT INTO vm_usage (uuid, name, tenant, vcpus, memory_mib,"
	 " started_at) VALUES (NEW.uuid, NEW.name, (SELECT name FROM tenant"
	 " WHERE id = NEW.tenant_id), COALESCE(NEW.vcpus, 0),"
	 " COALESCE(NEW.memory_mib, 0), CAST(strftime('%s', 'now') AS INTEGER));"
	 " END;"
	 "CREATE TRIGGER vm_usage_end AFTER DELETE ON vm BEGIN"
	 " UPDATE vm_usage SET ended_at = CAST(strftime('%s', 'now') AS"
	 " INTEGER) WHERE uuid = OLD.uuid AND ended_at IS NULL; END;"
	 "CREATE TRIGGER vm_usage_claim AFTER UPDATE OF owner ON"
	 " placement_claim WHEN NEW.owner LIKE 'vm:%' BEGIN"
	 " UPDATE vm_usage SET disk_gib = NEW.disk_gib, template ="
	 " NEW.template, tenant = COALESCE(tenant, NEW.tenant)"
	 " WHERE uuid = substr(NEW.owner, 4) AND ended_at IS NULL; END;"
	 BU4_ALLOC_USAGE
	 "CREATE TRIGGER alloc_usage_start AFTER UPDATE OF state ON allocation"
	 " WHEN NEW.state = 'active' AND OLD.state != 'active' BEGIN"
	 " INSERT INTO alloc_usage (allocation, tenant, vcpus, memory_mib,"
	 " storage_gib, segments, started_at) VALUES (NEW.name, (SELECT name"
	 " FROM tenant WHERE id = NEW.tenant_id), NEW.vcpus, NEW.memory_mib,"
	 " NEW.storage_gib, NEW.segments, CAST(strftime('%s', 'now') AS"
	 " INTEGER)); END;"
	 "CREATE TRIGGER alloc_usage_end AFTER UPDATE OF state ON allocation"
	 " WHEN OLD.state = 'active' AND NEW.state != 'active' BEGIN"
	 " UPDATE alloc_usage SET ended_at = CAST(strftime('%s', 'now') AS"
	 " INTEGER) WHERE allocation = NEW.name AND ended_at IS NULL; END;",
	 BU4_VM_USAGE BU4_ALLOC_USAGE
	 PG_TRIGGER("vm_usage_start", "AFTER INSERT ON vm",
		    "NEW.origin = 'trellis'",
		    "INSERT INTO vm_usage (uuid, name, tenant, vcpus, memory_mib,"
		    " started_at) VALUES (NEW.uuid, NEW.name, (SELECT name FROM"
		    " tenant WHERE id = NEW.tenant_id), COALESCE(NEW.vcpus, 0),"
		    " COALESCE(NEW.memory_mib, 0), " PG_NOW ")")
	 PG_TRIGGER("vm_usage_end", "AFTER DELETE ON vm", "true",
		    "UPDATE vm_usage SET ended_at = " PG_NOW
		    " WHERE uuid = OLD.uuid AND ended_at IS NULL")
	 PG_TRIGGER("vm_usage_claim", "AFTER UPDATE OF owner ON placement_claim",
		    "NEW.owner LIKE 'vm:%'",
		    "UPDATE vm_usage SET disk_gib = NEW.disk_gib, template ="
		    " NEW.template, tenant = COALESCE(tenant, NEW.tenant)"
		    " WHERE uuid = substr(NEW.owner, 4) AND ended_at IS NULL")
	 PG_TRIGGER("alloc_usage_start", "AFTER UPDATE OF state ON allocation",
		    "NEW.state = 'active' AND OLD.state <> 'active'",
		    "INSERT INTO alloc_usage (allocation, tenant, vcpus,"
		    " memory_mib, storage_gib, segments, started_at) VALUES"
		    " (NEW.name, (SELECT name FROM tenant WHERE id ="
		    " NEW.tenant_id), NEW.vcpus, NEW.memory_mib, NEW.storage_gib,"
		    " NEW.segments, " PG_NOW ")")
	 PG_TRIGGER("alloc_usage_end", "AFTER UPDATE OF state ON allocation",
		    "OLD.state = 'active' AND NEW.state <> 'active'",
		    "UPDATE alloc_usage SET ended_at = " PG_NOW
		    " WHERE allocation = NEW.name AND ended_at IS NULL")},
	/* Dedicated hosts and clusters (issue 17, core/tenancy/alloc.c):
	 * what an allocation asked to have for its BU alone, and what it
	 * was given (one row per host or cluster, kept by the allocation
	 * that made it; placement reads it at build). */
	{"bu-0005-dedicated",
	 "ALTER TABLE allocation ADD COLUMN hosts TEXT;"
	 "ALTER TABLE allocation ADD COLUMN clusters TEXT;"
	 "CREATE TABLE dedication ("
	 "  kind TEXT NOT NULL CHECK (kind IN ('host','cluster')),"
	 "  name TEXT NOT NULL,"
	 "  tenant_id INTEGER NOT NULL REFERENCES tenant(id),"
	 "  allocation TEXT NOT NULL,"
	 "  PRIMARY KEY (kind, name));"},
	/* Issue 20, the console proxy (core/auth/console.c): single-use
	 * tokens (hashed; resume tickets are tokens of kind 'resume'), the
	 * viewing sessions they opened, the proxy instances' load reports,
	 * and the lease that lets one management server at a time scan. */
	{"console-0001",
	 "CREATE TABLE console_token ("
	 "  id INTEGER PRIMARY KEY,"
	 "  hash TEXT NOT NULL UNIQUE,"
	 "  kind TEXT NOT NULL,"
	 "  vm_uuid TEXT NOT NULL, vm_name TEXT NOT NULL,"
	 "  user TEXT NOT NULL, bu_id INTEGER NOT NULL DEFAULT 0,"
	 "  mode TEXT NOT NULL DEFAULT 'ws',"
	 "  proxy TEXT, session_id INTEGER,"
	 "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	 "  used_at INTEGER, used_by TEXT);"
	 "CREATE TABLE console_session ("
	 "  id INTEGER PRIMARY KEY,"
	 "  token_id INTEGER NOT NULL,"
	 "  vm_uuid TEXT NOT NULL, vm_name TEXT NOT NULL,"
	 "  user TEXT NOT NULL, bu_id INTEGER NOT NULL DEFAULT 0,"
	 "  proxy TEXT NOT NULL, mode TEXT NOT NULL,"
	 "  state TEXT NOT NULL,"
	 "  started_at INTEGER NOT NULL, ended_at INTEGER,"
	 "  reason TEXT, closed_by TEXT, resumed_from INTEGER);"
	 "CREATE INDEX console_session_state ON console_session(state, proxy);"
	 "CREATE TABLE console_proxy ("
	 "  name TEXT PRIMARY KEY,"
	 "  url TEXT NOT NULL,"
	 "  launcher TEXT, pid INTEGER,"
	 "  state TEXT NOT NULL,"
	 "  sessions INTEGER NOT NULL DEFAULT 0,"
	 "  capacity INTEGER NOT NULL DEFAULT 50,"
	 "  rss_kib INTEGER NOT NULL DEFAULT 0,"
	 "  started_at INTEGER NOT NULL, reported_at INTEGER);"
	 "CREATE TABLE console_lease ("
	 "  name TEXT PRIMARY KEY,"
	 "  holder TEXT NOT NULL,"
	 "  expires_at INTEGER NOT NULL);"},
	/* Address management (issue 23, core/ipam/ipam.h): a zone's IP
	 * ranges (public, a pod's management subnet, the tenant address
	 * space), every address handed out (a VM NIC's in its network, a
	 * router's public one in "@public") and the port forwards of routed
	 * networks.  A network's own addressing lives in its segment spec. */
	{"ipam-0001",
	 "CREATE TABLE ip_range ("
	 "  id INTEGER PRIMARY KEY,"
	 "  zone_id INTEGER NOT NULL REFERENCES zone(id),"
	 "  pod_id INTEGER REFERENCES pod(id),"
	 "  kind TEXT NOT NULL CHECK (kind IN ('public','management','tenant')),"
	 "  cidr TEXT NOT NULL,"
	 "  gateway TEXT,"
	 "  first INTEGER NOT NULL, last INTEGER NOT NULL,"
	 "  net_first INTEGER NOT NULL, net_last INTEGER NOT NULL,"
	 "  bridge TEXT,"
	 "  created_at INTEGER NOT NULL,"
	 "  UNIQUE (zone_id, kind, cidr));"
	 "CREATE TABLE ip_alloc ("
	 "  id INTEGER PRIMARY KEY,"
	 "  network TEXT NOT NULL,"
	 "  ip INTEGER NOT NULL,"
	 "  address TEXT NOT NULL,"
	 "  mac TEXT, vm TEXT, owner TEXT,"
	 "  kind TEXT NOT NULL CHECK (kind IN ('nic','router')),"
	 "  range_id INTEGER REFERENCES ip_range(id),"
	 "  created_at INTEGER NOT NULL,"
	 "  UNIQUE (network, ip));"
	 "CREATE INDEX ip_alloc_vm ON ip_alloc(network, vm);"
	 "CREATE TABLE net_forward ("
	 "  id INTEGER PRIMARY KEY,"
	 "  network TEXT NOT NULL,"
	 "  protocol TEXT NOT NULL CHECK (protocol IN ('tcp','udp')),"
	 "  public_port INTEGER NOT NULL,"
	 "  vm TEXT NOT NULL,"
	 "  port INTEGER NOT NULL,"
	 "  created_at INTEGER NOT NULL,"
	 "  UNIQUE (network, protocol, public_port));"},
	/* Offerings and their caps (issue 23, core/tenancy/caps.c): a
	 * template's caps and a BU's default caps, JSON objects of the cap
	 * fields; HA's view of each host and its restarts (core/ha). */
	{"ha-0001-caps-ha",
	 "ALTER TABLE vm_template ADD COLUMN caps TEXT;"
	 "CREATE TABLE bu_caps ("
	 "  tenant TEXT PRIMARY KEY,"
	 "  caps TEXT NOT NULL);"
	 "CREATE TABLE ha_host ("
	 "  host TEXT PRIMARY KEY,"
	 "  state TEXT NOT NULL,"
	 "  failing_since INTEGER,"
	 "  changed_at INTEGER NOT NULL,"
	 "  reason TEXT);"
	 "CREATE TABLE ha_restart ("
	 "  id INTEGER PRIMARY KEY,"
	 "  vm TEXT NOT NULL,"
	 "  name TEXT,"
	 "  from_host TEXT NOT NULL,"
	 "  instance TEXT,"
	 "  state TEXT NOT NULL,"
	 "  to_host TEXT,"
	 "  error TEXT,"
	 "  at INTEGER NOT NULL);"},
	/* Maintenance windows of appliances (core/maint): one row per VM,
	 * its last window.  The deadlines are the persisted timers; no
	 * access code or password is ever stored (the withdraw token only
	 * deletes an escrow entry). */
	{"maint-0001-windows",
	 "CREATE TABLE maint ("
	 "  vm TEXT PRIMARY KEY,"
	 "  name TEXT NOT NULL, host TEXT NOT NULL, bu TEXT,"
	 "  requester TEXT, user TEXT NOT NULL, port_name TEXT,"
	 "  mode TEXT NOT NULL, state TEXT NOT NULL, instance TEXT,"
	 "  rule_id TEXT, withdraw TEXT, log_path TEXT, source TEXT,"
	 "  reason TEXT, port INTEGER, window_ms INTEGER,"
	 "  password_ttl_ms INTEGER, requested_at INTEGER,"
	 "  opened_at INTEGER, window_expires_at INTEGER,"
	 "  password_expires_at INTEGER, connected_at INTEGER,"
	 "  login_at INTEGER, logoff_at INTEGER, locked_at INTEGER,"
	 "  log_offset INTEGER, port_open INTEGER, password_valid INTEGER,"
	 "  sessions INTEGER, updated_at INTEGER);"},
	/* Dashboard logins (issue 25, core/auth/password.c): a user's
	 * password as libsodium's argon2id string (crypto_pwhash_str);
	 * NULL: no password, API keys only. */
	{"dashboard-0001-password",
	 "ALTER TABLE tr_user ADD COLUMN password TEXT;"},
	/* Storage credentials, bridges and transfer progress (issue 21),
	 * files in the state dir before: core/creds moves them in. */
	{"adapters-0001-records",
	 "CREATE TABLE tr_storage_credential (name TEXT PRIMARY KEY, "
	 "owner TEXT, body TEXT NOT NULL, updated_at INTEGER NOT NULL);"
	 "CREATE TABLE tr_storage_bridge (name TEXT PRIMARY KEY, "
	 "owner TEXT, body TEXT NOT NULL, updated_at INTEGER NOT NULL);"
	 "CREATE TABLE tr_volume_transfer (name TEXT PRIMARY KEY, "
	 "owner TEXT, body TEXT NOT NULL, updated_at INTEGER NOT NULL);"},
	/* Append new migrations here. */
};

const size_t tr_n_migrations = sizeof tr_migrations / sizeof *tr_migrations;

static int word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && strncmp(p, w, n) == 0;
}

char *tr_store_pg_ddl(const struct tr_migration *m)
{
	const char *in = m->pg ? m->pg : m->sql;
	/* the longest replacement adds 30 bytes to a 7-byte word */
	char *out = tr_xmalloc(strlen(in) * 6 + 1);
	size_t o = 0;
	const char *prev = "";
	size_t prevn = 0;
	for (const char *p = in; *p;) {
		if (*p == '\'') {
			const char *q = p + 1;
			while (*q && !(*q == '\'' && q[1] != '\'')) {
				if (*q == '\'' && q[1] == '\'')
					q++;
				q++;
			}
			if (*q)
				q++;
			memcpy(out + o, p, (size_t)(q - p));
			o += (size_t)(q - p);
			p = q;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '_') {
			out[o++] = *p++;
			continue;
		}
		const char *w = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		size_t n = (size_t)(p - w);
		const char *rep = NULL;
		if (word_is(w, n, "INTEGER"))
			rep = word_is(prev, prevn, "id") &&
					      strncmp(p, " PRIMARY KEY", 12) == 0
				      ? "BIGINT GENERATED BY DEFAULT AS IDENTITY"
				      : "BIGINT";
		else if (word_is(w, n, "REAL"))
			rep = "DOUBLE PRECISION";
		else if (word_is(w, n, "BLOB"))
			rep = "BYTEA";
		else if (word_is(w, n, "user"))
			rep = "\"user\"";
		if (rep) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			memcpy(out + o, w, n);
			o += n;
		}
		prev = w;
		prevn = n;
	}
	out[o] = '\0';
	return out;
}
