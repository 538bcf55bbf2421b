/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bmc.h - the fences that talk to a host's BMC (bmc.c: fence.redfish,
 * fence.ipmitool) and what they share with fence.c: the {host} {uri}
 * {hostname} templates, and the parsers of what a BMC answers (kept
 * apart so that tests/fuzz/parsers/fuzz_bmc.c can drive them).
 */
#ifndef TRELLIS_CORE_ACTIONS_BMC_H
#define TRELLIS_CORE_ACTIONS_BMC_H

#include <jansson.h>
#include <stddef.h>

/* tmpl with {host}, {uri} and {hostname} replaced by args' strings (""
 * when missing), into out (cut at outlen). */
void tr_fence_expand(json_t *args, const char *tmpl, char *out, size_t outlen);

/* A Redfish ComputerSystem (its JSON body): its PowerState into power
 * ("On", "Off", "PoweringOn", "PoweringOff", "Paused"; "" when absent)
 * and the target of its #ComputerSystem.Reset action into reset (""
 * when absent).  -1 when body is not a JSON object (err says why). */
int tr_redfish_system_parse(const char *body, size_t len, char *power,
			    size_t powerlen, char *reset, size_t resetlen,
			    char *err, size_t errlen);
/* A Redfish collection (/redfish/v1/Systems): its first member's
 * @odata.id into out.  -1 when there is none (err says why). */
int tr_redfish_first_member(const char *body, size_t len, char *out,
			    size_t outlen, char *err, size_t errlen);
/* ipmitool's `chassis power status` output: 1 on, 0 off, -1 neither. */
int tr_ipmi_power_parse(const char *out);
/* "USER:PASSWORD" into user and pass; -1 when there is no ':' or a part
 * does not fit. */
int tr_bmc_cred_split(const char *secret, char *user, size_t userlen,
		      char *pass, size_t passlen);

#endif
