/* SPDX-License-Identifier: Apache-2.0 */
/*
 * domread.c - reading libvirt domain XML (and capabilities) with libxml2.
 *
 * Devices are found by comparing attribute values in C, never by pasting a
 * caller's value into an XPath expression.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "domxml.h"

static xmlDocPtr parse(const char *xml)
{
	if (!xml)
		return NULL;
	return xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR |
				 XML_PARSE_NOWARNING);
}

int lv_xml_xpath_str(const char *xml, const char *expr, char *out, size_t len)
{
	out[0] = 0;
	xmlDocPtr doc = parse(xml);
	if (!doc)
		return -1;
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr obj =
	    ctx ? xmlXPathEvalExpression(BAD_CAST expr, ctx) : NULL;
	int rc = -1;
	xmlChar *v = obj ? xmlXPathCastToString(obj) : NULL;
	if (v) {
		snprintf(out, len, "%s", (const char *)v);
		xmlFree(v);
		rc = 0;
	}
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return rc;
}

static int named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
		if (named(n, name))
			return n;
	return NULL;
}

/* An attribute's value copied into out ("" when absent). */
static void prop(xmlNodePtr n, const char *name, char *out, size_t len)
{
	xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;
	snprintf(out, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
}

int lv_xml_meta_key(const char *meta, char *out, size_t len)
{
	out[0] = 0;
	xmlDocPtr doc = parse(meta);
	if (!doc)
		return -1;
	xmlNodePtr k = child(xmlDocGetRootElement(doc), "key");
	xmlChar *v = k ? xmlNodeGetContent(k) : NULL;
	if (v)
		snprintf(out, len, "%s", (const char *)v);
	xmlFree(v);
	xmlFreeDoc(doc);
	return 0;
}

/* The first <devices> child named el that match() accepts. */
typedef int (*dev_match_fn)(xmlNodePtr dev, void *arg);

static xmlNodePtr find_dev(xmlDocPtr doc, const char *el, dev_match_fn match,
			   void *arg)
{
	xmlNodePtr devs = child(xmlDocGetRootElement(doc), "devices");
	for (xmlNodePtr d = devs ? devs->children : NULL; d; d = d->next)
		if (named(d, el) && match(d, arg))
			return d;
	return NULL;
}

static void disk_target(xmlNodePtr d, char *out, size_t len)
{
	prop(child(d, "target"), "dev", out, len);
}

static void disk_source(xmlNodePtr d, char *out, size_t len)
{
	xmlNodePtr src = child(d, "source");
	prop(src, "file", out, len);
	if (!out[0])
		prop(src, "dev", out, len);
}

static int target_is(xmlNodePtr d, void *target)
{
	char t[32];
	disk_target(d, t, sizeof t);
	return strcmp(t, target) == 0;
}

static int source_is(xmlNodePtr d, void *path)
{
	char s[4096];
	disk_source(d, s, sizeof s);
	return strcmp(s, path) == 0;
}

static int mac_is(xmlNodePtr n, void *mac)
{
	char m[32];
	prop(child(n, "mac"), "address", m, sizeof m);
	return strcasecmp(m, mac) == 0;
}

static int is_vnc(xmlNodePtr g, void *unused)
{
	char type[16];
	(void)unused;
	prop(g, "type", type, sizeof type);
	return strcmp(type, "vnc") == 0;
}

void lv_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

struct strv {
	char **v;
	size_t n, cap;
	int failed;
};

/* Collects every disk's target; never "matches", so find_dev sees all. */
static int collect_target(xmlNodePtr d, void *arg)
{
	struct strv *sv = arg;
	char t[32];
	disk_target(d, t, sizeof t);
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **nv = realloc(sv->v, cap * sizeof *nv);
		if (!nv) {
			sv->failed = 1;
			return 0;
		}
		sv->v = nv;
		sv->cap = cap;
	}
	if (!(sv->v[sv->n] = strdup(t)))
		sv->failed = 1;
	else
		sv->n++;
	return 0;
}

int lv_xml_disk_targets(const char *domxml, char ***targets, size_t *count)
{
	struct strv sv = {0};
	*targets = NULL;
	*count = 0;
	xmlDocPtr doc = parse(domxml);
	if (!doc)
		return -1;
	find_dev(doc, "disk", collect_target, &sv);
	xmlFreeDoc(doc);
	if (sv.failed) {
		lv_strv_free(sv.v, sv.n);
		return -1;
	}
	*targets = sv.v;
	*count = sv.n;
	return 0;
}

static char *dump(xmlDocPtr doc, xmlNodePtr node)
{
	xmlBufferPtr buf = xmlBufferCreate();
	char *s = NULL;
	if (buf && xmlNodeDump(buf, doc, node, 0, 0) >= 0)
		s = strdup((const char *)xmlBufferContent(buf));
	if (buf) {
		memset(buf->content, 0, buf->use);
		xmlBufferFree(buf);
	}
	return s;
}

/* The device el that match accepts, as XML in *out (NULL when none). */
static int find_dump(const char *domxml, const char *el, dev_match_fn match,
		     void *arg, char **out)
{
	*out = NULL;
	xmlDocPtr doc = parse(domxml);
	if (!doc)
		return -1;
	xmlNodePtr d = find_dev(doc, el, match, arg);
	int rc = d && !(*out = dump(doc, d)) ? -1 : 0;
	xmlFreeDoc(doc);
	return rc;
}

int lv_xml_find_disk(const char *domxml, const char *target, char **out,
		     char *source, size_t srclen)
{
	int rc = find_dump(domxml, "disk", target_is, (void *)target, out);
	if (source) {
		source[0] = 0;
		xmlDocPtr doc = *out ? parse(*out) : NULL;
		if (doc)
			disk_source(xmlDocGetRootElement(doc), source, srclen);
		xmlFreeDoc(doc);
	}
	return rc;
}

int lv_xml_find_nic(const char *domxml, const char *mac, char **out)
{
	return find_dump(domxml, "interface", mac_is, (void *)mac, out);
}

int lv_xml_disk_by_source(const char *domxml, const char *path, char *target,
			  size_t len)
{
	target[0] = 0;
	xmlDocPtr doc = parse(domxml);
	if (!doc)
		return -1;
	xmlNodePtr d = find_dev(doc, "disk", source_is, (void *)path);
	if (d)
		disk_target(d, target, len);
	xmlFreeDoc(doc);
	return d != NULL;
}

int lv_xml_vnc_passwd(const char *domxml, const char *passwd,
		      const char *valid_to, char **out, int *port, char *listen,
		      size_t listenlen)
{
	char p[16];
	*out = NULL;
	xmlDocPtr doc = parse(domxml);
	if (!doc)
		return -1;
	int rc = 0;
	xmlNodePtr g = find_dev(doc, "graphics", is_vnc, NULL);
	if (g) {
		prop(g, "port", p, sizeof p);
		*port = atoi(p);
		prop(g, "listen", listen, listenlen);
		if (!listen[0])
			prop(child(g, "listen"), "address", listen, listenlen);
		if (!xmlSetProp(g, BAD_CAST "passwd", BAD_CAST passwd) ||
		    (valid_to && !xmlSetProp(g, BAD_CAST "passwdValidTo",
					     BAD_CAST valid_to)))
			rc = -1;
		else
			rc = (*out = dump(doc, g)) ? 1 : -1;
	}
	xmlFreeDoc(doc);
	return rc;
}
