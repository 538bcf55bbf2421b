/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the address parsers (core/util/cidr.c): what they take,
 * what they refuse and the messages, and the canonical forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/util/cidr.h"

static void test_addresses(void **st)
{
	(void)st;
	char err[256], out[TR_IP4_STRLEN];
	uint32_t ip;
	assert_int_equal(tr_ip4_parse("10.1.1.2", &ip, err, sizeof err), 0);
	assert_int_equal(ip, 0x0a010102u);
	tr_ip4_format(ip, out);
	assert_string_equal(out, "10.1.1.2");
	const char *bad[] = {"", "10.1.1", "10.1.1.256", "010.1.1.1",
			     "10.1.1.1 ", "1.2.3.4.5", "a.b.c.d", "10..1.1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(tr_ip4_parse(bad[i], &ip, err, sizeof err), -1);
	assert_int_equal(tr_ip4_parse("fe80::1", &ip, err, sizeof err), -1);
	assert_non_null(strstr(err, "IPv6 is not supported yet"));
}

static void test_cidrs(void **st)
{
	(void)st;
	char err[256], out[TR_CIDR_STRLEN];
	struct tr_cidr c;
	assert_int_equal(tr_cidr_parse("10.1.1.0/24", &c, err, sizeof err), 0);
	assert_int_equal(c.net, 0x0a010100u);
	assert_int_equal(c.prefix, 24);
	assert_int_equal(tr_cidr_last(&c), 0x0a0101ffu);
	assert_true(tr_cidr_contains(&c, 0x0a010180u));
	assert_false(tr_cidr_contains(&c, 0x0a010200u));
	tr_cidr_format(&c, out);
	assert_string_equal(out, "10.1.1.0/24");
	assert_int_equal(tr_cidr_parse("10.1.1.5/24", &c, err, sizeof err), -1);
	assert_string_equal(err, "'10.1.1.5/24' has host bits set: the block "
				 "is 10.1.1.0/24");
	assert_int_equal(tr_cidr_parse("10.1.1.0/33", &c, err, sizeof err), -1);
	assert_int_equal(tr_cidr_parse("10.1.1.0/024", &c, err, sizeof err), -1);
	assert_int_equal(tr_cidr_parse("10.1.1.0", &c, err, sizeof err), -1);
	assert_int_equal(tr_cidr_parse("0.0.0.0/0", &c, err, sizeof err), 0);
	assert_int_equal(tr_cidr_last(&c), 0xffffffffu);
}

static void test_ranges(void **st)
{
	(void)st;
	char err[256];
	uint32_t a, b;
	assert_int_equal(tr_ip4_range_parse("10.0.0.2-10.0.0.9", &a, &b, err,
					     sizeof err),
			 0);
	assert_int_equal(b - a, 7);
	assert_int_equal(tr_ip4_range_parse("10.0.0.2", &a, &b, err, sizeof err),
			 0);
	assert_int_equal(a, b);
	assert_int_equal(tr_ip4_range_parse("10.0.0.9-10.0.0.2", &a, &b, err,
					     sizeof err),
			 -1);
	assert_non_null(strstr(err, "ends before it starts"));
	assert_true(tr_ip4_ranges_overlap(1, 5, 5, 9));
	assert_false(tr_ip4_ranges_overlap(1, 4, 5, 9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_cidrs),
	    cmocka_unit_test(test_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
