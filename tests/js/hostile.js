#!/usr/bin/env node
// hostile.js - a Blob service that lies: malformed, oversized and broken
// answers for azblobfs to survive (tests/integration/t_hostile.sh).
//
// Why: a client must treat every byte from the network as untrusted.  A
// DTD in an XML body can expand to gigabytes, a body or a header block can
// be endless, a Content-Length can be a lie and a server can answer
// something that is not HTTP at all, or nothing.  azblobfs caps what it
// accepts (HTTP_MAX_HEADER_BYTES and the body caps in src/http, the DTD
// refusal in src/blob/xml.c); this server gives it each of those inputs,
// so a test can check that the user gets an error, not a hang or a crash,
// and that the daemon keeps serving good requests afterwards.
//
// It speaks HTTP/1.1 itself over plain TCP (net, not http), because most
// of the answers below cannot be produced with node's HTTP server.  It
// checks no signature: any account, key or SAS is accepted.
//
// The good service: account devstoreaccount1, path-style URLs, any
// container, holding the blob "good.txt" ("good data\n") and, for every
// KIND below, the blobs "KIND.bin" and "KIND/f" (256 KiB of the text
// "KIND\n" repeated each): a file and a directory at the top.  Besides,
// "echo/0" to "echo/999" hold their number and a newline: a test reads one
// it never read before to make a request that no cache can answer.
// It answers Get Container Properties, List Blobs (prefix and delimiter;
// one page, whatever maxresults says), Get Blob Properties (HEAD) and Get
// Blob (with x-ms-range or Range: 206 and Content-Range).  Anything else
// is 403 AuthorizationPermissionMismatch.  Connections are kept alive.
//
// The hostile answers.  A request gets KIND's answer when the container
// is named KIND (every request of a mount of that container, the mount
// check included), or when its blob name starts with KIND followed by "/"
// or "." ("cl-long.bin", "cl-long/f") or its List Blobs prefix with KIND
// followed by "/" (the listing of "cl-long/"), and KIND applies to that
// request:
//
//   dtd       List Blobs: 200 with a body that declares a DTD with nested
//             entities ("billion laughs": 10 levels of ten references to
//             the one before, 1 KiB at the bottom, 10^10 KiB expanded) and
//             uses the top one in a blob name.  Tests that no entity is
//             expanded and the body is refused.
//   bigxml    List Blobs: 200, chunked, a well-formed listing of 66 MiB,
//             more than azblobfs accepts for a listing (64 MiB,
//             src/blob/ops.c).  Chunked, so no Content-Length warns the
//             client: the cap has to hold while the body streams in.
//   badxml    List Blobs: 200 with a listing cut at 60% of its length,
//             under a Content-Length that matches the cut body: the HTTP
//             exchange is complete, the XML is not.
//   bighdr    every request: the good answer preceded by 24 extra headers
//             of 3,000 bytes each (72 KB, more than HTTP_MAX_HEADER_BYTES
//             of 64 KiB, fewer than the 128 headers azblobfs allows, and
//             below libcurl's own limits, so azblobfs's cap is what stops it).
//   cl-long   Get Blob, List Blobs: the good status and headers announcing
//             the full Content-Length, half of the body, then the
//             connection closed (FIN).  Get Blob Properties is good, so the
//             file has a size and opens.
//   cl-short  Get Blob, List Blobs: Content-Length announces half of the
//             body, then the whole body is sent (the rest would be read as
//             the start of the next answer) and the connection is closed.
//   garbage   every request: bytes that are not HTTP (an SSH banner and
//             binary noise), then the connection closed.
//   stall     every request: read, never answered; the connection is left
//             open until the client gives up.
//
// Test hooks (never hostile):
//   GET  /__hostile/log    JSON {requests, served:{KIND:n}, last:[{kind,
//                          op, method, url}] (the last 200 requests)}
//   GET  /__hostile/count?kind=KIND   plain text: how many KIND answers
//                          were given ("all": how many requests came)
//   POST /__hostile/reset  zeroes the counters
//
// Usage: node hostile.js [--listen PORT]
// Prints "listening PORT" on stdout once ready (--listen 0 picks a port).
'use strict';

const net = require('net');
const crypto = require('crypto');

const ACCOUNT = 'devstoreaccount1';
const KINDS = ['dtd', 'bigxml', 'badxml', 'bighdr', 'cl-long', 'cl-short', 'garbage', 'stall'];
// which requests each kind spoils ('all': every one)
const SPOILS = {
  dtd: ['list'], bigxml: ['list'], badxml: ['list'], bighdr: 'all',
  'cl-long': ['get', 'list'], 'cl-short': ['get', 'list'], garbage: 'all', stall: 'all',
};
const LIST_CAP = 64 * 1024 * 1024; // azblobfs's cap on a List Blobs body
const BLOB_SIZE = 256 * 1024;
const LAST_MODIFIED = 'Mon, 01 Jan 2024 00:00:00 GMT';
const MAX_REQUEST_HEAD = 64 * 1024;

function usage(msg) {
  process.stderr.write(`hostile: ${msg}\nusage: hostile.js [--listen PORT]\n`);
  process.exit(2);
}

let listenPort = 0;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--listen' && i + 1 < process.argv.length) listenPort = Number(process.argv[++i]);
  else usage(`unknown argument ${process.argv[i]}`);
}

// ---------------------------------------------------------------- the blobs
const blobs = new Map();
blobs.set('good.txt', Buffer.from('good data\n'));
for (let i = 0; i < 1000; i++) blobs.set(`echo/${i}`, Buffer.from(`${i}\n`));
for (const k of KINDS) {
  const unit = Buffer.from(`${k}\n`);
  const b = Buffer.alloc(BLOB_SIZE);
  for (let off = 0; off < BLOB_SIZE; off += unit.length) unit.copy(b, off);
  blobs.set(`${k}.bin`, b);
  blobs.set(`${k}/f`, b);
}
const etagOf = (name) => `"0x${crypto.createHash('sha1').update(name).digest('hex').slice(0, 15).toUpperCase()}"`;

// ---------------------------------------------------------------- counters
const log = { requests: 0, served: {}, last: [] };

function note(kind, op, method, url) {
  log.requests++;
  if (kind !== 'good') log.served[kind] = (log.served[kind] || 0) + 1;
  log.last.push({ kind, op, method, url });
  if (log.last.length > 200) log.last.shift();
}

// ---------------------------------------------------------------- answers
const REASONS = { 200: 'OK', 206: 'Partial Content', 400: 'Bad Request', 403: 'Forbidden',
  404: 'The specified blob does not exist.', 416: 'Range Not Satisfiable' };

function xmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function baseHeaders() {
  return [['x-ms-request-id', crypto.randomUUID()], ['x-ms-version', '2021-12-02'],
    ['Date', new Date().toUTCString()]];
}

function errorAnswer(status, code) {
  const body = Buffer.from(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code>` +
    `<Message>${code}</Message></Error>`);
  return { status, headers: [...baseHeaders(), ['x-ms-error-code', code],
    ['Content-Type', 'application/xml']], body };
}

function blobXml(name, data) {
  return `<Blob><Name>${xmlEscape(name)}</Name><Properties><Last-Modified>${LAST_MODIFIED}</Last-Modified>` +
    `<Etag>${etagOf(name)}</Etag><Content-Length>${data.length}</Content-Length>` +
    '<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType>' +
    '</Properties><Metadata /></Blob>';
}

function listHead(container, prefix, delim) {
  return `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/${ACCOUNT}" ` +
    `ContainerName="${xmlEscape(container)}"><Prefix>${xmlEscape(prefix)}</Prefix>` +
    `<Delimiter>${xmlEscape(delim)}</Delimiter><Blobs>`;
}
const LIST_TAIL = '</Blobs><NextMarker /></EnumerationResults>';

function listing(container, prefix, delim) {
  const items = [];
  const seen = new Set();
  for (const [name, data] of [...blobs.entries()].sort()) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const cut = delim ? rest.indexOf(delim) : -1;
    if (cut >= 0) {
      const p = prefix + rest.slice(0, cut + delim.length);
      if (!seen.has(p)) items.push(`<BlobPrefix><Name>${xmlEscape(p)}</Name></BlobPrefix>`);
      seen.add(p);
    } else {
      items.push(blobXml(name, data));
    }
  }
  return listHead(container, prefix, delim) + items.join('') + LIST_TAIL;
}

function parseRange(v, size) {
  const m = /^bytes=(\d+)-(\d*)$/.exec(v || '');
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return { start, end };
}

// good: the honest answer to req
function good(req) {
  const h = baseHeaders();
  if (req.op === 'container') {
    return { status: 200, headers: [...h, ['ETag', '"0x8DC000000000001"'], ['Last-Modified', LAST_MODIFIED]],
      body: Buffer.alloc(0) };
  }
  if (req.op === 'list') {
    const body = Buffer.from(listing(req.container, req.query.get('prefix') || '', req.query.get('delimiter') || ''));
    return { status: 200, headers: [...h, ['Content-Type', 'application/xml']], body };
  }
  if (req.op === 'head' || req.op === 'get') {
    const data = blobs.get(req.blob);
    if (!data) {
      const e = errorAnswer(404, 'BlobNotFound');
      if (req.op === 'head') e.body = Buffer.alloc(0);
      return e;
    }
    const props = [['ETag', etagOf(req.blob)], ['Last-Modified', LAST_MODIFIED],
      ['x-ms-blob-type', 'BlockBlob'], ['Content-Type', 'application/octet-stream'], ['Accept-Ranges', 'bytes']];
    if (req.op === 'head') {
      return { status: 200, headers: [...h, ...props], body: Buffer.alloc(0), length: data.length };
    }
    const r = parseRange(req.headers['x-ms-range'] || req.headers.range, data.length);
    if (!r) return { status: 200, headers: [...h, ...props], body: data };
    if (r.start >= data.length) return errorAnswer(416, 'InvalidRange');
    return { status: 206, headers: [...h, ...props, ['Content-Range', `bytes ${r.start}-${r.end}/${data.length}`]],
      body: data.subarray(r.start, r.end + 1) };
  }
  return errorAnswer(403, 'AuthorizationPermissionMismatch');
}

function head(status, headers, length) {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] || 'Unknown'}`];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  if (length !== null) lines.push(`Content-Length: ${length}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
}

// send: writes a whole answer; keeps the connection
function send(sock, a, isHead) {
  const len = a.length !== undefined ? a.length : a.body.length;
  sock.write(head(a.status, a.headers, len));
  if (!isHead && a.body.length) sock.write(a.body);
}

// dtdBody: a listing whose DTD nests entities ten levels deep
function dtdBody(req) {
  const ents = [`<!ENTITY e0 "${'x'.repeat(1024)}">`];
  for (let i = 1; i <= 10; i++) ents.push(`<!ENTITY e${i} "${`&e${i - 1};`.repeat(10)}">`);
  return Buffer.from(`<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE EnumerationResults [\n${ents.join('\n')}\n]>\n` +
    listHead(req.container, req.query.get('prefix') || '', '/') +
    `<Blob><Name>dtd/&e10;</Name><Properties><Content-Length>1</Content-Length>` +
    `<BlobType>BlockBlob</BlobType></Properties></Blob>${LIST_TAIL}`);
}

// streamBigXml: a chunked listing of more than LIST_CAP + 2 MiB
function streamBigXml(sock, req) {
  sock.write(head(200, [...baseHeaders(), ['Content-Type', 'application/xml'],
    ['Transfer-Encoding', 'chunked']], null));
  const chunk = (s) => {
    const b = Buffer.from(s);
    return sock.write(Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]));
  };
  const group = [];
  for (let i = 0; i < 512; i++) group.push(blobXml(`bigxml/f${String(i).padStart(7, '0')}`, Buffer.alloc(1)));
  const piece = group.join('');
  let sent = 0;
  chunk(listHead(req.container, req.query.get('prefix') || '', '/'));
  const more = () => {
    while (!sock.destroyed && sent < LIST_CAP + 2 * 1024 * 1024) {
      sent += piece.length;
      if (!chunk(piece)) return sock.once('drain', more);
    }
    if (!sock.destroyed) {
      chunk(LIST_TAIL);
      sock.end('0\r\n\r\n');
    }
    return undefined;
  };
  more();
}

function hostile(kind, sock, req) {
  const isHead = req.method === 'HEAD';
  switch (kind) {
    case 'dtd': {
      send(sock, { status: 200, headers: [...baseHeaders(), ['Content-Type', 'application/xml']],
        body: dtdBody(req) }, isHead);
      return true;
    }
    case 'bigxml':
      streamBigXml(sock, req);
      return false;
    case 'badxml': {
      const a = good(req);
      send(sock, { ...a, body: a.body.subarray(0, Math.floor(a.body.length * 0.6)) }, isHead);
      return true;
    }
    case 'bighdr': {
      const a = good(req);
      const pad = [];
      for (let i = 0; i < 24; i++) pad.push([`x-hostile-pad-${i}`, 'p'.repeat(3000)]);
      send(sock, { ...a, headers: [...pad, ...a.headers] }, isHead);
      return true;
    }
    case 'cl-long': {
      const a = good(req);
      sock.write(head(a.status, a.headers, a.body.length));
      sock.end(a.body.subarray(0, Math.floor(a.body.length / 2)));
      return false;
    }
    case 'cl-short': {
      const a = good(req);
      sock.write(head(a.status, a.headers, Math.floor(a.body.length / 2)));
      sock.end(a.body);
      return false;
    }
    case 'garbage':
      sock.end(Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_9.2p1 hostile\r\n'), crypto.randomBytes(512)]));
      return false;
    case 'stall':
      return false;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

// ---------------------------------------------------------------- requests
function classify(method, url) {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const segs = path.split('/').map((s) => { try { return decodeURIComponent(s); } catch (e) { return s; } });
  const container = segs[2] || '';
  const blob = segs.slice(3).join('/');
  let op = 'other';
  if (container && !blob && query.get('restype') === 'container') {
    if (query.get('comp') === 'list') op = method === 'GET' ? 'list' : 'other';
    else if (!query.get('comp')) op = method === 'GET' || method === 'HEAD' ? 'container' : 'other';
  } else if (blob && !query.get('comp')) {
    op = { HEAD: 'head', GET: 'get' }[method] || 'other';
  }
  let kind = 'good';
  // "KIND.bin/" is a listing of a directory of that name: not KIND's
  const first = blob ? blob.split(/[/.]/)[0] : (query.get('prefix') || '').split('/')[0];
  if (KINDS.includes(container)) kind = container;
  else if (KINDS.includes(first)) kind = first;
  const spoils = SPOILS[kind];
  if (kind !== 'good' && spoils !== 'all' && !spoils.includes(op)) kind = 'good';
  return { method, url, query, container, blob, op, kind };
}

function control(sock, req) {
  let status = 200;
  let body;
  const count = /^\/__hostile\/count\?kind=([a-z-]+)$/.exec(req.url);
  if (req.method === 'GET' && count) {
    const n = count[1] === 'all' ? log.requests : log.served[count[1]] || 0;
    const b = Buffer.from(`${n}\n`);
    sock.end(Buffer.concat([head(200, [['Content-Type', 'text/plain'], ['Connection', 'close']], b.length), b]));
    return;
  }
  if (req.method === 'GET' && req.url === '/__hostile/log') {
    body = log;
  } else if (req.method === 'POST' && req.url === '/__hostile/reset') {
    log.requests = 0;
    log.served = {};
    log.last = [];
    body = { ok: true };
  } else {
    status = 404;
    body = { error: 'unknown hostile endpoint' };
  }
  const b = Buffer.from(JSON.stringify(body));
  sock.end(Buffer.concat([head(status, [['Content-Type', 'application/json'], ['Connection', 'close']], b.length), b]));
}

const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  let busy = false; // an answer that ends or holds the connection was given
  sock.on('error', () => {});
  sock.on('data', (d) => {
    if (busy) return;
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_REQUEST_HEAD) sock.destroy();
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const [method, url] = lines[0].split(' ');
      const headers = {};
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      const blen = Number(headers['content-length'] || 0);
      if (buf.length < end + 4 + blen) return; // the request body is still coming
      buf = buf.subarray(end + 4 + blen);
      if (!url) { sock.destroy(); return; }
      if (url.startsWith('/__hostile/')) { control(sock, { method, url }); busy = true; return; }
      const req = classify(method, url);
      req.headers = headers;
      note(req.kind, req.op, method, url);
      if (req.kind === 'good') {
        send(sock, good(req), method === 'HEAD');
        continue;
      }
      if (!hostile(req.kind, sock, req)) { busy = true; return; }
    }
  });
});
server.listen(listenPort, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
