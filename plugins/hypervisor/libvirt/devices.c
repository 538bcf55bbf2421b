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
		rc = active < 0 ? lv_fail(c, call, "VM '%s': state", name)
				: lv_err(c, call, TRELLIS_E_CONFLICT,
					 "VM '%s' is not running: no console",
					 name);
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
		rc = lv_fail(c, call, "VM '%s': set the console password",
			     name);
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

/* Detaches dev_xml and, when the domain runs, waits until the live XML no
 * longer has it (present() says whether it still does). */
static int detach_wait(struct lv_conn *c, trellis_call_t *call,
		       virDomainPtr dom, const char *dev_xml, const char *what,
		       int (*present)(const char *domxml, const char *id),
		       const char *id)
{
	const char *name = virDomainGetName(dom);
	unsigned aflags;
	int rc = active_flags(c, call, dom, &aflags);
	if (rc < 0)
		return rc;
	if (virDomainDetachDeviceFlags(dom, dev_xml, aflags) < 0)
		return lv_fail(c, call, "VM '%s': detach %s", name, what);
	if (!(aflags & VIR_DOMAIN_AFFECT_LIVE))
		return 0;
	long long deadline = now_ms() + DETACH_WAIT_MS;
	for (;;) {
		char *xml = virDomainGetXMLDesc(dom, 0);
		if (!xml)
			return lv_fail(c, call, "VM '%s': read its XML", name);
		int still = present(xml, id);
		free(xml);
		if (still <= 0)
			return 0;
		if (now_ms() >= deadline)
			return lv_err(c, call, TRELLIS_E_TIMEOUT,
				      "VM '%s': the guest did not release %s "
				      "within %d s",
				      name, what, DETACH_WAIT_MS / 1000);
		if (c->st->host->cancelled(call))
			return lv_err(c, call, TRELLIS_E_CANCELLED,
				      "VM '%s': detach of %s cancelled", name,
				      what);
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int disk_present(const char *domxml, const char *target)
{
	char *x = NULL;
	if (lv_xml_find_disk(domxml, target, &x, NULL, 0) < 0)
		return -1;
	free(x);
	return x != NULL;
}

static int nic_present(const char *domxml, const char *mac)
{
	char *x = NULL;
	if (lv_xml_find_nic(domxml, mac, &x) < 0)
		return -1;
	free(x);
	return x != NULL;
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
	char err[600], target[16], src[4096];
	int rc;
	(void)idem_key; /* the disk's target and source identify it */

	if ((rc = lv_check_flags(c, call, "vm_disk_attach", flags, 0)) < 0)
		return rc;
	if (lv_disk_check(disk, err, sizeof err) < 0)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG, "%s", err);
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (!(xml = virDomainGetXMLDesc(dom, 0))) {
		rc = lv_fail(c, call, "VM '%s': read its XML", name);
		goto out;
	}
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
		if (r == 1) { /* a replay: it is attached already */
			rc = 0;
			goto out;
		}
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
	unsigned aflags;
	if ((rc = active_flags(c, call, dom, &aflags)) < 0)
		goto out;
	if (virDomainAttachDeviceFlags(dom, dxml, aflags) < 0) {
		rc = lv_fail(c, call, "VM '%s': attach disk %s as %s", name,
			     disk->path, target);
		goto out;
	}
	rc = 0;
	goto out;
bad_xml:
	rc = lv_err(c, call, TRELLIS_E_BACKEND, "VM '%s': unreadable XML",
		    name);
out:
	lv_strv_free(used, n_used);
	free(dxml);
	free(found);
	free(xml);
	if (dom)
		virDomainFree(dom);
	return rc;
}

int lv_vm_disk_detach(void *conn, trellis_call_t *call, const char *uuid,
		      const char *target, const char *idem_key, uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL, *found = NULL;
	int rc;
	(void)idem_key;

	if ((rc = lv_check_flags(c, call, "vm_disk_detach", flags, 0)) < 0)
		return rc;
	if (!lv_target_valid(target))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "disk target '%s' is not like vda, sdb, hdc",
			      target ? target : "(none)");
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (!(xml = virDomainGetXMLDesc(dom, 0))) {
		rc = lv_fail(c, call, "VM '%s': read its XML", name);
		goto out;
	}
	if (lv_xml_find_disk(xml, target, &found, NULL, 0) < 0) {
		rc = lv_err(c, call, TRELLIS_E_BACKEND,
			    "VM '%s': unreadable XML", name);
		goto out;
	}
	char what[32];
	snprintf(what, sizeof what, "disk %s", target);
	rc = found ? detach_wait(c, call, dom, found, what, disk_present,
				 target)
		   : 0;
out:
	free(found);
	free(xml);
	if (dom)
		virDomainFree(dom);
	return rc;
}

int lv_vm_nic_attach(void *conn, trellis_call_t *call, const char *uuid,
		     const trellis_nic_spec_t *nic, const char *idem_key,
		     uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL, *found = NULL, *nxml = NULL;
	char err[600], mac[18] = "";
	int rc;

	if ((rc = lv_check_flags(c, call, "vm_nic_attach", flags, 0)) < 0)
		return rc;
	if (lv_nic_check(nic, err, sizeof err) < 0)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG, "%s", err);
	if (nic->mac)
		snprintf(mac, sizeof mac, "%s", nic->mac);
	else if (idem_key)
		lv_mac_from_key(idem_key, mac);
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (mac[0]) {
		if (!(xml = virDomainGetXMLDesc(dom, 0))) {
			rc = lv_fail(c, call, "VM '%s': read its XML", name);
			goto out;
		}
		if (lv_xml_find_nic(xml, mac, &found) < 0) {
			rc = lv_err(c, call, TRELLIS_E_BACKEND,
				    "VM '%s': unreadable XML", name);
			goto out;
		}
		if (found) { /* a replay, or the same NIC asked twice */
			rc = 0;
			goto out;
		}
	}
	if (lv_xml_nic(nic, mac[0] ? mac : NULL, &nxml) < 0) {
		rc = lv_err(c, call, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	unsigned aflags;
	if ((rc = active_flags(c, call, dom, &aflags)) < 0)
		goto out;
	if (virDomainAttachDeviceFlags(dom, nxml, aflags) < 0) {
		rc = lv_fail(c, call, "VM '%s': attach NIC on %s", name,
			     nic->bridge ? nic->bridge : nic->ifname);
		goto out;
	}
	rc = 0;
out:
	free(nxml);
	free(found);
	free(xml);
	if (dom)
		virDomainFree(dom);
	return rc;
}

int lv_vm_nic_detach(void *conn, trellis_call_t *call, const char *uuid,
		     const char *mac, const char *idem_key, uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL, *found = NULL;
	int rc;
	(void)idem_key;

	if ((rc = lv_check_flags(c, call, "vm_nic_detach", flags, 0)) < 0)
		return rc;
	if (!lv_mac_valid(mac))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "NIC MAC '%s' is not a unicast "
			      "xx:xx:xx:xx:xx:xx address",
			      mac ? mac : "(none)");
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (!(xml = virDomainGetXMLDesc(dom, 0))) {
		rc = lv_fail(c, call, "VM '%s': read its XML", name);
		goto out;
	}
	if (lv_xml_find_nic(xml, mac, &found) < 0) {
		rc = lv_err(c, call, TRELLIS_E_BACKEND,
			    "VM '%s': unreadable XML", name);
		goto out;
	}
	char what[40];
	snprintf(what, sizeof what, "NIC %s", mac);
	rc = found ? detach_wait(c, call, dom, found, what, nic_present, mac)
		   : 0;
out:
	free(found);
	free(xml);
	if (dom)
		virDomainFree(dom);
	return rc;
}
