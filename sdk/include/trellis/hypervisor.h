/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/hypervisor.h - ops table of hypervisor plugins (kind HYPERVISOR).
 *
 * A hypervisor plugin drives one kind of hypervisor (libvirt, Xen...).  The
 * core opens one connection per host with connect() and reuses it for every
 * op on that host; the connection handle is the plugin's own and is the
 * "target" for TRELLIS_THREAD_PER_TARGET.
 *
 * VMs are named by UUID (the string form, 36 characters).  Ops that change
 * infrastructure take an idempotency key (workflow instance + step): the
 * plugin records it with what it made, so that a replayed create finds and
 * returns what the first attempt made, and a replayed destroy of something
 * already gone succeeds.
 *
 * Input structs are owned by the caller and valid for the call only.
 * Output structs are allocated and zeroed by the caller, with struct_size
 * set; the plugin fills the fields it knows.
 */
#ifndef TRELLIS_HYPERVISOR_H
#define TRELLIS_HYPERVISOR_H

#include <trellis/host.h>
#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

enum trellis_vm_state {
	TRELLIS_VM_UNKNOWN = 0,
	TRELLIS_VM_RUNNING = 1,
	TRELLIS_VM_BLOCKED = 2,
	TRELLIS_VM_PAUSED = 3,
	TRELLIS_VM_SHUTTING_DOWN = 4,
	TRELLIS_VM_SHUTOFF = 5,
	TRELLIS_VM_CRASHED = 6,
	TRELLIS_VM_SUSPENDED = 7,
};

static inline const char *trellis_vm_state_name(int state)
{
	switch (state) {
	case TRELLIS_VM_RUNNING: return "running";
	case TRELLIS_VM_BLOCKED: return "blocked";
	case TRELLIS_VM_PAUSED: return "paused";
	case TRELLIS_VM_SHUTTING_DOWN: return "shutting-down";
	case TRELLIS_VM_SHUTOFF: return "shutoff";
	case TRELLIS_VM_CRASHED: return "crashed";
	case TRELLIS_VM_SUSPENDED: return "suspended";
	default: return "unknown";
	}
}

/* Capability bits for trellis_plugin_desc_t.caps. */
#define TRELLIS_HV_CAP_CONSOLE_VNC (1ull << 0)  /* vm_console gives VNC   */
#define TRELLIS_HV_CAP_HOTPLUG_DISK (1ull << 1) /* disk attach while running */
#define TRELLIS_HV_CAP_HOTPLUG_NIC (1ull << 2)  /* nic attach while running */
#define TRELLIS_HV_CAP_KERNEL_BOOT (1ull << 3)  /* direct kernel+initrd boot */
#define TRELLIS_HV_CAP_EVENTS (1ull << 4)       /* publishes vm.state events */
#define TRELLIS_HV_CAP_QOS (1ull << 5)          /* bandwidth and IOPS caps */

typedef struct trellis_hv_host_info {
	uint32_t struct_size;
	char hostname[256];      /* since 1.0 */
	char hv_type[32];        /* since 1.0: "QEMU", "Xen", "Test" */
	uint64_t hv_version;     /* since 1.0: major*1000000+minor*1000+micro */
	char arch[32];           /* since 1.0: "x86_64" */
	char cpu_model[64];      /* since 1.0 */
	uint32_t cpus;           /* since 1.0: logical CPUs */
	uint32_t sockets;        /* since 1.0 */
	uint32_t cores;          /* since 1.0: per socket */
	uint32_t threads;        /* since 1.0: per core */
	uint32_t mhz;            /* since 1.0 */
	uint64_t memory_kib;     /* since 1.0: total */
	uint64_t free_memory_kib; /* since 1.0 */
	char domain_type[16];    /* since 1.0: what vm_create uses: "kvm", "qemu", "pv" */
	char host_uuid[37];      /* since 1.1: the machine's identity, "" unknown */
} trellis_hv_host_info_t;

enum trellis_disk_bus {
	TRELLIS_DISK_BUS_DEFAULT = 0, /* the backend's best (virtio) */
	TRELLIS_DISK_BUS_VIRTIO = 1,
	TRELLIS_DISK_BUS_SATA = 2,
	TRELLIS_DISK_BUS_IDE = 3,
	TRELLIS_DISK_BUS_SCSI = 4,
};

#define TRELLIS_DISK_READONLY (1u << 0)

typedef struct trellis_disk_spec {
	uint32_t struct_size;
	const char *path;         /* since 1.0: file or block device */
	const char *format;       /* since 1.0: "qcow2", "raw" */
	const char *target;       /* since 1.0: "vda"..., NULL: next free */
	uint32_t bus;             /* since 1.0: enum trellis_disk_bus */
	uint32_t disk_flags;      /* since 1.0: TRELLIS_DISK_* */
	uint64_t read_iops_sec;   /* since 1.0: 0 = no cap */
	uint64_t write_iops_sec;  /* since 1.0 */
	uint64_t read_bytes_sec;  /* since 1.0 */
	uint64_t write_bytes_sec; /* since 1.0 */
} trellis_disk_spec_t;

typedef struct trellis_nic_spec {
	uint32_t struct_size;
	const char *bridge;      /* since 1.0: host bridge, or NULL with ifname */
	const char *ifname;      /* since 1.0: existing tap (the port's), or NULL */
	const char *mac;         /* since 1.0: "52:54:00:..", NULL: backend picks */
	const char *model;       /* since 1.0: NULL: "virtio" */
	uint64_t inbound_kbps;   /* since 1.0: kilobytes/s, 0 = no cap */
	uint64_t outbound_kbps;  /* since 1.0 */
} trellis_nic_spec_t;

enum trellis_console_type {
	TRELLIS_CONSOLE_NONE = 0,
	TRELLIS_CONSOLE_VNC = 1,
};

typedef struct trellis_vm_spec {
	uint32_t struct_size;
	const char *name;        /* since 1.0 */
	const char *uuid;        /* since 1.0: NULL: the backend makes one */
	uint32_t vcpus;          /* since 1.0 */
	uint64_t memory_mib;     /* since 1.0 */
	const char *kernel;      /* since 1.0: direct boot; NULL: boot disk 0 */
	const char *initrd;      /* since 1.0 */
	const char *cmdline;     /* since 1.0 */
	const trellis_disk_spec_t *const *disks; /* since 1.0: array of pointers */
	uint32_t n_disks;                        /* since 1.0 */
	const trellis_nic_spec_t *const *nics;   /* since 1.0 */
	uint32_t n_nics;                         /* since 1.0 */
	const char *serial_log;  /* since 1.0: log file for the serial console */
	uint32_t console;        /* since 1.0: enum trellis_console_type */
	const char *console_listen; /* since 1.0: NULL: "127.0.0.1" */
	const char *domain_type; /* since 1.0: override; NULL: probed choice */
	uint32_t cpu_shares;     /* since 1.1: relative CPU weight (libvirt's
				  * <cputune><shares>), 0: the backend's
				  * default.  A plugin that cannot apply it
				  * fails with NOTSUP rather than ignore it. */
} trellis_vm_spec_t;

typedef struct trellis_vm_info {
	uint32_t struct_size;
	char name[128];          /* since 1.0 */
	char uuid[40];           /* since 1.0 */
	int32_t state;           /* since 1.0: enum trellis_vm_state */
	int32_t backend_id;      /* since 1.0: domain id, -1 when not running */
	uint32_t vcpus;          /* since 1.0 */
	uint64_t memory_mib;     /* since 1.0 */
	uint64_t cpu_time_ns;    /* since 1.0 */
} trellis_vm_info_t;

typedef struct trellis_console_info {
	uint32_t struct_size;
	char protocol[16];       /* since 1.0: "vnc" */
	char host[64];           /* since 1.0 */
	uint32_t port;           /* since 1.0 */
	char password[64];       /* since 1.0: one-time; a secret, never logged */
	int64_t expires_at;      /* since 1.0: unix seconds, 0: none */
} trellis_console_info_t;

/* Called once per VM by vm_list; return non-zero to stop early. */
typedef int (*trellis_vm_list_fn)(void *opaque, const trellis_vm_info_t *vm);

/* Flags */
#define TRELLIS_VM_CREATE_START (1u << 0)   /* vm_create: start it too */
#define TRELLIS_VM_SHUTDOWN_FORCE (1u << 0) /* vm_shutdown: force after timeout */

struct trellis_hypervisor_ops {
	uint32_t struct_size;

	/* Open a connection to one host.  uri is backend-specific
	 * ("qemu:///system", "test:///default", "xen:///").  options is
	 * the host's own config (may be NULL).  Required. */
	int (*connect)(void *state, trellis_call_t *call, const char *uri,
		       const trellis_node_t *options, uint32_t flags,
		       void **conn); /* since 1.0 */
	/* Close it.  Required. */
	void (*disconnect)(void *state, void *conn); /* since 1.0 */

	/* Host capacity and identity.  host_uuid (since 1.1) names the
	 * machine (SMBIOS or the hypervisor's own host UUID) so that the core
	 * can refuse one machine added twice under two URIs.  Required. */
	int (*host_info)(void *conn, trellis_call_t *call, uint32_t flags,
			 trellis_hv_host_info_t *out); /* since 1.0 */
	/* Every VM the hypervisor knows.  Required. */
	int (*vm_list)(void *conn, trellis_call_t *call, uint32_t flags,
		       trellis_vm_list_fn fn, void *opaque); /* since 1.0 */

	/* Define a VM from spec (and start it with TRELLIS_VM_CREATE_START).
	 * A create whose idem_key exists returns the existing VM.  A VM of
	 * that name or UUID under another key, or under none (made outside
	 * Trellis), or a create with a NULL or empty key of an existing name,
	 * is TRELLIS_E_CONFLICT naming the domain: it is never adopted.
	 * Required. */
	int (*vm_create)(void *conn, trellis_call_t *call,
			 const trellis_vm_spec_t *spec, const char *idem_key,
			 uint32_t flags, trellis_vm_info_t *out); /* since 1.0 */
	/* Stop (if running) and undefine.  Missing VM: success.  Required. */
	int (*vm_destroy)(void *conn, trellis_call_t *call, const char *uuid,
			  const char *idem_key, uint32_t flags); /* since 1.0 */
	/* State and resources of one VM; NOTFOUND when unknown.  Required. */
	int (*vm_info)(void *conn, trellis_call_t *call, const char *uuid,
		       uint32_t flags, trellis_vm_info_t *out); /* since 1.0 */

	int (*vm_start)(void *conn, trellis_call_t *call, const char *uuid,
			uint32_t flags); /* since 1.0 */
	/* Graceful shutdown, waiting up to timeout_s; with
	 * TRELLIS_VM_SHUTDOWN_FORCE, power off after that. */
	int (*vm_shutdown)(void *conn, trellis_call_t *call, const char *uuid,
			   uint32_t timeout_s, uint32_t flags); /* since 1.0 */
	int (*vm_pause)(void *conn, trellis_call_t *call, const char *uuid,
			uint32_t flags); /* since 1.0 */
	int (*vm_resume)(void *conn, trellis_call_t *call, const char *uuid,
			 uint32_t flags); /* since 1.0 */

	/* Console endpoint with a one-time password valid for ttl_s. */
	int (*vm_console)(void *conn, trellis_call_t *call, const char *uuid,
			  uint32_t ttl_s, uint32_t flags,
			  trellis_console_info_t *out); /* since 1.0 */

	int (*vm_disk_attach)(void *conn, trellis_call_t *call,
			      const char *uuid, const trellis_disk_spec_t *disk,
			      const char *idem_key,
			      uint32_t flags); /* since 1.0 */
	int (*vm_disk_detach)(void *conn, trellis_call_t *call,
			      const char *uuid, const char *target,
			      const char *idem_key,
			      uint32_t flags); /* since 1.0 */
	int (*vm_nic_attach)(void *conn, trellis_call_t *call, const char *uuid,
			     const trellis_nic_spec_t *nic,
			     const char *idem_key, uint32_t flags); /* since 1.0 */
	int (*vm_nic_detach)(void *conn, trellis_call_t *call, const char *uuid,
			     const char *mac, const char *idem_key,
			     uint32_t flags); /* since 1.0 */

	/* Guest accounts, for maintenance mode (the guest's own agent does
	 * the work: libvirt's is qemu-guest-agent).  The VM must run and its
	 * agent answer; otherwise UNAVAILABLE, so the caller fails closed.
	 * NULL (a 1.0 plugin): the core reports NOTSUP. */

	/* Set user's password (clear text, a secret: never logged, never
	 * kept; the plugin wipes its copies).  Required again after a
	 * lock: setting a password unlocks the account. */
	int (*guest_set_password)(void *conn, trellis_call_t *call,
				  const char *uuid, const char *user,
				  const char *password,
				  uint32_t flags); /* since 1.1 */
	/* Lock user's account so no password works ("!" in the shadow
	 * file).  An account already locked: success. */
	int (*guest_lock_user)(void *conn, trellis_call_t *call,
			       const char *uuid, const char *user,
			       uint32_t flags); /* since 1.1 */
	/* End user's interactive sessions (ssh logins).  None: success;
	 * *ended (may be NULL) gets how many were ended. */
	int (*guest_end_sessions)(void *conn, trellis_call_t *call,
				  const char *uuid, const char *user,
				  uint32_t flags,
				  uint32_t *ended); /* since 1.1 */
	/* Read up to len bytes of the guest file path from offset: a log
	 * the core watches (maintenance mode follows the appliance's sshd
	 * log to see connections, logins and logoffs).  *n gets the bytes
	 * read (0 at the end), *size the file's size now (below offset: the
	 * file was rotated or truncated).  No such file: NOTFOUND. */
	int (*guest_file_read)(void *conn, trellis_call_t *call,
			       const char *uuid, const char *path,
			       uint64_t offset, uint32_t flags, char *buf,
			       size_t len, size_t *n,
			       uint64_t *size); /* since 1.1 */
};

#define TRELLIS_HYPERVISOR_OPS_SIZE_1_0                                        \
	(offsetof(struct trellis_hypervisor_ops, vm_nic_detach) +              \
	 sizeof(void (*)(void)))

/* The ops a hypervisor plugin must provide (X-macro, used by the loader). */
#define TRELLIS_HYPERVISOR_REQUIRED_OPS(X)                                     \
	X(connect) X(disconnect) X(host_info) X(vm_list) X(vm_create)          \
	X(vm_destroy) X(vm_info)

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_HYPERVISOR_H */
