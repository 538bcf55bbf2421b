/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for what the BMC fences read (core/actions/bmc.c): Redfish
 * ComputerSystem and Systems answers, ipmitool's power status, the
 * USER:PASSWORD secret, and the {host} templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../../core/actions/bmc.h"

static void test_redfish_system(void **st)
{
	(void)st;
	char power[32], reset[600], err[200];
	const char *sys =
	    "{\"@odata.id\": \"/redfish/v1/Systems/1\", \"PowerState\": \"On\","
	    " \"Actions\": {\"#ComputerSystem.Reset\": {\"target\": "
	    "\"/redfish/v1/Systems/1/Actions/ComputerSystem.Reset\"}}}";
	assert_int_equal(tr_redfish_system_parse(sys, strlen(sys), power,
						 sizeof power, reset,
						 sizeof reset, err, sizeof err),
			 0);
	assert_string_equal(power, "On");
	assert_string_equal(reset,
			    "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset");
	/* No action, a target that is not a path: none. */
	const char *bare = "{\"PowerState\": \"Off\", \"Actions\": "
			   "{\"#ComputerSystem.Reset\": {\"target\": "
			   "\"http://elsewhere/\"}}}";
	assert_int_equal(tr_redfish_system_parse(bare, strlen(bare), power,
						 sizeof power, reset,
						 sizeof reset, err, sizeof err),
			 0);
	assert_string_equal(power, "Off");
	assert_string_equal(reset, "");
	assert_int_equal(tr_redfish_system_parse("[1]", 3, power, sizeof power,
						 reset, sizeof reset, err,
						 sizeof err),
			 -1);
	assert_non_null(strstr(err, "not a JSON object"));
	const char *dup = "{\"PowerState\": \"On\", \"PowerState\": \"Off\"}";
	assert_int_equal(tr_redfish_system_parse(dup, strlen(dup), power,
						 sizeof power, reset,
						 sizeof reset, err, sizeof err),
			 -1);
}

static void test_redfish_members(void **st)
{
	(void)st;
	char out[512], err[200];
	const char *c = "{\"Members\": [{\"@odata.id\": \"/redfish/v1/Systems/"
			"System.Embedded.1\"}, {\"@odata.id\": \"/x\"}]}";
	assert_int_equal(tr_redfish_first_member(c, strlen(c), out, sizeof out,
						 err, sizeof err),
			 0);
	assert_string_equal(out, "/redfish/v1/Systems/System.Embedded.1");
	const char *none = "{\"Members\": []}";
	assert_int_equal(tr_redfish_first_member(none, strlen(none), out,
						 sizeof out, err, sizeof err),
			 -1);
	assert_string_equal(err, "no system in the Systems collection");
}

static void test_ipmi_and_secret(void **st)
{
	(void)st;
	assert_int_equal(tr_ipmi_power_parse("Chassis Power is on\n"), 1);
	assert_int_equal(tr_ipmi_power_parse("Chassis Power is off\n"), 0);
	assert_int_equal(tr_ipmi_power_parse("Error: Unable to establish"), -1);
	assert_int_equal(tr_ipmi_power_parse(NULL), -1);
	char u[16], p[16];
	assert_int_equal(tr_bmc_cred_split("admin:pa:ss", u, sizeof u, p,
					   sizeof p),
			 0);
	assert_string_equal(u, "admin");
	assert_string_equal(p, "pa:ss");
	assert_int_equal(tr_bmc_cred_split(":pw", u, sizeof u, p, sizeof p), -1);
	assert_int_equal(tr_bmc_cred_split("nocolon", u, sizeof u, p, sizeof p),
			 -1);
	assert_int_equal(tr_bmc_cred_split("a:0123456789abcdefXX", u, sizeof u,
					   p, sizeof p),
			 -1);
}

static void test_templates(void **st)
{
	(void)st;
	json_t *a = json_pack("{s:s, s:s}", "host", "h1", "hostname", "n1.lab");
	char out[64];
	tr_fence_expand(a, "https://{hostname}-bmc/{host}{uri}", out, sizeof out);
	assert_string_equal(out, "https://n1.lab-bmc/h1");
	tr_fence_expand(a, "bmc-{host}", out, 6);
	assert_string_equal(out, "bmc-h");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redfish_system),
	    cmocka_unit_test(test_redfish_members),
	    cmocka_unit_test(test_ipmi_and_secret),
	    cmocka_unit_test(test_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
