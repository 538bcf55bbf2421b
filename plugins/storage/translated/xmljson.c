/* SPDX-License-Identifier: Apache-2.0 */
/* xmljson.c - XML answers as JSON (xmljson.h). */
#include "xmljson.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

/* An XML answer (an S3 endpoint's) as JSON: an element is an object of
 * its child elements, repeated names become an array, an element with
 * text only is its text; the root element is the one key. */
static json_t *xml_elem(xmlNode *e)
{
	int kids = 0;
	for (xmlNode *c = e->children; c; c = c->next)
		kids += c->type == XML_ELEMENT_NODE;
	if (!kids) {
		xmlChar *t = xmlNodeGetContent(e);
		json_t *j = json_string(t ? (const char *)t : "");
		xmlFree(t);
		return j ? j : json_string("");
	}
	json_t *o = json_object();
	for (xmlNode *c = e->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		const char *k = (const char *)c->name;
		int n = 0;
		for (xmlNode *d = e->children; d; d = d->next)
			n += d->type == XML_ELEMENT_NODE &&
			     !strcmp((const char *)d->name, k);
		json_t *v = xml_elem(c);
		if (n == 1) {
			json_object_set_new(o, k, v);
			continue;
		}
		json_t *a = json_object_get(o, k);
		if (!a)
			json_object_set_new(o, k, a = json_array());
		json_array_append_new(a, v);
	}
	return o;
}

json_t *tx_xml_json(const char *text, size_t len)
{
	xmlDoc *doc = xmlReadMemory(text, (int)len, NULL, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
					XML_PARSE_NOWARNING);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	json_t *j = root ? json_pack("{s:o}", (const char *)root->name,
				     xml_elem(root))
			 : NULL;
	xmlFreeDoc(doc);
	return j;
}

int tx_is_xml(const char *t)
{
	while (t && (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t'))
		t++;
	return t && *t == '<';
}

