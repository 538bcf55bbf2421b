/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices.c - the VNC console endpoint (one-time password set through
 * libvirt) and hotplug of disks and NICs.
 *
 * Hotplug changes the live domain when it runs and its persistent config,
 * so a device survives a restart.  Attach and detach are idempotent: a disk
 * is known by its target or source, a NIC by its MAC (derived from the
 * idempotency key when the caller gives none), and detaching what is not
 * there succeeds.  A live detach needs the guest's cooperation, so detach
 * waits (bounded) until the device is really gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "domxml.h"
#include "lv.h"

#define DETACH_WAIT_MS 10000

int lv_random_password(char *out, size_t len)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
				       "abcdefghijkmnopqrstuvwxyz23456789";
	const size_t na = sizeof alphabet - 1;
	size_t i = 0;
	while (i + 1 < len && i < VNC_PASSWD_LEN) {
		unsigned char b[32];
		if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
			return -1;
		for (size_t j = 0; j < sizeof b && i < VNC_PASSWD_LEN; j++)
			/* reject the biased tail of the byte range */
			if (b[j] < 256 - 256 % na)
				out[i++] = alphabet[b[j] % na];
		explicit_bzero(b, sizeof b);
	}
	out[i] = 0;
	return 0;
}

static int active_flags(struct lv_conn *c, trellis_call_t *call,
			virDomainPtr dom, unsigned *flags)
{
	const char *name = virDomainGetName(dom);
	int active = virDomainIsActive(dom);
	int persistent = active < 0 ? -1 : virDomainIsPersistent(dom);
	if (active < 0 || persistent < 0)
		return lv_fail(c, call, "VM '%s': state", name);
	*flags = (active ? VIR_DOMAIN_AFFECT_LIVE : 0) |
		 (persistent ? VIR_DOMAIN_AFFECT_CONFIG : 0);
	return 0;
}

int lv_vm_console(void *conn, trellis_call_t *call, const char *uuid,
		  uint32_t ttl_s, uint32_t flags, trellis_console_info_t *out)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL, *gxml = NULL;
	char pw[VNC_PASSWD_LEN + 1] = "", listen[64] = "", valid_to[32];
	int rc, port = 0;

	if ((rc = lv_check_flags(c, call, "vm_console", flags, 0)) < 0)
		return rc;
	if (!LV_SIZE_OK(out, trellis_console_info_t, expires_at))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "vm_console: output struct too small");
	if (ttl_s == 0 || ttl_s > 86400)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "vm_console: ttl %u s is not within 1..86400",
			      ttl_s);
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	int active = virDomainIsActive(dom);
	if (active <= 0) {
		rc = active < 0
			 ? lv_fail(c, call, "VM '%s': state", name)
			 : lv_err(c, call, TRELLIS_E_CONFLICT,
				  "VM '%s' is not running: no console", name);
		goto out;
	}
	if (!(xml = virDomainGetXMLDesc(dom, 0))) {
		rc = lv_fail(c, call, "VM '%s': read its XML", name);
		goto out;
	}
	if (lv_random_password(pw, sizeof pw) < 0) {
		rc = lv_err(c, call, TRELLIS_E_IO,
			    "VM '%s': no randomness for a password", name);
		goto out;
	}
	time_t expires = time(NULL) + ttl_s;
	struct tm tm;
	gmtime_r(&expires, &tm);
	strftime(valid_to, sizeof valid_to, "%Y-%m-%dT%H:%M:%S", &tm);
	rc = lv_xml_vnc_passwd(xml, pw, valid_to, &gxml, &port, listen,
			       sizeof listen);
	if (rc <= 0) {
		rc = rc < 0 ? lv_err(c, call, TRELLIS_E_BACKEND,
				     "VM '%s': unreadable domain XML", name)
			    : lv_err(c, call, TRELLIS_E_NOTSUP,
				     "VM '%s' has no VNC console", name);
		goto out;
	}
	if (port <= 0) {
		rc = lv_err(c, call, TRELLIS_E_BACKEND,
			    "VM '%s': VNC console has no port yet", name);
		goto out;
	}
	/* Live only: the password must not persist in the domain config. */
	if (virDomainUpdateDeviceFlags(dom, gxml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		rc =
		    lv_fail(c, call, "VM '%s': set the console password", name);
		goto out;
	}
	snprintf(out->protocol, sizeof out->protocol, "vnc");
	if (!listen[0] || !strcmp(listen, "0.0.0.0") || !strcmp(listen, "::")) {
		char *hn = virConnectGetHostname(c->conn);
		snprintf(out->host, sizeof out->host, "%s", hn ? hn : "");
		free(hn);
		virResetLastError();
	} else {
		snprintf(out->host, sizeof out->host, "%s", listen);
	}
	out->port = (uint32_t)port;
	snprintf(out->password, sizeof out->password, "%s", pw);
	out->expires_at = (int64_t)expires;
	rc = 0;
out:
	explicit_bzero(pw, sizeof pw);
	if (gxml) {
		explicit_bzero(gxml, strlen(gxml));
		free(gxml);
	}
	free(xml);
	if (dom)
		virDomainFree(dom);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Looks the VM up and reads its XML (the live one when it runs). */
static int open_xml(struct lv_conn *c, trellis_call_t *call, const char *uuid,
		    virDomainPtr *dom, char **xml)
{
	*xml = NULL;
	int rc = lv_lookup(c, call, uuid, dom);
	if (rc < 0)
		return rc;
	const char *name = virDomainGetName(*dom);
	if (!(*xml = virDomainGetXMLDesc(*dom, 0))) {
		rc = lv_fail(c, call, "VM '%s': read its XML", name);
		virDomainFree(*dom);
		*dom = NULL;
	}
	return rc;
}

/* How a device is found in domain XML: *out gets its XML, NULL if none. */
typedef int (*find_fn)(const char *domxml, const char *id, char **out);

static int find_disk(const char *domxml, const char *target, char **out)
{
	return lv_xml_find_disk(domxml, target, out, NULL, 0);
}

/* Whether the device is still in the domain's XML: 1, 0, or an error. */
static int present(struct lv_conn *c, trellis_call_t *call, virDomainPtr dom,
		   find_fn find, const char *id)
{
	const char *name = virDomainGetName(dom);
	char *xml = virDomainGetXMLDesc(dom, 0), *found = NULL;
	if (!xml)
		return lv_fail(c, call, "VM '%s': read its XML", name);
	int rc = find(xml, id, &found);
	free(xml);
	free(found);
	if (rc < 0)
		return lv_err(c, call, TRELLIS_E_BACKEND,
			      "VM '%s': unreadable XML", name);
	return found != NULL;
}

/*
 * Detaches the device find() finds under id (none: success) and, when the
 * domain runs, waits until the guest has released it.
 */
static int detach(struct lv_conn *c, trellis_call_t *call, const char *uuid,
		  const char *what, find_fn find, const char *id)
{
	virDomainPtr dom = NULL;
	char *xml = NULL, *found = NULL;
	unsigned aflags;
	int rc = open_xml(c, call, uuid, &dom, &xml);
	if (rc < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (find(xml, id, &found) < 0) {
		rc = lv_err(c, call, TRELLIS_E_BACKEND,
			    "VM '%s': unreadable XML", name);
		goto out;
	}
	if (!found || (rc = active_flags(c, call, dom, &aflags)) < 0)
		goto out;
	if (virDomainDetachDeviceFlags(dom, found, aflags) < 0) {
		rc = lv_fail(c, call, "VM '%s': detach %s", name, what);
		goto out;
	}
	if (!(aflags & VIR_DOMAIN_AFFECT_LIVE))
		goto out;
	long long deadline = now_ms() + DETACH_WAIT_MS;
	while ((rc = present(c, call, dom, find, id)) == 1) {
		if (now_ms() >= deadline) {
			rc = lv_err(c, call, TRELLIS_E_TIMEOUT,
				    "VM '%s': the guest did not release %s "
				    "within %d s",
				    name, what, DETACH_WAIT_MS / 1000);
			goto out;
		}
		if (c->st->host->cancelled(call)) {
			rc = lv_err(c, call, TRELLIS_E_CANCELLED,
				    "VM '%s': detach of %s cancelled", name,
				    what);
			goto out;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
out:
	free(found);
	free(xml);
	virDomainFree(dom);
	return rc < 0 ? rc : 0;
}

/* Attaches dev_xml to the live domain (when it runs) and its config. */
static int attach(struct lv_conn *c, trellis_call_t *call, virDomainPtr dom,
		  const char *dev_xml, const char *what)
{
	const char *name = virDomainGetName(dom);
	unsigned aflags;
	int rc = active_flags(c, call, dom, &aflags);
	if (rc < 0)
		return rc;
	if (virDomainAttachDeviceFlags(dom, dev_xml, aflags) < 0)
		return lv_fail(c, call, "VM '%s': attach %s", name, what);
	return 0;
}

int lv_vm_disk_attach(void *conn, trellis_call_t *call, const char *uuid,
		      const trellis_disk_spec_t *disk, const char *idem_key,
		      uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL, *found = NULL, *dxml = NULL;
	char **used = NULL;
	size_t n_used = 0;
	char err[600], target[16], src[4096], what[4200];
	int rc;
	(void)idem_key; /* the disk's target and source identify it */

	if ((rc = lv_check_flags(c, call, "vm_disk_attach", flags, 0)) < 0)
		return rc;
	if (lv_disk_check(disk, err, sizeof err) < 0)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG, "%s", err);
	if ((rc = open_xml(c, call, uuid, &dom, &xml)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (disk->target) {
		snprintf(target, sizeof target, "%s", disk->target);
		if (lv_xml_find_disk(xml, target, &found, src, sizeof src) < 0)
			goto bad_xml;
		if (found) {
			rc = strcmp(src, disk->path) == 0
				 ? 0
				 : lv_err(c, call, TRELLIS_E_CONFLICT,
					  "VM '%s': target %s holds %s, "
					  "not %s",
					  name, target, src, disk->path);
			goto out;
		}
	} else {
		int r = lv_xml_disk_by_source(xml, disk->path, target,
					      sizeof target);
		if (r < 0)
			goto bad_xml;
		if (r == 1) /* a replay: it is attached already */
			goto out;
		if (lv_xml_disk_targets(xml, &used, &n_used) < 0)
			goto bad_xml;
		if (lv_next_target(lv_bus_prefix(disk->bus),
				   (const char *const *)used, n_used,
				   target) < 0) {
			rc = lv_err(c, call, TRELLIS_E_NOSPACE,
				    "VM '%s': no free disk target", name);
			goto out;
		}
	}
	if (lv_xml_disk(disk, target, &dxml) < 0) {
		rc = lv_err(c, call, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(what, sizeof what, "disk %s as %s", disk->path, target);
	rc = attach(c, call, dom, dxml, what);
	goto out;
bad_xml:
	rc =
	    lv_err(c, call, TRELLIS_E_BACKEND, "VM '%s': unreadable XML", name);
out:
	lv_strv_free(used, n_used);
	free(dxml);
	free(found);
	free(xml);
	virDomainFree(dom);
	return rc;
}

int lv_vm_disk_detach(void *conn, trellis_call_t *call, const char *uuid,
		      const char *target, const char *idem_key, uint32_t flags)
{
	struct lv_conn *c = conn;
	char what[32];
	int rc;
	(void)idem_key;

	if ((rc = lv_check_flags(c, call, "vm_disk_detach", flags, 0)) < 0)
		return rc;
	if (!lv_target_valid(target))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "disk target '%s' is not like vda, sdb, hdc",
			      target ? target : "(none)");
	snprintf(what, sizeof what, "disk %s", target);
	return detach(c, call, uuid, what, find_disk, target);
}

int lv_vm_nic_attach(void *conn, trellis_call_t *call, const char *uuid,
		     const trellis_nic_spec_t *nic, const char *idem_key,
		     uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL, *found = NULL, *nxml = NULL;
	char err[600], mac[18] = "", what[64];
	int rc;

	if ((rc = lv_check_flags(c, call, "vm_nic_attach", flags, 0)) < 0)
		return rc;
	if (lv_nic_check(nic, err, sizeof err) < 0)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG, "%s", err);
	if (nic->mac)
		snprintf(mac, sizeof mac, "%s", nic->mac);
	else if (idem_key)
		lv_mac_from_key(idem_key, mac);
	if ((rc = open_xml(c, call, uuid, &dom, &xml)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (mac[0] && lv_xml_find_nic(xml, mac, &found) < 0) {
		rc = lv_err(c, call, TRELLIS_E_BACKEND,
			    "VM '%s': unreadable XML", name);
		goto out;
	}
	if (found) /* a replay, or the same NIC asked twice */
		goto out;
	if (lv_xml_nic(nic, mac[0] ? mac : NULL, &nxml) < 0) {
		rc = lv_err(c, call, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(what, sizeof what, "NIC on %s",
		 nic->bridge ? nic->bridge : nic->ifname);
	rc = attach(c, call, dom, nxml, what);
out:
	free(nxml);
	free(found);
	free(xml);
	virDomainFree(dom);
	return rc;
}

int lv_vm_nic_detach(void *conn, trellis_call_t *call, const char *uuid,
		     const char *mac, const char *idem_key, uint32_t flags)
{
	struct lv_conn *c = conn;
	char what[40];
	int rc;
	(void)idem_key;

	if ((rc = lv_check_flags(c, call, "vm_nic_detach", flags, 0)) < 0)
		return rc;
	if (!lv_mac_valid(mac))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "NIC MAC '%s' is not a unicast "
			      "xx:xx:xx:xx:xx:xx address",
			      mac ? mac : "(none)");
	snprintf(what, sizeof what, "NIC %s", mac);
	return detach(c, call, uuid, what, lv_xml_find_nic, mac);
}
