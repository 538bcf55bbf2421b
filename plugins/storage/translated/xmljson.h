/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xmljson.h - XML answers (an S3 endpoint's) as JSON, so that a
 * translation file's dotted paths read them like JSON answers.  libxml2
 * and jansson only (the fuzz target links it alone).
 */
#ifndef TRANSLATED_XMLJSON_H
#define TRANSLATED_XMLJSON_H

#include <jansson.h>
#include <stddef.h>

/* The document as {"ROOT": ...}: an element is an object of its child
 * elements, a repeated child an array, a text-only element its text; NULL
 * when it is not XML. */
json_t *tx_xml_json(const char *text, size_t len);
/* Whether text looks like XML (its first non-blank is '<'). */
int tx_is_xml(const char *text);

#endif
