/* SPDX-License-Identifier: Apache-2.0 */
/*
 * assign.c - the translated storage plugin: discovery of systems, pools,
 * volumes, ports and views; assignments of a volume to one host's
 * initiators; connecting a bridge to a target port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- discovery ---- */

int tx_discover(void *pool, trellis_call_t *call, uint32_t what, uint32_t flags,
		trellis_st_object_fn fn, void *opaque)
{
	struct tx_pool *p = pool;
	static const enum itf_op ops[] = {ITF_OP_SYSTEMS, ITF_OP_POOLS,
					  ITF_OP_VOLUMES, ITF_OP_PORTS,
					  ITF_OP_VIEWS};
	static const int types[] = {TRELLIS_ST_SYSTEM, TRELLIS_ST_POOL,
				    TRELLIS_ST_VOLUME, TRELLIS_ST_PORT,
				    TRELLIS_ST_ASSIGNMENT};
	if (flags & ~TRELLIS_DISCOVER_FRESH)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "discover: unknown flags 0x%x", flags);
	if (!fn)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "discover: no callback");
	tx_reload_check(p);
	int fresh = !!(flags & TRELLIS_DISCOVER_FRESH);
	json_t *systems;
	int rc = tx_list(p, call, ITF_OP_SYSTEMS, fresh, &systems);
	if (rc)
		return rc;
	json_incref(systems);
	what = what ? what : ~0u;
	/* a pool bound to a system sees that system only; "*" (a
	 * credential's discovery) sees all the endpoint manages */
	struct tx_bound b = {0};
	if (strcmp(p->target, "*") && (rc = tx_bind(p, call, &b))) {
		json_decref(systems);
		return rc;
	}
	for (size_t k = 0; k < sizeof ops / sizeof *ops && !rc; k++) {
		if (!(what & TRELLIS_ST_BIT(types[k])))
			continue;
		json_t *items;
		if (ops[k] == ITF_OP_SYSTEMS)
			items = systems;
		else if ((rc = tx_list(p, call, ops[k], fresh, &items)))
			break;
		json_incref(items);
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			trellis_st_object_t o = {.struct_size = sizeof o};
			int skip = types[k] == TRELLIS_ST_SYSTEM
				       ? tx_system(p, it, &o)
				   : types[k] == TRELLIS_ST_POOL
				       ? tx_pool_obj(p, it, systems, &o)
				   : types[k] == TRELLIS_ST_VOLUME
				       ? tx_volume(p, it, systems, &o)
				   : types[k] == TRELLIS_ST_PORT
				       ? tx_port(p, it, systems, &o)
				       : tx_view(p, it, systems, &o);
			if (types[k] == TRELLIS_ST_SYSTEM ||
			    types[k] == TRELLIS_ST_POOL)
				o.parent[0] =
				    '\0'; /* vendor keys stay inside */
			if (b.sys_id[0] &&
			    strcmp(types[k] == TRELLIS_ST_SYSTEM ? o.id
								 : o.system,
				   b.sys_id))
				skip = 1;
			if (!skip && fn(opaque, &o)) {
				json_decref(items);
				json_decref(systems);
				return 0;
			}
		}
		json_decref(items);
	}
	json_decref(systems);
	return rc;
}

/* ---- assignments ---- */

/* The seed's rules: one volume, and initiators of one host only.  An
 * initiator the array already knows under another host is refused. */
static int assign_check(struct tx_pool *p, trellis_call_t *call,
			const trellis_assign_spec_t *s)
{
	if (!s || !s->volume || !*s->volume || !s->host || !*s->host)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assignment: one volume and one host are "
				    "required");
	json_t *ports, *systems;
	int rc = tx_list(p, call, ITF_OP_SYSTEMS, 0, &systems);
	if (rc || (rc = tx_list(p, call, ITF_OP_PORTS, 1, &ports)))
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(ports, i, it)
	{
		trellis_st_object_t o = {0};
		tx_port(p, it, systems, &o);
		if (strcmp(o.role, "initiator") || !o.host[0] ||
		    !strcmp(o.host, s->host))
			continue;
		for (size_t j = 0; j < s->n_initiators; j++)
			if (!strcmp(s->initiators[j], o.id))
				return H->set_error(
				    call, TRELLIS_E_INVALID_ARG,
				    "assignment of '%s': initiator '%s' "
				    "belongs to host '%s', not '%s' (an "
				    "assignment takes initiators of one host "
				    "only)",
				    s->volume, o.id, o.host, s->host);
	}
	return 0;
}

static int assign_op(struct tx_pool *p, trellis_call_t *call,
		     const trellis_assign_spec_t *s, enum itf_op op)
{
	trellis_st_object_t o;
	struct tx_bound b;
	tx_reload_check(p);
	int rc = assign_check(p, call, s);
	if (rc || (rc = tx_find_vol(p, call, s->volume, 0, &o, &b)))
		return rc;
	if (op == ITF_OP_ASSIGN && !s->n_initiators)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assign '%s': no initiators given",
				    s->volume);
	json_t *ini = json_array();
	char csv[1024] = "";
	size_t n = 0;
	for (size_t i = 0; i < s->n_initiators; i++) {
		json_array_append_new(ini, json_string(s->initiators[i]));
		n += (size_t)snprintf(csv + n, sizeof csv - n, "%s%s",
				      n ? "," : "", s->initiators[i]);
		if (n >= sizeof csv)
			n = sizeof csv - 1;
	}
	json_t *vars = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
				 "volume", o.id, "name", s->volume, "host",
				 s->host, "initiators", ini, "initiators_csv",
				 csv, "system", b.sys_key, "pool", b.pool_key);
	rc = tx_rest(p, call, op, vars, NULL, 0, NULL, NULL, 0, NULL);
	json_decref(vars);
	json_decref(p->cache[ITF_OP_VIEWS].items);
	p->cache[ITF_OP_VIEWS].items = NULL;
	json_decref(p->cache[ITF_OP_PORTS].items);
	p->cache[ITF_OP_PORTS].items = NULL;
	return rc;
}

int tx_assign(void *pool, trellis_call_t *call,
	      const trellis_assign_spec_t *spec, const char *idem_key,
	      uint32_t flags)
{
	struct tx_pool *p = pool;
	(void)idem_key;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assign: unknown flags 0x%x", flags);
	return assign_op(p, call, spec, ITF_OP_ASSIGN);
}

int tx_unassign(void *pool, trellis_call_t *call,
		const trellis_assign_spec_t *spec, const char *idem_key,
		uint32_t flags)
{
	struct tx_pool *p = pool;
	(void)idem_key;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "unassign: unknown flags 0x%x", flags);
	int rc = assign_op(p, call, spec, ITF_OP_UNASSIGN);
	return rc == TRELLIS_E_NOTFOUND ? 0 : rc;
}

int tx_port_connect(void *pool, trellis_call_t *call, const char *port,
		    const char *idem_key, uint32_t flags,
		    trellis_st_object_t *out)
{
	struct tx_pool *p = pool;
	json_t *ports, *systems;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "port_connect: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = tx_list(p, call, ITF_OP_SYSTEMS, 0, &systems);
	if (rc || (rc = tx_list(p, call, ITF_OP_PORTS, 0, &ports)))
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(ports, i, it)
	{
		trellis_st_object_t o = {.struct_size = sizeof o};
		tx_port(p, it, systems, &o);
		if (strcmp(o.id, port ? port : "") || strcmp(o.role, "target"))
			continue;
		json_t *vars =
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "port", o.id, "peer",
			      p->name, "key", idem_key ? idem_key : "", "pool",
			      p->bound_pool, "system", p->bound_sys);
		rc = tx_rest(p, call, ITF_OP_PORT_CONNECT, vars, NULL, 0, NULL,
			     NULL, 0, NULL);
		json_decref(vars);
		if (rc)
			return rc;
		*out = o;
		snprintf(out->state, sizeof out->state, "connected");
		return 0;
	}
	return H->set_error(call, TRELLIS_E_NOTFOUND,
			    "pool '%s': %s has no target port '%s'", p->name,
			    p->endpoint, port ? port : "");
}
