/* SPDX-License-Identifier: Apache-2.0 */
/*
 * domxml.c - domain XML written with xmlTextWriter (reading: domread.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "domxml.h"

/* ---- writing ---- */

/* A writer that remembers its first failure, so the builders below read
 * as the document they write instead of a ladder of checks. */
struct xw {
	xmlBufferPtr buf;
	xmlTextWriterPtr w;
	int failed;
};

static int xw_open(struct xw *x)
{
	x->failed = 0;
	x->buf = xmlBufferCreate();
	x->w = x->buf ? xmlNewTextWriterMemory(x->buf, 0) : NULL;
	if (!x->w) {
		if (x->buf)
			xmlBufferFree(x->buf);
		return -1;
	}
	xmlTextWriterSetIndent(x->w, 1);
	xmlTextWriterSetIndentString(x->w, BAD_CAST "  ");
	return 0;
}

/* Ends the document and hands over its text (NULL after a failure). */
static char *xw_close(struct xw *x)
{
	char *s = NULL;
	if (xmlTextWriterEndDocument(x->w) < 0)
		x->failed = 1;
	xmlFreeTextWriter(x->w);
	if (!x->failed)
		s = strdup((const char *)xmlBufferContent(x->buf));
	/* The buffer may hold a secret (a VNC password). */
	memset(x->buf->content, 0, x->buf->use);
	xmlBufferFree(x->buf);
	return s;
}

static void start(struct xw *x, const char *el)
{
	if (xmlTextWriterStartElement(x->w, BAD_CAST el) < 0)
		x->failed = 1;
}

static void end(struct xw *x)
{
	if (xmlTextWriterEndElement(x->w) < 0)
		x->failed = 1;
}

static void attr(struct xw *x, const char *name, const char *val)
{
	if (xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST val) < 0)
		x->failed = 1;
}

static void attrf(struct xw *x, const char *name, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);
static void attrf(struct xw *x, const char *name, const char *fmt, ...)
{
	char v[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	attr(x, name, v);
}

static void text_el(struct xw *x, const char *el, const char *text)
{
	if (xmlTextWriterWriteElement(x->w, BAD_CAST el, BAD_CAST text) < 0)
		x->failed = 1;
}

static void u64_el(struct xw *x, const char *el, unsigned long long v)
{
	char s[32];
	snprintf(s, sizeof s, "%llu", v);
	text_el(x, el, s);
}

/* An element with one attribute and nothing inside: <source file='..'/>. */
static void empty1(struct xw *x, const char *el, const char *a, const char *v)
{
	start(x, el);
	attr(x, a, v);
	end(x);
}

static const char *bus_name(uint32_t bus)
{
	switch (bus) {
	case TRELLIS_DISK_BUS_SATA:
		return "sata";
	case TRELLIS_DISK_BUS_IDE:
		return "ide";
	case TRELLIS_DISK_BUS_SCSI:
		return "scsi";
	default:
		return "virtio";
	}
}

static void write_disk(struct xw *x, const trellis_disk_spec_t *d,
		       const char *target)
{
	int block = strncmp(d->path, "/dev/", 5) == 0;
	start(x, "disk");
	attr(x, "type", block ? "block" : "file");
	attr(x, "device", "disk");
	start(x, "driver");
	attr(x, "name", "qemu");
	attr(x, "type", d->format ? d->format : "raw");
	end(x);
	empty1(x, "source", block ? "dev" : "file", d->path);
	start(x, "target");
	attr(x, "dev", target);
	attr(x, "bus", bus_name(d->bus));
	end(x);
	if (d->read_iops_sec || d->write_iops_sec || d->read_bytes_sec ||
	    d->write_bytes_sec) {
		start(x, "iotune");
		if (d->read_bytes_sec)
			u64_el(x, "read_bytes_sec", d->read_bytes_sec);
		if (d->write_bytes_sec)
			u64_el(x, "write_bytes_sec", d->write_bytes_sec);
		if (d->read_iops_sec)
			u64_el(x, "read_iops_sec", d->read_iops_sec);
		if (d->write_iops_sec)
			u64_el(x, "write_iops_sec", d->write_iops_sec);
		end(x);
	}
	if (d->disk_flags & TRELLIS_DISK_READONLY) {
		start(x, "readonly");
		end(x);
	}
	end(x);
}

static void write_nic(struct xw *x, const trellis_nic_spec_t *n,
		      const char *mac)
{
	start(x, "interface");
	if (n->bridge) {
		attr(x, "type", "bridge");
		empty1(x, "source", "bridge", n->bridge);
	} else {
		/* An existing tap made by the network plugin's port:
		 * libvirt must neither create nor delete it. */
		attr(x, "type", "ethernet");
		start(x, "target");
		attr(x, "dev", n->ifname);
		attr(x, "managed", "no");
		end(x);
	}
	if (mac)
		empty1(x, "mac", "address", mac);
	empty1(x, "model", "type", n->model ? n->model : "virtio");
	if (n->inbound_kbps || n->outbound_kbps) {
		start(x, "bandwidth");
		if (n->inbound_kbps) {
			start(x, "inbound");
			attrf(x, "average", "%llu",
			      (unsigned long long)n->inbound_kbps);
			end(x);
		}
		if (n->outbound_kbps) {
			start(x, "outbound");
			attrf(x, "average", "%llu",
			      (unsigned long long)n->outbound_kbps);
			end(x);
		}
		end(x);
	}
	end(x);
}

int lv_xml_domain(const trellis_vm_spec_t *s, const char *domain_type,
		  const char *const *targets, const char *key,
		  const char *vnc_lock, char **xml, char *err, size_t errlen)
{
	struct xw x;
	*xml = NULL;
	if (xw_open(&x) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	start(&x, "domain");
	attr(&x, "type", domain_type);
	text_el(&x, "name", s->name);
	if (s->uuid)
		text_el(&x, "uuid", s->uuid);
	if (key) {
		start(&x, "metadata");
		if (xmlTextWriterStartElementNS(x.w, BAD_CAST LV_META_PREFIX,
						BAD_CAST "vm",
						BAD_CAST LV_META_NS) < 0 ||
		    xmlTextWriterWriteElementNS(x.w, BAD_CAST LV_META_PREFIX,
						BAD_CAST "key", NULL,
						BAD_CAST key) < 0)
			x.failed = 1;
		end(&x);
		end(&x);
	}
	char n[32];
	start(&x, "memory");
	attr(&x, "unit", "MiB");
	snprintf(n, sizeof n, "%llu", (unsigned long long)s->memory_mib);
	if (xmlTextWriterWriteString(x.w, BAD_CAST n) < 0)
		x.failed = 1;
	end(&x);
	start(&x, "vcpu");
	attr(&x, "placement", "static");
	snprintf(n, sizeof n, "%u", s->vcpus);
	if (xmlTextWriterWriteString(x.w, BAD_CAST n) < 0)
		x.failed = 1;
	end(&x);

	/* cpu_shares is a 1.1 field: present only when the core's spec is
	 * that large. */
	if (s->struct_size >= offsetof(trellis_vm_spec_t, cpu_shares) +
				  sizeof s->cpu_shares &&
	    s->cpu_shares) {
		start(&x, "cputune");
		snprintf(n, sizeof n, "%u", s->cpu_shares);
		text_el(&x, "shares", n);
		end(&x);
	}
	start(&x, "os");
	text_el(&x, "type", "hvm");
	if (s->kernel) {
		text_el(&x, "kernel", s->kernel);
		if (s->initrd)
			text_el(&x, "initrd", s->initrd);
		if (s->cmdline)
			text_el(&x, "cmdline", s->cmdline);
	} else {
		empty1(&x, "boot", "dev", "hd");
	}
	end(&x);
	start(&x, "features");
	start(&x, "acpi");
	end(&x);
	start(&x, "apic");
	end(&x);
	end(&x);
	empty1(&x, "clock", "offset", "utc");
	text_el(&x, "on_poweroff", "destroy");
	text_el(&x, "on_reboot", "restart");
	text_el(&x, "on_crash", "destroy");

	start(&x, "devices");
	for (uint32_t i = 0; i < s->n_disks; i++)
		write_disk(&x, s->disks[i], targets[i]);
	for (uint32_t i = 0; i < s->n_nics; i++)
		write_nic(&x, s->nics[i], s->nics[i]->mac);
	/* A pty serial port keeps `virsh console` working; <log> makes
	 * virtlogd (running as root) copy it to the file, so the file's
	 * directory need not be writable by the QEMU user. */
	start(&x, "serial");
	attr(&x, "type", "pty");
	if (s->serial_log) {
		start(&x, "log");
		attr(&x, "file", s->serial_log);
		attr(&x, "append", "off");
		end(&x);
	}
	empty1(&x, "target", "port", "0");
	end(&x);
	/* The guest agent's virtio-serial port: the guest-account ops
	 * (set password, lock, end sessions) reach the guest through it.
	 * libvirt picks the socket's path. */
	start(&x, "channel");
	attr(&x, "type", "unix");
	start(&x, "target");
	attr(&x, "type", "virtio");
	attr(&x, "name", "org.qemu.guest_agent.0");
	end(&x);
	end(&x);
	if (s->console == TRELLIS_CONSOLE_VNC) {
		const char *listen =
		    s->console_listen ? s->console_listen : "127.0.0.1";
		start(&x, "graphics");
		attr(&x, "type", "vnc");
		attr(&x, "port", "-1");
		attr(&x, "autoport", "yes");
		if (vnc_lock) {
			attr(&x, "passwd", vnc_lock);
			attr(&x, "passwdValidTo", LV_VNC_LOCKED_UNTIL);
		}
		start(&x, "listen");
		attr(&x, "type", "address");
		attr(&x, "address", listen);
		end(&x);
		end(&x);
	}
	end(&x); /* devices */
	end(&x); /* domain */
	char *doc = xw_close(&x);
	if (!doc) {
		snprintf(err, errlen, "VM '%s': could not write domain XML",
			 s->name);
		return -1;
	}
	*xml = doc;
	return 0;
}

int lv_xml_disk(const trellis_disk_spec_t *d, const char *target, char **xml)
{
	struct xw x;
	if (xw_open(&x) < 0)
		return -1;
	write_disk(&x, d, target);
	*xml = xw_close(&x);
	return *xml ? 0 : -1;
}

int lv_xml_nic(const trellis_nic_spec_t *n, const char *mac, char **xml)
{
	struct xw x;
	if (xw_open(&x) < 0)
		return -1;
	write_nic(&x, n, mac);
	*xml = xw_close(&x);
	return *xml ? 0 : -1;
}
