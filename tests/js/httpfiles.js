#!/usr/bin/env node
// httpfiles.js - tiny static file server used as an "external URL" copy
// source (another account, a public URL) by the integration tests.
//
// Usage: node httpfiles.js --dir DIR [--listen PORT] [--require-sig SECRET]
// Prints "listening PORT" on stdout once ready (--listen 0 picks a port).
// Serves GET and HEAD of regular files under DIR with Content-Length, ETag,
// Last-Modified and Content-Type: application/octet-stream.  With
// --require-sig, every request must carry the query parameter sig=SECRET
// (403 otherwise), like a SAS-protected blob.  Listens on 127.0.0.1 only.
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');

function usage(msg) {
  process.stderr.write(`httpfiles: ${msg}\nusage: httpfiles.js --dir DIR [--listen PORT] [--require-sig SECRET]\n`);
  process.exit(2);
}

const o = { dir: null, listen: 0, sig: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--dir') o.dir = argv[++i];
  else if (argv[i] === '--listen') o.listen = Number(argv[++i]);
  else if (argv[i] === '--require-sig') o.sig = argv[++i];
  else usage(`unknown argument ${argv[i]}`);
}
if (!o.dir) usage('--dir is required');
const root = path.resolve(o.dir);

function reply(res, code, text) {
  res.writeHead(code, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  try {
    const u = new URL(req.url, 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n');
    if (o.sig !== null && u.searchParams.get('sig') !== o.sig) return reply(res, 403, 'signature mismatch\n');
    let rel;
    try { rel = decodeURIComponent(u.pathname); } catch { return reply(res, 400, 'bad path\n'); }
    const file = path.resolve(root, `.${rel}`);
    if (file !== root && !file.startsWith(root + path.sep)) return reply(res, 403, 'outside root\n');
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return reply(res, 404, 'not found\n');
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': st.size,
        ETag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs * 1000).toString(16)}"`,
        'Last-Modified': st.mtime.toUTCString(),
      });
      if (req.method === 'HEAD') return res.end();
      const s = fs.createReadStream(file);
      s.on('error', () => res.destroy());
      s.pipe(res);
    });
  } catch (e) {
    reply(res, 500, 'error\n');
  }
});
server.on('error', (e) => { process.stderr.write(`httpfiles: ${e.message}\n`); process.exit(1); });
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
server.listen(o.listen, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
