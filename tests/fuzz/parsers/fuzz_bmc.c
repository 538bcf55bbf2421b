/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what a BMC answers the fences of core/actions/bmc.c:
 * a Redfish ComputerSystem and Systems collection (JSON over HTTPS from
 * the BMC), ipmitool's power status output, and the USER:PASSWORD secret.
 * Whatever the bytes, the parsers end, fill their buffers within bounds
 * and NUL-terminated, and a refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/actions/bmc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char power[32], reset[600], err[200], member[512];
	char user[256], pass[512];
	err[0] = '\0';
	if (tr_redfish_system_parse((const char *)data, size, power,
				    sizeof power, reset, sizeof reset, err,
				    sizeof err) == 0) {
		if (strlen(power) >= sizeof power ||
		    strlen(reset) >= sizeof reset ||
		    (reset[0] && reset[0] != '/'))
			abort();
	} else if (!err[0]) {
		abort();
	}
	err[0] = '\0';
	if (tr_redfish_first_member((const char *)data, size, member,
				    sizeof member, err, sizeof err) == 0) {
		if (member[0] != '/')
			abort();
	} else if (!err[0]) {
		abort();
	}
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int p = tr_ipmi_power_parse(s);
	if (p < -1 || p > 1)
		abort();
	if (tr_bmc_cred_split(s, user, sizeof user, pass, sizeof pass) == 0 &&
	    (!user[0] || strchr(user, ':')))
		abort();
	free(s);
	return 0;
}
