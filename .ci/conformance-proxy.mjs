// A loopback reverse proxy for the MCP conformance run (.ci/conformance.sh), and nothing else.
//
// The conformance suite's client cannot send an Authorization header (it has no option or
// variable for one), while `proxmox-mcp serve --http` always requires a bearer token. This proxy
// adds `Authorization: Bearer $CONFORMANCE_BEARER` to every request and forwards it, with every
// other header (Host and Origin included, so the server's DNS-rebinding checks see what the suite
// sent) and the body untouched, to $CONFORMANCE_UPSTREAM (http://127.0.0.1:PORT); responses,
// server-sent event streams included, are streamed back as they come.
//
//   CONFORMANCE_UPSTREAM=http://127.0.0.1:PORT CONFORMANCE_BEARER=... node conformance-proxy.mjs
//
// It listens on 127.0.0.1 on a port the system picks and prints `listening PORT` on stdout.

import http from 'node:http';

const upstream = new URL(process.env.CONFORMANCE_UPSTREAM ?? '');
const bearer = process.env.CONFORMANCE_BEARER ?? '';
if (upstream.protocol !== 'http:' || bearer === '') {
  console.error('conformance-proxy: set CONFORMANCE_UPSTREAM (http://127.0.0.1:PORT) and CONFORMANCE_BEARER');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${bearer}` };
  const out = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', (e) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
    }
    res.end(`conformance-proxy: upstream failed: ${e.message}`);
  });
  res.on('close', () => out.destroy());
  req.pipe(out);
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
