/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest.c - guest accounts through the guest agent (ABI 1.1): set a
 * user's password (virDomainSetUserPassword, the agent's
 * guest-set-user-password, which runs the guest's chpasswd), lock it and
 * end its sessions (guest-exec of /bin/sh with a short script; the user
 * name goes as an argument, never into the script text), and read a
 * guest file from an offset (guest-file-open/seek/read/close: the sshd
 * log that maintenance mode follows).
 *
 * The password is a secret: it travels to libvirt only, and no error
 * message carries it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt-qemu.h>

#include "lv.h"

#define AGENT_TIMEOUT_S 10
#define EXEC_WAIT_MS 10000

/* Replaces the user's hash by "!": no password works any more, and the
 * old one is gone rather than merely prefixed (passwd -l keeps it). */
static const char lock_script[] =
    "f=/etc/shadow; t=/etc/shadow.trellis.$$; umask 077; "
    "awk -F: -v u=\"$1\" 'BEGIN{OFS=\":\"} $1==u {$2=\"!\"; n=1} {print} "
    "END{exit !n}' \"$f\" >\"$t\" && mv \"$t\" \"$f\" || "
    "{ rm -f \"$t\"; exit 3; }";

/* A session is a process of the user's whose stdin is a pty, and its
 * parent, the sshd/dropbear process that serves the connection. */
static const char end_script[] =
    "uid=$(awk -F: -v u=\"$1\" '$1==u {print $3}' /etc/passwd); "
    "[ -n \"$uid\" ] || exit 3; n=0; "
    "for p in /proc/[0-9]*; do "
    "  t=$(readlink \"$p/fd/0\" 2>/dev/null) || continue; "
    "  case $t in /dev/pts/*) ;; *) continue ;; esac; "
    "  u=$(awk '/^Uid:/ {print $2}' \"$p/status\" 2>/dev/null); "
    "  [ \"$u\" = \"$uid\" ] || continue; "
    "  pp=$(awk '/^PPid:/ {print $2}' \"$p/status\"); "
    "  c=$(cat /proc/$pp/comm 2>/dev/null); "
    "  case $c in sshd*|dropbear*) kill -KILL \"$pp\" 2>/dev/null ;; esac; "
    "  kill -KILL \"${p#/proc/}\" 2>/dev/null && n=$((n+1)); "
    "done; echo $n";

static int user_ok(const char *u)
{
	if (!u || !*u || strlen(u) > 32 || *u == '-')
		return 0;
	for (const char *p = u; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      *p == '.'))
			return 0;
	return 1;
}

/* The running domain of uuid, for an agent call. */
static int running(struct lv_conn *c, trellis_call_t *call, const char *op,
		   const char *uuid, const char *user, virDomainPtr *dom)
{
	int rc;
	*dom = NULL;
	if (!user_ok(user))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "%s: '%s' is not a user name", op,
			      user ? user : "");
	if ((rc = lv_lookup(c, call, uuid, dom)) < 0)
		return rc;
	int active = virDomainIsActive(*dom);
	if (active <= 0) {
		rc = active < 0 ? lv_fail(c, call, "%s: VM state", op)
				: lv_err(c, call, TRELLIS_E_CONFLICT,
					 "%s: VM '%s' is not running", op,
					 virDomainGetName(*dom));
		virDomainFree(*dom);
		*dom = NULL;
	}
	return rc;
}

/* The number after key in an agent reply; -1 when absent. */
static long num_after(const char *json, const char *key)
{
	const char *p = json ? strstr(json, key) : NULL;
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes the base64 string after key ("\"out-data\":\"") into out
 * (at most len bytes); the bytes decoded. */
static size_t b64_after(const char *json, const char *key, char *out,
			size_t len)
{
	const char *p = json ? strstr(json, key) : NULL;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, v;
	if (!p)
		return 0;
	for (p += strlen(key); *p && *p != '"' && (v = b64val(*p)) >= 0; p++) {
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < len)
				out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	return n;
}

/* Decodes the base64 of "out-data" into out (truncated, NUL-ended). */
static void out_data(const char *json, char *out, size_t len)
{
	const char *p = json ? strstr(json, "\"out-data\":\"") : NULL;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, v;
	out[0] = 0;
	if (!p)
		return;
	for (p += 12; *p && *p != '"' && (v = b64val(*p)) >= 0; p++) {
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 < len)
				out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = 0;
}

/* Runs /bin/sh -c script sh user in the guest and waits (bounded) for
 * its exit code; stdout (a few bytes) goes to out. */
static int agent_sh(struct lv_conn *c, trellis_call_t *call, virDomainPtr dom,
		    const char *op, const char *script, const char *user,
		    int *code, char *out, size_t outlen)
{
	const char *name = virDomainGetName(dom);
	size_t cap = strlen(script) * 2 + 256;
	char *cmd = malloc(cap), *reply = NULL;
	int rc = 0;
	if (!cmd)
		return lv_err(c, call, TRELLIS_E_NOMEM, "%s: out of memory", op);
	/* The script's own quotes and backslashes, escaped for JSON. */
	size_t n = (size_t)snprintf(cmd, cap,
				    "{\"execute\":\"guest-exec\",\"arguments\":"
				    "{\"path\":\"/bin/sh\",\"capture-output\":"
				    "true,\"arg\":[\"-c\",\"");
	for (const char *s = script; *s && n + 4 < cap; s++) {
		if (*s == '"' || *s == '\\')
			cmd[n++] = '\\';
		cmd[n++] = *s;
	}
	snprintf(cmd + n, cap - n, "\",\"sh\",\"%s\"]}}", user);
	reply = virDomainQemuAgentCommand(dom, cmd, AGENT_TIMEOUT_S, 0);
	free(cmd);
	long pid = num_after(reply, "\"pid\":");
	free(reply);
	if (pid <= 0)
		return lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE,
				  "%s: VM '%s': the guest agent did not run "
				  "the command",
				  op, name);
	char st[128];
	snprintf(st, sizeof st,
		 "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":%ld}}",
		 pid);
	for (int waited = 0;; waited += 100) {
		reply = virDomainQemuAgentCommand(dom, st, AGENT_TIMEOUT_S, 0);
		if (!reply) {
			rc = lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE,
					"%s: VM '%s': guest agent", op, name);
			break;
		}
		if (strstr(reply, "\"exited\":true")) {
			*code = (int)num_after(reply, "\"exitcode\":");
			if (out)
				out_data(reply, out, outlen);
			break;
		}
		free(reply);
		reply = NULL;
		if (waited >= EXEC_WAIT_MS) {
			rc = lv_err(c, call, TRELLIS_E_TIMEOUT,
				    "%s: VM '%s': the command did not end "
				    "within %d ms",
				    op, name, EXEC_WAIT_MS);
			break;
		}
		nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	}
	free(reply);
	return rc;
}

int lv_guest_set_password(void *conn, trellis_call_t *call, const char *uuid,
			  const char *user, const char *password,
			  uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom;
	int rc;
	if ((rc = lv_check_flags(c, call, "guest_set_password", flags, 0)) < 0)
		return rc;
	if (!password || strlen(password) < 8)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "guest_set_password: the password is shorter "
			      "than 8 characters");
	if ((rc = running(c, call, "guest_set_password", uuid, user, &dom)) < 0)
		return rc;
	if (virDomainSetUserPassword(dom, user, password, 0) < 0)
		rc = lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE,
				"guest_set_password: VM '%s': user '%s'",
				virDomainGetName(dom), user);
	virDomainFree(dom);
	return rc;
}

int lv_guest_lock_user(void *conn, trellis_call_t *call, const char *uuid,
		       const char *user, uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom;
	int rc, code = -1;
	if ((rc = lv_check_flags(c, call, "guest_lock_user", flags, 0)) < 0)
		return rc;
	if ((rc = running(c, call, "guest_lock_user", uuid, user, &dom)) < 0)
		return rc;
	rc = agent_sh(c, call, dom, "guest_lock_user", lock_script, user, &code,
		      NULL, 0);
	if (!rc && code != 0)
		rc = lv_err(c, call,
			    code == 3 ? TRELLIS_E_NOTFOUND : TRELLIS_E_BACKEND,
			    "guest_lock_user: VM '%s': user '%s': %s",
			    virDomainGetName(dom), user,
			    code == 3 ? "no such user in /etc/shadow"
				      : "the lock failed");
	virDomainFree(dom);
	return rc;
}

int lv_guest_end_sessions(void *conn, trellis_call_t *call, const char *uuid,
			  const char *user, uint32_t flags, uint32_t *ended)
{
	struct lv_conn *c = conn;
	virDomainPtr dom;
	int rc, code = -1;
	char out[32];
	if ((rc = lv_check_flags(c, call, "guest_end_sessions", flags, 0)) < 0)
		return rc;
	if ((rc = running(c, call, "guest_end_sessions", uuid, user, &dom)) < 0)
		return rc;
	rc = agent_sh(c, call, dom, "guest_end_sessions", end_script, user,
		      &code, out, sizeof out);
	if (!rc && code != 0)
		rc = lv_err(c, call, TRELLIS_E_BACKEND,
			    "guest_end_sessions: VM '%s': user '%s': exit %d",
			    virDomainGetName(dom), user, code);
	if (!rc && ended)
		*ended = (uint32_t)strtoul(out, NULL, 10);
	virDomainFree(dom);
	return rc;
}

/* A path the agent may open: absolute, plain characters (it goes into
 * the agent's JSON unescaped). */
static int path_ok(const char *p)
{
	if (!p || *p != '/' || strlen(p) > 255 || strstr(p, ".."))
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '-' || *p == '.'))
			return 0;
	return 1;
}

/* One agent command; its reply (free()) or NULL. */
static char *agent(virDomainPtr dom, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *agent(virDomainPtr dom, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return virDomainQemuAgentCommand(dom, cmd, AGENT_TIMEOUT_S, 0);
}

int lv_guest_file_read(void *conn, trellis_call_t *call, const char *uuid,
		       const char *path, uint64_t offset, uint32_t flags,
		       char *buf, size_t len, size_t *n, uint64_t *size)
{
	struct lv_conn *c = conn;
	virDomainPtr dom;
	int rc;
	*n = 0;
	*size = 0;
	if ((rc = lv_check_flags(c, call, "guest_file_read", flags, 0)) < 0)
		return rc;
	if (!path_ok(path))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "guest_file_read: '%s' is not an absolute path "
			      "of plain characters",
			      path ? path : "");
	/* running() checks a user name: "root" passes. */
	if ((rc = running(c, call, "guest_file_read", uuid, "root", &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	char *r = agent(dom,
			"{\"execute\":\"guest-file-open\",\"arguments\":"
			"{\"path\":\"%s\",\"mode\":\"r\"}}",
			path);
	long h = num_after(r, "\"return\":");
	free(r);
	if (h < 0) {
		virErrorPtr e = virGetLastError();
		int missing = e && e->message &&
			      strstr(e->message, "No such file");
		rc = missing ? lv_err(c, call, TRELLIS_E_NOTFOUND,
				      "guest_file_read: VM '%s': no file '%s'",
				      name, path)
			     : lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE,
					  "guest_file_read: VM '%s': '%s'",
					  name, path);
		virDomainFree(dom);
		return rc;
	}
	r = agent(dom,
		  "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\""
		  ":%ld,\"offset\":0,\"whence\":\"end\"}}",
		  h);
	long end = num_after(r, "\"position\":");
	free(r);
	if (end < 0) {
		rc = lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE,
				"guest_file_read: VM '%s': '%s': seek", name,
				path);
		goto close;
	}
	*size = (uint64_t)end;
	if (offset >= (uint64_t)end || !len)
		goto close;
	r = agent(dom,
		  "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\""
		  ":%ld,\"offset\":%llu,\"whence\":\"set\"}}",
		  h, (unsigned long long)offset);
	free(r);
	/* The agent reads at most 48 MiB; a log is read in small steps. */
	size_t want = len > 65536 ? 65536 : len;
	r = agent(dom,
		  "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\""
		  ":%ld,\"count\":%zu}}",
		  h, want);
	if (!r) {
		rc = lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE,
				"guest_file_read: VM '%s': '%s': read", name,
				path);
		goto close;
	}
	*n = b64_after(r, "\"buf-b64\":\"", buf, len);
	free(r);
close:
	free(agent(dom,
		   "{\"execute\":\"guest-file-close\",\"arguments\":"
		   "{\"handle\":%ld}}",
		   h));
	virDomainFree(dom);
	return rc;
}
