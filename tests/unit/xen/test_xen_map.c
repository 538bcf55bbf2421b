/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_xen_map.c - the Xen plugin's translations that need no hypervisor
 * (plugins/hypervisor/xen/xen_map.c): domain flags -> VM states, errno and
 * libxl codes -> Trellis codes, connect URIs, UUIDs, version numbers, and
 * Trellis VM spec -> libxl domain configuration.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../plugins/hypervisor/xen/xen_map.h"

#include <libxl_utils.h>
#include <xen/sched.h>

#define SHUT(reason)                                                           \
	(XEN_DOMINF_shutdown | ((uint32_t)(reason) << XEN_DOMINF_shutdownshift))

static void test_states(void **st)
{
	(void)st;
	assert_int_equal(xen_state_from_flags(XEN_DOMINF_running),
			 TRELLIS_VM_RUNNING);
	/* runnable, waiting for a CPU: xl shows "------" */
	assert_int_equal(xen_state_from_flags(0), TRELLIS_VM_RUNNING);
	assert_int_equal(xen_state_from_flags(XEN_DOMINF_blocked),
			 TRELLIS_VM_BLOCKED);
	assert_int_equal(xen_state_from_flags(XEN_DOMINF_paused),
			 TRELLIS_VM_PAUSED);
	assert_int_equal(
	    xen_state_from_flags(XEN_DOMINF_paused | XEN_DOMINF_blocked),
	    TRELLIS_VM_PAUSED);
	assert_int_equal(xen_state_from_flags(SHUT(SHUTDOWN_poweroff)),
			 TRELLIS_VM_SHUTOFF);
	assert_int_equal(xen_state_from_flags(SHUT(SHUTDOWN_reboot)),
			 TRELLIS_VM_SHUTOFF);
	assert_int_equal(xen_state_from_flags(SHUT(SHUTDOWN_crash)),
			 TRELLIS_VM_CRASHED);
	assert_int_equal(xen_state_from_flags(SHUT(SHUTDOWN_suspend)),
			 TRELLIS_VM_SUSPENDED);
	assert_int_equal(
	    xen_state_from_flags(SHUT(SHUTDOWN_crash) | XEN_DOMINF_paused),
	    TRELLIS_VM_CRASHED);
	assert_int_equal(
	    xen_state_from_flags(XEN_DOMINF_dying | SHUT(SHUTDOWN_poweroff)),
	    TRELLIS_VM_SHUTTING_DOWN);
}

static void test_errno_codes(void **st)
{
	(void)st;
	assert_int_equal(xen_code_from_errno(ESRCH), TRELLIS_E_NOTFOUND);
	assert_int_equal(xen_code_from_errno(ENOMEM), TRELLIS_E_NOSPACE);
	assert_int_equal(xen_code_from_errno(EINVAL), TRELLIS_E_INVALID_ARG);
	assert_int_equal(xen_code_from_errno(EPERM), TRELLIS_E_PERMISSION);
	assert_int_equal(xen_code_from_errno(EACCES), TRELLIS_E_PERMISSION);
	assert_int_equal(xen_code_from_errno(EBUSY), TRELLIS_E_BUSY);
	assert_int_equal(xen_code_from_errno(ENOENT), TRELLIS_E_UNAVAILABLE);
	assert_int_equal(xen_code_from_errno(EEXIST), TRELLIS_E_CONFLICT);
	assert_int_equal(xen_code_from_errno(EIO), TRELLIS_E_BACKEND);
}

static void test_libxl_codes(void **st)
{
	(void)st;
	assert_int_equal(xen_code_from_libxl(0), TRELLIS_OK);
	assert_int_equal(xen_code_from_libxl(ERROR_NOMEM), TRELLIS_E_NOSPACE);
	assert_int_equal(xen_code_from_libxl(ERROR_INVAL),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(xen_code_from_libxl(ERROR_DOMAIN_NOTFOUND),
			 TRELLIS_E_NOTFOUND);
	assert_int_equal(xen_code_from_libxl(ERROR_NI), TRELLIS_E_NOTSUP);
	assert_int_equal(xen_code_from_libxl(ERROR_TIMEDOUT),
			 TRELLIS_E_TIMEOUT);
	assert_int_equal(xen_code_from_libxl(ERROR_LOCK_FAIL), TRELLIS_E_BUSY);
	assert_int_equal(xen_code_from_libxl(ERROR_DEVICE_EXISTS),
			 TRELLIS_E_CONFLICT);
	assert_int_equal(xen_code_from_libxl(ERROR_FAIL), TRELLIS_E_BACKEND);
}

static void test_uri(void **st)
{
	char err[256];

	(void)st;
	assert_int_equal(xen_uri_check(NULL, err, sizeof err), 0);
	assert_int_equal(xen_uri_check("xen:///", err, sizeof err), 0);
	assert_int_equal(xen_uri_check("xen://", err, sizeof err), 0);
	assert_int_equal(xen_uri_check("xen:///system", err, sizeof err), 0);
	assert_int_equal(xen_uri_check("xen://other-host/", err, sizeof err),
			 TRELLIS_E_NOTSUP);
	assert_non_null(strstr(err, "other-host"));
	assert_int_equal(xen_uri_check("qemu:///system", err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(err, "qemu:///system"));
}

static void test_uuid(void **st)
{
	const char *s = "5e1f03a2-8c4b-4d6e-9f70-0123456789ab";
	uint8_t h[16];
	char back[40];

	(void)st;
	assert_int_equal(xen_uuid_parse(s, h), 0);
	assert_int_equal(h[0], 0x5e);
	assert_int_equal(h[15], 0xab);
	xen_uuid_format(h, back, sizeof back);
	assert_string_equal(back, s);
	assert_int_equal(xen_uuid_parse("not-a-uuid", h),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(
	    xen_uuid_parse("5e1f03a2-8c4b-4d6e-9f70-0123456789abX", h),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(
	    xen_uuid_parse("5e1f03a2-8c4b-4d6e-9f70-0123456789ag", h),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(xen_uuid_parse(NULL, h), TRELLIS_E_INVALID_ARG);
}

static void test_version(void **st)
{
	(void)st;
	assert_int_equal(xen_version_encode((4 << 16) | 17, ".7"), 4017007);
	assert_int_equal(xen_version_encode((4 << 16) | 18, "-rc"), 4018000);
	assert_int_equal(xen_version_encode((4 << 16) | 17, ""), 4017000);
	assert_int_equal(xen_version_encode((4 << 16) | 17, NULL), 4017000);
}

static const uint8_t UUID[16] = {1, 2,	3,  4,	5,  6,	7,  8,
				 9, 10, 11, 12, 13, 14, 15, 16};

static trellis_vm_spec_t base_spec(void)
{
	return (trellis_vm_spec_t){.struct_size = sizeof(trellis_vm_spec_t),
				   .name = "web1",
				   .vcpus = 3,
				   .memory_mib = 256,
				   .kernel = "/boot/vmlinuz",
				   .initrd = "/boot/initrd.gz",
				   .cmdline = "console=hvc0"};
}

/* Translates spec and returns the code; cfg is disposed by the caller. */
static int translate(const trellis_vm_spec_t *spec, const char *key,
		     libxl_domain_config *cfg, char *err, size_t len)
{
	libxl_domain_config_init(cfg);
	err[0] = '\0';
	return xen_spec_to_config(spec, spec->name, UUID, key, cfg, err, len);
}

static void test_spec_basic(void **st)
{
	trellis_vm_spec_t s = base_spec();
	libxl_domain_config cfg;
	char err[512];

	(void)st;
	assert_int_equal(translate(&s, "wf-7/step-vm", &cfg, err, sizeof err),
			 0);
	assert_int_equal(cfg.c_info.type, LIBXL_DOMAIN_TYPE_PV);
	assert_string_equal(cfg.c_info.name, "web1");
	assert_memory_equal(libxl_uuid_bytearray(&cfg.c_info.uuid), UUID, 16);
	assert_non_null(cfg.c_info.xsdata);
	assert_string_equal(cfg.c_info.xsdata[0], XEN_IDEM_XS_KEY);
	assert_string_equal(cfg.c_info.xsdata[1], "wf-7/step-vm");
	assert_null(cfg.c_info.xsdata[2]);
	assert_int_equal(cfg.b_info.type, LIBXL_DOMAIN_TYPE_PV);
	assert_int_equal(cfg.b_info.max_vcpus, 3);
	/* every vcpu online, not just vcpu 0 (libxl's default) */
	assert_int_equal(libxl_bitmap_count_set(&cfg.b_info.avail_vcpus), 3);
	assert_true(libxl_bitmap_test(&cfg.b_info.avail_vcpus, 2));
	assert_int_equal(cfg.b_info.max_memkb, 256 * 1024);
	assert_int_equal(cfg.b_info.target_memkb, 256 * 1024);
	assert_string_equal(cfg.b_info.kernel, "/boot/vmlinuz");
	assert_string_equal(cfg.b_info.ramdisk, "/boot/initrd.gz");
	assert_string_equal(cfg.b_info.cmdline, "console=hvc0");
	assert_int_equal(cfg.num_disks, 0);
	assert_int_equal(cfg.num_nics, 0);
	libxl_domain_config_dispose(&cfg);

	/* no key: nothing written to xenstore */
	s.initrd = NULL;
	s.cmdline = NULL;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err), 0);
	assert_null(cfg.c_info.xsdata);
	assert_null(cfg.b_info.ramdisk);
	assert_null(cfg.b_info.cmdline);
	libxl_domain_config_dispose(&cfg);
}

struct bad_case {
	const char *what;
	void (*mutate)(trellis_vm_spec_t *s);
	int code;
	const char *needle; /* in the message */
};

static void m_vcpus0(trellis_vm_spec_t *s) { s->vcpus = 0; }
static void m_vcpus_many(trellis_vm_spec_t *s) { s->vcpus = 100000; }
static void m_mem0(trellis_vm_spec_t *s) { s->memory_mib = 0; }
static void m_mem_huge(trellis_vm_spec_t *s) { s->memory_mib = UINT64_MAX; }
static void m_nokernel(trellis_vm_spec_t *s) { s->kernel = NULL; }
static void m_hvm(trellis_vm_spec_t *s) { s->domain_type = "hvm"; }
static void m_vnc(trellis_vm_spec_t *s) { s->console = TRELLIS_CONSOLE_VNC; }
static void m_serial(trellis_vm_spec_t *s) { s->serial_log = "/tmp/x.log"; }
static void m_small(trellis_vm_spec_t *s) { s->struct_size = 8; }

static void test_spec_rejects(void **st)
{
	static const struct bad_case cases[] = {
	    {"0 vcpus", m_vcpus0, TRELLIS_E_INVALID_ARG, "vcpus"},
	    {"too many vcpus", m_vcpus_many, TRELLIS_E_INVALID_ARG, "vcpus"},
	    {"0 memory", m_mem0, TRELLIS_E_INVALID_ARG, "memory"},
	    {"absurd memory", m_mem_huge, TRELLIS_E_INVALID_ARG, "memory"},
	    {"no kernel", m_nokernel, TRELLIS_E_NOTSUP, "kernel"},
	    {"hvm", m_hvm, TRELLIS_E_NOTSUP, "hvm"},
	    {"vnc console", m_vnc, TRELLIS_E_NOTSUP, "VNC"},
	    {"serial log", m_serial, TRELLIS_E_NOTSUP, "serial_log"},
	    {"old struct", m_small, TRELLIS_E_INVALID_ARG, "struct_size"},
	};
	(void)st;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		trellis_vm_spec_t s = base_spec();
		libxl_domain_config cfg;
		char err[512];
		int rc;

		cases[i].mutate(&s);
		rc = translate(&s, "k", &cfg, err, sizeof err);
		libxl_domain_config_dispose(&cfg);
		if (rc != cases[i].code || !strstr(err, cases[i].needle))
			fail_msg("%s: got %s '%s', want %s with '%s'",
				 cases[i].what, trellis_error_name(rc), err,
				 trellis_error_name(cases[i].code),
				 cases[i].needle);
	}
}

static void test_spec_disks(void **st)
{
	trellis_vm_spec_t s = base_spec();
	trellis_disk_spec_t d0 = {.struct_size = sizeof d0,
				  .path = "/var/lib/trellis/root.qcow2",
				  .format = "qcow2"};
	trellis_disk_spec_t d1 = {.struct_size = sizeof d1,
				  .path = "/dev/vg0/data",
				  .disk_flags = TRELLIS_DISK_READONLY};
	trellis_disk_spec_t d2 = {
	    .struct_size = sizeof d2, .path = "/srv/iso", .target = "xvdq"};
	const trellis_disk_spec_t *disks[] = {&d0, &d1, &d2};
	libxl_domain_config cfg;
	char err[512];

	(void)st;
	s.disks = disks;
	s.n_disks = 3;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err), 0);
	assert_int_equal(cfg.num_disks, 3);
	assert_string_equal(cfg.disks[0].pdev_path, d0.path);
	assert_string_equal(cfg.disks[0].vdev, "xvda");
	assert_int_equal(cfg.disks[0].format, LIBXL_DISK_FORMAT_QCOW2);
	assert_int_equal(cfg.disks[0].readwrite, 1);
	assert_string_equal(cfg.disks[1].vdev, "xvdb");
	assert_int_equal(cfg.disks[1].format, LIBXL_DISK_FORMAT_RAW);
	assert_int_equal(cfg.disks[1].readwrite, 0);
	assert_string_equal(cfg.disks[2].vdev, "xvdq");
	libxl_domain_config_dispose(&cfg);

	d1.format = "vmdk";
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(err, "vmdk"));
	assert_non_null(strstr(err, "web1"));
	libxl_domain_config_dispose(&cfg);

	d1.format = NULL;
	d1.bus = TRELLIS_DISK_BUS_SATA;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_NOTSUP);
	libxl_domain_config_dispose(&cfg);

	d1.bus = TRELLIS_DISK_BUS_DEFAULT;
	d1.write_iops_sec = 100;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_NOTSUP);
	libxl_domain_config_dispose(&cfg);

	d1.write_iops_sec = 0;
	d1.path = NULL;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	libxl_domain_config_dispose(&cfg);
}

static void test_spec_nics(void **st)
{
	trellis_vm_spec_t s = base_spec();
	trellis_nic_spec_t n0 = {.struct_size = sizeof n0,
				 .bridge = "br-seg7",
				 .mac = "52:54:00:ab:cd:0f"};
	const trellis_nic_spec_t *nics[] = {&n0};
	libxl_domain_config cfg;
	char err[512];

	(void)st;
	s.nics = nics;
	s.n_nics = 1;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err), 0);
	assert_int_equal(cfg.num_nics, 1);
	assert_string_equal(cfg.nics[0].bridge, "br-seg7");
	assert_int_equal(cfg.nics[0].mac[0], 0x52);
	assert_int_equal(cfg.nics[0].mac[5], 0x0f);
	libxl_domain_config_dispose(&cfg);

	n0.mac = "52:54:00:ab:cd";
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(err, "MAC"));
	libxl_domain_config_dispose(&cfg);

	n0.mac = NULL;
	n0.bridge = NULL;
	n0.ifname = "tap-port9";
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_NOTSUP);
	assert_non_null(strstr(err, "tap-port9"));
	libxl_domain_config_dispose(&cfg);

	n0.bridge = "br0";
	n0.outbound_kbps = 1000;
	assert_int_equal(translate(&s, NULL, &cfg, err, sizeof err),
			 TRELLIS_E_NOTSUP);
	libxl_domain_config_dispose(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_errno_codes),
	    cmocka_unit_test(test_libxl_codes),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_spec_basic),
	    cmocka_unit_test(test_spec_rejects),
	    cmocka_unit_test(test_spec_disks),
	    cmocka_unit_test(test_spec_nics),
	};
	return cmocka_run_group_tests_name("xen_map", tests, NULL, NULL);
}
