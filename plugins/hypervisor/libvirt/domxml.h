/* SPDX-License-Identifier: Apache-2.0 */
/*
 * domxml.h - libvirt domain XML: written from Trellis specs, read back.
 *
 * Everything here is pure (no connection), so unit tests exercise it
 * directly.  XML is written with libxml2's xmlTextWriter, which escapes
 * every value: a user-provided name, path or kernel command line can never
 * change the document's structure.  Documents are read with libxml2 and
 * compared in C, never by pasting user values into XPath expressions.
 *
 * Specs are checked first (spec.c): lv_spec_check() and friends say what
 * is wrong, naming the field, in err.  The writers assume a checked spec.
 *
 * Returned strings are malloc'd; the caller frees them with free().
 */
#ifndef TRELLIS_LV_DOMXML_H
#define TRELLIS_LV_DOMXML_H

#include <stddef.h>

#include <trellis/hypervisor.h>

/* Our namespace in <metadata>: the idempotency key of the create. */
#define LV_META_NS "https://trellis.dev/xmlns/libvirt/vm/1"
#define LV_META_PREFIX "trellis"

/* spec.c: 0, or -1 with the reason in err. */
int lv_spec_check(const trellis_vm_spec_t *spec, char *err, size_t errlen);
int lv_disk_check(const trellis_disk_spec_t *d, char *err, size_t errlen);
int lv_nic_check(const trellis_nic_spec_t *n, char *err, size_t errlen);
int lv_mac_valid(const char *mac);
int lv_target_valid(const char *target);
/* The default target prefix for a bus: "vd", "sd", "hd". */
const char *lv_bus_prefix(uint32_t bus);
/* A locally administered MAC (52:54:00:xx:xx:xx) derived from key, so a
 * replayed attach finds the NIC it made. */
void lv_mac_from_key(const char *key, char mac[18]);
/* A free target "<prefix><letter(s)>" not in used[0..n). 0 or -1. */
int lv_next_target(const char *prefix, const char *const *used, size_t n,
		   char out[16]);

/*
 * The domain XML for spec.  targets[i] names disk i (filled in by the
 * caller for disks without one); key may be NULL.  A VNC console gets
 * vnc_lock as its password, already expired: QEMU only accepts passwords
 * later (vm_console) on a display that had one from the start, and a
 * console nobody was given credentials for stays locked.  The result then
 * holds that (useless) password; wipe it anyway.  0 or -1 (err set).
 */
#define LV_VNC_LOCKED_UNTIL "2000-01-01T00:00:00"
int lv_xml_domain(const trellis_vm_spec_t *spec, const char *domain_type,
		  const char *const *targets, const char *key,
		  const char *vnc_lock, char **xml, char *err, size_t errlen);
int lv_xml_disk(const trellis_disk_spec_t *d, const char *target, char **xml);
int lv_xml_nic(const trellis_nic_spec_t *n, const char *mac, char **xml);

/* Reading. */
/* Evaluates an XPath expression as a string ("string(/a/b)", "count(//x)");
 * out is "" when absent.  0, or -1 when xml does not parse. */
int lv_xml_xpath_str(const char *xml, const char *expr, char *out, size_t len);
/* The idempotency key inside our <metadata> element (as returned by
 * virDomainGetMetadata); "" when absent. */
int lv_xml_meta_key(const char *meta, char *out, size_t len);
/* Targets of every <disk> in a domain XML: *targets is a malloc'd array of
 * malloc'd strings (free with lv_strv_free). */
int lv_xml_disk_targets(const char *domxml, char ***targets, size_t *n);
void lv_strv_free(char **v, size_t n);
/* The <disk> whose target is target, or <interface> whose MAC is mac, as
 * XML (*out NULL when there is none).  For disks, *source gets the source
 * path ("" when none) when source is not NULL. 0 or -1. */
int lv_xml_find_disk(const char *domxml, const char *target, char **out,
		     char *source, size_t srclen);
int lv_xml_find_nic(const char *domxml, const char *mac, char **out);
/* The target of the <disk> whose source is path, into target; 1 when
 * found, 0 when not, -1 on a parse error. */
int lv_xml_disk_by_source(const char *domxml, const char *path, char *target,
			  size_t len);
/*
 * The first VNC <graphics> of a live domain XML, with passwd and
 * passwdValidTo set, for virDomainUpdateDeviceFlags.  Also returns its
 * port and listen address.  1 when found, 0 when there is no VNC
 * graphics, -1 on a parse error.  The result holds a secret: wipe it.
 */
int lv_xml_vnc_passwd(const char *domxml, const char *passwd,
		      const char *valid_to, char **out, int *port, char *listen,
		      size_t listenlen);

#endif
