#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Runs the translated plugin's libFuzzer targets for a bounded time each
# (FUZZ_SECONDS, default 20): the interface translation file loader, from
# the shipped translation files and a few broken ones, and the XML
# answers, from S3-shaped documents.  Builds the fuzz build (clang, libFuzzer)
# first when it is missing or stale.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../../lib/fuzz.sh"
fuzz_begin "fuzz translation files" fuzz_itf fuzz_xml
mkdir -p "$work/corpus" "$work/xml"
printf '<?xml version="1.0"?>\n<ListBucketResult><Name>b</Name><Contents><Key>v1</Key><Size>5</Size></Contents><Contents><Key>v2</Key><Size>7</Size></Contents></ListBucketResult>' >"$work/xml/1"
printf '<ListAllMyBucketsResult><Owner><ID>1</ID></Owner><Buckets><Bucket><Name>a</Name></Bucket></Buckets></ListAllMyBucketsResult>' >"$work/xml/2"
printf '<Error><Code>NoSuchKey</Code><Message>m &amp; n</Message></Error>' >"$work/xml/3"
cp "$TRELLIS_SRC"/plugins/storage/translated/translations/*.yaml "$work/corpus/"
printf 'translation: 1\n' >"$work/corpus/min.yaml"
printf 'translation: 1\nsections:\n  - name: a\n    match: {vendor: {regex: "^A(c|C)me"}, model: "*"}\n    volume_id: {property: a.b.0, token: 3}\n' >"$work/corpus/re.yaml"
printf 'translation: 1\ndefaults:\n  ops:\n    pools: {method: GET, path: /p, items: x.y, fields: {key: k, nmae: n}}\n' >"$work/corpus/typo.yaml"
fuzz_run fuzz_itf "$work/corpus"
fuzz_run fuzz_xml "$work/xml"
done_testing
