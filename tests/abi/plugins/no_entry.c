/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: no entry symbol (a shared object that is not a plugin). */
#include <trellis/plugin.h>

TRELLIS_EXPORT int not_a_trellis_plugin(void);
TRELLIS_EXPORT int not_a_trellis_plugin(void) { return 42; }
