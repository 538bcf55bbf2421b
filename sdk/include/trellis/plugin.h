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

/*
 * Config schemas (since 1.1).  A plugin may declare the keys of its config
 * section (plugins: {NAME: {...}} in the daemon config) and the keys of the
 * options each of its objects takes (a pool's for pool_open, a host's for
 * connect, a network's for segment_ensure).  The host then checks them
 * before init() and before the open op: an unknown key, a value of the
 * wrong type or a missing required key is an error naming FILE:LINE:COL,
 * `trellisd --check-config` reports it, and the plugin is refused instead of
 * half-configured.  Missing keys get their defaults, so host->config() and
 * spec->options hold every declared key.  `trellis plugin show NAME` prints
 * the schema.  A plugin without a schema (every 1.0 plugin) checks its own
 * config in init(), as before.
 *
 *     TRELLIS_CONFIG_SCHEMA(config_schema,
 *         {"endpoint", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_REQUIRED, NULL,
 *          "the array's API"},
 *         {"timeout", TRELLIS_CONFIG_DURATION, 0, "30s", "per request"});
 *     TRELLIS_PLUGIN_DEFINE(..., .config_schema = &config_schema)
 *
 * Read the values with host->node_str/node_int/node_bool and, since 1.1,
 * host->node_size and host->node_duration.
 */
enum trellis_config_type {
	TRELLIS_CONFIG_STRING = 1,   /* since 1.1: any scalar, as text */
	TRELLIS_CONFIG_INT = 2,      /* since 1.1: 42, -1, 0x2a */
	TRELLIS_CONFIG_BOOL = 3,     /* since 1.1: true/false, yes/no, on/off */
	TRELLIS_CONFIG_SIZE = 4,     /* since 1.1: bytes: 4096, 512K, 64M, 2G, 1T */
	TRELLIS_CONFIG_DURATION = 5, /* since 1.1: 250ms, 30s, 2m, 1h, 7d */
	TRELLIS_CONFIG_LIST = 6,     /* since 1.1: a sequence of scalars */
	TRELLIS_CONFIG_MAP = 7,      /* since 1.1: a map the plugin reads itself */
};

/* trellis_config_key_t.flags */
#define TRELLIS_CONFIG_REQUIRED (1u << 0) /* since 1.1: no default */
#define TRELLIS_CONFIG_SECRET (1u << 1)   /* since 1.1: never shown */

typedef struct trellis_config_key {
	const char *name;          /* since 1.1: the key; NULL ends the list */
	uint32_t type;             /* since 1.1: enum trellis_config_type */
	uint32_t flags;            /* since 1.1: TRELLIS_CONFIG_REQUIRED ... */
	const char *default_value; /* since 1.1: as YAML writes it, or NULL */
	const char *doc;           /* since 1.1: one line */
} trellis_config_key_t;

/* trellis_config_schema_t.flags */
#define TRELLIS_CONFIG_OPEN (1u << 0) /* since 1.1: other keys are allowed */

typedef struct trellis_config_schema {
	uint32_t struct_size;             /* since 1.1 */
	uint32_t key_size;                /* since 1.1: sizeof one keys[] entry */
	const trellis_config_key_t *keys; /* since 1.1: ended by name NULL */
	uint32_t flags;                   /* since 1.1: TRELLIS_CONFIG_OPEN */
} trellis_config_schema_t;

/* Defines a static schema named var from its keys. */
#define TRELLIS_CONFIG_SCHEMA(var, ...)                                        \
	static const trellis_config_key_t var##__keys[] = {                    \
		__VA_ARGS__, {NULL, 0, 0, NULL, NULL}};                        \
	static const trellis_config_schema_t var = {                           \
		sizeof(trellis_config_schema_t), sizeof(trellis_config_key_t), \
		var##__keys, 0}

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
	/* since 1.1: the keys of the plugin's config section, or NULL (the
	 * plugin checks its section itself) */
	const trellis_config_schema_t *config_schema;
	/* since 1.1: the keys of each object's options (pool_open's
	 * spec->options, connect's options, segment_ensure's spec->options),
	 * or NULL (the plugin checks them itself) */
	const trellis_config_schema_t *options_schema;
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
