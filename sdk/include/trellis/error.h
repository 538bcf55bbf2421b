/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/error.h - stable error codes of the Trellis plugin API.
 *
 * Every op returns an int: TRELLIS_OK (0) or one of the negative codes below.
 * The numbers are part of the ABI: a code is never renumbered and never
 * reused, and new codes are only ever appended.  Each code has a stable name
 * ("NOTFOUND", ...) that the API and the CLI show to users.
 *
 * This header is self-contained and needs no library: the name lookup is an
 * inline function, so a plugin never links against the core.
 */
#ifndef TRELLIS_ERROR_H
#define TRELLIS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum trellis_error {
	TRELLIS_OK = 0,
	TRELLIS_E_NOTSUP = -1,      /* since 1.0: the op or flag is not supported */
	TRELLIS_E_INVALID_ARG = -2, /* since 1.0: an argument is malformed or out of range */
	TRELLIS_E_NOTFOUND = -3,    /* since 1.0: the object does not exist */
	TRELLIS_E_CONFLICT = -4,    /* since 1.0: it exists already, or is in use */
	TRELLIS_E_BUSY = -5,        /* since 1.0: try again later */
	TRELLIS_E_TIMEOUT = -6,     /* since 1.0: the operation did not finish in time */
	TRELLIS_E_BACKEND = -7,     /* since 1.0: the backend (libvirt, qemu-img...) failed */
	TRELLIS_E_UNAVAILABLE = -8, /* since 1.0: the backend cannot be reached at all */
	TRELLIS_E_PERMISSION = -9,  /* since 1.0: not allowed */
	TRELLIS_E_NOSPACE = -10,    /* since 1.0: a pool, disk or id range is exhausted */
	TRELLIS_E_INTERNAL = -11,   /* since 1.0: a bug: an invariant did not hold */
	TRELLIS_E_NOMEM = -12,      /* since 1.0: out of memory */
	TRELLIS_E_CANCELLED = -13,  /* since 1.0: cancelled by the caller */
	TRELLIS_E_QUOTA = -14,      /* since 1.0: a quota or limit was reached */
	TRELLIS_E_ABI = -15,        /* since 1.0: plugin and host are not compatible */
	TRELLIS_E_AUTH = -16,       /* since 1.0: missing or invalid credentials */
	TRELLIS_E_IO = -17,         /* since 1.0: a local I/O error */
	/* Append here.  Never renumber, never reuse. */
};

/* Last code known to this header; codes below it are unknown to this build. */
#define TRELLIS_E__LAST TRELLIS_E_IO

/* The stable name of a code, "UNKNOWN" for codes this header does not know. */
static inline const char *trellis_error_name(int code)
{
	switch (code) {
	case TRELLIS_OK: return "OK";
	case TRELLIS_E_NOTSUP: return "NOTSUP";
	case TRELLIS_E_INVALID_ARG: return "INVALID_ARG";
	case TRELLIS_E_NOTFOUND: return "NOTFOUND";
	case TRELLIS_E_CONFLICT: return "CONFLICT";
	case TRELLIS_E_BUSY: return "BUSY";
	case TRELLIS_E_TIMEOUT: return "TIMEOUT";
	case TRELLIS_E_BACKEND: return "BACKEND";
	case TRELLIS_E_UNAVAILABLE: return "UNAVAILABLE";
	case TRELLIS_E_PERMISSION: return "PERMISSION";
	case TRELLIS_E_NOSPACE: return "NOSPACE";
	case TRELLIS_E_INTERNAL: return "INTERNAL";
	case TRELLIS_E_NOMEM: return "NOMEM";
	case TRELLIS_E_CANCELLED: return "CANCELLED";
	case TRELLIS_E_QUOTA: return "QUOTA";
	case TRELLIS_E_ABI: return "ABI";
	case TRELLIS_E_AUTH: return "AUTH";
	case TRELLIS_E_IO: return "IO";
	default: return "UNKNOWN";
	}
}

/* Whether a failure with this code is worth retrying with the same input. */
static inline int trellis_error_retryable(int code)
{
	return code == TRELLIS_E_BUSY || code == TRELLIS_E_TIMEOUT ||
	       code == TRELLIS_E_UNAVAILABLE;
}

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_ERROR_H */
