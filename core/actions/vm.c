/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.c - the vm.* actions: a VM's identity, as the inventory records it.
 *
 * vm.reserve holds a VM's name for the provision that runs it, before any
 * step makes anything: a name that a VM in the inventory has (made by
 * Trellis or discovered), or that another running provision holds, is
 * CONFLICT naming that VM or instance.  Its undo, vm.unreserve, lets the
 * name go; hypervisor.vm_record lets it go too, once the VM record holds
 * the name.
 *
 * vm.lookup turns one identity (a name or a uuid) into everything a
 * destroy needs from the VM's own record: host, uuid, name, its disks,
 * ports and placement claim.  Inputs that a caller adds (host, uuid, name,
 * pool, claim) are checked against the record, and a disagreement is
 * CONFLICT before anything is deleted.  A VM Trellis did not make
 * (origin discovered) is refused unless allow_discovered: vm.destroy
 * passes its force there, so `trellis vm destroy` leaves an operator's
 * own domains alone.
 *
 * vm.boot_check refuses a provision that would make a VM with nothing to
 * boot (no kernel, no image) unless blank says that is meant.
 *
 * All three run on the main thread: they read and write the store.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../runtime/daemon.h"
#include "../store/store.h"
#include "action.h"
#include "vm.h"

#define S(o, k) json_string_value(json_object_get((o), (k)))

static int need_store(const struct tr_action_env *env, const char *what,
		      trellis_call_t *call)
{
	if (env && env->daemon && env->daemon->store)
		return 0;
	return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			   "%s needs a running trellisd (its store)", what);
}

static int db_fail(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

/* ---- vm.reserve / vm.unreserve ---- */

static int run_reserve(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	int rc = need_store(env, "vm.reserve", call);
	if (rc)
		return rc;
	const char *name = S(args, "name"), *me = env->instance_id;
	if (!me)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "vm.reserve runs as a workflow step");
	struct tr_sql *db = tr_store_sql(env->daemon->store);
	struct tr_sql_stmt *st = NULL;
	/* A VM that has the name, whoever made it. */
	if (tr_sql_prepare(db,
			   "SELECT vm.uuid, COALESCE(host.name, '?'), "
			   "vm.origin, vm.state FROM vm LEFT JOIN host ON "
			   "host.id = vm.host_id WHERE vm.name = ?1 "
			   "ORDER BY vm.id LIMIT 1",
			   &st) != 0)
		return db_fail(db, call, "vm.reserve");
	tr_sql_bind_text(st, 1, name);
	int step = tr_sql_step(st);
	if (step == TR_SQL_ROW)
		rc = tr_call_set(
		    call, TRELLIS_E_CONFLICT,
		    "VM name '%s' is taken: VM %s on host %s (%s, %s); "
		    "choose another name, or destroy that VM first",
		    name, tr_sql_column_text(st, 0), tr_sql_column_text(st, 1),
		    !strcmp(tr_sql_column_text(st, 2), "discovered")
			? "made outside Trellis"
			: "made by Trellis",
		    tr_sql_column_text(st, 3));
	else if (step != TR_SQL_DONE)
		rc = db_fail(db, call, "vm.reserve");
	tr_sql_finalize(st);
	if (rc)
		return rc;
	/* Another provision still running with the name. */
	if (tr_sql_prepare(
		db,
		"SELECT h.instance, COALESCE(w.state, 'gone') FROM "
		"vm_name_hold h LEFT JOIN wf_instance w ON w.id = h.instance "
		"WHERE h.name = ?1 AND h.instance != ?2",
		&st) != 0)
		return db_fail(db, call, "vm.reserve");
	tr_sql_bind_text(st, 1, name);
	tr_sql_bind_text(st, 2, me);
	step = tr_sql_step(st);
	if (step == TR_SQL_ROW) {
		const char *state = tr_sql_column_text(st, 1);
		if (!strcmp(state, "queued") || !strcmp(state, "running") ||
		    !strcmp(state, "compensating"))
			rc =
			    tr_call_set(call, TRELLIS_E_CONFLICT,
					"VM name '%s' is held by workflow %s "
					"(%s), which is provisioning it",
					name, tr_sql_column_text(st, 0), state);
	} else if (step != TR_SQL_DONE) {
		rc = db_fail(db, call, "vm.reserve");
	}
	tr_sql_finalize(st);
	if (rc)
		return rc;
	/* A hold of a finished instance is stale: take it over. */
	if (tr_sql_prepare(db,
			   "INSERT INTO vm_name_hold (name, instance, "
			   "created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) "
			   "DO UPDATE SET instance = excluded.instance, "
			   "created_at = excluded.created_at",
			   &st) != 0)
		return db_fail(db, call, "vm.reserve");
	tr_sql_bind_text(st, 1, name);
	tr_sql_bind_text(st, 2, me);
	tr_sql_bind_int64(st, 3, (int64_t)time(NULL));
	step = tr_sql_step(st);
	tr_sql_finalize(st);
	if (step != TR_SQL_DONE)
		return db_fail(db, call, "vm.reserve");
	*result = json_pack("{s:s}", "name", name);
	return *result ? 0 : tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
}

int tr_vm_name_release(struct tr_sql *db, const char *name,
		       const char *instance)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "DELETE FROM vm_name_hold WHERE name = ?1 AND "
			   "instance = ?2",
			   &st) != 0)
		return -1;
	tr_sql_bind_text(st, 1, name);
	tr_sql_bind_text(st, 2, instance);
	int step = tr_sql_step(st);
	tr_sql_finalize(st);
	return step == TR_SQL_DONE ? 0 : -1;
}

static int run_unreserve(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	int rc = need_store(env, "vm.unreserve", call);
	if (rc)
		return rc;
	struct tr_sql *db = tr_store_sql(env->daemon->store);
	if (env->instance_id &&
	    tr_vm_name_release(db, S(args, "name"), env->instance_id))
		return db_fail(db, call, "vm.unreserve");
	*result = json_pack("{s:s}", "name", S(args, "name"));
	return *result ? 0 : tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
}

/* ---- vm.lookup ---- */

/* The claim the VM owns, "" when none (vm.h). */
int tr_vm_claim_of(struct tr_sql *db, const char *uuid, char *out, size_t len,
		   trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	char owner[64];
	out[0] = '\0';
	snprintf(owner, sizeof owner, "vm:%s", uuid);
	if (tr_sql_prepare(db,
			   "SELECT key FROM placement_claim WHERE owner = "
			   "?1 ORDER BY created_at LIMIT 1",
			   &st) != 0)
		return db_fail(db, call, "vm.lookup");
	tr_sql_bind_text(st, 1, owner);
	int step = tr_sql_step(st);
	if (step == TR_SQL_ROW)
		snprintf(out, len, "%s", tr_sql_column_text(st, 0));
	tr_sql_finalize(st);
	return step == TR_SQL_ROW || step == TR_SQL_DONE
		   ? 0
		   : db_fail(db, call, "vm.lookup");
}

/*
 * A VM recorded before records listed its disks and ports: what its
 * vm.provision instance made, from the journal (while retention keeps
 * it).  Adds {pool, name, key} to disks and {host, name, key} to ports.
 */
static void from_journal(struct tr_sql *db, const char *instance, json_t *disks,
			 json_t *ports)
{
	struct tr_sql_stmt *st = NULL;
	if (!instance ||
	    tr_sql_prepare(db,
			   "SELECT step, outputs FROM wf_step WHERE "
			   "instance = ?1 AND state = 'succeeded' AND step "
			   "IN ('disk', 'port') ORDER BY idx",
			   &st) != 0)
		return;
	tr_sql_bind_text(st, 1, instance);
	while (tr_sql_step(st) == TR_SQL_ROW) {
		const char *step = tr_sql_column_text(st, 0);
		json_t *o = json_loads(tr_sql_column_text(st, 1), 0, NULL);
		char key[512];
		snprintf(key, sizeof key, "%s/%s", instance, step);
		int disk = !strcmp(step, "disk");
		const char *where = S(o, disk ? "pool" : "host");
		if (where && S(o, "name"))
			json_array_append_new(
			    disk ? disks : ports,
			    json_pack("{s:s, s:s, s:s}", disk ? "pool" : "host",
				      where, "name", S(o, "name"), "key", key));
		json_decref(o);
	}
	tr_sql_finalize(st);
}

/* CONFLICT when the caller's value for field disagrees with the record. */
static int agree(json_t *args, const char *field, const char *rec,
		 const char *uuid, trellis_call_t *call)
{
	const char *v = S(args, field);
	if (!v || !*v || (rec && !strcmp(v, rec)))
		return 0;
	return tr_call_set(call, TRELLIS_E_CONFLICT,
			   "VM %s: %s '%s' disagrees with the VM's record "
			   "(%s '%s'); nothing was changed",
			   uuid, field, v, field, rec && *rec ? rec : "none");
}

static const char *first(json_t *list, const char *field)
{
	const char *s = S(json_array_get(list, 0), field);
	return s ? s : "";
}

/* What a start (here or, for HA, on another host of its pod) needs: its
 * state, BU, shape, the create arguments the provision recorded, its
 * NIC, its host's pod and the cluster of its disk's pool (a pool of
 * no cluster is shared: ""). */
static int lookup_more(struct tr_store *st, json_t *rec, const char *pool,
		       json_t **out, trellis_call_t *call)
{
	json_t *spec = json_object_get(rec, "spec");
	json_t *create = json_object_get(spec, "create");
	json_t *nic = json_object_get(create, "nic");
	char pod[512] = "", cl[512] = "";
	const char *host = S(rec, "host");
	json_t *h = NULL, *p = NULL;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (host && tr_store_get(st, TR_KIND_HOST, host, &h, &c2) == 0) {
		snprintf(pod, sizeof pod, "%s", S(h, "cluster") ? S(h, "cluster") : "");
		char *slash = strrchr(pod, '/');
		if (slash)
			*slash = '\0';
	}
	if (pool && *pool && tr_store_get(st, TR_KIND_POOL, pool, &p, &c2) == 0 &&
	    S(p, "cluster"))
		snprintf(cl, sizeof cl, "%s", S(p, "cluster"));
	json_decref(h);
	json_decref(p);
	*out = json_pack(
	    "{s:s, s:s, s:I, s:I, s:O?, s:b, s:s, s:s, s:s, s:s, s:s}", "state",
	    S(rec, "state") ? S(rec, "state") : "", "tenant",
	    S(rec, "tenant") ? S(rec, "tenant") : "", "vcpus",
	    json_integer_value(json_object_get(rec, "vcpus")), "memory_mb",
	    json_integer_value(json_object_get(rec, "memory_mib")), "create",
	    json_is_object(create) ? create : NULL, /* none: {} below */
	    "ha", json_is_true(json_object_get(spec, "ha")), "nic_port",
	    S(nic, "port") ? S(nic, "port") : "", "nic_segment",
	    S(nic, "segment") ? S(nic, "segment") : "", "nic_mac",
	    S(nic, "mac") ? S(nic, "mac") : "", "pod", pod, "disk_cluster", cl);
	if (!*out)
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	if (!json_is_object(create))
		json_object_set_new(*out, "create", json_object());
	return 0;
}

static int run_lookup(const struct tr_action_env *env, json_t *args,
		      json_t **result, trellis_call_t *call)
{
	int rc = need_store(env, "vm.lookup", call);
	if (rc)
		return rc;
	const char *ref = S(args, "vm");
	if (!ref || !*ref)
		ref = S(args, "uuid");
	if (!ref || !*ref)
		ref = S(args, "name");
	if (!ref || !*ref)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "which VM? give vm (its name or uuid)");
	json_t *rec = NULL;
	if ((rc = tr_store_get(env->daemon->store, TR_KIND_VM, ref, &rec,
			       call)))
		return rc;
	struct tr_sql *db = tr_store_sql(env->daemon->store);
	const char *uuid = S(rec, "uuid");
	json_t *spec = json_object_get(rec, "spec");
	json_t *disks = json_deep_copy(json_object_get(spec, "disks"));
	json_t *ports = json_deep_copy(json_object_get(spec, "ports"));
	if (!json_is_array(disks) && !json_is_array(ports) &&
	    !strcmp(S(rec, "origin") ? S(rec, "origin") : "", "trellis")) {
		json_decref(disks);
		json_decref(ports);
		disks = json_array();
		ports = json_array();
		from_journal(db, S(spec, "workflow"), disks, ports);
	}
	if (!json_is_array(disks)) {
		json_decref(disks);
		disks = json_array();
	}
	if (!json_is_array(ports)) {
		json_decref(ports);
		ports = json_array();
	}
	char claim[256];
	json_t *more = NULL;
	const char *host = S(rec, "host");
	rc = tr_vm_claim_of(db, uuid, claim, sizeof claim, call);
	if (!rc)
		rc = agree(args, "uuid", uuid, uuid, call);
	if (!rc)
		rc = agree(args, "name", S(rec, "name"), uuid, call);
	if (!rc)
		rc = agree(args, "host", host, uuid, call);
	if (!rc && S(args, "pool") && *S(args, "pool"))
		rc = agree(args, "pool", first(disks, "pool"), uuid, call);
	if (!rc)
		rc = agree(args, "claim", claim, uuid, call);
	json_t *allow = json_object_get(args, "allow_discovered");
	const char *origin = S(rec, "origin") ? S(rec, "origin") : "";
	if (!rc && json_is_false(allow) && strcmp(origin, "trellis") != 0)
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "VM '%s' (%s) on host %s was not made by "
				 "Trellis (origin %s): refused unless forced "
				 "(trellis vm destroy --force, or input "
				 "force=true); nothing was changed",
				 S(rec, "name") ? S(rec, "name") : "", uuid,
				 host ? host : "-", *origin ? origin : "unknown");
	if (!rc)
		rc = lookup_more(env->daemon->store, rec, first(disks, "pool"),
				 &more, call);
	if (!rc)
		*result = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		    "s:O, s:O}",
		    "uuid", uuid, "name", S(rec, "name"), "host",
		    host ? host : "", "origin", S(rec, "origin"), "claim",
		    claim, "disk_pool", first(disks, "pool"), "disk",
		    first(disks, "name"), "disk_key", first(disks, "key"),
		    "port_host", first(ports, "host"), "port",
		    first(ports, "name"), "port_key", first(ports, "key"),
		    "disks", disks, "ports", ports);
	if (!rc && *result)
		json_object_update(*result, more);
	json_decref(more);
	json_decref(disks);
	json_decref(ports);
	json_decref(rec);
	if (!rc && !*result)
		rc = tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	return rc;
}

/* ---- vm.boot_check ---- */

static int run_boot_check(const struct tr_action_env *env, json_t *args,
			  json_t **result, trellis_call_t *call)
{
	(void)env;
	const char *kernel = S(args, "kernel"), *image = S(args, "image");
	int blank = json_is_true(json_object_get(args, "blank"));
	const char *boot = kernel && *kernel ? "kernel"
			   : image && *image ? "image"
			   : blank	     ? "blank"
					     : NULL;
	if (!boot)
		return tr_call_set(
		    call, TRELLIS_E_INVALID_ARG,
		    "nothing to boot: give kernel (direct boot, with initrd "
		    "and cmdline), or image (a base image for the disk), or "
		    "blank=true for an empty disk that boots nothing until "
		    "an OS is installed; nothing was made");
	if (!(*result = json_pack("{s:s}", "boot", boot)))
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	return 0;
}

/* ---- vm.delete_disks / vm.delete_ports ---- */

/*
 * Runs action (storage.volume_delete, network.port_delete) once for each
 * object in args[list] ({where, name, key}), as the VM args["vm"] owns
 * it and only if key made it.  No object: nothing to do.  Stops at the
 * first failure (the step's retry starts over: deleting twice is the same
 * as once).
 */
static int delete_each(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call,
		       const char *action, const char *list,
		       const char *where)
{
	const struct tr_action *a = tr_action_find(action);
	json_t *e, *done = json_array();
	size_t i;
	int rc = a ? 0
		   : tr_call_set(call, TRELLIS_E_INTERNAL, "no action %s",
				 action);
	json_array_foreach(json_object_get(args, list), i, e)
	{
		if (rc)
			break;
		char err[512];
		json_t *r = NULL;
		json_t *one = json_pack("{s:s?, s:s?, s:s?, s:s?}", where,
					S(e, where), "name", S(e, "name"),
					"vm", S(args, "vm"), "made_by",
					S(e, "key") && *S(e, "key")
					    ? S(e, "key")
					    : NULL);
		if (!one)
			rc = tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
		else if (tr_action_check_args(a, one, err, sizeof err))
			rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
					 "%s[%zu]: %s", list, i, err);
		else if (!(rc = tr_action_call(env, a, one, &r, call)))
			json_array_append_new(done,
					      json_string(S(e, "name")));
		json_decref(r);
		json_decref(one);
	}
	if (!rc && !(*result = json_pack("{s:o}", "deleted", done)))
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	if (rc)
		json_decref(done);
	return rc;
}

static int run_delete_disks(const struct tr_action_env *env, json_t *args,
			    json_t **result, trellis_call_t *call)
{
	return delete_each(env, args, result, call, "storage.volume_delete",
			   "disks", "pool");
}

static int run_delete_ports(const struct tr_action_env *env, json_t *args,
			    json_t **result, trellis_call_t *call)
{
	return delete_each(env, args, result, call, "network.port_delete",
			   "ports", "host");
}

/* ---- schemas ---- */

static const struct tr_field name_in[] = {
    {"name", TR_T_STRING, 1, "the VM's name"}, TR_FIELDS_END};
static const struct tr_field name_out[] = {
    {"name", TR_T_STRING, 1, "the name held"}, TR_FIELDS_END};

static const struct tr_field lookup_in[] = {
    {"vm", TR_T_STRING, 0, "the VM: its name or uuid"},
    {"uuid", TR_T_STRING, 0, "checked against the record (or names the VM)"},
    {"name", TR_T_STRING, 0, "checked against the record (or names the VM)"},
    {"host", TR_T_STRING, 0, "checked against the record"},
    {"pool", TR_T_STRING, 0, "checked against its disk's pool"},
    {"claim", TR_T_STRING, 0, "checked against the claim it owns"},
    {"allow_discovered", TR_T_BOOL, 0,
     "false: a VM Trellis did not make is CONFLICT (default true)"},
    TR_FIELDS_END};
static const struct tr_field lookup_out[] = {
    {"uuid", TR_T_STRING, 1, "the VM's uuid"},
    {"name", TR_T_STRING, 1, "its name"},
    {"host", TR_T_STRING, 1, "its host"},
    {"origin", TR_T_STRING, 1, "trellis or discovered"},
    {"claim", TR_T_STRING, 1, "the placement claim it owns, \"\" if none"},
    {"disk_pool", TR_T_STRING, 1, "the pool of its first disk, or \"\""},
    {"disk", TR_T_STRING, 1, "its first disk's volume, or \"\""},
    {"disk_key", TR_T_STRING, 1, "the key that made it"},
    {"port_host", TR_T_STRING, 1, "the host of its first port, or \"\""},
    {"port", TR_T_STRING, 1, "its first port, or \"\""},
    {"port_key", TR_T_STRING, 1, "the key that made it"},
    {"disks", TR_T_ARRAY, 1, "every disk: {pool, name, key}"},
    {"ports", TR_T_ARRAY, 1, "every port: {host, name, key}"},
    {"state", TR_T_STRING, 1, "its recorded state"},
    {"tenant", TR_T_STRING, 1, "its business unit, \"\" if none"},
    {"vcpus", TR_T_INT, 1, "virtual CPUs"},
    {"memory_mb", TR_T_INT, 1, "memory in MiB"},
    {"create", TR_T_OBJECT, 1,
     "what its provision made it with: disk, nic, boot, caps ({} if unknown)"},
    {"ha", TR_T_BOOL, 1, "restarted elsewhere in its pod when its host fails"},
    {"nic_port", TR_T_STRING, 1, "its NIC's port name, \"\" if unknown"},
    {"nic_segment", TR_T_STRING, 1, "its NIC's network segment"},
    {"nic_mac", TR_T_STRING, 1, "its NIC's MAC"},
    {"pod", TR_T_STRING, 1, "its host's pod (ZONE/POD)"},
    {"disk_cluster", TR_T_STRING, 1,
     "the cluster of its disk's pool, \"\" for a shared pool"},
    TR_FIELDS_END};

static const struct tr_field boot_in[] = {
    {"kernel", TR_T_STRING, 0, "direct-boot kernel, \"\" for none"},
    {"image", TR_T_STRING, 0, "base image of the disk, \"\" for none"},
    {"blank", TR_T_BOOL, 0, "an empty disk is meant (default false)"},
    TR_FIELDS_END};
static const struct tr_field boot_out[] = {
    {"boot", TR_T_STRING, 1, "what the VM boots: kernel, image or blank"},
    TR_FIELDS_END};

static const struct tr_field disks_in[] = {
    {"vm", TR_T_STRING, 1, "the uuid of the VM that owns them"},
    {"disks", TR_T_ARRAY, 1, "[{pool, name, key}...] (vm.lookup's)"},
    TR_FIELDS_END};
static const struct tr_field ports_in[] = {
    {"vm", TR_T_STRING, 1, "the uuid of the VM that owns them"},
    {"ports", TR_T_ARRAY, 1, "[{host, name, key}...] (vm.lookup's)"},
    TR_FIELDS_END};
static const struct tr_field deleted_out[] = {
    {"deleted", TR_T_ARRAY, 1, "the names deleted (or gone already)"},
    TR_FIELDS_END};

static const struct tr_action vm_actions[] = {
    {.name = "vm.delete_disks",
     .description = "Delete a VM's volumes, each only if that VM owns it "
		    "and its key made it (none: nothing to do)",
     .input = disks_in,
     .output = deleted_out,
     .run = run_delete_disks,
     .flags = TR_ACTION_MUTATES},
    {.name = "vm.delete_ports",
     .description = "Delete a VM's ports, each only if that VM owns it "
		    "and its key made it (none: nothing to do)",
     .input = ports_in,
     .output = deleted_out,
     .run = run_delete_ports,
     .flags = TR_ACTION_MUTATES},
    {.name = "vm.reserve",
     .description = "Hold a VM name for this provision (a name in use, or "
		    "held by another provision, is CONFLICT)",
     .input = name_in,
     .output = name_out,
     .run = run_reserve,
     .undo = "vm.unreserve",
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
    {.name = "vm.unreserve",
     .description = "Let go of a name vm.reserve held (its undo)",
     .input = name_in,
     .output = name_out,
     .run = run_unreserve,
     .flags = TR_ACTION_MUTATES | TR_ACTION_MAIN_THREAD},
    {.name = "vm.boot_check",
     .description = "Refuse a VM with nothing to boot: no kernel, no "
		    "image, and blank not set",
     .input = boot_in,
     .output = boot_out,
     .run = run_boot_check,
     .flags = TR_ACTION_MAIN_THREAD},
    {.name = "vm.lookup",
     .description = "A VM's own record by name or uuid: host, disks, ports "
		    "and claim; other inputs must agree with it",
     .input = lookup_in,
     .output = lookup_out,
     .run = run_lookup,
     .flags = TR_ACTION_MAIN_THREAD},
};

void tr_actions_register_vm(void)
{
	tr_actions_add(vm_actions, sizeof vm_actions / sizeof *vm_actions);
}
