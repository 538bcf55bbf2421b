/* SPDX-License-Identifier: Apache-2.0 */
/*
 * assert_rc.h - assert_rc() for cmocka tests that call plugins through
 * core/dispatch: an assert_int_equal on a TRELLIS_E_* code that, when it
 * fails, shows both codes by name and the plugin's message.  The fixture
 * f must have a trellis_call_t named call.
 */
#ifndef TRELLIS_TESTS_ASSERT_RC_H
#define TRELLIS_TESTS_ASSERT_RC_H

#include <trellis/error.h>

#define assert_rc(f, expr, want)                                               \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != (want))                                             \
			fail_msg("%s: got %s, want %s: %s", #expr,             \
				 trellis_error_name(rc_),                      \
				 trellis_error_name(want), (f)->call.message); \
	} while (0)

#endif
