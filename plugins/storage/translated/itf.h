/* SPDX-License-Identifier: Apache-2.0 */
/*
 * itf.h - interface translation files: the vendor's mapping of Trellis's
 * standard storage operations onto its own REST interface, as data.
 *
 * A file (YAML, docs/storage-adapters.md) is versioned ("translation: 1"),
 * has a "defaults" section and per-vendor "sections"; a section is chosen
 * by matching the vendor and model the endpoint reports (exact, prefix,
 * suffix, contains or regex).  Every entry a section leaves out comes from
 * the file's defaults, and every entry those leave out from the built-in
 * defaults (a flat SMI-S-like REST interface), so `translation: 1` alone
 * is a valid file.
 *
 * itf_load() parses and checks a file; every error names FILE:LINE:COL,
 * with a guess for a misspelt key.  This file depends on libyaml and libc
 * only (no host services), so that the fuzz target can link it.  Strings
 * are malloc()ed and owned by the struct itf; itf_free() releases all.
 */
#ifndef TRANSLATED_ITF_H
#define TRANSLATED_ITF_H

#include <regex.h>
#include <stddef.h>

#define ITF_VERSION 1

enum itf_mode {
	ITF_ANY = 0, /* no pattern: anything matches */
	ITF_EXACT,
	ITF_PREFIX,
	ITF_SUFFIX,
	ITF_CONTAINS,
	ITF_REGEX,
};

struct itf_pattern {
	enum itf_mode mode;
	char *text;
	regex_t re; /* ITF_REGEX */
};

/* The vendor calls a section maps; ITF_OP__COUNT ends the list. */
enum itf_op {
	ITF_OP_PRODUCT = 0, /* what the endpoint is: vendor, model, serial */
	ITF_OP_SYSTEMS,
	ITF_OP_POOLS,
	ITF_OP_VOLUMES,
	ITF_OP_PORTS,
	ITF_OP_VIEWS,
	ITF_OP_VOLUME_CREATE,
	ITF_OP_VOLUME_DELETE,
	ITF_OP_ASSIGN,
	ITF_OP_UNASSIGN,
	ITF_OP_PORT_CONNECT,
	ITF_OP_READ,
	ITF_OP_WRITE,
	ITF_OP__COUNT
};

/* The standard fields of each listing's items, and of product. */
#define ITF_MAX_FIELDS 10

struct itf_call {
	char *method; /* GET, POST, PUT, DELETE */
	char *path;   /* template: "/cim/volumes/{volume}" */
	char *body;   /* template of a JSON body, or NULL */
	char *items;  /* listings: dotted path of the array in the answer */
	char *result; /* creates: dotted path of the object in the answer */
	char *range;  /* read: "header" (Range: bytes=) or "query" */
	/* write: "offset" (the default: the bytes at {offset}) or "rewrite"
	 * (an object store: the whole object is read, patched, put back) */
	char *mode;
	char *fields[ITF_MAX_FIELDS]; /* dotted paths, by itf_fields[op] */
};

struct itf_filter {
	char *class_token; /* keep objects whose class contains this */
	char *property;    /* keep objects whose property ... */
	char *value;       /* ... equals this */
};

struct itf_section {
	char *name;
	int line, col;
	struct itf_pattern vendor, model;
	/* the system id: VENDOR-MODEL-SERIAL */
	char *vendor_token, *model_token;
	char *serial_from;   /* "serial" (default) or "name" of a system */
	char *sys_name_trim; /* drop the serial up to and with this */
	char *volume_id_property; /* dotted path in a volume (default Name) */
	int volume_id_token;      /* space-separated token, -1: whole */
	int volume_id_token_set;
	struct itf_filter pool_filter, view_filter;
	int name_max; /* longest volume name the vendor takes (0: any) */
	/* auth: "basic" (default), "session" (POST path with body, token at
	 * the dotted path token, sent in header) or "sigv4" (AWS Signature
	 * Version 4 for S3, in region) */
	char *auth_scheme, *auth_path, *auth_body, *auth_token, *auth_header;
	char *auth_region;
	struct itf_call ops[ITF_OP__COUNT];
};

struct itf {
	char *path;
	int version;
	struct itf_section defaults;
	struct itf_section *sections;
	size_t n_sections;
};

/* The names of the ops (the keys under "ops:") and, per op, the names of
 * its fields, NULL-terminated. */
extern const char *const itf_op_names[ITF_OP__COUNT];
extern const char *const *const itf_fields[ITF_OP__COUNT];
/* The index of field name in op's list, or -1. */
int itf_field_index(enum itf_op op, const char *name);

/*
 * Loads the file at path (text NULL) or parses text (named path in
 * errors).  NULL with "FILE:LINE:COL: message" in err on any error.
 */
struct itf *itf_load(const char *path, const char *text, size_t len,
		     char *err, size_t errlen);
void itf_free(struct itf *t);

/*
 * The effective section for an endpoint that reports vendor and model:
 * the first section that matches both, filled from the file's defaults
 * and the built-ins; no match: the defaults filled from the built-ins.
 * Fills *out (pointers into t, or static built-ins: valid while t is);
 * returns the matching section's name, or "defaults".
 */
const char *itf_pick(const struct itf *t, const char *vendor,
		     const char *model, struct itf_section *out);

/* Section s (NULL: none) with its gaps filled from t's defaults and the
 * built-ins. */
void itf_filled(const struct itf *t, const struct itf_section *s,
		struct itf_section *out);

/* Whether s matches p (ITF_ANY: always). */
int itf_match(const struct itf_pattern *p, const char *s);

#endif
