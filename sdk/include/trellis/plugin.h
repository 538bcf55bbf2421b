/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/plugin.h - the Trellis plugin ABI: entry symbol and descriptor.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * trellis_plugin_entry(), which returns a pointer to a static descriptor.
 * The descriptor names the plugin, says which ABI it was built against and
 * points at the ops table of its kind (hypervisor.h, storage.h, network.h,
 * policy.h).  A plugin never links against the core: everything it may call
 * arrives in the host services table (host.h) passed to init().
 *
 * Acceptance rule (checked by the host when it loads the plugin):
 *   plugin abi_major == host major, plugin abi_minor <= host minor,
 *   build_tag equal, struct_size of the descriptor and of the ops table at
 *   least their v1.0 sizes.  Anything else is refused with the reason.
 *
 * Growth rules: structs grow only at the end and every struct crossing the
 * boundary starts with its struct_size; a field beyond struct_size counts as
 * absent.  Ops tables are append-only; a signature never changes (a new op is
 * added instead).  Every op takes flags, and a plugin rejects bits it does not
 * know with TRELLIS_E_INVALID_ARG.  A NULL op means "not supported".
 *
 * Minimal plugin:
 *
 *     #include <trellis/storage.h>
 *     static const struct trellis_storage_ops ops = {
 *             .struct_size = sizeof ops, .pool_open = my_pool_open, ...
 *     };
 *     TRELLIS_PLUGIN_DEFINE(.name = "mystore", .version = "1.0.0",
 *                           .license = "MIT", .kind = TRELLIS_KIND_STORAGE,
 *                           .thread_model = TRELLIS_THREAD_PER_TARGET,
 *                           .init = my_init, .fini = my_fini, .ops = &ops);
 */
#ifndef TRELLIS_PLUGIN_H
#define TRELLIS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes.  A plugin records these in its descriptor. */
#define TRELLIS_ABI_MAJOR 1
#define TRELLIS_ABI_MINOR 1

#define TRELLIS__STR2(x) #x
#define TRELLIS__STR(x) TRELLIS__STR2(x)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TRELLIS__ENDIAN "be"
#else
#define TRELLIS__ENDIAN "le"
#endif

/*
 * The build tag captures what makes two builds binary-incompatible even when
 * their ABI versions agree (like nginx's module signature): pointer and long
 * width, and byte order.  A plugin built for another data model is refused
 * with both tags named instead of crashing on the first call.
 */
#define TRELLIS_BUILD_TAG                                                      \
	"trellis1/ptr" TRELLIS__STR(__SIZEOF_POINTER__) "/long" TRELLIS__STR(     \
		__SIZEOF_LONG__) "/" TRELLIS__ENDIAN

/* The one symbol a plugin exports. */
#define TRELLIS_PLUGIN_ENTRY_SYMBOL "trellis_plugin_entry"

#if defined(__GNUC__)
#define TRELLIS_EXPORT __attribute__((visibility("default")))
#define TRELLIS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TRELLIS_EXPORT
#define TRELLIS_PRINTF(fmt, args)
#endif

enum trellis_plugin_kind {
	TRELLIS_KIND_HYPERVISOR = 1, /* struct trellis_hypervisor_ops */
	TRELLIS_KIND_STORAGE = 2,    /* struct trellis_storage_ops */
	TRELLIS_KIND_NETWORK = 3,    /* struct trellis_network_ops */
	TRELLIS_KIND_POLICY = 4,     /* struct trellis_policy_ops */
};

/*
 * How the host may call into the plugin.  The host honours it: it never
 * calls a SERIALIZED plugin from two threads at once, never calls a
 * PER_TARGET plugin twice at once for the same target (connection, pool),
 * and calls a REENTRANT plugin freely.
 */
enum trellis_thread_model {
	TRELLIS_THREAD_SERIALIZED = 1,
	TRELLIS_THREAD_PER_TARGET = 2,
	TRELLIS_THREAD_REENTRANT = 3,
};

/* Opaque handles owned by the host. */
typedef struct trellis_plugin trellis_plugin_t; /* the loaded plugin       */
typedef struct trellis_call trellis_call_t;     /* one call: error, progress */
typedef struct trellis_node trellis_node_t;     /* a read-only config node */
typedef struct trellis_host trellis_host_t;     /* host services, host.h   */

/*
 * init() runs once, right after the plugin is accepted.  It receives the
 * plugin's handle (for logging, config and events), the host services table,
 * and a call context for reporting failure with host->set_error().  It stores
 * its private state in *state; the host passes that pointer back to every op
 * and to fini().  A non-zero return refuses the plugin with its message.
 * fini() runs at daemon shutdown.  Plugins are never unloaded.
 */
typedef int (*trellis_init_fn)(trellis_plugin_t *self,
			       const trellis_host_t *host, trellis_call_t *call,
			       void **state);
typedef void (*trellis_fini_fn)(void *state);

typedef struct trellis_plugin_desc {
	uint32_t struct_size;    /* since 1.0: sizeof(trellis_plugin_desc_t) */
	uint16_t abi_major;      /* since 1.0: TRELLIS_ABI_MAJOR at build time */
	uint16_t abi_minor;      /* since 1.0: TRELLIS_ABI_MINOR at build time */
	const char *build_tag;   /* since 1.0: TRELLIS_BUILD_TAG */
	const char *name;        /* since 1.0: unique, [a-z0-9_-]{1,32} */
	const char *version;     /* since 1.0: the plugin's own version */
	const char *license;     /* since 1.0: SPDX identifier */
	const char *description; /* since 1.0: one line, may be NULL */
	uint32_t kind;           /* since 1.0: enum trellis_plugin_kind */
	uint32_t thread_model;   /* since 1.0: enum trellis_thread_model */
	uint64_t caps;           /* since 1.0: kind-specific capability bits */
	trellis_init_fn init;    /* since 1.0: may be NULL */
	trellis_fini_fn fini;    /* since 1.0: may be NULL */
	const void *ops;         /* since 1.0: the kind's ops table */
} trellis_plugin_desc_t;

/* Size of the descriptor in ABI 1.0; smaller descriptors are refused. */
#define TRELLIS_PLUGIN_DESC_SIZE_1_0                                           \
	(offsetof(trellis_plugin_desc_t, ops) + sizeof(const void *))

typedef const trellis_plugin_desc_t *(*trellis_plugin_entry_fn)(void);

/* Declared here so that plugins built with -Wmissing-prototypes agree. */
TRELLIS_EXPORT const trellis_plugin_desc_t *trellis_plugin_entry(void);

/*
 * Defines the descriptor and the entry symbol.  Pass designated
 * initializers for the remaining fields.  Use it once per plugin.
 */
#define TRELLIS_PLUGIN_DEFINE(...)                                             \
	static const trellis_plugin_desc_t trellis__plugin_desc = {            \
		.struct_size = sizeof(trellis_plugin_desc_t),                  \
		.abi_major = TRELLIS_ABI_MAJOR,                                \
		.abi_minor = TRELLIS_ABI_MINOR,                                \
		.build_tag = TRELLIS_BUILD_TAG,                                \
		__VA_ARGS__};                                                  \
	TRELLIS_EXPORT const trellis_plugin_desc_t *trellis_plugin_entry(void) \
	{                                                                      \
		return &trellis__plugin_desc;                                  \
	}

static inline const char *trellis_kind_name(uint32_t kind)
{
	switch (kind) {
	case TRELLIS_KIND_HYPERVISOR: return "hypervisor";
	case TRELLIS_KIND_STORAGE: return "storage";
	case TRELLIS_KIND_NETWORK: return "network";
	case TRELLIS_KIND_POLICY: return "policy";
	default: return "unknown";
	}
}

static inline const char *trellis_thread_model_name(uint32_t tm)
{
	switch (tm) {
	case TRELLIS_THREAD_SERIALIZED: return "serialized";
	case TRELLIS_THREAD_PER_TARGET: return "per-target";
	case TRELLIS_THREAD_REENTRANT: return "reentrant";
	default: return "unknown";
	}
}

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_PLUGIN_H */
