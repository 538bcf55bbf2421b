/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the workflow loader: YAML parsing into node trees,
 * validation, expressions, dot and JSON output.  Built only by
 * `scons mode=fuzz` (or `scons fuzz`) into BUILD/tests/fuzz/workflow_load.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../../core/workflow/expr.h"
#include "../../../core/workflow/wf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every reference resolves to one string: enough to drive evaluation. */
static json_t *any_value(void *arg, const struct tr_ref *ref, char *err,
			 size_t errlen)
{
	(void)ref;
	(void)err;
	(void)errlen;
	return arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		tr_actions_init();
		ready = 1;
	}
	struct tr_wf *wf;
	struct tr_wf_errors errs;
	if (tr_wf_load_string("fuzz.yaml", (const char *)data, size, &wf,
			      &errs) == 0) {
		char *dot = tr_wf_dot(wf);
		free(dot);
		json_decref(tr_wf_json(wf));
		json_t *bound;
		char err[256];
		json_t *none = json_object();
		if (tr_wf_inputs_bind(wf, none, &bound, err, sizeof err) == 0)
			json_decref(bound);
		json_decref(none);
		json_t *val = json_string("v");
		for (size_t k = 0; k < wf->n_steps; k++) {
			int truth;
			if (wf->steps[k].when)
				tr_expr_when(wf->steps[k].when, any_value, val,
					     &truth, err, sizeof err);
			json_decref(tr_expr_eval(wf->steps[k].with, any_value,
						 val, err, sizeof err));
		}
		json_decref(val);
		tr_wf_free(wf);
	}
	tr_wf_errors_free(&errs);
	return 0;
}
