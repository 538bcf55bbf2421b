/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.c - the certificate trellis-console uses when none is configured:
 * made once (ECDSA P-256, self-signed, ten years, subjectAltName the
 * listen host, localhost and 127.0.0.1) into the state directory, the key
 * mode 0600.  Its SHA-256 fingerprint is printed at every start, so that
 * an operator can pin it or compare it with what a browser shows.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"

int cp_tls_fingerprint(const char *cert, char *fp, size_t fplen)
{
	FILE *f = fopen(cert, "re");
	if (!f)
		return -1;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return -1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	int rc = X509_digest(x, EVP_sha256(), md, &n) == 1 ? 0 : -1;
	X509_free(x);
	fp[0] = '\0';
	for (unsigned i = 0; rc == 0 && i < n && (i + 1) * 3 <= fplen; i++)
		snprintf(fp + i * 3, fplen - i * 3, i + 1 < n ? "%02X:" : "%02X",
			 md[i]);
	return rc;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e)
		return -1;
	int rc = X509_add_ext(x, e, -1) ? 0 : -1;
	X509_EXTENSION_free(e);
	return rc;
}

static int make(const char *cert, const char *key, const char *host,
		char *err, size_t errlen)
{
	int rc = -1;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f = NULL;
	if (!pk || !x)
		goto out;
	X509_set_version(x, 2);
	unsigned char serial[8];
	FILE *r = fopen("/dev/urandom", "re");
	if (!r || fread(serial, 1, sizeof serial, r) != sizeof serial) {
		if (r)
			fclose(r);
		goto out;
	}
	fclose(r);
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400);
	X509_set_pubkey(x, pk);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
				   (const unsigned char *)"Trellis", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)"trellis-console", -1,
				   -1, 0);
	X509_set_issuer_name(x, nm);
	char san[400];
	int is_ip = strspn(host, "0123456789.") == strlen(host) ||
		    strchr(host, ':');
	snprintf(san, sizeof san, "DNS:localhost, IP:127.0.0.1%s%s%s",
		 host[0] && strcmp(host, "127.0.0.1") && strcmp(host, "0.0.0.0")
		     ? (is_ip ? ", IP:" : ", DNS:")
		     : "",
		 host[0] && strcmp(host, "127.0.0.1") && strcmp(host, "0.0.0.0")
		     ? host
		     : "",
		 "");
	if (add_ext(x, NID_subject_alt_name, san) < 0 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    !X509_sign(x, pk, EVP_sha256()))
		goto out;
	int fd = open(key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: cannot write", key);
		goto out;
	}
	if (!PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL))
		goto out;
	fclose(f);
	f = fopen(cert, "we");
	if (!f || !PEM_write_X509(f, x)) {
		snprintf(err, errlen, "%s: cannot write", cert);
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "cannot make a certificate (OpenSSL)");
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

int cp_tls_ensure(const char *dir, const char *host, char *cert,
		  size_t certlen, char *key, size_t keylen, char *fp,
		  size_t fplen, char *err, size_t errlen)
{
	err[0] = '\0';
	snprintf(cert, certlen, "%s/cert.pem", dir);
	snprintf(key, keylen, "%s/key.pem", dir);
	if (access(cert, R_OK) != 0 || access(key, R_OK) != 0) {
		mkdir(dir, 0700);
		if (make(cert, key, host, err, errlen) < 0)
			return -1;
	}
	if (cp_tls_fingerprint(cert, fp, fplen) < 0) {
		snprintf(err, errlen, "%s: not a PEM certificate", cert);
		return -1;
	}
	return 0;
}
