/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stripe.c - image-stripe mode (not built yet): the page says so.
 */
#include "console.h"

const char cp_stripe_page[] =
    "<!doctype html><html><body><p>image-stripe mode: not built yet</p>"
    "</body></html>\n";

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	if (reason == LWS_CALLBACK_HTTP) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols cp_protocol_stripe = {"trellis-stripe", cb, 0, 0,
						 0, NULL, 0};

void cp_stripe_setup(const struct cp_opts *o, struct lws_context *ctx)
{
	(void)o;
	(void)ctx;
}

unsigned cp_stripe_sessions(void)
{
	return 0;
}

void cp_stripe_tick(void)
{
}
