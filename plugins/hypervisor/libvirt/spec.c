/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spec.c - checks of VM, disk and NIC specs before they become XML.
 *
 * libvirt would refuse much of this too, but later and in its own words;
 * checking here gives the caller an error that names the field, and keeps
 * things that libvirt accepts but that would surprise (relative paths,
 * control characters, two disks on one target) out of domain definitions.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <trellis/name.h>

#include "domxml.h"
#include "lv.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int path_ok(const char *p)
{
	return p && p[0] == '/' && strlen(p) < 4096 && printable(p);
}

/* A NIC model: [A-Za-z0-9][A-Za-z0-9_-]{0,31} (no dots, unlike names). */
static int model_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 32 || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-", s[i]))
			return 0;
	return 1;
}
int lv_mac_valid(const char *mac)
{
	if (!mac || strlen(mac) != 17)
		return 0;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (mac[i] != ':')
				return 0;
		} else if (!isxdigit((unsigned char)mac[i])) {
			return 0;
		}
	}
	/* A multicast MAC cannot be a NIC's own address. */
	int first =
	    (isdigit((unsigned char)mac[1]) ? mac[1] - '0'
					    : (tolower(mac[1]) - 'a' + 10));
	return !(first & 1);
}

int lv_target_valid(const char *t)
{
	if (!t)
		return 0;
	size_t n = strlen(t);
	if (n < 3 || n > 5 || t[1] != 'd' || !strchr("hsv", t[0]))
		return 0;
	for (size_t i = 2; i < n; i++)
		if (t[i] < 'a' || t[i] > 'z')
			return 0;
	return 1;
}

const char *lv_bus_prefix(uint32_t bus)
{
	switch (bus) {
	case TRELLIS_DISK_BUS_SATA:
	case TRELLIS_DISK_BUS_SCSI:
		return "sd";
	case TRELLIS_DISK_BUS_IDE:
		return "hd";
	default:
		return "vd";
	}
}

void lv_mac_from_key(const char *key, char mac[18])
{
	/* FNV-1a: stable across runs and builds, which is all this needs. */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	snprintf(mac, 18, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff,
		 (h >> 8) & 0xff, h & 0xff);
}

int lv_next_target(const char *prefix, const char *const *used, size_t n,
		   char out[16])
{
	for (int i = 0; i < 26 * 27; i++) {
		if (i < 26)
			snprintf(out, 16, "%s%c", prefix, 'a' + i);
		else
			snprintf(out, 16, "%s%c%c", prefix, 'a' + i / 26 - 1,
				 'a' + i % 26);
		size_t j;
		for (j = 0; j < n; j++)
			if (used[j] && strcmp(used[j], out) == 0)
				break;
		if (j == n)
			return 0;
	}
	return -1;
}

int lv_disk_check(const trellis_disk_spec_t *d, char *err, size_t errlen)
{
	if (!LV_SIZE_OK(d, trellis_disk_spec_t, write_bytes_sec))
		return ERR("disk spec missing or too small (struct_size)");
	if (!path_ok(d->path))
		return ERR("disk path '%s': must be an absolute path",
			   d->path ? d->path : "(none)");
	if (d->format && strcmp(d->format, "raw") != 0 &&
	    strcmp(d->format, "qcow2") != 0)
		return ERR("disk '%s': format '%s' is not raw or qcow2",
			   d->path, d->format);
	if (d->target && !lv_target_valid(d->target))
		return ERR("disk '%s': target '%s' is not like vda, sdb, hdc",
			   d->path, d->target);
	if (d->bus > TRELLIS_DISK_BUS_SCSI)
		return ERR("disk '%s': unknown bus %u", d->path, d->bus);
	if (d->disk_flags & ~TRELLIS_DISK_READONLY)
		return ERR("disk '%s': unknown disk_flags bits 0x%x", d->path,
			   d->disk_flags & ~TRELLIS_DISK_READONLY);
	return 0;
}

int lv_nic_check(const trellis_nic_spec_t *n, char *err, size_t errlen)
{
	if (!LV_SIZE_OK(n, trellis_nic_spec_t, outbound_kbps))
		return ERR("NIC spec missing or too small (struct_size)");
	if (!!n->bridge == !!n->ifname)
		return ERR("NIC: give exactly one of bridge and ifname "
			   "(got %s)",
			   n->bridge ? "both" : "neither");
	const char *dev = n->bridge ? n->bridge : n->ifname;
	/* Interface names: at most IFNAMSIZ-1 characters, no '/' or space. */
	if (!trellis_name_ok(dev) || strlen(dev) > 15)
		return ERR("NIC %s '%s': not a valid interface name",
			   n->bridge ? "bridge" : "ifname", dev);
	if (n->mac && !lv_mac_valid(n->mac))
		return ERR("NIC on '%s': MAC '%s' is not a unicast "
			   "xx:xx:xx:xx:xx:xx address",
			   dev, n->mac);
	if (n->model && !model_ok(n->model))
		return ERR("NIC on '%s': model '%s' is not a valid model name",
			   dev, n->model);
	return 0;
}

static int ip_literal(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

int lv_spec_check(const trellis_vm_spec_t *s, char *err, size_t errlen)
{
	if (!LV_SIZE_OK(s, trellis_vm_spec_t, domain_type))
		return ERR("VM spec missing or too small (struct_size)");
	if (!trellis_name_ok(s->name) || strlen(s->name) > 64)
		return ERR("VM name '%s': want 1-64 letters, digits, '.', "
			   "'_' or '-', starting with a letter or digit",
			   s->name ? s->name : "(none)");
	const char *n = s->name;
	if (s->uuid) {
		char u[37];
		if (strlen(s->uuid) != 36 ||
		    sscanf(s->uuid,
			   "%8[0-9a-fA-F]-%4[0-9a-fA-F]-%4[0-9a-fA-F]-"
			   "%4[0-9a-fA-F]-%12[0-9a-fA-F]",
			   u, u, u, u, u) != 5)
			return ERR("VM '%s': uuid '%s' is not a UUID", n,
				   s->uuid);
	}
	if (s->vcpus < 1 || s->vcpus > 256)
		return ERR("VM '%s': vcpus %u is not within 1..256", n,
			   s->vcpus);
	if (s->memory_mib < 16 || s->memory_mib > (1ull << 24))
		return ERR(
		    "VM '%s': memory %llu MiB is not within 16..16777216", n,
		    (unsigned long long)s->memory_mib);
	if (s->kernel && !path_ok(s->kernel))
		return ERR("VM '%s': kernel '%s' must be an absolute path", n,
			   s->kernel);
	if (!s->kernel && (s->initrd || s->cmdline))
		return ERR("VM '%s': initrd and cmdline need a kernel", n);
	if (s->initrd && !path_ok(s->initrd))
		return ERR("VM '%s': initrd '%s' must be an absolute path", n,
			   s->initrd);
	if (s->cmdline && (strlen(s->cmdline) > 4096 || !printable(s->cmdline)))
		return ERR("VM '%s': cmdline is longer than 4096 or has "
			   "control characters",
			   n);
	if (s->serial_log && !path_ok(s->serial_log))
		return ERR("VM '%s': serial_log '%s' must be an absolute path",
			   n, s->serial_log);
	if (s->console > TRELLIS_CONSOLE_VNC)
		return ERR("VM '%s': unknown console type %u", n, s->console);
	if (s->console_listen && !ip_literal(s->console_listen))
		return ERR("VM '%s': console_listen '%s' is not an IP address",
			   n, s->console_listen);
	if (s->domain_type && strcmp(s->domain_type, "kvm") != 0 &&
	    strcmp(s->domain_type, "qemu") != 0 &&
	    strcmp(s->domain_type, "test") != 0)
		return ERR("VM '%s': domain_type '%s' is not kvm, qemu or test",
			   n, s->domain_type);
	if (s->n_disks > 64 || (s->n_disks && !s->disks))
		return ERR("VM '%s': %u disks (at most 64, in an array)", n,
			   s->n_disks);
	if (s->n_nics > 32 || (s->n_nics && !s->nics))
		return ERR("VM '%s': %u NICs (at most 32, in an array)", n,
			   s->n_nics);
	for (uint32_t i = 0; i < s->n_disks; i++) {
		char e[512];
		if (lv_disk_check(s->disks[i], e, sizeof e) < 0)
			return ERR("VM '%s': disk %u: %s", n, i, e);
		for (uint32_t j = 0; j < i; j++)
			if (s->disks[i]->target && s->disks[j]->target &&
			    !strcmp(s->disks[i]->target, s->disks[j]->target))
				return ERR("VM '%s': disks %u and %u both on "
					   "target '%s'",
					   n, j, i, s->disks[i]->target);
	}
	for (uint32_t i = 0; i < s->n_nics; i++) {
		char e[512];
		if (lv_nic_check(s->nics[i], e, sizeof e) < 0)
			return ERR("VM '%s': NIC %u: %s", n, i, e);
		for (uint32_t j = 0; j < i; j++)
			if (s->nics[i]->mac && s->nics[j]->mac &&
			    !strcasecmp(s->nics[i]->mac, s->nics[j]->mac))
				return ERR("VM '%s': NICs %u and %u both have "
					   "MAC %s",
					   n, j, i, s->nics[i]->mac);
	}
	return 0;
}
