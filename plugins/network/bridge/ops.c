/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops.c - segments, ports, rules and gc of the bridge plugin, as jobs on a
 * connection's namespace thread (bridge.h).
 *
 * Each job that makes several kernel objects remembers which ones it made
 * itself and removes exactly those when a later step fails, so a failed op
 * leaves the host as it found it.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <trellis/name.h>

#include "bridge.h"
#include "fw.h"
#include "links.h"

#define H (j->c->b->host)

#define MAX_VNI 16777215u
#define MAX_VLAN 4094u
#define PORT_PROBES 16

int br_name_ok(const char *s)
{
	return trellis_name_ok(s) && strlen(s) <= 64;
}

uint32_t br_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

uint64_t br_hash64(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

int br_key_tag(const char *idem_key, char tag[17])
{
	tag[0] = '\0';
	if (!idem_key || !*idem_key)
		return 0;
	snprintf(tag, 17, "%016" PRIx64, br_hash64(idem_key));
	return 1;
}

int br_made_by(const struct lk_info *li, const char *idem_key)
{
	char want[17], have[24];
	if (!br_key_tag(idem_key, want))
		return 0;
	br_alias_get(li->alias, "key", have, sizeof have);
	return !strcmp(have, want);
}

/* The value of key in an alias "trellis k=v k=v", "" when absent. */
void br_alias_get(const char *alias, const char *key, char *out, size_t len)
{
	char pat[32];
	out[0] = '\0';
	if (strncmp(alias, "trellis ", 8))
		return;
	snprintf(pat, sizeof pat, " %s=", key);
	const char *p = strstr(alias, pat);
	if (!p)
		return;
	p += strlen(pat);
	size_t n = strcspn(p, " ");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

int br_fail(struct br_job *j, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return H->set_error(j->call, code, "%s: %s", j->c->uri, msg);
}

int br_flags_check(struct br_job *j, const char *op, uint32_t known)
{
	if (!(j->flags & ~known))
		return 0;
	return H->set_error(j->call, TRELLIS_E_INVALID_ARG,
			    "bridge %s: unknown flag bits 0x%x", op,
			    j->flags & ~known);
}

/* ---- finding our devices by alias ---- */

struct find {
	const char *key, *value; /* alias key=value wanted */
	struct lk_info hit;
	int found;
	int master; /* count ports enslaved to this ifindex */
	unsigned count;
	char names[256];
};

static int find_cb(void *opaque, const struct lk_info *li)
{
	struct find *f = opaque;
	char v[80];
	if (f->key) {
		br_alias_get(li->alias, f->key, v, sizeof v);
		if (!strcmp(v, f->value)) {
			f->hit = *li;
			f->found = 1;
			return 1;
		}
	} else if (li->master == f->master) {
		if (f->count++ < 8) {
			if (f->names[0])
				strncat(f->names, ",",
					sizeof f->names - strlen(f->names) - 1);
			strncat(f->names, li->name,
				sizeof f->names - strlen(f->names) - 1);
		}
	}
	return 0;
}

/* The device among prefix* whose alias has key=value: 1 found, 0 not,
 * or an error (set). */
int br_find_dev(struct br_job *j, const char *prefix, const char *key,
		const char *value, struct lk_info *out)
{
	char err[BR_ERRLEN];
	struct find f = {.key = key, .value = value};
	int rc = lk_each(j->c->sk, prefix, find_cb, &f, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "%s", err);
	if (f.found)
		*out = f.hit;
	return f.found;
}

/* Ports (tr-t*) enslaved to the bridge with ifindex br: their number, and
 * the first few names in names. */
int br_count_ports(struct br_job *j, int br, unsigned *n, char *names,
		   size_t len)
{
	char err[BR_ERRLEN];
	struct find f = {.master = br};
	int rc = lk_each(j->c->sk, BR_PREFIX "t", find_cb, &f, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "%s", err);
	*n = f.count;
	if (names)
		snprintf(names, len, "%s", f.names);
	return 0;
}

/* ---- segments ---- */

static const char *mode_name(uint32_t m)
{
	return m == TRELLIS_SEGMENT_VXLAN  ? "vxlan"
	       : m == TRELLIS_SEGMENT_VLAN ? "vlan"
					   : "local";
}

static int check_segment(struct br_job *j, const trellis_segment_spec_t *s)
{
	if (!br_name_ok(s->name))
		return br_fail(
		    j, TRELLIS_E_INVALID_ARG,
		    "invalid segment name '%s': use 1-64 of "
		    "[A-Za-z0-9._-], starting with a letter or digit",
		    s->name ? s->name : "(null)");
	if (s->tenant && !br_name_ok(s->tenant))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "segment '%s': invalid tenant name '%s'",
			       s->name, s->tenant);
	uint32_t max = s->mode == TRELLIS_SEGMENT_VLAN ? MAX_VLAN : MAX_VNI;
	if (s->mode < TRELLIS_SEGMENT_VXLAN || s->mode > TRELLIS_SEGMENT_LOCAL)
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "segment '%s': unknown mode %u", s->name,
			       s->mode);
	if (s->segment_id < 1 || s->segment_id > max)
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "segment '%s': %s id %u is out of range 1-%u",
			       s->name, mode_name(s->mode), s->segment_id, max);
	if (s->mtu && (s->mtu < 576 || s->mtu > 65535))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "segment '%s': mtu %u is out of range 576-65535",
			       s->name, s->mtu);
	if (s->mode == TRELLIS_SEGMENT_VLAN && !s->underlay_dev)
		return br_fail(
		    j, TRELLIS_E_INVALID_ARG,
		    "segment '%s': a vlan segment needs underlay_dev", s->name);
	return 0;
}

static void seg_names(const trellis_segment_spec_t *s, char br[16],
		      char link[16])
{
	char m = s->mode == TRELLIS_SEGMENT_VXLAN  ? 'x'
		 : s->mode == TRELLIS_SEGMENT_VLAN ? 'v'
						   : 'l';
	snprintf(br, 16, BR_PREFIX "b%c%u", m, s->segment_id);
	if (s->mode == TRELLIS_SEGMENT_LOCAL)
		link[0] = '\0';
	else
		snprintf(link, 16, BR_PREFIX "%c%u", m, s->segment_id);
}

/* The underlay device's ifindex (0 when none was asked for). */
static int underlay_index(struct br_job *j, const trellis_segment_spec_t *s,
			  int *ifindex)
{
	char err[BR_ERRLEN];
	struct lk_info li;
	*ifindex = 0;
	if (!s->underlay_dev)
		return 0;
	int rc = lk_get(j->c->sk, s->underlay_dev, &li, err, sizeof err);
	if (rc == TRELLIS_E_NOTFOUND)
		return br_fail(j, rc,
			       "segment '%s': underlay device '%s' does not "
			       "exist on this host",
			       s->name, s->underlay_dev);
	if (rc)
		return br_fail(j, rc, "%s", err);
	*ifindex = li.ifindex;
	return 0;
}

static int make_link(struct br_job *j, const trellis_segment_spec_t *s,
		     const char *link)
{
	char err[BR_ERRLEN];
	int under, rc = underlay_index(j, s, &under);
	if (rc)
		return rc;
	if (s->mode == TRELLIS_SEGMENT_VXLAN) {
		rc = lk_add_vxlan(j->c->sk, link, s->segment_id, s->local_ip,
				  under, s->mtu, err, sizeof err);
		return rc ? br_fail(j, rc, "segment '%s': %s", s->name, err)
			  : 0;
	}
	rc = lk_add_vlan(j->c->sk, link, (uint16_t)s->segment_id, under, err,
			 sizeof err);
	/* The attempt is the probe: a kernel without 8021q has no "vlan"
	 * link type and says EOPNOTSUPP, and nothing was made. */
	if (rc == TRELLIS_E_NOTSUP)
		return br_fail(
		    j, TRELLIS_E_UNAVAILABLE,
		    "segment '%s': VLAN mode is unavailable on this "
		    "host: the kernel has no 802.1Q support (module "
		    "8021q missing: %s); use a vxlan segment instead",
		    s->name, err);
	return rc ? br_fail(j, rc, "segment '%s': %s", s->name, err) : 0;
}

static void fill_seg_out(struct br_job *j, const char *br, const char *link,
			 uint32_t id, int br_ifindex, int made)
{
	trellis_segment_info_t *o = j->seg_out;
	unsigned n = 0;
	snprintf(o->bridge, sizeof o->bridge, "%s", br);
	snprintf(o->link, sizeof o->link, "%s", link);
	o->segment_id = id;
	if (br_count_ports(j, br_ifindex, &n, NULL, 0) == 0)
		o->n_ports = n;
	if (o->struct_size >= offsetof(trellis_segment_info_t, made) +
				  sizeof o->made)
		o->made = (uint32_t)made;
}

int br_job_segment_ensure(struct br_job *j)
{
	const trellis_segment_spec_t *s = j->seg;
	char br[16], link[16], alias[256], err[BR_ERRLEN], tag[24];
	struct lk_info li;
	int made_br = 0, made_link = 0, ours = 0;
	int rc = br_flags_check(j, "segment_ensure", 0);
	if (!rc)
		rc = check_segment(j, s);
	if (rc)
		return rc;
	seg_names(s, br, link);

	/* The same name made earlier with another id or mode is a conflict,
	 * and so is this id taken by another segment. */
	rc = br_find_dev(j, BR_PREFIX "b", "seg", s->name, &li);
	if (rc < 0)
		return rc;
	if (rc && strcmp(li.name, br))
		return br_fail(
		    j, TRELLIS_E_CONFLICT,
		    "segment '%s' already exists on this host as %s; "
		    "refusing to make it again as %s (%s %u)",
		    s->name, li.name, br, mode_name(s->mode), s->segment_id);
	rc = lk_get(j->c->sk, br, &li, err, sizeof err);
	if (rc && rc != TRELLIS_E_NOTFOUND)
		return br_fail(j, rc, "%s", err);
	if (rc == 0) {
		char other[80];
		br_alias_get(li.alias, "seg", other, sizeof other);
		if (other[0] && strcmp(other, s->name))
			return br_fail(
			    j, TRELLIS_E_CONFLICT,
			    "%s id %u is already used on this host by "
			    "segment '%s'",
			    mode_name(s->mode), s->segment_id, other);
		/* The making request's tag stays with the bridge. */
		br_alias_get(li.alias, "key", tag, sizeof tag);
		ours = br_made_by(&li, j->idem_key);
	} else {
		br_key_tag(j->idem_key, tag);
	}
	int br_exists = rc == 0;

	if (link[0]) {
		rc = lk_get(j->c->sk, link, &li, err, sizeof err);
		if (rc == TRELLIS_E_NOTFOUND) {
			rc = make_link(j, s, link);
			made_link = rc == 0;
		} else if (rc) {
			rc = br_fail(j, rc, "%s", err);
		}
		if (rc)
			goto out;
	}
	if (!br_exists) {
		rc = lk_add_bridge(j->c->sk, br, s->mtu, err, sizeof err);
		if (rc) {
			rc = br_fail(j, rc, "segment '%s': %s", s->name, err);
			goto out;
		}
		made_br = 1;
	}
	/* At most 8+4+64+8+64+6+5+4+8+5+16 = 192 bytes (names are at most
	 * 64): within IFALIASZ. */
	snprintf(alias, sizeof alias,
		 "trellis seg=%s tenant=%s mode=%s id=%u%s%s", s->name,
		 s->tenant ? s->tenant : "-", mode_name(s->mode),
		 s->segment_id, tag[0] ? " key=" : "", tag);
	rc = lk_setup(j->c->sk, br, alias, NULL, -1, 0, err, sizeof err);
	if (!rc)
		rc = lk_get(j->c->sk, br, &li, err, sizeof err);
	if (rc) {
		rc = br_fail(j, rc, "segment '%s': %s", s->name, err);
		goto out;
	}
	int br_ifindex = li.ifindex;
	if (link[0]) {
		char la[128];
		snprintf(la, sizeof la, "trellis link=%s", s->name);
		rc = lk_setup(j->c->sk, link, la, NULL, br_ifindex, 0, err,
			      sizeof err);
		struct lk_info xl;
		if (!rc && s->mode == TRELLIS_SEGMENT_VXLAN)
			rc = lk_get(j->c->sk, link, &xl, err, sizeof err);
		if (!rc && s->mode == TRELLIS_SEGMENT_VXLAN)
			rc = lk_fdb_flood_sync(j->c->sk, xl.ifindex,
					       s->remote_ips, s->n_remote_ips,
					       err, sizeof err);
		if (rc) {
			rc = br_fail(j, rc, "segment '%s': %s", s->name, err);
			goto out;
		}
	}
	rc = fw_ensure_table(j->c->nft, err, sizeof err);
	if (rc) {
		rc = br_fail(j, rc, "segment '%s': %s", s->name, err);
		goto out;
	}
	fill_seg_out(j, br, link, s->segment_id, br_ifindex, made_br || ours);
out:
	if (rc && made_link)
		lk_delete(j->c->sk, link, err, sizeof err);
	if (rc && made_br)
		lk_delete(j->c->sk, br, err, sizeof err);
	return rc;
}

static int count_cb(void *opaque, const struct lk_info *li)
{
	(void)li;
	(*(unsigned *)opaque)++;
	return 0;
}

/* The last segment on a host takes the filter table with it, so a host
 * Trellis no longer uses carries no hook of ours on its bridges. */
int br_drop_table_if_unused(struct br_job *j, char *err, size_t errlen)
{
	unsigned n = 0;
	int rc = lk_each(j->c->sk, BR_PREFIX "b", count_cb, &n, err, errlen);
	if (!rc)
		rc =
		    lk_each(j->c->sk, BR_PREFIX "t", count_cb, &n, err, errlen);
	return rc || n ? rc : fw_drop_table(j->c->nft, err, errlen);
}

/* Removes a segment's bridge and link when no port is left on it. */
static int release(struct br_job *j, const char *name)
{
	char err[BR_ERRLEN], names[256], link[16];
	struct lk_info li;
	unsigned n;
	int rc = br_find_dev(j, BR_PREFIX "b", "seg", name, &li);
	if (rc <= 0)
		return rc; /* gone already: success */
	rc = br_count_ports(j, li.ifindex, &n, names, sizeof names);
	if (rc)
		return rc;
	if (n)
		return br_fail(j, TRELLIS_E_CONFLICT,
			       "segment '%s' still has %u port(s) on this host "
			       "(%s%s)",
			       name, n, names, n > 8 ? ",..." : "");
	/* tr-bx100 -> tr-x100 */
	snprintf(link, sizeof link, BR_PREFIX "%.11s", li.name + 4);
	rc = li.name[4] == 'l' ? 0 : lk_delete(j->c->sk, link, err, sizeof err);
	if (!rc)
		rc = lk_delete(j->c->sk, li.name, err, sizeof err);
	if (!rc)
		rc = br_drop_table_if_unused(j, err, sizeof err);
	return rc ? br_fail(j, rc, "segment '%s': %s", name, err) : 0;
}

int br_job_segment_release(struct br_job *j)
{
	int rc = br_flags_check(j, "segment_release", 0);
	if (!rc && !br_name_ok(j->name))
		rc = br_fail(j, TRELLIS_E_INVALID_ARG,
			     "invalid segment name '%s'",
			     j->name ? j->name : "(null)");
	return rc ? rc : release(j, j->name);
}

/* ---- ports ---- */

int br_mac_ok(const char *m)
{
	unsigned b[6];
	char tail;
	if (strlen(m) != 17 ||
	    sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return 0;
	return !(b[0] & 1); /* unicast */
}

/* The IPv4 address of a port spec's "address/prefix" into out ("" for
 * none or IPv6, which is not enforced); -1 when it is malformed. */
static int port_ip4(const char *ip, char out[16])
{
	char a[64];
	unsigned char bin[16];
	out[0] = '\0';
	if (!ip)
		return 0;
	size_t n = strcspn(ip, "/");
	if (n == 0 || n >= sizeof a)
		return -1;
	memcpy(a, ip, n);
	a[n] = '\0';
	if (inet_pton(AF_INET6, a, bin) == 1)
		return 0;
	if (inet_pton(AF_INET, a, bin) != 1)
		return -1;
	snprintf(out, 16, "%u.%u.%u.%u", bin[0], bin[1], bin[2], bin[3]);
	return 0;
}

static void fill_port_out(struct br_job *j, const struct lk_info *port,
			  const struct lk_info *br)
{
	trellis_port_info_t *o = j->port_out;
	char mac[32];
	snprintf(o->ifname, sizeof o->ifname, "%s", port->name);
	snprintf(o->bridge, sizeof o->bridge, "%s", br->name);
	br_alias_get(port->alias, "mac", mac, sizeof mac);
	snprintf(o->mac, sizeof o->mac, "%.17s", mac);
	if (!strcmp(port->kind, "veth"))
		snprintf(o->peer, sizeof o->peer, BR_PREFIX "g%s",
			 port->name + 4);
}

/* A free tr-t<hash> name for the port; hash collisions probe onwards. */
static int pick_ifname(struct br_job *j, const char *name, char ifname[16])
{
	char err[BR_ERRLEN];
	struct lk_info li;
	uint32_t h = br_hash(name);
	for (unsigned i = 0; i < PORT_PROBES; i++) {
		snprintf(ifname, 16, BR_PREFIX "t%08x", h + i);
		int rc = lk_get(j->c->sk, ifname, &li, err, sizeof err);
		if (rc == TRELLIS_E_NOTFOUND)
			return 0;
		if (rc)
			return br_fail(j, rc, "%s", err);
	}
	return br_fail(j, TRELLIS_E_CONFLICT,
		       "port '%s': no free device name after %d tries", name,
		       PORT_PROBES);
}

int br_job_port_create(struct br_job *j)
{
	const trellis_port_spec_t *s = j->port;
	char err[BR_ERRLEN], ifname[16], peer[16], mac[18], hostmac[18],
	    alias[256], seg[80], tag[17];
	struct lk_info br, li;
	int made = 0;
	int rc = br_flags_check(j, "port_create", TRELLIS_NET_PORT_VETH);
	if (rc)
		return rc;
	if (!br_name_ok(s->name))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "invalid port name '%s'",
			       s->name ? s->name : "(null)");
	if (!br_name_ok(s->segment))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "port '%s': invalid segment name '%s'", s->name,
			       s->segment ? s->segment : "(null)");
	if (s->mac && !br_mac_ok(s->mac))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "port '%s': invalid MAC address '%s' (want a "
			       "unicast xx:xx:xx:xx:xx:xx)",
			       s->name, s->mac);
	char ip4[16], seenip[16];
	if (port_ip4(s->ip, ip4) != 0)
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "port '%s': invalid address '%s' (want "
			       "address/prefix)",
			       s->name, s->ip);
	rc = br_find_dev(j, BR_PREFIX "b", "seg", s->segment, &br);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return br_fail(j, TRELLIS_E_NOTFOUND,
			       "port '%s': segment '%s' is not present on this "
			       "host (segment_ensure it first)",
			       s->name, s->segment);
	rc = fw_ensure_table(j->c->nft, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "port '%s': %s", s->name, err);
	rc = br_find_dev(j, BR_PREFIX "t", "port", s->name, &li);
	if (rc < 0)
		return rc;
	if (rc) { /* a replay, or a name clash */
		br_alias_get(li.alias, "seg", seg, sizeof seg);
		if (strcmp(seg, s->segment))
			return br_fail(
			    j, TRELLIS_E_CONFLICT,
			    "port '%s' already exists on segment '%s'", s->name,
			    seg);
		/* Never adopted: its undo would cut another VM's network. */
		if (!br_made_by(&li, j->idem_key))
			return br_fail(j, TRELLIS_E_CONFLICT,
				       "port '%s' already exists (%s), made "
				       "by another request",
				       s->name, li.name);
		br_alias_get(li.alias, "lock", mac, sizeof mac);
		br_alias_get(li.alias, "ip", seenip, sizeof seenip);
		rc = fw_port_add(j->c->nft, li.name, mac[0] ? mac : NULL,
				 seenip[0] ? seenip : NULL, err, sizeof err);
		if (rc)
			return br_fail(j, rc, "port '%s': %s", s->name, err);
		fill_port_out(j, &li, &br);
		return 0;
	}

	rc = pick_ifname(j, s->name, ifname);
	if (rc)
		return rc;
	uint32_t h = br_hash(s->name);
	if (s->mac)
		snprintf(mac, sizeof mac, "%s", s->mac);
	else
		snprintf(mac, sizeof mac, "52:54:00:%02x:%02x:%02x",
			 (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
	/* The host end gets a high MAC (fe:) so the bridge never adopts it
	 * as its own address, as libvirt does for its taps. */
	snprintf(hostmac, sizeof hostmac, "fe%s", mac + 2);
	snprintf(peer, sizeof peer, BR_PREFIX "g%s", ifname + 4);
	/* lock=MAC: the caller named the guest's MAC, so it is enforced; a
	 * derived one is only a suggestion the hypervisor may ignore.  key=
	 * tags the making request.  At most 8+5+64+5+64+5+17+6+17+4+15+5+16
	 * = 231 bytes (names are at most 64): within IFALIASZ. */
	br_key_tag(j->idem_key, tag);
	snprintf(alias, sizeof alias,
		 "trellis port=%s seg=%s mac=%s%s%s%s%s%s%s", s->name,
		 s->segment, mac, s->mac ? " lock=" : "", s->mac ? mac : "",
		 ip4[0] ? " ip=" : "", ip4, tag[0] ? " key=" : "", tag);
	if (j->flags & TRELLIS_NET_PORT_VETH)
		rc = lk_add_veth(j->c->sk, ifname, peer, err, sizeof err);
	else
		rc = lk_add_tap(ifname, err, sizeof err);
	made = rc == 0;
	/* Filter before the port joins the bridge: never a moment open. */
	if (!rc)
		rc = fw_port_add(j->c->nft, ifname, s->mac ? mac : NULL,
				 ip4[0] ? ip4 : NULL, err, sizeof err);
	/* The port takes the bridge's MTU (a VXLAN segment's is 50 bytes
	 * under the underlay's): a guest end larger than the path would
	 * see its full-size frames dropped silently at the bridge. */
	if (!rc)
		rc = lk_setup(j->c->sk, ifname, alias, hostmac, br.ifindex,
			      br.mtu, err, sizeof err);
	if (!rc && (j->flags & TRELLIS_NET_PORT_VETH))
		rc = lk_setup(j->c->sk, peer, NULL, mac, -1, br.mtu, err,
			      sizeof err);
	if (!rc)
		rc = lk_get(j->c->sk, ifname, &li, err, sizeof err);
	if (rc) {
		rc = br_fail(j, rc, "port '%s': %s", s->name, err);
		if (made)
			lk_delete(j->c->sk, ifname, err, sizeof err);
		fw_port_del(j->c->nft, ifname, err, sizeof err);
		return rc;
	}
	fill_port_out(j, &li, &br);
	return 0;
}

int br_job_port_delete(struct br_job *j)
{
	char err[BR_ERRLEN], seg[80];
	struct lk_info li;
	int if_key = !!(j->flags & TRELLIS_NET_PORT_DELETE_IF_KEY);
	int rc = br_flags_check(j, "port_delete",
				TRELLIS_NET_PORT_RELEASE_SEGMENT |
				    TRELLIS_NET_PORT_DELETE_IF_KEY);
	if (!rc && !br_name_ok(j->name))
		rc = br_fail(j, TRELLIS_E_INVALID_ARG, "invalid port name '%s'",
			     j->name ? j->name : "(null)");
	if (!rc && if_key && !(j->idem_key && *j->idem_key))
		rc = br_fail(j, TRELLIS_E_INVALID_ARG,
			     "port '%s': DELETE_IF_KEY without an idempotency "
			     "key",
			     j->name);
	if (rc)
		return rc;
	rc = br_find_dev(j, BR_PREFIX "t", "port", j->name, &li);
	if (rc <= 0)
		return rc;
	if (if_key && !br_made_by(&li, j->idem_key))
		return br_fail(j, TRELLIS_E_CONFLICT,
			       "port '%s' (%s) was made by another request; "
			       "left untouched",
			       j->name, li.name);
	br_alias_get(li.alias, "seg", seg, sizeof seg);
	rc = lk_delete(j->c->sk, li.name, err, sizeof err);
	if (!rc)
		rc = fw_port_del(j->c->nft, li.name, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "port '%s': %s", j->name, err);
	if (!(j->flags & TRELLIS_NET_PORT_RELEASE_SEGMENT) || !seg[0])
		return 0;
	/* With IF_KEY the segment goes only if this request made it too. */
	if (if_key) {
		rc = br_find_dev(j, BR_PREFIX "b", "seg", seg, &li);
		if (rc <= 0 || !br_made_by(&li, j->idem_key))
			return rc < 0 ? rc : 0;
	}
	/* Another port still on the segment keeps it: not an error here. */
	rc = release(j, seg);
	return rc == TRELLIS_E_CONFLICT ? 0 : rc;
}
