/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bmc.c - the fences that power a failed host off through its BMC (core/ha
 * runs the one ha.fence_action names; fence.c has fence.script):
 *
 *   fence.redfish   libcurl: GET the ComputerSystem (url + system, or the
 *                   first member of /redfish/v1/Systems), POST its
 *                   #ComputerSystem.Reset target {"ResetType": "ForceOff"},
 *                   then GET it every 500 ms until PowerState is "Off".
 *   fence.ipmitool  Debian's ipmitool: `chassis power off`, then `chassis
 *                   power status` until "off".
 *
 * Both succeed only once the BMC says the power is off (already off:
 * success too, nothing sent); an answer that is not 2xx, a BMC that does
 * not answer, or a power that stays on until the timeout is a failure,
 * and then core/ha restarts nothing.
 *
 * The BMC's address is a template (ha.bmc.url, with {host} {uri}
 * {hostname}), and so is its credential's name (ha.bmc.credentials: a
 * secret of the secret store, secrets_dir, holding "USER:PASSWORD", mode
 * 0600).  The password goes to libcurl (Basic auth over the connection,
 * verified TLS unless ha.bmc.insecure) or to ipmitool in a 0600 file (-f),
 * never on a command line, and is wiped after; no message, log line or
 * result carries it.  On a worker (they block).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../config/config.h"
#include "../host/exec.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "action.h"
#include "bmc.h"

#define S(o, k) json_string_value(json_object_get((o), (k)))
#define BODY_MAX (1024 * 1024)
#define POLL_MS 500

/* ---- shared ---- */

void tr_fence_expand(json_t *args, const char *tmpl, char *out, size_t outlen)
{
	static const char *const keys[] = {"host", "uri", "hostname"};
	size_t o = 0;
	if (!outlen)
		return;
	while (tmpl && *tmpl && o + 1 < outlen) {
		int done = 0;
		for (size_t k = 0; k < 3 && !done; k++) {
			char pat[16];
			snprintf(pat, sizeof pat, "{%s}", keys[k]);
			size_t pl = strlen(pat);
			if (!strncmp(tmpl, pat, pl)) {
				const char *val = S(args, keys[k]);
				o += (size_t)snprintf(out + o, outlen - o, "%s",
						      val ? val : "");
				if (o >= outlen)
					o = outlen - 1;
				tmpl += pl;
				done = 1;
			}
		}
		if (!done)
			out[o++] = *tmpl++;
	}
	out[o] = '\0';
}

int tr_bmc_cred_split(const char *secret, char *user, size_t userlen,
		      char *pass, size_t passlen)
{
	const char *colon = secret ? strchr(secret, ':') : NULL;
	if (!colon || colon == secret || (size_t)(colon - secret) >= userlen ||
	    strlen(colon + 1) >= passlen)
		return -1;
	memcpy(user, secret, (size_t)(colon - secret));
	user[colon - secret] = '\0';
	snprintf(pass, passlen, "%s", colon + 1);
	return 0;
}

struct cred {
	char user[256];
	char pass[512];
};

static void cred_wipe(struct cred *c)
{
	explicit_bzero(c, sizeof *c);
}

/* The credential args[credentials] names, from the secret store. */
static int cred_get(const struct tr_action_env *env, json_t *args,
		    struct cred *c, const char *what, trellis_call_t *call)
{
	char name[256];
	memset(c, 0, sizeof *c);
	tr_fence_expand(args, S(args, "credentials"), name, sizeof name);
	const struct tr_config *cfg =
	    env && env->daemon ? env->daemon->config : NULL;
	if (!cfg || !cfg->secrets_dir)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "%s: no secret store (secrets_dir)", what);
	char *secret = NULL;
	int rc = tr_secrets_get(cfg->secrets_dir, name, &secret);
	if (rc)
		return tr_call_set(call, rc,
				   "%s: secret '%s' of host %s: %s (a 0600 file "
				   "USER:PASSWORD in secrets_dir)",
				   what, name, S(args, "host"),
				   trellis_error_name(rc));
	int bad = tr_bmc_cred_split(secret, c->user, sizeof c->user, c->pass,
				    sizeof c->pass);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if (bad) {
		cred_wipe(c);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: secret '%s' is not USER:PASSWORD", what,
				   name);
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned timeout_of(json_t *args, unsigned dflt)
{
	json_t *t = json_object_get(args, "timeout");
	return t && json_integer_value(t) > 0 ? (unsigned)json_integer_value(t)
					      : dflt;
}

static json_t *fenced_result(json_t *args, const char *how, int was_off)
{
	return json_pack("{s:s, s:b, s:s, s:b}", "host", S(args, "host"),
			 "fenced", 1, "how", how, "already_off", was_off);
}

/* ---- Redfish answers ---- */

int tr_redfish_system_parse(const char *body, size_t len, char *power,
			    size_t powerlen, char *reset, size_t resetlen,
			    char *err, size_t errlen)
{
	json_error_t je;
	power[0] = reset[0] = '\0';
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object%s%.100s",
			 o ? "" : ": ", o ? "" : je.text);
		json_decref(o);
		return -1;
	}
	const char *p = S(o, "PowerState");
	if (p)
		snprintf(power, powerlen, "%s", p);
	json_t *act = json_object_get(json_object_get(o, "Actions"),
				      "#ComputerSystem.Reset");
	const char *t = S(act, "target");
	if (t && t[0] == '/')
		snprintf(reset, resetlen, "%s", t);
	json_decref(o);
	return 0;
}

int tr_redfish_first_member(const char *body, size_t len, char *out,
			    size_t outlen, char *err, size_t errlen)
{
	json_error_t je;
	out[0] = '\0';
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	json_t *m = json_array_get(json_object_get(o, "Members"), 0);
	const char *id = S(m, "@odata.id");
	int rc = 0;
	if (!id || id[0] != '/' || strlen(id) >= outlen) {
		snprintf(err, errlen, "no system in the Systems collection");
		rc = -1;
	} else {
		snprintf(out, outlen, "%s", id);
	}
	json_decref(o);
	return rc;
}

/* ---- Redfish over libcurl ---- */

struct rf {
	CURL *c;
	char base[1024];
	struct cred cred;
	const char *ca;
	int insecure;
	long long deadline;
	char *body;
	size_t n;
	int over;
};

static size_t rf_write(char *p, size_t sz, size_t nm, void *opaque)
{
	struct rf *r = opaque;
	size_t n = sz * nm;
	if (r->n + n > BODY_MAX) {
		r->over = 1;
		return 0;
	}
	r->body = tr_xrealloc(r->body, r->n + n + 1);
	memcpy(r->body + r->n, p, n);
	r->n += n;
	r->body[r->n] = '\0';
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* One request; *status the HTTP status (0: none).  The body is r->body. */
static int rf_req(struct rf *r, const char *method, const char *path,
		  const char *json, long *status, trellis_call_t *call)
{
	char url[2048];
	snprintf(url, sizeof url, "%s%s", r->base, path);
	free(r->body);
	r->body = NULL;
	r->n = 0;
	r->over = 0;
	*status = 0;
	long long left = r->deadline - now_ms();
	if (left < 100)
		left = 100;
	CURL *c = r->c;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(left < 5000 ? left : 5000));
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERNAME, r->cred.user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, r->cred.pass);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (r->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->ca);
	if (r->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
	hdr = curl_slist_append(hdr, "OData-Version: 4.0");
	if (json) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && r->over))
		return tr_call_set(call,
				   cc == CURLE_OPERATION_TIMEDOUT
				       ? TRELLIS_E_TIMEOUT
				       : TRELLIS_E_UNAVAILABLE,
				   "fence.redfish: %s %s: %s", method, url,
				   curl_easy_strerror(cc));
	if (r->over)
		return tr_call_set(call, TRELLIS_E_BACKEND,
				   "fence.redfish: %s %s: answer over %d bytes",
				   method, url, BODY_MAX);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* A Redfish error's message (error.message or its first extended info). */
static void rf_why(const struct rf *r, char *out, size_t outlen)
{
	json_t *o = r->body ? json_loadb(r->body, r->n, 0, NULL) : NULL;
	json_t *e = json_object_get(o, "error");
	const char *m = S(json_array_get(json_object_get(e, "@Message.ExtendedInfo"), 0),
			  "Message");
	if (!m)
		m = S(e, "message");
	snprintf(out, outlen, "%.300s", m ? m : "");
	json_decref(o);
}

static int rf_fail(struct rf *r, long status, const char *what,
		   trellis_call_t *call)
{
	char why[320];
	rf_why(r, why, sizeof why);
	return tr_call_set(call,
			   status == 401 || status == 403 ? TRELLIS_E_PERMISSION
			   : status == 404		  ? TRELLIS_E_NOTFOUND
							  : TRELLIS_E_BACKEND,
			   "fence.redfish: %s: HTTP %ld%s%s", what, status,
			   why[0] ? ": " : "", why);
}

/* GET the system: its power state and reset target. */
static int rf_system(struct rf *r, const char *sys, char *power, size_t plen,
		     char *reset, size_t rlen, trellis_call_t *call)
{
	long st;
	char err[200];
	int rc = rf_req(r, "GET", sys, NULL, &st, call);
	if (rc)
		return rc;
	if (st / 100 != 2)
		return rf_fail(r, st, sys, call);
	if (tr_redfish_system_parse(r->body ? r->body : "", r->n, power, plen,
				    reset, rlen, err, sizeof err))
		return tr_call_set(call, TRELLIS_E_BACKEND,
				   "fence.redfish: %s: %s", sys, err);
	return 0;
}

static int run_fence_redfish(const struct tr_action_env *env, json_t *args,
			     json_t **result, trellis_call_t *call)
{
	struct rf r = {0};
	char sys[512], power[32], reset[600], err[200];
	int rc, was_off = 0;
	unsigned timeout = timeout_of(args, 60000);
	tr_fence_expand(args, S(args, "url"), r.base, sizeof r.base);
	size_t bl = strlen(r.base);
	while (bl && r.base[bl - 1] == '/')
		r.base[--bl] = '\0';
	if (strncmp(r.base, "https://", 8) && strncmp(r.base, "http://", 7))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "fence.redfish: url '%s' is not http(s)://",
				   r.base);
	if ((rc = cred_get(env, args, &r.cred, "fence.redfish", call)))
		return rc;
	r.ca = S(args, "ca");
	r.insecure = json_is_true(json_object_get(args, "insecure"));
	r.deadline = now_ms() + timeout;
	pthread_once(&curl_once, curl_init);
	r.c = curl_easy_init();
	if (!r.c) {
		cred_wipe(&r.cred);
		return tr_call_set(call, TRELLIS_E_NOMEM,
				   "fence.redfish: no curl handle");
	}
	/* The system: as configured, or the collection's first. */
	if (S(args, "system") && S(args, "system")[0]) {
		tr_fence_expand(args, S(args, "system"), sys, sizeof sys);
	} else {
		long st;
		rc = rf_req(&r, "GET", "/redfish/v1/Systems", NULL, &st, call);
		if (!rc && st / 100 != 2)
			rc = rf_fail(&r, st, "/redfish/v1/Systems", call);
		if (!rc && tr_redfish_first_member(r.body ? r.body : "", r.n, sys,
						   sizeof sys, err, sizeof err))
			rc = tr_call_set(call, TRELLIS_E_BACKEND,
					 "fence.redfish: %s", err);
		if (rc)
			goto out;
	}
	if ((rc = rf_system(&r, sys, power, sizeof power, reset, sizeof reset,
			    call)))
		goto out;
	if (!strcmp(power, "Off")) {
		was_off = 1;
		goto done;
	}
	if (!reset[0])
		snprintf(reset, sizeof reset,
			 "%s/Actions/ComputerSystem.Reset", sys);
	long st;
	if ((rc = rf_req(&r, "POST", reset, "{\"ResetType\": \"ForceOff\"}", &st,
			 call)))
		goto out;
	if (st / 100 != 2) {
		rc = rf_fail(&r, st, "ForceOff", call);
		goto out;
	}
	for (;;) {
		if ((rc = rf_system(&r, sys, power, sizeof power, reset,
				    sizeof reset, call)))
			goto out;
		if (!strcmp(power, "Off"))
			break;
		if (now_ms() + POLL_MS > r.deadline) {
			rc = tr_call_set(call, TRELLIS_E_TIMEOUT,
					 "fence.redfish: %s%s: PowerState still "
					 "'%s' %u ms after ForceOff",
					 r.base, sys, power, timeout);
			goto out;
		}
		usleep(POLL_MS * 1000);
	}
done:
	*result = fenced_result(args, "redfish", was_off);
out:
	cred_wipe(&r.cred);
	curl_easy_cleanup(r.c);
	free(r.body);
	return rc;
}

/* ---- ipmitool ---- */

int tr_ipmi_power_parse(const char *out)
{
	/* "Chassis Power is on" / "Chassis Power is off" */
	const char *p = out ? strstr(out, "Power is ") : NULL;
	if (!p)
		return -1;
	p += 9;
	if (!strncmp(p, "on", 2))
		return 1;
	if (!strncmp(p, "off", 3))
		return 0;
	return -1;
}

struct ipmi {
	char iface[16], host[256], port[8], pwfile[64];
	const char *user;
};

/* url: lanplus://HOST[:PORT], lan://HOST[:PORT] or HOST (lanplus). */
static int ipmi_target(const char *url, struct ipmi *m)
{
	const char *h = url, *sep = strstr(url, "://");
	snprintf(m->iface, sizeof m->iface, "lanplus");
	if (sep) {
		size_t n = (size_t)(sep - url);
		if (!((n == 7 && !strncmp(url, "lanplus", 7)) ||
		      (n == 3 && !strncmp(url, "lan", 3))))
			return -1;
		snprintf(m->iface, sizeof m->iface, "%.*s", (int)n, url);
		h = sep + 3;
	}
	snprintf(m->host, sizeof m->host, "%.255s", h);
	char *slash = strchr(m->host, '/');
	if (slash)
		*slash = '\0';
	char *colon = strrchr(m->host, ':');
	snprintf(m->port, sizeof m->port, "623");
	if (colon && !strchr(colon, ']')) {
		*colon = '\0';
		snprintf(m->port, sizeof m->port, "%.7s", colon + 1);
	}
	return m->host[0] ? 0 : -1;
}

/* Runs ipmitool CMD... against the BMC; *out its standard output. */
static int ipmi_run(const struct ipmi *m, const char *const *cmd, unsigned ms,
		    char **out, trellis_call_t *call)
{
	const char *argv[24];
	size_t n = 0;
	const char *pre[] = {"ipmitool", "-I", m->iface, "-H", m->host, "-p",
			     m->port, "-U", m->user, "-f", m->pwfile, "-R",
			     "2", "-N", "2"};
	for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
		argv[n++] = pre[i];
	for (size_t i = 0; cmd[i] && n < 23; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	char *err = NULL;
	int status = -1;
	*out = NULL;
	int rc = tr_exec(call, argv, ms, out, &err, &status);
	if (!rc && status != 0) {
		size_t l = err ? strlen(err) : 0;
		while (l && (err[l - 1] == '\n' || err[l - 1] == '\r'))
			err[--l] = '\0';
		rc = tr_call_set(call, TRELLIS_E_BACKEND,
				 "fence.ipmitool: %s:%s: %s %s: exit status %d%s%.300s",
				 m->host, m->port, cmd[0], cmd[1] ? cmd[1] : "",
				 status, l ? ": " : "", l ? err : "");
		free(*out);
		*out = NULL;
	}
	free(err);
	return rc;
}

static int run_fence_ipmitool(const struct tr_action_env *env, json_t *args,
			      json_t **result, trellis_call_t *call)
{
	struct ipmi m = {0};
	struct cred c;
	char url[512], dir[] = "/tmp/trellis-ipmi.XXXXXX";
	int rc, was_off = 0;
	unsigned timeout = timeout_of(args, 60000);
	long long deadline = now_ms() + timeout;
	tr_fence_expand(args, S(args, "url"), url, sizeof url);
	if (ipmi_target(url, &m))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "fence.ipmitool: url '%s' is not "
				   "[lanplus://|lan://]HOST[:PORT]",
				   url);
	if ((rc = cred_get(env, args, &c, "fence.ipmitool", call)))
		return rc;
	m.user = c.user;
	/* The password in a file only this process can read (-f). */
	if (!mkdtemp(dir)) {
		cred_wipe(&c);
		return tr_call_set(call, TRELLIS_E_IO, "fence.ipmitool: %s: %s",
				   dir, strerror(errno));
	}
	snprintf(m.pwfile, sizeof m.pwfile, "%s/pw", dir);
	int fd = open(m.pwfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t pl = strlen(c.pass);
	int wrote = fd >= 0 && write(fd, c.pass, pl) == (ssize_t)pl;
	if (fd >= 0)
		close(fd);
	explicit_bzero(c.pass, sizeof c.pass);
	if (!wrote) {
		rc = tr_call_set(call, TRELLIS_E_IO,
				 "fence.ipmitool: cannot write the password file");
		goto out;
	}
	static const char *const status_cmd[] = {"chassis", "power", "status",
						 NULL};
	static const char *const off_cmd[] = {"chassis", "power", "off", NULL};
	char *out = NULL;
	unsigned step = timeout < 20000 ? timeout : 20000;
	if ((rc = ipmi_run(&m, status_cmd, step, &out, call)))
		goto out;
	int p = tr_ipmi_power_parse(out);
	free(out);
	if (p == 0) {
		was_off = 1;
		goto done;
	}
	if ((rc = ipmi_run(&m, off_cmd, step, &out, call)))
		goto out;
	free(out);
	for (;;) {
		if ((rc = ipmi_run(&m, status_cmd, step, &out, call)))
			goto out;
		p = tr_ipmi_power_parse(out);
		free(out);
		if (p == 0)
			break;
		if (now_ms() + POLL_MS > deadline) {
			rc = tr_call_set(call, TRELLIS_E_TIMEOUT,
					 "fence.ipmitool: %s:%s: power still %s "
					 "%u ms after power off",
					 m.host, m.port, p > 0 ? "on" : "unknown",
					 timeout);
			goto out;
		}
		usleep(POLL_MS * 1000);
	}
done:
	*result = fenced_result(args, "ipmitool", was_off);
out:
	unlink(m.pwfile);
	rmdir(dir);
	cred_wipe(&c);
	return rc;
}

/* ---- the table ---- */

static const struct tr_field bmc_in[] = {
    {"host", TR_T_STRING, 1, "the host to fence"},
    {"uri", TR_T_STRING, 0, "its connect URI, for {uri}"},
    {"hostname", TR_T_STRING, 0, "its hostname, for {hostname}"},
    {"url", TR_T_STRING, 1,
     "its BMC: https://BMC (redfish), [lanplus://]BMC[:PORT] (ipmitool); "
     "{host} {uri} {hostname} replaced"},
    {"system", TR_T_STRING, 0,
     "redfish: the ComputerSystem's path (default: the first of "
     "/redfish/v1/Systems)"},
    {"credentials", TR_T_STRING, 1,
     "the secret (secrets_dir) holding USER:PASSWORD; {host} replaced"},
    {"ca", TR_T_STRING, 0, "redfish: CA certificates of the BMC's TLS"},
    {"insecure", TR_T_BOOL, 0, "redfish: do not verify the BMC's TLS"},
    {"timeout", TR_T_DURATION, 0, "power off within this (60s)"},
    TR_FIELDS_END};
static const struct tr_field bmc_out[] = {
    {"host", TR_T_STRING, 1, "the host"},
    {"fenced", TR_T_BOOL, 1, "true: the BMC says its power is off"},
    {"how", TR_T_STRING, 1, "redfish or ipmitool"},
    {"already_off", TR_T_BOOL, 1, "it was off already (nothing sent)"},
    TR_FIELDS_END};

static const struct tr_action bmc_actions[] = {
    {.name = "fence.redfish",
     .description = "Fence a host through its BMC's Redfish API: "
		    "ComputerSystem.Reset ForceOff, then PowerState Off",
     .input = bmc_in,
     .output = bmc_out,
     .run = run_fence_redfish,
     .flags = TR_ACTION_MUTATES},
    {.name = "fence.ipmitool",
     .description = "Fence a host through its BMC over IPMI (ipmitool): "
		    "chassis power off, then power status off",
     .input = bmc_in,
     .output = bmc_out,
     .run = run_fence_ipmitool,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_bmc(void)
{
	tr_actions_add(bmc_actions, sizeof bmc_actions / sizeof *bmc_actions);
}
