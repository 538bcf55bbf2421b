/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pages.c - the pages trellis-console serves itself: /vnc, the noVNC
 * console (noVNC's own RFB module from /novnc/, Debian's novnc package),
 * and /stripe, the image-stripe viewer (stripe.c).  Both take the token
 * (or resume ticket) from the query, drop it from the address bar at
 * once, show how the session ended (the WebSocket close reason, or the
 * long-poll's last answer) and follow a hand-over to another instance.
 * window.trellis exposes the state to tests.
 */
#include <string.h>

#include "console.h"

static const char vnc_page[] =
    "<!doctype html>\n"
    "<html><head><meta charset=\"utf-8\"><title>Trellis console</title>\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<style>body{margin:0;background:#1d1f21;color:#ddd;font:14px "
    "sans-serif}#bar{padding:4px 8px;height:20px}#screen{width:100%;"
    "height:calc(100vh - 28px);overflow:auto}</style></head>\n"
    "<body><div id=\"bar\"><span id=\"status\">connecting</span></div>"
    "<div id=\"screen\"></div>\n"
    "<script type=\"module\">\n"
    "import RFB from '/novnc/core/rfb.js';\n"
    "const q = new URLSearchParams(location.search);\n"
    "const vm = q.get('vm') || '';\n"
    "const kind = q.has('resume') ? 'resume' : 'token';\n"
    "const secret = q.get(kind) || '';\n"
    "history.replaceState(null, '', location.pathname + '?vm=' + "
    "encodeURIComponent(vm));\n"
    "const t = window.trellis = {state: 'connecting', kind, closes: [], "
    "message: ''};\n"
    "function status(s, m) { t.state = s; t.message = m || ''; "
    "document.getElementById('status').textContent = s + (m ? ': ' + m : "
    "''); }\n"
    "const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + "
    "'/ws?vm=' + encodeURIComponent(vm) + '&' + kind + '=' + "
    "encodeURIComponent(secret), ['binary']);\n"
    "ws.binaryType = 'arraybuffer';\n"
    "ws.addEventListener('close', e => {\n"
    "  t.closes.push({code: e.code, reason: e.reason});\n"
    "  if (e.code === 4000 && e.reason.startsWith('resume ')) {\n"
    "    const [, base, ticket] = e.reason.split(' ');\n"
    "    status('moving', base);\n"
    "    location.replace(base + '/vnc?vm=' + encodeURIComponent(vm) + "
    "'&resume=' + encodeURIComponent(ticket));\n"
    "  } else if (e.code === 4001) status('refused', e.reason);\n"
    "  else status('closed', e.reason || 'the connection closed (' + "
    "e.code + ')');\n"
    "});\n"
    "const rfb = new RFB(document.getElementById('screen'), ws, {});\n"
    "rfb.scaleViewport = false;\n"
    "rfb.addEventListener('connect', () => status('connected', vm));\n"
    "rfb.addEventListener('desktopname', e => t.desktop = "
    "e.detail.name);\n"
    "window.rfb = rfb;\n"
    "</script></body></html>\n";

static const char index_page[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
    "<title>Trellis console proxy</title></head><body><p>trellis-console: "
    "open a console with <code>trellis vm console VM</code>.</p></body>"
    "</html>\n";

extern const char cp_stripe_page[];

const char *cp_page(const char *path, const char **type)
{
	*type = "text/html; charset=utf-8";
	if (strcmp(path, "/vnc") == 0)
		return vnc_page;
	if (strcmp(path, "/stripe") == 0)
		return cp_stripe_page;
	if (strcmp(path, "/") == 0)
		return index_page;
	return NULL;
}
