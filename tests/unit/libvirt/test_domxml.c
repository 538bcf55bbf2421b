/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_domxml.c - the libvirt plugin's pure parts: spec checks, domain XML
 * written from specs (escaping, devices, caps, metadata, the locked VNC
 * console) and read back (devices by target, source and MAC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "../../../plugins/hypervisor/libvirt/domxml.h"

/* The string value of an XPath expression over xml ("" when absent). */
static char *xp(const char *xml, const char *expr)
{
	static char buf[4096];
	assert_int_equal(lv_xml_xpath_str(xml, expr, buf, sizeof buf), 0);
	return buf;
}

static double xcount(const char *xml, const char *expr)
{
	char *s = xp(xml, expr);
	return atof(s);
}

static trellis_vm_spec_t base_spec(void)
{
	return (trellis_vm_spec_t){.struct_size = sizeof(trellis_vm_spec_t),
				   .name = "vm1",
				   .vcpus = 2,
				   .memory_mib = 256};
}

static char *domain(const trellis_vm_spec_t *s, const char *const *targets,
		    const char *key, const char *lock)
{
	static char err[256];
	static char *xml;
	xml = NULL;
	if (lv_xml_domain(s, "qemu", targets, key, lock, &xml, err,
			  sizeof err) != 0)
		fail_msg("lv_xml_domain: %s", err);
	return xml;
}

/* Hostile values stay values: they round-trip as text and add nothing to
 * the document's structure. */
static void test_escaping(void **state)
{
	(void)state;
	trellis_vm_spec_t s = base_spec();
	const char *cmd = "console=ttyS0 x='\"</cmdline><devices><hostdev/>"
			  "</devices>&amp;";
	const char *key = "wf-1/step</trellis:key><evil/>&";
	s.kernel = "/tmp/k<&>'\"";
	s.cmdline = cmd;
	char *xml = domain(&s, NULL, key, NULL);
	assert_string_equal(xp(xml, "string(/domain/os/cmdline)"), cmd);
	assert_string_equal(xp(xml, "string(/domain/os/kernel)"), s.kernel);
	assert_int_equal(xcount(xml, "count(//hostdev)"), 0);
	assert_int_equal(xcount(xml, "count(//evil)"), 0);
	assert_int_equal(xcount(xml, "count(/domain/devices)"), 1);
	char meta[600];
	/* the key as virDomainGetMetadata would return our element */
	const char *start = strstr(xml, "<trellis:vm");
	const char *end = strstr(xml, "</trellis:vm>");
	assert_non_null(start);
	assert_non_null(end);
	char *elem = strndup(start, (size_t)(end - start) + 13);
	assert_int_equal(lv_xml_meta_key(elem, meta, sizeof meta), 0);
	assert_string_equal(meta, key);
	free(elem);
	free(xml);
}

static void test_domain_basics(void **state)
{
	(void)state;
	trellis_vm_spec_t s = base_spec();
	s.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
	s.serial_log = "/var/log/trellis/vm1.log";
	char *xml = domain(&s, NULL, NULL, NULL);
	assert_string_equal(xp(xml, "string(/domain/@type)"), "qemu");
	assert_string_equal(xp(xml, "string(/domain/name)"), "vm1");
	assert_string_equal(xp(xml, "string(/domain/uuid)"), s.uuid);
	assert_string_equal(xp(xml, "string(/domain/memory)"), "256");
	assert_string_equal(xp(xml, "string(/domain/memory/@unit)"), "MiB");
	assert_string_equal(xp(xml, "string(/domain/vcpu)"), "2");
	/* no kernel: boot from the first disk */
	assert_string_equal(xp(xml, "string(/domain/os/boot/@dev)"), "hd");
	assert_int_equal(xcount(xml, "count(/domain/metadata)"), 0);
	/* a pty serial port logged by virtlogd */
	assert_string_equal(xp(xml, "string(//serial/@type)"), "pty");
	assert_string_equal(xp(xml, "string(//serial/log/@file)"),
			    s.serial_log);
	assert_int_equal(xcount(xml, "count(//graphics)"), 0);
	free(xml);
}

static void test_devices_and_caps(void **state)
{
	(void)state;
	trellis_disk_spec_t d0 = {.struct_size = sizeof d0,
				  .path = "/pool/root.qcow2",
				  .format = "qcow2",
				  .read_iops_sec = 500,
				  .write_bytes_sec = 1048576};
	trellis_disk_spec_t d1 = {.struct_size = sizeof d1,
				  .path = "/dev/vg/data",
				  .bus = TRELLIS_DISK_BUS_SATA,
				  .disk_flags = TRELLIS_DISK_READONLY};
	trellis_nic_spec_t n0 = {.struct_size = sizeof n0,
				 .bridge = "trbr0",
				 .mac = "52:54:00:00:00:01",
				 .inbound_kbps = 2000};
	trellis_nic_spec_t n1 = {.struct_size = sizeof n1, .ifname = "tap7"};
	const trellis_disk_spec_t *dp[] = {&d0, &d1};
	const trellis_nic_spec_t *np[] = {&n0, &n1};
	const char *targets[] = {"vda", "sda"};
	trellis_vm_spec_t s = base_spec();
	s.disks = dp;
	s.n_disks = 2;
	s.nics = np;
	s.n_nics = 2;
	s.console = TRELLIS_CONSOLE_VNC;
	char *xml = domain(&s, targets, NULL, "Abcd2345");

	assert_string_equal(xp(xml, "string(//disk[1]/@type)"), "file");
	assert_string_equal(xp(xml, "string(//disk[1]/source/@file)"), d0.path);
	assert_string_equal(xp(xml, "string(//disk[1]/driver/@type)"), "qcow2");
	assert_string_equal(xp(xml, "string(//disk[1]/target/@bus)"), "virtio");
	assert_string_equal(xp(xml, "string(//disk[1]/iotune/read_iops_sec)"),
			    "500");
	assert_string_equal(xp(xml, "string(//disk[1]/iotune/write_bytes_sec)"),
			    "1048576");
	assert_int_equal(xcount(xml, "count(//disk[1]/iotune/*)"), 2);
	assert_int_equal(xcount(xml, "count(//disk[1]/readonly)"), 0);
	assert_string_equal(xp(xml, "string(//disk[2]/@type)"), "block");
	assert_string_equal(xp(xml, "string(//disk[2]/source/@dev)"), d1.path);
	assert_string_equal(xp(xml, "string(//disk[2]/driver/@type)"), "raw");
	assert_string_equal(xp(xml, "string(//disk[2]/target/@dev)"), "sda");
	assert_string_equal(xp(xml, "string(//disk[2]/target/@bus)"), "sata");
	assert_int_equal(xcount(xml, "count(//disk[2]/readonly)"), 1);
	assert_int_equal(xcount(xml, "count(//disk[2]/iotune)"), 0);

	assert_string_equal(xp(xml, "string(//interface[1]/@type)"), "bridge");
	assert_string_equal(xp(xml, "string(//interface[1]/source/@bridge)"),
			    "trbr0");
	assert_string_equal(xp(xml, "string(//interface[1]/mac/@address)"),
			    n0.mac);
	assert_string_equal(xp(xml, "string(//interface[1]/model/@type)"),
			    "virtio");
	assert_string_equal(
	    xp(xml, "string(//interface[1]/bandwidth/inbound/@average)"),
	    "2000");
	assert_int_equal(xcount(xml, "count(//interface[1]/bandwidth/*)"), 1);
	/* an existing tap: libvirt must neither make nor delete it */
	assert_string_equal(xp(xml, "string(//interface[2]/@type)"),
			    "ethernet");
	assert_string_equal(xp(xml, "string(//interface[2]/target/@dev)"),
			    "tap7");
	assert_string_equal(xp(xml, "string(//interface[2]/target/@managed)"),
			    "no");
	assert_int_equal(xcount(xml, "count(//interface[2]/mac)"), 0);

	/* VNC on localhost, locked by an already expired password */
	assert_string_equal(xp(xml, "string(//graphics/@type)"), "vnc");
	assert_string_equal(xp(xml, "string(//graphics/@autoport)"), "yes");
	assert_string_equal(xp(xml, "string(//graphics/listen/@address)"),
			    "127.0.0.1");
	assert_string_equal(xp(xml, "string(//graphics/@passwd)"), "Abcd2345");
	assert_string_equal(xp(xml, "string(//graphics/@passwdValidTo)"),
			    LV_VNC_LOCKED_UNTIL);

	/* reading back */
	char *found = NULL, src[256], target[16];
	assert_int_equal(lv_xml_find_disk(xml, "sda", &found, src, sizeof src),
			 0);
	assert_non_null(found);
	assert_string_equal(src, d1.path);
	assert_string_equal(xp(found, "string(/disk/target/@dev)"), "sda");
	free(found);
	assert_int_equal(lv_xml_find_disk(xml, "vdz", &found, NULL, 0), 0);
	assert_null(found);
	assert_int_equal(
	    lv_xml_disk_by_source(xml, d0.path, target, sizeof target), 1);
	assert_string_equal(target, "vda");
	assert_int_equal(
	    lv_xml_disk_by_source(xml, "/nope", target, sizeof target), 0);
	assert_int_equal(lv_xml_find_nic(xml, "52:54:00:00:00:01", &found), 0);
	assert_non_null(found);
	assert_string_equal(xp(found, "string(/interface/source/@bridge)"),
			    "trbr0");
	free(found);
	char **t = NULL;
	size_t nt = 0;
	assert_int_equal(lv_xml_disk_targets(xml, &t, &nt), 0);
	assert_int_equal(nt, 2);
	assert_string_equal(t[0], "vda");
	assert_string_equal(t[1], "sda");
	lv_strv_free(t, nt);
	free(xml);
}

static void test_vnc_passwd(void **state)
{
	(void)state;
	const char *live =
	    "<domain><devices><graphics type='spice' port='5930'/>"
	    "<graphics type='vnc' port='5901' autoport='yes' "
	    "listen='0.0.0.0'><listen type='address' address='0.0.0.0'/>"
	    "</graphics></devices></domain>";
	char *g = NULL, listen[64];
	int port = 0;
	assert_int_equal(lv_xml_vnc_passwd(live, "pw123456",
					   "2030-01-01T00:00:00", &g, &port,
					   listen, sizeof listen),
			 1);
	assert_int_equal(port, 5901);
	assert_string_equal(listen, "0.0.0.0");
	assert_string_equal(xp(g, "string(/graphics/@passwd)"), "pw123456");
	assert_string_equal(xp(g, "string(/graphics/@passwdValidTo)"),
			    "2030-01-01T00:00:00");
	assert_string_equal(xp(g, "string(/graphics/@port)"), "5901");
	free(g);
	assert_int_equal(lv_xml_vnc_passwd("<domain><devices/></domain>", "x",
					   NULL, &g, &port, listen,
					   sizeof listen),
			 0);
	assert_null(g);
	assert_int_equal(lv_xml_vnc_passwd("<domain", "x", NULL, &g, &port,
					   listen, sizeof listen),
			 -1);
}

/* The check's message for s (fails the test when s passes). */
static const char *why(const trellis_vm_spec_t *s)
{
	static char err[512];
	err[0] = 0;
	if (lv_spec_check(s, err, sizeof err) == 0)
		fail_msg("spec unexpectedly passed");
	return err;
}

#define REFUSED(s, frag)                                                       \
	do {                                                                   \
		const char *m_ = why(&(s));                                    \
		if (!strstr(m_, (frag)))                                       \
			fail_msg("'%s' does not say '%s'", m_, (frag));        \
	} while (0)

static void test_spec_checks(void **state)
{
	(void)state;
	char err[512];
	trellis_vm_spec_t s = base_spec();
	assert_int_equal(lv_spec_check(&s, err, sizeof err), 0);

	s.name = "../etc";
	REFUSED(s, "VM name '../etc'");
	s = base_spec();
	s.name = "a b";
	REFUSED(s, "VM name 'a b'");
	s = base_spec();
	s.struct_size = 8;
	REFUSED(s, "too small");
	s = base_spec();
	s.vcpus = 0;
	REFUSED(s, "vcpus 0");
	s = base_spec();
	s.memory_mib = 1;
	REFUSED(s, "memory 1 MiB");
	s = base_spec();
	s.uuid = "not-a-uuid";
	REFUSED(s, "uuid 'not-a-uuid'");
	s = base_spec();
	s.kernel = "vmlinuz";
	REFUSED(s, "kernel 'vmlinuz' must be an absolute path");
	s = base_spec();
	s.initrd = "/boot/initrd";
	REFUSED(s, "initrd and cmdline need a kernel");
	s = base_spec();
	s.kernel = "/k";
	s.cmdline = "a\nb";
	REFUSED(s, "control characters");
	s = base_spec();
	s.console_listen = "localhost";
	REFUSED(s, "console_listen 'localhost'");
	s = base_spec();
	s.domain_type = "xen";
	REFUSED(s, "domain_type 'xen'");
	s = base_spec();
	s.serial_log = "log.txt";
	REFUSED(s, "serial_log 'log.txt'");

	trellis_disk_spec_t d0 = {
	    .struct_size = sizeof d0, .path = "/a", .target = "vda"};
	trellis_disk_spec_t d1 = d0;
	const trellis_disk_spec_t *dp[] = {&d0, &d1};
	s = base_spec();
	s.disks = dp;
	s.n_disks = 2;
	REFUSED(s, "disks 0 and 1 both on target 'vda'");
	d1.target = "xda";
	REFUSED(s, "disk 1: disk '/a': target 'xda'");
	d1.target = NULL;
	d1.format = "vmdk";
	REFUSED(s, "format 'vmdk'");
	d1.format = NULL;
	d1.disk_flags = 1u << 7;
	REFUSED(s, "unknown disk_flags bits 0x80");
	d1.disk_flags = 0;
	d1.path = "rel";
	REFUSED(s, "disk path 'rel'");

	trellis_nic_spec_t n0 = {
	    .struct_size = sizeof n0, .bridge = "br0", .ifname = "tap0"};
	const trellis_nic_spec_t *np[] = {&n0};
	s = base_spec();
	s.nics = np;
	s.n_nics = 1;
	REFUSED(s, "exactly one of bridge and ifname (got both)");
	n0.ifname = NULL;
	n0.bridge = "br/0";
	REFUSED(s, "bridge 'br/0'");
	n0.bridge = "br0";
	n0.mac = "01:00:5e:00:00:01";
	REFUSED(s, "MAC '01:00:5e:00:00:01'");
	n0.mac = "52:54:00:0g:00:01";
	REFUSED(s, "MAC '52:54:00:0g:00:01'");
	n0.mac = "52:54:00:00:00:01";
	assert_int_equal(lv_spec_check(&s, err, sizeof err), 0);
}

static void test_targets_and_macs(void **state)
{
	(void)state;
	char t[16], mac[18], mac2[18];
	const char *used[] = {"vda", "vdb", "sda"};
	assert_int_equal(lv_next_target("vd", used, 3, t), 0);
	assert_string_equal(t, "vdc");
	assert_int_equal(lv_next_target("sd", used, 3, t), 0);
	assert_string_equal(t, "sdb");
	const char *many[26];
	char names[26][8];
	for (int i = 0; i < 26; i++) {
		snprintf(names[i], sizeof names[i], "vd%c", 'a' + i);
		many[i] = names[i];
	}
	assert_int_equal(lv_next_target("vd", many, 26, t), 0);
	assert_string_equal(t, "vdaa");
	assert_true(lv_target_valid("vdaa"));
	assert_false(lv_target_valid("vd"));
	assert_false(lv_target_valid("vd1"));
	lv_mac_from_key("wf-1/nic", mac);
	lv_mac_from_key("wf-1/nic", mac2);
	assert_string_equal(mac, mac2);
	assert_true(lv_mac_valid(mac));
	assert_memory_equal(mac, "52:54:00:", 9);
	lv_mac_from_key("wf-2/nic", mac2);
	assert_string_not_equal(mac, mac2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_domain_basics),
	    cmocka_unit_test(test_devices_and_caps),
	    cmocka_unit_test(test_vnc_passwd),
	    cmocka_unit_test(test_spec_checks),
	    cmocka_unit_test(test_targets_and_macs),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
