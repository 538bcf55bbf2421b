/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xen_map.h - the parts of the Xen plugin that need no live hypervisor:
 * Xen domain flags -> Trellis VM states, errno and libxl error codes ->
 * Trellis error codes, connect URI checks, UUID conversions, the version
 * number encoding, and the translation of a Trellis VM spec into a libxl
 * domain configuration.
 *
 * Everything here is pure (no xc/xs/libxl handle), which is what lets the
 * cmocka tests in tests/unit/xen/ cover it on a machine without Xen.  The
 * plugin proper (xen.c) does the calls and uses these to interpret them.
 */
#ifndef TRELLIS_XEN_MAP_H
#define TRELLIS_XEN_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <libxl.h>
#include <xenctrl.h>

#include <trellis/hypervisor.h>

/* The xenstore key (relative to /local/domain/<domid>) that carries the
 * idempotency key of the create that made the domain.  libxl writes it in
 * the same xenstore transaction that creates the domain's directory, so a
 * domain never exists without its key; the guest can read it but not
 * change it (the directory is dom0's, guest read-only). */
#define XEN_IDEM_XS_KEY "trellis/idem-key"

/* Largest vcpu count we accept for a PV guest (Xen's own PV limit is
 * higher, but a spec beyond this is a typo, not a plan). */
#define XEN_MAX_VCPUS 512

/* Trellis state of a domain from its XEN_DOMINF_* flags. */
int xen_state_from_flags(uint32_t flags);

/* Trellis error code for an errno from libxenctrl / libxenstore. */
int xen_code_from_errno(int err);
/* Trellis error code for a libxl ERROR_* return. */
int xen_code_from_libxl(int rc);

/*
 * Checks a connect URI.  Accepted: NULL, "xen:", "xen://", "xen:///",
 * "xen:///system" (the local hypervisor).  A remote host
 * ("xen://host/") is NOTSUP, anything else INVALID_ARG; err gets the
 * reason.  Returns 0 or the code.
 */
int xen_uri_check(const char *uri, char *err, size_t errlen);

/* Parses the 36-character UUID form into a Xen domain handle; 0, or
 * TRELLIS_E_INVALID_ARG. */
int xen_uuid_parse(const char *s, uint8_t out[16]);
/* Formats a Xen domain handle as 36 characters + NUL into out[37+]. */
void xen_uuid_format(const uint8_t h[16], char *out, size_t len);

/* major*1000000 + minor*1000 + micro, from xc_version()'s (major<<16 |
 * minor) and the extra version string (".7", ".7-pre", "-rc"...). */
uint64_t xen_version_encode(int xc_version, const char *extra);

/*
 * Translates spec into cfg (initialised by the caller with
 * libxl_domain_config_init; disposed by the caller in every case).
 * name is the domain name to use (the spec's, or one the plugin made up),
 * uuid the 16-byte handle, idem_key the key to record (may be NULL).
 * Returns 0, or a Trellis code with the reason in err: INVALID_ARG for a
 * malformed spec, NOTSUP for what this plugin does not do on Xen.
 */
int xen_spec_to_config(const trellis_vm_spec_t *spec, const char *name,
		       const uint8_t uuid[16], const char *idem_key,
		       libxl_domain_config *cfg, char *err, size_t errlen);

#endif
