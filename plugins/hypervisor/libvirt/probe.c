/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c - which domain type a host gets: "kvm" where KVM really boots a
 * Linux kernel, "qemu" (TCG) otherwise, "test" on libvirt's test driver.
 *
 * /dev/kvm and firmware that runs are not enough: on some machines a Linux
 * kernel hangs at its entry under KVM and boots in seconds under TCG.  So
 * the probe boots a kernel under KVM for a moment, paused first so that no
 * console output is lost, and watches the serial console (a libvirt
 * stream, which works for remote hosts too) for the kernel's banner.
 *
 * The answer is cached per host, in memory and in a small file
 * (probe_cache, default /var/cache/trellis/libvirt-domain-type), keyed by
 * the host's UUID, the hypervisor version and the probe kernel, so a probe
 * is paid once per host and not on every connect.  Config can skip it:
 * domain_type: kvm|qemu (plugin-wide or per host).
 *
 * Config keys: domain_type, probe_kernel (default /boot/vmlinuz-$(uname
 * -r) or /boot/vmlinuz), probe_timeout_ms (default 5000), probe_cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "domxml.h"
#include "lv.h"

#define PROBE_MARKER "Linux version"
#define DEFAULT_CACHE "/var/cache/trellis/libvirt-domain-type"

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

/* In-memory cache: a few hosts per daemon at most, so a short list. */
struct mem_entry {
	char key[512];
	char type[16];
};
static struct mem_entry mem[64];
static size_t n_mem;

static int mem_get(const char *key, char *out, size_t len)
{
	for (size_t i = 0; i < n_mem; i++)
		if (strcmp(mem[i].key, key) == 0) {
			snprintf(out, len, "%s", mem[i].type);
			return 1;
		}
	return 0;
}

static void mem_put(const char *key, const char *type)
{
	size_t i = n_mem < sizeof mem / sizeof *mem ? n_mem++ : 0;
	snprintf(mem[i].key, sizeof mem[i].key, "%s", key);
	snprintf(mem[i].type, sizeof mem[i].type, "%s", type);
}

/* The cache file: one "key<TAB>type" line per host. */
static int file_get(const char *path, const char *key, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[640];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = 0;
		tab[strcspn(tab + 1, "\n") + 1] = 0;
		if (strcmp(line, key) == 0 &&
		    (!strcmp(tab + 1, "kvm") || !strcmp(tab + 1, "qemu"))) {
			snprintf(out, len, "%s", tab + 1);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static void mkdirs(const char *path)
{
	char d[4096];
	snprintf(d, sizeof d, "%s", path);
	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(d, 0755);
		*p = '/';
	}
}

/* Appends; the last line for a key wins on reading.  Best effort: a
 * read-only cache only means the next process probes again. */
static void file_put(struct lv_conn *c, const char *path, const char *key,
		     const char *type)
{
	mkdirs(path);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		c->st->host->log(c->st->self, TRELLIS_LOG_INFO,
				 "probe cache %s not writable: %s", path,
				 strerror(errno));
		return;
	}
	fprintf(f, "%s\t%s\n", key, type);
	fclose(f);
}

static int has_kvm(const char *caps)
{
	char t[16];
	return lv_xml_xpath_str(caps,
				"string(/capabilities/guest[os_type='hvm']"
				"/arch/domain[@type='kvm']/@type)",
				t, sizeof t) == 0 &&
	       strcmp(t, "kvm") == 0;
}

static const char *probe_kernel(struct lv_conn *c,
				const trellis_node_t *options, char *buf,
				size_t len)
{
	const char *k = lv_config_str(c->st, options, "probe_kernel");
	if (k)
		return k;
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(buf, len, "/boot/vmlinuz-%s", u.release);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	if (access("/boot/vmlinuz", R_OK) == 0)
		return "/boot/vmlinuz";
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads the console until the marker shows or the deadline passes. */
static int watch_console(virStreamPtr s, long long deadline)
{
	char win[4096 + 64];
	size_t have = 0;
	while (now_ms() < deadline) {
		char buf[4096];
		int n = virStreamRecv(s, buf, sizeof buf);
		if (n == -2) {
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		if (n <= 0)
			return 0;
		/* Keep a tail so a marker split across reads still shows. */
		size_t keep = have > 63 ? 63 : have;
		memmove(win, win + have - keep, keep);
		memcpy(win + keep, buf, (size_t)n);
		have = keep + (size_t)n;
		win[have] = 0;
		if (memmem(win, have, PROBE_MARKER, strlen(PROBE_MARKER)))
			return 1;
	}
	return 0;
}

/* 1 when a kernel printed its banner in a domain of type, 0 when not. */
static int boot_banner(struct lv_conn *c, const char *type, const char *kernel,
		       long long timeout_ms, char *why, size_t whylen)
{
	static atomic_int seq;
	char name[64], err[256];
	char *xml = NULL;
	virDomainPtr dom = NULL;
	virStreamPtr s = NULL;
	int ok = 0;

	snprintf(name, sizeof name, "trellis-%s-probe-%ld-%d", type,
		 (long)getpid(), atomic_fetch_add(&seq, 1));
	trellis_vm_spec_t spec = {
	    .struct_size = sizeof spec,
	    .name = name,
	    .vcpus = 1,
	    .memory_mib = 128,
	    .kernel = kernel,
	    .cmdline = "console=ttyS0 earlyprintk=serial,ttyS0,115200 "
		       "panic=-1 quiet",
	};
	if (lv_xml_domain(&spec, type, NULL, NULL, NULL, &xml, err,
			  sizeof err) < 0) {
		snprintf(why, whylen, "%s", err);
		goto out;
	}
	/* Paused, so the banner cannot pass before the console is open;
	 * auto-destroyed, so it cannot outlive this connection. */
	dom = virDomainCreateXML(c->conn, xml,
				 VIR_DOMAIN_START_PAUSED |
				     VIR_DOMAIN_START_AUTODESTROY);
	if (!dom) {
		virErrorPtr e = virGetLastError();
		snprintf(why, whylen, "a %s domain does not start: %s", type,
			 e && e->message ? e->message : "unknown");
		goto out;
	}
	s = virStreamNew(c->conn, VIR_STREAM_NONBLOCK);
	if (!s ||
	    virDomainOpenConsole(dom, NULL, s, VIR_DOMAIN_CONSOLE_FORCE) < 0) {
		virErrorPtr e = virGetLastError();
		snprintf(why, whylen, "cannot read the probe's console: %s",
			 e && e->message ? e->message : "unknown");
		goto out;
	}
	long long t0 = now_ms();
	if (virDomainResume(dom) < 0) {
		virErrorPtr e = virGetLastError();
		snprintf(why, whylen, "cannot resume the probe: %s",
			 e && e->message ? e->message : "unknown");
		goto out;
	}
	ok = watch_console(s, t0 + timeout_ms);
	if (ok)
		snprintf(why, whylen,
			 "a kernel printed its banner under %s "
			 "in %lld ms",
			 type, now_ms() - t0);
	else
		snprintf(why, whylen,
			 "no kernel banner under %s within %lld ms", type,
			 timeout_ms);
out:
	virResetLastError();
	if (s) {
		if (virStreamAbort(s) < 0)
			virResetLastError();
		virStreamFree(s);
	}
	if (dom) {
		if (virDomainDestroy(dom) < 0)
			virResetLastError();
		virDomainFree(dom);
	}
	free(xml);
	return ok;
}

int lv_probe_domain_type(struct lv_conn *c, trellis_call_t *call,
			 const trellis_node_t *options, char *out, size_t len)
{
	const trellis_host_t *h = c->st->host;
	char key[512], host_uuid[64], kbuf[300], why[512];
	char *caps = NULL;
	unsigned long ver = 0;
	int rc = 0;

	if (strcasecmp(c->hv_type, "test") == 0) {
		snprintf(out, len, "test");
		return 0;
	}
	const char *forced = lv_config_str(c->st, options, "domain_type");
	if (forced) {
		if (strcmp(forced, "kvm") != 0 && strcmp(forced, "qemu") != 0)
			return lv_err(c, call, TRELLIS_E_INVALID_ARG,
				      "config domain_type '%s': want kvm or "
				      "qemu",
				      forced);
		snprintf(out, len, "%s", forced);
		return 0;
	}
	caps = virConnectGetCapabilities(c->conn);
	if (!caps)
		return lv_fail(c, call, "capabilities of %s", c->uri);
	if (!has_kvm(caps)) {
		snprintf(out, len, "qemu");
		h->log(c->st->self, TRELLIS_LOG_NOTICE,
		       "%s: no KVM in the capabilities, domain type qemu",
		       c->uri);
		goto out;
	}
	const char *kernel = probe_kernel(c, options, kbuf, sizeof kbuf);
	if (!kernel) {
		snprintf(out, len, "qemu");
		h->log(c->st->self, TRELLIS_LOG_WARNING,
		       "%s: no kernel to probe KVM with (set plugins.libvirt."
		       "probe_kernel); domain type qemu",
		       c->uri);
		goto out;
	}
	lv_xml_xpath_str(caps, "string(/capabilities/host/uuid)", host_uuid,
			 sizeof host_uuid);
	if (virConnectGetVersion(c->conn, &ver) < 0)
		virResetLastError();
	struct stat sb = {0};
	stat(kernel, &sb);
	snprintf(key, sizeof key, "%s|%s|%lu|%s|%lld|%lld", host_uuid,
		 c->hv_type, ver, kernel, (long long)sb.st_size,
		 (long long)sb.st_mtime);

	const char *cache = lv_config_str(c->st, options, "probe_cache");
	if (!cache)
		cache = DEFAULT_CACHE;
	pthread_mutex_lock(&probe_lock);
	if (mem_get(key, out, len) || file_get(cache, key, out, len)) {
		mem_put(key, out);
		pthread_mutex_unlock(&probe_lock);
		goto out;
	}
	long long timeout =
	    lv_config_int(c->st, options, "probe_timeout_ms", 5000);
	int kvm = boot_banner(c, "kvm", kernel, timeout, why, sizeof why);
	snprintf(out, len, "%s", kvm ? "kvm" : "qemu");
	if (!kvm) {
		/* TCG is the answer either way; booting the kernel under it
		 * tells whether KVM failed or the probe itself did (a bad
		 * probe kernel), which the operator should hear about. */
		char tcg[256];
		int ok =
		    boot_banner(c, "qemu", kernel, timeout, tcg, sizeof tcg);
		size_t l = strlen(why);
		snprintf(why + l, sizeof why - l, "; %s%s", tcg,
			 ok ? "" : " (probe inconclusive: check probe_kernel)");
	}
	mem_put(key, out);
	file_put(c, cache, key, out);
	pthread_mutex_unlock(&probe_lock);
	h->log(c->st->self, TRELLIS_LOG_NOTICE, "%s: domain type %s: %s",
	       c->uri, out, why);
out:
	free(caps);
	return rc;
}
