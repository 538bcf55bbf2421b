/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skel_network.c - the shape of a Trellis network plugin, over a pretend
 * host that keeps segments and ports in memory (one per connection).  Copy
 * it and replace the tables with netlink calls in the connection's network
 * namespace.
 *
 * Build (out of tree, against an installed SDK):
 *   cc $(pkg-config --cflags trellis-plugin) -shared -fPIC \
 *      -fvisibility=hidden -Wl,-z,defs -o skel_network.so skel_network.c
 * Check:   trellis-plugin-check ./skel_network.so --target skel:///host1
 *
 * What it shows: segment_ensure and port_create are idempotent (a replay
 * with the same spec returns the same bridge / tap; a clash is a CONFLICT),
 * a port records the key it was made under and is never adopted by
 * another request (or one without a key): CONFLICT,
 * deleting what is gone succeeds, a segment with ports cannot be released
 * (CONFLICT), a port on a missing segment is NOTFOUND, and the firewall
 * and gc ops are left NULL (NOTSUP).
 */
#include <stdio.h>
#include <string.h>

#include <trellis/network.h>

#define PLUGIN "skel-network"
#define MAX_OBJS 64

static const trellis_host_t *host;

struct segment {
	int used;
	char name[64];
	uint32_t id;
	char bridge[16];
};

struct port {
	int used;
	char name[64], segment[64];
	char ifname[16], mac[18];
	char key[256]; /* the making request's idempotency key, "" none */
};

struct conn {
	char uri[128];
	unsigned serial;
	struct segment segs[MAX_OBJS];
	struct port ports[MAX_OBJS];
};

static int init(trellis_plugin_t *self, const trellis_host_t *h,
		trellis_call_t *call, void **state)
{
	(void)self, (void)call, (void)state;
	host = h;
	return 0;
}

static int check_flags(trellis_call_t *call, const char *op, uint32_t flags,
		       uint32_t known)
{
	if (!(flags & ~known))
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       PLUGIN " %s: unknown flag bits 0x%x", op,
			       flags & ~known);
}

static int check_name(trellis_call_t *call, const char *what, const char *name)
{
	if (name && name[0] && strlen(name) < 64)
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       "a %s needs a name of 1-63 characters", what);
}

static struct segment *find_segment(struct conn *c, const char *name)
{
	for (int i = 0; name && i < MAX_OBJS; i++)
		if (c->segs[i].used && strcmp(c->segs[i].name, name) == 0)
			return &c->segs[i];
	return NULL;
}

static struct port *find_port(struct conn *c, const char *name)
{
	for (int i = 0; name && i < MAX_OBJS; i++)
		if (c->ports[i].used && strcmp(c->ports[i].name, name) == 0)
			return &c->ports[i];
	return NULL;
}

static int connect_(void *state, trellis_call_t *call, const char *uri,
		    const trellis_node_t *options, uint32_t flags, void **out)
{
	(void)state, (void)options;
	int rc = check_flags(call, "connect", flags, 0);
	if (rc)
		return rc;
	/* A real plugin would enter the namespace named by "netns:NAME" and
	 * open a netlink socket there; "local" is the host itself. */
	struct conn *c = host->alloc(sizeof *c);
	if (!c)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	snprintf(c->uri, sizeof c->uri, "%s", uri ? uri : "local");
	*out = c;
	return 0;
}

static void disconnect(void *state, void *conn)
{
	(void)state;
	host->free(conn);
}

static void fill_segment(const struct conn *c, const struct segment *s,
			 trellis_segment_info_t *out)
{
	snprintf(out->bridge, sizeof out->bridge, "%s", s->bridge);
	out->segment_id = s->id;
	for (int i = 0; i < MAX_OBJS; i++)
		out->n_ports += c->ports[i].used &&
				strcmp(c->ports[i].segment, s->name) == 0;
}

static int segment_ensure(void *conn, trellis_call_t *call,
			  const trellis_segment_spec_t *spec,
			  const char *idem_key, uint32_t flags,
			  trellis_segment_info_t *out)
{
	struct conn *c = conn;
	(void)idem_key; /* the segment's name makes it idempotent */
	int rc = check_flags(call, "segment_ensure", flags, 0);
	if (rc || (rc = check_name(call, "segment", spec ? spec->name : NULL)))
		return rc;
	if (spec->mode != TRELLIS_SEGMENT_LOCAL)
		return host->set_error(call, TRELLIS_E_NOTSUP,
				       "%s: segment '%s': " PLUGIN
				       " makes LOCAL segments only",
				       c->uri, spec->name);
	struct segment *s = find_segment(c, spec->name);
	if (s) {
		if (s->id != spec->segment_id)
			return host->set_error(
			    call, TRELLIS_E_CONFLICT,
			    "%s: segment '%s' exists with id %u, not %u",
			    c->uri, spec->name, s->id, spec->segment_id);
		fill_segment(c, s, out);
		return 0;
	}
	for (int i = 0; i < MAX_OBJS && !s; i++)
		if (!c->segs[i].used)
			s = &c->segs[i];
	if (!s)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "%s: no room for segment '%s'", c->uri,
				       spec->name);
	memset(s, 0, sizeof *s);
	s->used = 1;
	snprintf(s->name, sizeof s->name, "%s", spec->name);
	s->id = spec->segment_id;
	snprintf(s->bridge, sizeof s->bridge, "skbr%u", ++c->serial);
	fill_segment(c, s, out);
	return 0;
}

static int segment_release(void *conn, trellis_call_t *call,
			   const char *segment, const char *idem_key,
			   uint32_t flags)
{
	struct conn *c = conn;
	(void)idem_key;
	int rc = check_flags(call, "segment_release", flags, 0);
	if (rc || (rc = check_name(call, "segment", segment)))
		return rc;
	struct segment *s = find_segment(c, segment);
	if (!s)
		return 0; /* gone already */
	trellis_segment_info_t info = {.struct_size = sizeof info};
	fill_segment(c, s, &info);
	if (info.n_ports)
		return host->set_error(call, TRELLIS_E_CONFLICT,
				       "%s: segment '%s' still has %u ports",
				       c->uri, segment, info.n_ports);
	memset(s, 0, sizeof *s);
	return 0;
}

static void fill_port(const struct conn *c, const struct port *p,
		      trellis_port_info_t *out)
{
	snprintf(out->ifname, sizeof out->ifname, "%s", p->ifname);
	snprintf(out->mac, sizeof out->mac, "%s", p->mac);
	const struct segment *s = find_segment((struct conn *)c, p->segment);
	snprintf(out->bridge, sizeof out->bridge, "%s", s ? s->bridge : "");
}

static int port_create(void *conn, trellis_call_t *call,
		       const trellis_port_spec_t *spec, const char *idem_key,
		       uint32_t flags, trellis_port_info_t *out)
{
	struct conn *c = conn;
	int rc = check_flags(call, "port_create", flags, 0);
	if (rc || (rc = check_name(call, "port", spec ? spec->name : NULL)))
		return rc;
	if (!find_segment(c, spec->segment))
		return host->set_error(
		    call, TRELLIS_E_NOTFOUND, "%s: port '%s': no segment '%s'",
		    c->uri, spec->name,
		    spec->segment ? spec->segment : "(null)");
	struct port *p = find_port(c, spec->name);
	if (p) {
		if (strcmp(p->segment, spec->segment) != 0)
			return host->set_error(call, TRELLIS_E_CONFLICT,
					       "%s: port '%s' is on segment "
					       "'%s', not '%s'",
					       c->uri, spec->name, p->segment,
					       spec->segment);
		/* Only its own request's replay gets it: another's undo
		 * would delete a port a running VM uses. */
		if (!idem_key || !idem_key[0] || strcmp(p->key, idem_key))
			return host->set_error(call, TRELLIS_E_CONFLICT,
					       "%s: port '%s' already exists, "
					       "made by another request",
					       c->uri, spec->name);
		fill_port(c, p, out);
		return 0;
	}
	for (int i = 0; i < MAX_OBJS && !p; i++)
		if (!c->ports[i].used)
			p = &c->ports[i];
	if (!p)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "%s: no room for port '%s'", c->uri,
				       spec->name);
	memset(p, 0, sizeof *p);
	p->used = 1;
	unsigned n = ++c->serial;
	snprintf(p->name, sizeof p->name, "%s", spec->name);
	snprintf(p->segment, sizeof p->segment, "%s", spec->segment);
	snprintf(p->key, sizeof p->key, "%s", idem_key ? idem_key : "");
	snprintf(p->ifname, sizeof p->ifname, "sktap%u", n);
	if (spec->mac)
		snprintf(p->mac, sizeof p->mac, "%s", spec->mac);
	else
		snprintf(p->mac, sizeof p->mac, "52:54:00:5c:%02x:%02x",
			 (n >> 8) & 0xff, n & 0xff);
	fill_port(c, p, out);
	return 0;
}

/* With TRELLIS_NET_PORT_DELETE_IF_KEY (ABI 1.1), idem_key names the
 * request that must have made the port. */
static int port_delete(void *conn, trellis_call_t *call, const char *port,
		       const char *idem_key, uint32_t flags)
{
	struct conn *c = conn;
	int rc = check_flags(call, "port_delete", flags,
			     TRELLIS_NET_PORT_DELETE_IF_KEY);
	if (rc || (rc = check_name(call, "port", port)))
		return rc;
	struct port *p = find_port(c, port);
	if (!p)
		return 0; /* gone, whether it was there or not */
	if ((flags & TRELLIS_NET_PORT_DELETE_IF_KEY) &&
	    (!idem_key || !*idem_key || strcmp(p->key, idem_key) != 0))
		return host->set_error(call, TRELLIS_E_CONFLICT,
				       "%s: port '%s' was not made by %s: not "
				       "deleted",
				       c->uri, port, idem_key ? idem_key : "(none)");
	memset(p, 0, sizeof *p);
	return 0;
}

static const struct trellis_network_ops ops = {
    .struct_size = sizeof ops,
    .connect = connect_,
    .disconnect = disconnect,
    .segment_ensure = segment_ensure,
    .segment_release = segment_release,
    .port_create = port_create,
    .port_delete = port_delete,
    /* rule_add, rule_delete, gc: NULL, reported as NOTSUP. */
};

TRELLIS_PLUGIN_DEFINE(.name = PLUGIN, .version = "1.0.0", .license = "Apache-2.0",
		      .description = "in-memory pretend segments and ports "
				     "(the SDK's network skeleton)",
		      .kind = TRELLIS_KIND_NETWORK,
		      .thread_model = TRELLIS_THREAD_PER_TARGET, .init = init,
		      .ops = &ops)
