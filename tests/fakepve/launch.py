#!/usr/bin/env python3
"""Run fakepve (a fake Proxmox VE 9 API) for the Rust integration tests.

    python tests/fakepve/launch.py --host 127.0.0.N --ready FILE \
        [--guests tests/fakepve/guests.json] [--time-scale 0]

What it does:

* makes a throw-away CA and a server certificate signed by it (SANs: the host's IP and `localhost`);
* serves fakepve over HTTPS on host:<free port>, with the guests of the guests file and fixed credentials;
* serves a control endpoint, plain HTTP on host:<another free port>: `POST /control` with a JSON body
  `{"op": "...", ...}` (see CONTROL_OPS below) to inject faults and read the request log;
* when both listen, writes FILE atomically (JSON: ports, URLs, the CA's path, the certificate
  fingerprint, the credentials);
* stops when its standard input reaches EOF (the parent test process went away), on SIGTERM or
  SIGINT, and removes its temporary directory.

Only the standard library and fakepve (with its dependencies aiohttp and cryptography) are used.
It refuses to listen on anything but a loopback address.
"""

import argparse
import asyncio
import datetime
import hashlib
import inspect
import ipaddress
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

from aiohttp import web

import fakepve
from fakepve import FakePve, shapes
from fakepve.server import GENERIC, redact

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = 'pve1'

ROOT = {'user': 'root@pam', 'password': 'harness-root-pw'}
ALICE = {'user': 'alice@pve', 'password': 'alice-pw-123', 'token_id': 'alice@pve!ci',
         'token_secret': '5f0c3a8e-7d41-4b6a-9e2f-1c8d4a7b3e90'}
BOB = {'user': 'bob@pve', 'password': 'bob-pw-123', 'token_id': 'bob@pve!ro',
       'token_secret': 'b0b0b0b0-1111-4222-8333-444455556666'}

# What alice may do, on '/': roughly PVEVMAdmin plus auditing, without Sys.Modify or user management.
ALICE_PRIVS = (
    'VM.Audit', 'VM.PowerMgmt', 'VM.Console', 'VM.Monitor', 'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.Clone',
    'VM.Allocate', 'VM.Backup', 'VM.Migrate',
    'VM.Config.Options', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Disk',
    'VM.Config.CDROM', 'VM.Config.HWType', 'VM.Config.Cloudinit',
    'VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted',
    'Sys.Audit', 'Datastore.Audit', 'Datastore.AllocateSpace', 'Pool.Audit', 'SDN.Audit', 'SDN.Use',
)
# What bob (and so his token) may do: look, nothing else.
BOB_GRANTS = (('/vms', ('VM.Audit',)), ('/nodes', ('Sys.Audit',)))

# Attributes of a model object the `set_vm` / `set_ct` ops may set.
VM_ATTRS = ('status', 'qmpstatus', 'lock', 'start_error', 'shutdown_secs', 'start_secs', 'stop_secs', 'acpi',
            'ha_state', 'agent', 'agent_hangs', 'name', 'template', 'stats', 'pool', 'node')
# Attributes of the fake the `set` op may set.
PVE_ATTRS = ('time_scale', 'latency', 'ticket_ttl', 'vnc_ticket_ttl', 'lock_wait', 'shutdown_default_timeout',
             'ha_delay', 'quorate', 'tfa', 'refuse_terminal', 'version', 'release_version', 'cluster_name',
             'monitor_allowed', 'body_timeout', 'max_requests')
# Methods of the fake the `call` op may call (with "args" and "kwargs").
PVE_METHODS = ('fail', 'revoke_tickets', 'lose_quorum', 'regain_quorum', 'set_node_offline', 'add_node',
               'slow_network', 'flaky_network', 'hold_config_lock', 'release_config_lock', 'backup', 'migrate',
               'snapshot_lock', 'unlock', 'add_ceph_storage', 'ceph_slow', 'ceph_down', 'ceph_recover',
               'store_file', 'errors_for', 'grant')

HARNESS = web.RequestKey('harness_record', dict) if hasattr(web, 'RequestKey') else 'harness_record'


def log(*args):
    print('launch.py:', *args, file=sys.stderr, flush=True)


# ----------------------------------------------------------------- certificates

def make_pki(directory, host):
    """A CA and a server certificate for host signed by it. Returns (ca_pem, cert_pem, key_pem, sha256 of cert DER).

    fakepve's own certs.make_cert only makes a self-signed leaf (CA:FALSE), which a strict client (rustls)
    will not take as a trust anchor, so the CA is made here with `cryptography`.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'proxmox-mcp tests'),
                         x509.NameAttribute(NameOID.COMMON_NAME, 'fakepve test CA {0}'.format(host))])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))

    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName('localhost')]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))

    pem = serialization.Encoding.PEM
    ca_pem = os.path.join(directory, 'ca.pem')
    cert_pem = os.path.join(directory, 'server.pem')
    key_pem = os.path.join(directory, 'server.key')
    with open(ca_pem, 'wb') as out:
        out.write(ca.public_bytes(pem))
    with open(cert_pem, 'wb') as out:
        out.write(cert.public_bytes(pem))
    with os.fdopen(os.open(key_pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as out:
        out.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    fingerprint = ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))
    return ca_pem, cert_pem, key_pem, fingerprint


# ------------------------------------------------------------------------ fake

class HarnessPve(FakePve):
    """FakePve with a richer request log: query, headers and how the request authenticated."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.harness_requests = []
        self.harness_seq = 0
        # (METHOD, path under /api2/json) -> scripted answer; see the `script` control op.
        self.harness_scripts = {}

    def _build_app(self):
        app = super()._build_app()
        # Outermost, so it sees the final status of every answer.
        app.middlewares.insert(0, self._harness_status)
        # Innermost: after fakepve authenticated and logged the request, a scripted answer may
        # stand in for its handler.
        app.middlewares.append(self._harness_script)
        return app

    @web.middleware
    async def _harness_script(self, request, handler):
        path = request.path
        for prefix in ('/api2/json', '/api2/extjs'):
            if path.startswith(prefix + '/'):
                path = path[len(prefix):]
        script = self.harness_scripts.get((request.method, path))
        if script is None:
            return await handler(request)
        if script.get('times') is not None:
            script['times'] -= 1
            if script['times'] <= 0:
                del self.harness_scripts[(request.method, path)]
        if script.get('delay'):
            await asyncio.sleep(script['delay'])
        if 'json' in script:
            body = json.dumps({'data': script['json']}).encode()
            ctype = 'application/json'
        else:
            body = script.get('body', '').encode()
            ctype = script.get('content_type', 'application/json')
        response = web.Response(status=script.get('status', 200), reason=script.get('reason'), body=body,
                                headers=script.get('headers') or {})
        response.content_type = ctype
        return response

    @web.middleware
    async def _harness_status(self, request, handler):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._harness_set_status(request, exc.status)
            raise
        except BaseException:
            self._harness_set_status(request, None)
            raise
        self._harness_set_status(request, response.status)
        return response

    @staticmethod
    def _harness_set_status(request, status):
        try:
            record = request[HARNESS]
        except KeyError:
            return
        record['status'] = status

    def _record(self, request, body):
        super()._record(request, body)
        headers = {}
        for name, value in request.headers.items():
            lname = name.lower()
            if lname == 'authorization' and value.startswith('PVEAPIToken='):
                tokenid = value[len('PVEAPIToken='):].partition('=')[0]
                value = 'PVEAPIToken={0}=***'.format(tokenid)
            elif lname == 'cookie':
                value = '; '.join('{0}=***'.format(k) for k in request.cookies)
            headers[lname] = value
        auth = {'kind': None}
        header = request.headers.get('Authorization', '')
        if header.startswith('PVEAPIToken='):
            tokenid, _, secret = header[len('PVEAPIToken='):].partition('=')
            auth = {'kind': 'token', 'id': tokenid, 'valid': self.apitokens.get(tokenid) == secret}
        elif 'PVEAuthCookie' in request.cookies:
            session = self.tickets.get(request.cookies['PVEAuthCookie'])
            auth = {'kind': 'ticket', 'user': session['user'] if session else None,
                    'valid': bool(session and session['expires'] >= time.time())}
        csrf = request.headers.get('CSRFPreventionToken')
        csrf_valid = None
        if csrf is not None and auth['kind'] == 'ticket':
            session = self.tickets.get(request.cookies['PVEAuthCookie'])
            csrf_valid = bool(session and session['csrf'] == csrf)
        self.harness_seq += 1
        record = {
            'seq': self.harness_seq,
            'time': time.time(),
            'method': request.method,
            'path': request.path,
            'raw_path': request.rel_url.raw_path,
            'route': self._route(request),
            'query_string': request.query_string,
            'query': [[k, v] for k, v in request.query.items()],
            'content_type': request.headers.get('Content-Type'),
            'headers': headers,
            'auth': auth,
            'csrf_sent': csrf is not None,
            'csrf_valid': csrf_valid,
            'body': redact(body, request.content_type).decode('utf-8', 'replace'),
            'status': None,
        }
        self.harness_requests.append(record)
        excess = len(self.harness_requests) - self.max_requests
        if excess > 0:
            del self.harness_requests[:excess]
        try:
            request[HARNESS] = record
        except (TypeError, RuntimeError):
            pass


def _route(request):
    """The schema route fakepve resolved the request to: {'template', 'params'}, or None."""
    generic = request.get(GENERIC)
    if generic is not None:
        return {'template': generic.template, 'params': dict(generic.params)}
    info = request.match_info
    canonical = getattr(getattr(info.route, 'resource', None), 'canonical', None)
    if not canonical or 'tail' in info:
        return None
    for prefix in ('/api2/json', '/api2/extjs'):
        if canonical.startswith(prefix + '/'):
            canonical = canonical[len(prefix):]
    return {'template': re.sub(r'\{([^}:]+):[^}]*\}', r'{\1}', canonical), 'params': dict(info)}


HarnessPve._route = staticmethod(_route)


def load_guests(pve, path):
    """Add the guests of a guests file, as `python -m fakepve` does."""
    with open(path) as guestfile:
        guests = json.load(guestfile)['guests']
    seen = set()
    for guest in guests:
        if guest['vmid'] in seen:
            raise ValueError('{0}: vmid {1} appears twice'.format(path, guest['vmid']))
        seen.add(guest['vmid'])
        if guest.get('type', 'qemu') == 'lxc':
            ct = pve.add_ct(guest['vmid'], guest.get('name'), node=guest.get('node', NODE),
                            status=guest.get('status', 'stopped'), config=guest.get('config', {}),
                            template=guest.get('template', False), lock=guest.get('lock'),
                            ostemplate=guest.get('ostemplate'))
            for key in ('shutdown_secs', 'start_secs', 'stop_secs', 'start_error', 'ha_state'):
                if key in guest:
                    setattr(ct, key, guest[key])
            continue
        vm = pve.add_vm(guest['vmid'], guest['name'], node=guest.get('node', NODE),
                        status=guest.get('status', 'stopped'), qmpstatus=guest.get('qmpstatus'),
                        config=guest.get('config', {}), template=guest.get('template', False),
                        lock=guest.get('lock'))
        vm.acpi = guest.get('acpi', True)
        for key in ('shutdown_secs', 'start_secs', 'stop_secs', 'start_error', 'ha_state', 'agent'):
            if key in guest:
                setattr(vm, key, guest[key])


def setup_credentials(pve):
    pve.users[ALICE['user']] = ALICE['password']
    pve.users[BOB['user']] = BOB['password']
    pve.apitokens[ALICE['token_id']] = ALICE['token_secret']
    pve.apitokens[BOB['token_id']] = BOB['token_secret']
    # The first grant() turns permission checks on (until then everyone may do everything);
    # root@pam and its tokens always pass. A token holds its own grants plus its user's.
    pve.grant(ALICE['user'], '/', *ALICE_PRIVS)
    for path, privs in BOB_GRANTS:
        pve.grant(BOB['user'], path, *privs)


# --------------------------------------------------------------------- control

class ControlError(Exception):
    pass


def jsonable(value):
    """value as JSON can hold it: sets become sorted lists, objects their repr."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def guest_view(guest):
    out = {'vmid': guest.vmid, 'node': guest.node, 'status': guest.status, 'lock': guest.lock,
           'config': guest.config, 'pending': guest.pending, 'template': guest.template,
           'start_error': guest.start_error, 'ha_state': guest.ha_state}
    if hasattr(guest, 'qmpstatus'):
        out.update(name=guest.name, qmpstatus=guest.qmpstatus, agent=guest.agent,
                   agent_requests=guest.agent_requests, snapshots=guest.snapshots)
    return jsonable(out)


def set_attrs(guest, attrs, allowed):
    for key, value in attrs.items():
        if key == 'config':
            if not isinstance(value, dict):
                raise ControlError('config must be an object of key: value (null deletes the key)')
            for ckey, cval in value.items():
                if cval is None:
                    guest.config.pop(ckey, None)
                else:
                    guest.config[ckey] = cval
            continue
        if key not in allowed:
            raise ControlError('cannot set {0!r}; settable: config, {1}'.format(key, ', '.join(allowed)))
        setattr(guest, key, value)
        if key == 'lock':
            # PVE shows the lock in the config too.
            if value:
                guest.config['lock'] = value
            else:
                guest.config.pop('lock', None)
        elif key == 'status' and 'qmpstatus' not in attrs and hasattr(guest, 'qmpstatus'):
            guest.qmpstatus = value
        if key == 'status':
            guest.started_at = time.time() if value == 'running' else None
        elif key == 'name' and hasattr(guest, 'qmpstatus'):
            guest.config['name'] = value


def reset_faults(pve):
    pve.failures.clear()
    pve.network.update(latency=0.0, jitter=0.0, node_latency={}, drop_rate=0.0, hang_rate=0.0, hang_secs=120,
                       seed=None)
    pve.latency = 0.0
    pve.quorate = True
    pve.tfa = False
    pve.refuse_terminal = False
    pve.monitor_allowed = True
    pve.ceph_recover()
    for state in pve.nodes.values():
        state['online'] = True


def find_guest(pve, body, kind):
    try:
        vmid = int(body['vmid'])
    except (KeyError, TypeError, ValueError):
        raise ControlError('"vmid" (an integer) is required') from None
    guest = pve.vm(vmid) if kind == 'qemu' else pve.ct(vmid)
    if guest is None:
        raise ControlError('no {0} guest with vmid {1}'.format(kind, vmid))
    return guest


async def control_op(pve, body):
    """Carry out one control request; returns the JSON answer's data."""
    op = body.get('op')
    if op == 'ping':
        return {'pong': True}
    if op == 'fail':
        kwargs = {k: v for k, v in body.items() if k != 'op'}
        try:
            pve.fail(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ControlError('fail: {0}'.format(exc)) from None
        return {'failures': len(pve.failures)}
    if op == 'unfail':
        removed = pve.failures.pop((body.get('method'), body.get('suffix')), None)
        return {'removed': removed is not None}
    if op == 'reset_faults':
        reset_faults(pve)
        return {}
    if op == 'revoke_tickets':
        count = len(pve.tickets)
        pve.revoke_tickets()
        return {'revoked': count}
    if op == 'expire_tickets':
        # Unlike revoke_tickets, keeps the tickets known but past their expiry.
        for session in pve.tickets.values():
            session['expires'] = time.time() - 1
        return {'expired': len(pve.tickets)}
    if op == 'ticket_ttl':
        seconds = body.get('seconds')
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise ControlError('ticket_ttl: "seconds" (a number) is required')
        pve.ticket_ttl = seconds
        if body.get('existing'):
            for session in pve.tickets.values():
                session['expires'] = time.time() + seconds
        return {'ticket_ttl': pve.ticket_ttl}
    if op in ('set_vm', 'set_ct'):
        guest = find_guest(pve, body, 'qemu' if op == 'set_vm' else 'lxc')
        attrs = body.get('attrs')
        if attrs is None:
            attrs = {k: v for k, v in body.items() if k not in ('op', 'vmid')}
        if not isinstance(attrs, dict):
            raise ControlError('{0}: "attrs" must be an object'.format(op))
        set_attrs(guest, attrs, VM_ATTRS)
        return guest_view(guest)
    if op in ('get_vm', 'get_ct'):
        return guest_view(find_guest(pve, body, 'qemu' if op == 'get_vm' else 'lxc'))
    if op == 'requests':
        since = body.get('since', 0)
        data = [r for r in pve.harness_requests if r['seq'] > since]
        if body.get('clear'):
            pve.harness_requests.clear()
            pve.requests.clear()
        return data
    if op == 'clear_requests':
        pve.harness_requests.clear()
        pve.requests.clear()
        return {}
    if op == 'tasks':
        return jsonable(pve.tasklog)
    if op == 'task_log':
        # Lines added to the log of a running task (the newest one when no "upid" is given), as
        # PVE's long tasks write progress: {"lines": [...], "upid"}.
        lines = body.get('lines')
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ControlError('task_log: needs "lines" (a list of strings)')
        running = [t for t in pve.tasklog if t['status'] == 'running']
        if body.get('upid'):
            running = [t for t in running if t['upid'] == body['upid']]
        if not running:
            raise ControlError('task_log: no running task')
        running[-1]['log'].extend(lines)
        return {'upid': running[-1]['upid'], 'lines': len(running[-1]['log'])}
    if op == 'set':
        attrs = {k: v for k, v in body.items() if k != 'op'}
        for key, value in attrs.items():
            if key not in PVE_ATTRS:
                raise ControlError('set: cannot set {0!r}; settable: {1}'.format(key, ', '.join(PVE_ATTRS)))
        for key, value in attrs.items():
            setattr(pve, key, value)
        return {k: getattr(pve, k) for k in attrs}
    if op == 'call':
        name = body.get('method')
        if name not in PVE_METHODS:
            raise ControlError('call: method must be one of {0}'.format(', '.join(PVE_METHODS)))
        args, kwargs = body.get('args', []), body.get('kwargs', {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ControlError('call: "args" must be a list and "kwargs" an object')
        try:
            result = getattr(pve, name)(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except (TypeError, ValueError, KeyError) as exc:
            raise ControlError('call {0}: {1}: {2}'.format(name, type(exc).__name__, exc)) from None
        except Exception as exc:  # noqa: BLE001 - a PveError or TaskError from a scenario
            raise ControlError('call {0}: {1}: {2}'.format(name, type(exc).__name__, exc)) from None
        return jsonable(result)
    if op == 'grant':
        try:
            pve.grant(body['id'], body['path'], *body['privs'])
        except (KeyError, TypeError) as exc:
            raise ControlError('grant: needs "id", "path" and "privs" (a list): {0}'.format(exc)) from None
        return {}
    if op == 'add_token':
        if not isinstance(body.get('token_id'), str) or not isinstance(body.get('secret'), str):
            raise ControlError('add_token: needs "token_id" and "secret" (strings)')
        pve.apitokens[body['token_id']] = body['secret']
        return {}
    if op == 'script':
        # A scripted answer for one method and path (under /api2/json), served after fakepve has
        # authenticated and logged the request: {"method", "path", "status", "reason", "headers",
        # "json" (wrapped as {"data": ...}) or "body" (raw text), "content_type", "delay", "times"}.
        method, path = body.get('method'), body.get('path')
        if not isinstance(method, str) or not isinstance(path, str) or not path.startswith('/'):
            raise ControlError('script: needs "method" and "path" (starting with /)')
        entry = {k: v for k, v in body.items() if k not in ('op', 'method', 'path')}
        pve.harness_scripts[(method.upper(), path)] = entry
        return {'scripts': len(pve.harness_scripts)}
    if op == 'unscript':
        pve.harness_scripts.clear()
        return {}
    if op == 'add_user':
        if not isinstance(body.get('user'), str) or not isinstance(body.get('password'), str):
            raise ControlError('add_user: needs "user" and "password" (strings)')
        pve.users[body['user']] = body['password']
        return {}
    raise ControlError('unknown op {0!r}; known: {1}'.format(op, ', '.join(CONTROL_OPS)))


CONTROL_OPS = ('ping', 'fail', 'unfail', 'reset_faults', 'revoke_tickets', 'expire_tickets', 'ticket_ttl',
               'set_vm', 'set_ct', 'get_vm', 'get_ct', 'requests', 'clear_requests', 'tasks', 'task_log', 'set',
               'call',
               'grant', 'add_token', 'add_user', 'script', 'unscript')


def control_app(pve):
    async def handle(request):
        try:
            body = json.loads(await request.read() or b'null')
        except ValueError as exc:
            return web.json_response({'error': 'body is not JSON: {0}'.format(exc)}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get('op'), str):
            return web.json_response({'error': 'body must be a JSON object with an "op" string'}, status=400)
        try:
            data = await control_op(pve, body)
        except ControlError as exc:
            return web.json_response({'error': str(exc)}, status=400)
        except Exception as exc:  # noqa: BLE001 - tell the test, do not die
            log('control op {0!r} failed: {1!r}'.format(body.get('op'), exc))
            return web.json_response({'error': '{0}: {1}'.format(type(exc).__name__, exc)}, status=500)
        return web.json_response({'ok': True, 'data': data})

    async def health(_request):
        return web.json_response({'ok': True})

    # Scripted answers may be large (tests of the server's output bounds).
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post('/control', handle)
    app.router.add_get('/health', health)
    return app


# ------------------------------------------------------------------------ main

def write_atomically(path, data):
    tmp = '{0}.tmp.{1}'.format(path, os.getpid())
    with open(tmp, 'w') as out:
        json.dump(data, out, indent=2)
        out.write('\n')
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def watch_stdin(loop, stop):
    """Set stop when standard input reaches EOF (the parent closed the pipe or died)."""
    def run():
        try:
            fd = sys.stdin.fileno()
            while os.read(fd, 65536):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)
    threading.Thread(target=run, name='stdin-watch', daemon=True).start()


async def serve(args, tmpdir):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not args.ignore_stdin:
        watch_stdin(loop, stop)

    ca_pem, cert_pem, key_pem, fingerprint = make_pki(tmpdir, args.host)
    # /nodes reports the node's certificate fingerprint; make it the real one.
    shapes.FINGERPRINT = fingerprint
    for key in ('fingerprint', 'ssl_fingerprint'):
        if key in shapes.HINTS:
            shapes.HINTS[key] = fingerprint

    pve = HarnessPve(user=ROOT['user'], password=ROOT['password'], host=args.host, port=args.port)
    pve.time_scale = args.time_scale
    load_guests(pve, args.guests)
    setup_credentials(pve)
    await pve.start(cert_pem, key_pem)

    runner = web.AppRunner(control_app(pve), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.control_port).start()
    control_port = runner.addresses[0][1]

    ready = {
        'host': args.host,
        'port': pve.port,
        'control_port': control_port,
        'base_url': 'https://{0}:{1}'.format(args.host, pve.port),
        'control_url': 'http://{0}:{1}/control'.format(args.host, control_port),
        'ca_pem': ca_pem,
        'cert_pem': cert_pem,
        'fingerprint_sha256': fingerprint,
        'node': NODE,
        'pid': os.getpid(),
        'fakepve_version': fakepve.__version__,
        'root': dict(ROOT),
        'alice': dict(ALICE),
        'bob': dict(BOB),
    }
    write_atomically(args.ready, ready)
    log('fakepve {0} on {1}, control on port {2}'.format(fakepve.__version__, ready['base_url'], control_port))
    try:
        await stop.wait()
    finally:
        log('stopping')
        await runner.cleanup()
        await pve.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', required=True, help='loopback address to listen on, e.g. 127.0.0.7')
    parser.add_argument('--ready', required=True, help='file to write the connection details to (JSON)')
    parser.add_argument('--guests', default=os.path.join(HERE, 'guests.json'))
    parser.add_argument('--time-scale', type=float, default=0.0,
                        help='real seconds per PVE second; 0 (default) finishes tasks before the request returns')
    parser.add_argument('--port', type=int, default=0, help='HTTPS port; 0 (default) lets the system pick')
    parser.add_argument('--control-port', type=int, default=0, help='control port; 0 (default) lets the system pick')
    parser.add_argument('--ignore-stdin', action='store_true', help='do not stop at EOF on standard input')
    args = parser.parse_args()
    try:
        if not ipaddress.IPv4Address(args.host).is_loopback:
            raise ValueError
    except ValueError:
        parser.error('--host must be an IPv4 loopback address (127.0.0.0/8), not {0!r}'.format(args.host))
    tmpdir = tempfile.mkdtemp(prefix='fakepve-harness-')
    try:
        asyncio.run(serve(args, tmpdir))
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == '__main__':
    main()
