#!/usr/bin/env node
// copyemu.js - asynchronous Copy Blob emulator: an HTTP reverse proxy in
// front of Azurite.
//
// Why: Azurite completes every Copy Blob inside the request, so a client's
// handling of *pending* copies (polling, aborting, failures) cannot be tested
// against it.  This proxy makes copies really asynchronous.
//
// What it emulates:
//   * Copy Blob (PUT with x-ms-copy-source, without x-ms-requires-sync and
//     without x-ms-blob-type): validates the source, creates the destination
//     as a zero-length blob, answers 202 with x-ms-copy-status: pending, then
//     "transfers" the source at --rate bytes/s and finally writes the content,
//     the source's content type and metadata (or the request's x-ms-meta-*)
//     and the requested x-ms-access-tier.  Sources on this proxy or on the
//     upstream Azurite (same account) are read with the SDK; any other
//     loopback http URL is fetched with a plain GET, query string included.
//   * Errors: 404 CannotVerifyCopySource (source missing/unreachable),
//     412 SourceConditionNotMet (x-ms-source-if-match / -if-none-match),
//     409 PendingCopyOperation (destination already has a pending copy).
//   * A copy fails (status "failed", description "412 SourceModified: ...")
//     when the source's ETag changes or the source disappears while pending.
//   * Abort Copy Blob for its own copies: 204 and status "aborted" (the
//     destination stays zero-length), 409 NoPendingCopyOperation or
//     409 CopyIdMismatch.
//   * x-ms-copy-* headers of Get Blob / Get Blob Properties and the Copy*
//     elements of List Blobs (include=copy) are overlaid with its own state,
//     until the destination is overwritten or deleted.
//   * Writes to a pending destination (Put Blob, Put Block, Put Block List,
//     Set Blob Metadata, Set Blob Properties, Delete Blob, sync copies, append
//     and page writes) are refused with 409 PendingCopyOperation.  For Delete
//     Blob this is stricter than the service on purpose: abort first.
//
// What it does NOT emulate: https sources or non-loopback hosts (404),
// incremental copies, page/append blob sources (the destination is always a
// block blob), copies to snapshots or versions, leases and destination lease
// checks, x-ms-tags, Blob Batch, copy sources in other accounts of the same
// Azurite, and the service's own timing (only the rate is modelled).  Copy
// state lives in memory only.  Every other request is forwarded unchanged to
// Azurite (except the hop-by-hop headers Connection, Keep-Alive and Expect;
// the Host header is kept, Shared Key signatures do not cover it).
//
// Counting mode (--passthrough): no emulation at all.  Every request,
// Copy Blob and Abort Copy Blob included, is forwarded unchanged to Azurite
// (which completes copies inside the request), while the counters of
// /__emu/log (requests, uploadBodyBytes, byMethod, ops, deletes, aborts) are
// still kept; "copies" then stays empty.  The benchmark (tests/bench/run.sh)
// puts it between each client and Azurite to count what the clients send.
//
// Slow connections (--conn-rate BYTES_PER_SEC, any mode): the body of every
// GET response leaves the proxy at no more than this rate, each response on
// its own.  This models a service reached over a long path, where one
// connection carries a limited rate and only parallel requests add up (as
// clients of the real service see); Azurite on loopback has no such limit.
// A client that stops reading for a while does not get the time back
// (tests/js/pace.js): as on a TCP connection, a closed window is lost time.
//
// A distant service (--latency MS, any mode): every request is held MS
// milliseconds before it is handled, as if it had crossed a long path (the
// kernel here has no netem to delay loopback packets).  The delay is fixed
// and applies to each request on its own, so requests in parallel overlap
// as they would over a real network; the test hooks are never held.
// /__emu/log shows it as latencyMs.
//
// Test hooks (never forwarded):
//   GET  /__emu/log         JSON log of copies, aborts, deletes, counters
//   GET  /__emu/copies      JSON of the full copy state (bytes, total, ...)
//   POST /__emu/reset       clears the log (not the copy state)
//   POST /__emu/rate?bps=N  changes the transfer rate
//
// Usage: node copyemu.js --listen PORT --upstream http://127.0.0.1:PORT
//        [--rate BYTES_PER_SEC] [--conn-rate BYTES_PER_SEC] [--latency MS]
//        [--passthrough] [--verbose]
// Prints "listening PORT" on stdout once ready (--listen 0 picks a port).
'use strict';

const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { pipeline } = require('stream/promises');
const { BlobServiceClient, StorageSharedKeyCredential } = require('@azure/storage-blob');
const { trickle } = require('./pace');

const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const DEFAULT_VERSION = '2025-11-05';
const TICK_MS = 100;

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { listen: 0, upstream: null, rate: 1 << 20, connRate: 0, latency: 0, passthrough: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--listen') o.listen = Number(argv[++i]);
    else if (a === '--upstream') o.upstream = argv[++i];
    else if (a === '--rate') o.rate = Number(argv[++i]);
    else if (a === '--conn-rate') o.connRate = Number(argv[++i]);
    else if (a === '--latency') o.latency = Number(argv[++i]);
    else if (a === '--passthrough') o.passthrough = true;
    else if (a === '--verbose') o.verbose = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.upstream) throw new Error('--upstream is required');
  if (!Number.isInteger(o.listen) || o.listen < 0) throw new Error('bad --listen');
  if (!(o.rate > 0)) throw new Error('bad --rate');
  if (!(o.connRate >= 0)) throw new Error('bad --conn-rate');
  if (!(o.latency >= 0 && o.latency <= 600000)) throw new Error('bad --latency (0 to 600000 ms)');
  return o;
}

let opt;
try {
  opt = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`copyemu: ${e.message}\nusage: copyemu.js --listen PORT ` +
    '--upstream http://127.0.0.1:PORT [--rate BYTES_PER_SEC] [--conn-rate BYTES_PER_SEC] ' +
    '[--latency MS] [--passthrough] [--verbose]\n');
  process.exit(2);
}
const up = new URL(opt.upstream);
const upPort = Number(up.port || 80);
let listenPort = 0;
let rate = opt.rate;

function vlog(...a) {
  if (opt.verbose) process.stderr.write(`copyemu: ${a.join(' ')}\n`);
}

const svc = new BlobServiceClient(`http://${up.host}/${ACCOUNT}`,
  new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY),
  { retryOptions: { maxTries: 2, retryDelayInMs: 100 } });
// One connection per upstream request: no keep-alive race with Azurite.
const upAgent = new http.Agent({ keepAlive: false });
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'copyemu-'));

// ---------------------------------------------------------------- state
const copies = new Map(); // "container/blob" -> copy state
const OPS = ['PutBlob', 'PutBlock', 'PutBlockList', 'CopyBlob', 'CopyBlobSync', 'AbortCopy',
  'GetBlob', 'GetProperties', 'ListBlobs', 'Delete', 'SetMetadata', 'SetProperties'];
let log;
function resetLog() {
  log = { copies: [], aborts: [], deletes: [], requests: 0, uploadBodyBytes: 0,
    byMethod: {}, ops: Object.fromEntries(OPS.map((o) => [o, 0])) };
}
resetLog();

function copyView(s) {
  return { id: s.id, dest: s.dest, source: s.source, status: s.status,
    progress: `${s.bytes}/${s.total}`, description: s.description };
}

// ---------------------------------------------------------------- helpers
function dec(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

function xmlEsc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function xmlUnesc(s) {
  return s.replace(/&(lt|gt|quot|apos|amp|#x([0-9a-fA-F]+)|#(\d+));/g, (m, n, hex, d) => {
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    if (d) return String.fromCodePoint(parseInt(d, 10));
    return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[n];
  });
}

function stripEtag(e) {
  return String(e || '').trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function etagMatches(header, etag) {
  return header.split(',').some((h) => h.trim() === '*' || stripEtag(h) === stripEtag(etag));
}

// Splits "/account/container/blob?query" of a request.
function parseTarget(url) {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const segs = rawPath.split('/');
  const container = segs.length > 2 ? dec(segs[2]) : '';
  const blob = segs.length > 3 ? dec(segs.slice(3).join('/')) : '';
  return { account: dec(segs[1] || ''), container, blob, query,
    key: `${container}/${blob}` };
}

// Names the operation of a request (for the log and the routing).
function classify(method, t, h) {
  const comp = t.query.get('comp');
  const restype = t.query.get('restype');
  if (!t.container) return comp === 'list' ? 'ListContainers' : `Service_${comp || method}`;
  if (!t.blob) {
    if (comp === 'list') return 'ListBlobs';
    if (restype === 'container' && !comp) {
      return { PUT: 'CreateContainer', DELETE: 'DeleteContainer' }[method] || 'GetContainerProperties';
    }
    return `Container_${comp || method}`;
  }
  switch (method) {
    case 'GET':
      if (!comp) return 'GetBlob';
      if (comp === 'blocklist') return 'GetBlockList';
      return comp === 'metadata' ? 'GetMetadata' : `Get_${comp}`;
    case 'HEAD':
      return comp === 'metadata' ? 'GetMetadata' : (comp ? `Head_${comp}` : 'GetProperties');
    case 'DELETE':
      return 'Delete';
    case 'PUT':
      if (!comp) {
        if (!h['x-ms-copy-source']) return 'PutBlob';
        if (h['x-ms-blob-type']) return 'PutBlobFromURL';
        return String(h['x-ms-requires-sync']).toLowerCase() === 'true' ? 'CopyBlobSync' : 'CopyBlob';
      }
      return { block: h['x-ms-copy-source'] ? 'PutBlockFromURL' : 'PutBlock',
        blocklist: 'PutBlockList', metadata: 'SetMetadata', properties: 'SetProperties',
        copy: 'AbortCopy', tier: 'SetTier', lease: 'Lease', snapshot: 'Snapshot',
        appendblock: 'AppendBlock', page: 'PutPage', tags: 'SetTags' }[comp] || `Put_${comp}`;
    default:
      return `${method}_${comp || ''}`;
  }
}

// Refused with 409 while the destination has a pending copy.
const BLOCKED = new Set(['PutBlob', 'PutBlock', 'PutBlockList', 'SetMetadata', 'SetProperties',
  'Delete', 'CopyBlobSync', 'PutBlobFromURL', 'PutBlockFromURL', 'AppendBlock', 'PutPage']);
// Replace the blob's content: a successful one ends the overlay.
const OVERWRITES = new Set(['PutBlob', 'PutBlockList', 'Delete', 'CopyBlobSync', 'PutBlobFromURL']);

function baseHeaders(req) {
  const h = {
    'x-ms-request-id': crypto.randomUUID(),
    'x-ms-version': req.headers['x-ms-version'] || DEFAULT_VERSION,
    Date: new Date().toUTCString(),
    Server: 'copyemu',
  };
  if (req.headers['x-ms-client-request-id']) h['x-ms-client-request-id'] = req.headers['x-ms-client-request-id'];
  return h;
}

function sendError(req, res, status, code, message) {
  if (res.headersSent) { res.destroy(); return; }
  const h = baseHeaders(req);
  const body = req.method === 'HEAD' ? '' :
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${xmlEsc(code)}</Code><Message>` +
    `${xmlEsc(message)}\nRequestId:${h['x-ms-request-id']}\nTime:${new Date().toISOString()}` +
    '</Message></Error>';
  res.writeHead(status, message.replace(/[^\x20-\x7e]/g, ' '), {
    ...h, 'x-ms-error-code': code, 'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

class HttpError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function fromRestError(e) {
  if (e instanceof HttpError) return e;
  const code = e.code || (e.details && e.details.errorCode) || 'InternalError';
  return new HttpError(e.statusCode || 500, code, String(e.message || e).split('\n')[0]);
}

// x-ms-meta-* of a request, original key case kept.
function requestMetadata(raw) {
  const m = {};
  for (let i = 0; i < raw.length; i += 2) {
    if (/^x-ms-meta-/i.test(raw[i])) m[raw[i].slice(10)] = raw[i + 1];
  }
  return m;
}

function destClient(st) {
  return svc.getContainerClient(st.container).getBlockBlobClient(st.blob);
}

function plainRequest(url, method) {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, agent: upAgent }, resolve);
    r.setTimeout(10000, () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

// ---------------------------------------------------------------- sources
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const CANNOT_VERIFY = 'Could not verify the copy source within the specified time.';

// Opens the copy source.  Returns { total, etag, stream, httpHeaders,
// metadata, probe() } where probe() resolves to the current ETag or null
// when the source is gone.
async function openSource(src, h) {
  let u;
  try { u = new URL(src); } catch { u = null; }
  if (!u || u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new HttpError(400, 'InvalidHeaderValue',
      'The value for one of the HTTP headers is not in the correct format.');
  }
  if (u.protocol !== 'http:' || !LOOPBACK.has(u.hostname)) {
    throw new HttpError(404, 'CannotVerifyCopySource', `${CANNOT_VERIFY} (emulator: only loopback http sources)`);
  }
  const port = Number(u.port || 80);
  const s = (port === listenPort || port === upPort) ? await openBlobSource(u) : await openUrlSource(src);
  const ifMatch = h['x-ms-source-if-match'];
  const ifNone = h['x-ms-source-if-none-match'];
  if ((ifMatch && !etagMatches(ifMatch, s.etag)) || (ifNone && etagMatches(ifNone, s.etag))) {
    s.stream.destroy();
    throw new HttpError(412, 'SourceConditionNotMet',
      'The source condition specified using HTTP conditional header(s) is not met.');
  }
  return s;
}

// The SDK lowercases metadata keys read from response headers; List Blobs
// keeps their case.  The blob itself is the first name with its own prefix.
async function exactCaseMetadata(cc, name) {
  try {
    const it = cc.listBlobsFlat({ prefix: name, includeMetadata: true }).byPage({ maxPageSize: 1 });
    const page = (await it.next()).value;
    const item = page && page.segment.blobItems[0];
    return item && item.name === name ? item.metadata || {} : null;
  } catch {
    return null;
  }
}

async function openBlobSource(u) {
  const segs = u.pathname.split('/');
  if (segs.length < 4 || dec(segs[1]) !== ACCOUNT || !segs[3]) {
    throw new HttpError(404, 'CannotVerifyCopySource', CANNOT_VERIFY);
  }
  const cc = svc.getContainerClient(dec(segs[2]));
  const name = dec(segs.slice(3).join('/'));
  let bc = cc.getBlobClient(name);
  const snap = u.searchParams.get('snapshot');
  const ver = u.searchParams.get('versionid');
  if (snap) bc = bc.withSnapshot(snap);
  if (ver) bc = bc.withVersion(ver);
  let d;
  try {
    d = await bc.download(0);
  } catch (e) {
    if (e.statusCode === 404) throw new HttpError(404, 'CannotVerifyCopySource', CANNOT_VERIFY);
    throw fromRestError(e);
  }
  return {
    key: snap || ver ? null : `${cc.containerName}/${name}`,
    total: d.contentLength || 0,
    etag: d.etag,
    stream: d.readableStreamBody,
    metadata: (!snap && !ver && await exactCaseMetadata(cc, name)) || d.metadata || {},
    httpHeaders: { blobContentType: d.contentType, blobContentEncoding: d.contentEncoding,
      blobContentLanguage: d.contentLanguage, blobCacheControl: d.cacheControl,
      blobContentDisposition: d.contentDisposition },
    async probe() {
      try { return (await bc.getProperties()).etag; } catch (e) {
        if (e.statusCode === 404) return null;
        throw e;
      }
    },
  };
}

async function openUrlSource(src) {
  let r;
  try { r = await plainRequest(src, 'GET'); } catch (e) {
    throw new HttpError(404, 'CannotVerifyCopySource', `${CANNOT_VERIFY} (${e.message})`);
  }
  if (r.statusCode !== 200) {
    r.resume();
    const status = r.statusCode === 403 || r.statusCode === 401 ? 403 : 404;
    throw new HttpError(status, 'CannotVerifyCopySource', `${CANNOT_VERIFY} (source answered ${r.statusCode})`);
  }
  const etag = r.headers.etag || null;
  const len = r.headers['content-length'];
  return {
    total: len !== undefined ? Number(len) : null,
    etag,
    stream: r,
    metadata: {},
    httpHeaders: { blobContentType: r.headers['content-type'] },
    async probe() {
      const p = await plainRequest(src, 'HEAD');
      p.resume();
      if (p.statusCode === 404 || p.statusCode === 410) return null;
      return p.statusCode === 200 && p.headers.etag ? p.headers.etag : etag;
    },
  };
}

// ---------------------------------------------------------------- copy jobs
function stopJob(st) {
  clearInterval(st.timer);
  st.timer = null;
  if (st.src) st.src.stream.destroy();
  if (st.tmp) fs.rm(st.tmp, { force: true }, () => {});
}

function endCopy(st, status, description) {
  if (st.status !== 'pending') return;
  st.status = status;
  st.description = description || '';
  st.completedOn = new Date();
  stopJob(st);
  vlog(`copy ${st.id} -> ${st.dest}: ${status} ${description || ''}`);
}

const MODIFIED = '412 SourceModified: the source blob was modified during the copy';
const DELETED = '412 SourceModified: the source blob was deleted during the copy';

function runJob(st) {
  const src = st.src;
  st.tmp = path.join(tmpDir, st.id);
  let downloaded = 0;
  let dlDone = false;
  let credit = 0;
  let last = Date.now();
  let probing = false;
  let finishing = false;
  src.stream.on('data', (c) => { downloaded += c.length; });
  pipeline(src.stream, fs.createWriteStream(st.tmp)).then(() => {
    dlDone = true;
    if (st.total === null) st.total = downloaded;
  }, (e) => endCopy(st, 'failed', `500 InternalError: reading the source failed: ${e.message}`));

  const checkSource = (etag) => {
    if (etag === null) { endCopy(st, 'failed', DELETED); return false; }
    if (src.etag && etag !== src.etag) { endCopy(st, 'failed', MODIFIED); return false; }
    return true;
  };

  st.timer = setInterval(() => {
    if (st.status !== 'pending' || finishing) return;
    const now = Date.now();
    credit += (rate * (now - last)) / 1000;
    last = now;
    const total = st.total === null ? Infinity : st.total;
    st.bytes = Math.floor(Math.min(credit, downloaded, total));
    if (!probing) {
      probing = true;
      src.probe().then((e) => { probing = false; if (st.status === 'pending' && !finishing) checkSource(e); },
        (e) => { probing = false; vlog(`probe ${st.id}: ${e.message}`); });
    }
    if (dlDone && st.bytes >= st.total) {
      finishing = true;
      finishJob(st, checkSource).catch((e) => endCopy(st, 'failed', `500 InternalError: ${e.message}`));
    }
  }, TICK_MS);
}

async function finishJob(st, checkSource) {
  if (!checkSource(await st.src.probe()) || st.status !== 'pending') return;
  const bc = destClient(st);
  const metadata = Object.keys(st.reqMeta).length ? st.reqMeta : st.src.metadata;
  await bc.uploadFile(st.tmp, { metadata, blobHTTPHeaders: st.src.httpHeaders });
  if (st.status !== 'pending') { // aborted or failed while uploading: back to zero length
    await bc.upload(Buffer.alloc(0), 0, { metadata }).catch(() => {});
    return;
  }
  if (st.tier) await bc.setAccessTier(st.tier).catch((e) => vlog(`tier ${st.id}: ${e.message}`));
  st.bytes = st.total;
  endCopy(st, 'success', '');
}

async function startCopy(req, res, t) {
  req.resume();
  const busy = () => {
    const cur = copies.get(t.key);
    return cur && cur.status === 'pending';
  };
  if (busy()) return sendError(req, res, 409, 'PendingCopyOperation', 'There is currently a pending copy operation.');
  const source = req.headers['x-ms-copy-source'];
  let src;
  let created;
  const reqMeta = requestMetadata(req.rawHeaders);
  try {
    src = await openSource(source, req.headers);
    const conditions = {};
    if (req.headers['if-match']) conditions.ifMatch = req.headers['if-match'];
    if (req.headers['if-none-match']) conditions.ifNoneMatch = req.headers['if-none-match'];
    if (req.headers['if-modified-since']) conditions.ifModifiedSince = new Date(req.headers['if-modified-since']);
    if (req.headers['if-unmodified-since']) conditions.ifUnmodifiedSince = new Date(req.headers['if-unmodified-since']);
    if (busy()) throw new HttpError(409, 'PendingCopyOperation', 'There is currently a pending copy operation.');
    const metadata = Object.keys(reqMeta).length ? reqMeta : src.metadata;
    const bc = svc.getContainerClient(t.container).getBlockBlobClient(t.blob);
    // A copy onto itself must not truncate its own source.
    created = src.key === t.key ? await bc.getProperties({ conditions })
      : await bc.upload(Buffer.alloc(0), 0, { metadata, conditions });
    if (busy()) throw new HttpError(409, 'PendingCopyOperation', 'There is currently a pending copy operation.');
  } catch (e) {
    if (src) src.stream.destroy();
    const he = fromRestError(e);
    vlog(`copy to ${t.key} refused: ${he.status} ${he.code} ${he.message}`);
    return sendError(req, res, he.status, he.code, he.message);
  }
  const st = {
    id: crypto.randomUUID(), dest: t.key, container: t.container, blob: t.blob, source,
    status: 'pending', bytes: 0, total: src.total, completedOn: null, description: '',
    src, reqMeta, tier: req.headers['x-ms-access-tier'] || null, timer: null, tmp: null,
  };
  const old = copies.get(t.key);
  if (old) stopJob(old);
  copies.set(t.key, st);
  log.copies.push(st);
  res.writeHead(202, {
    ...baseHeaders(req), ETag: created.etag, 'Last-Modified': created.lastModified.toUTCString(),
    'x-ms-copy-id': st.id, 'x-ms-copy-status': 'pending', 'Content-Length': 0 });
  res.end();
  vlog(`copy ${st.id}: ${source} -> ${t.key} (${st.total} bytes)`);
  runJob(st);
}

function abortCopy(req, res, t, st) {
  req.resume();
  const id = t.query.get('copyid') || '';
  let result = 204;
  if (st.status !== 'pending') {
    result = 409;
    sendError(req, res, 409, 'NoPendingCopyOperation', 'There is currently no pending copy operation.');
  } else if (id !== st.id) {
    result = 409;
    sendError(req, res, 409, 'CopyIdMismatch',
      'The specified copy ID did not match the copy ID for the pending copy operation.');
  } else {
    endCopy(st, 'aborted', '');
    res.writeHead(204, baseHeaders(req));
    res.end();
  }
  log.aborts.push({ id, dest: t.key, result });
}

// ---------------------------------------------------------------- overlay
function copyHeaderPairs(st) {
  const h = ['x-ms-copy-id', st.id, 'x-ms-copy-status', st.status, 'x-ms-copy-source', st.source,
    'x-ms-copy-progress', `${st.bytes}/${st.total === null ? 0 : st.total}`];
  if (st.completedOn) h.push('x-ms-copy-completion-time', st.completedOn.toUTCString());
  if (st.description) h.push('x-ms-copy-status-description', st.description);
  return h;
}

function copyXml(st) {
  let x = `<CopyId>${st.id}</CopyId><CopyStatus>${st.status}</CopyStatus>` +
    `<CopySource>${xmlEsc(st.source)}</CopySource>` +
    `<CopyProgress>${st.bytes}/${st.total === null ? 0 : st.total}</CopyProgress>`;
  if (st.completedOn) x += `<CopyCompletionTime>${st.completedOn.toUTCString()}</CopyCompletionTime>`;
  if (st.description) x += `<CopyStatusDescription>${xmlEsc(st.description)}</CopyStatusDescription>`;
  return x;
}

const COPY_ELEMS = /<Copy(Id|Status|Source|Progress|CompletionTime|StatusDescription)(\s[^>]*)?(\/>|>[\s\S]*?<\/Copy\1>)/g;

function rewriteList(xml, container) {
  return xml.replace(/<Blob>([\s\S]*?)<\/Blob>/g, (whole, inner) => {
    if (/<Snapshot>|<VersionId>[\s\S]*?<IsCurrentVersion>false/.test(inner)) return whole;
    const m = /<Name(\s[^>]*)?>([\s\S]*?)<\/Name>/.exec(inner);
    if (!m) return whole;
    let name = xmlUnesc(m[2]);
    if (m[1] && /Encoded="true"/i.test(m[1])) name = dec(name);
    const st = copies.get(`${container}/${name}`);
    if (!st) return whole;
    // Azure's order puts the Copy* elements before ServerEncrypted.
    return whole.replace(/<Properties>([\s\S]*?)<\/Properties>/, (p, props) => {
      props = props.replace(COPY_ELEMS, '');
      const at = props.indexOf('<ServerEncrypted');
      const i = at < 0 ? props.length : at;
      return `<Properties>${props.slice(0, i)}${copyXml(st)}${props.slice(i)}</Properties>`;
    });
  });
}

function filterHeaders(raw, drop) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!drop(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

const HOP = new Set(['connection', 'keep-alive', 'expect', 'proxy-connection']);

// ---------------------------------------------------------------- forwarding
function forward(req, res, t, op) {
  const upReq = http.request({
    host: up.hostname, port: upPort, method: req.method, path: req.url, agent: upAgent,
    headers: filterHeaders(req.rawHeaders, (n) => HOP.has(n)),
  });
  req.on('data', (c) => { log.uploadBodyBytes += c.length; });
  req.pipe(upReq);
  res.on('close', () => { if (!res.writableFinished) upReq.destroy(); });
  upReq.on('error', (e) => {
    vlog(`upstream error ${req.method} ${req.url}: ${e.message}`);
    if (!res.headersSent) sendError(req, res, 502, 'EmulatorUpstreamError', e.message);
    else res.destroy();
  });
  upReq.on('response', (upRes) => {
    try {
      onResponse(req, res, t, op, upRes);
    } catch (e) {
      vlog(`response error: ${e.stack}`);
      upRes.resume();
      sendError(req, res, 500, 'InternalError', 'emulator error');
    }
  });
}

function onResponse(req, res, t, op, upRes) {
  const status = upRes.statusCode;
  const ok = status >= 200 && status < 300;
  let st = t.blob ? copies.get(t.key) : undefined;
  if (op === 'Delete') log.deletes.push({ dest: t.key, status });
  if (op === 'AbortCopy') log.aborts.push({ id: t.query.get('copyid') || '', dest: t.key, result: status });
  if (st && st.status !== 'pending' && ((ok && OVERWRITES.has(op)) ||
      (status === 404 && (op === 'GetBlob' || op === 'GetProperties')))) {
    copies.delete(t.key);
    st = undefined;
  }
  if (ok && op === 'DeleteContainer') {
    for (const [k, s] of copies) if (k.startsWith(`${t.container}/`)) { stopJob(s); copies.delete(k); }
  }
  let raw = filterHeaders(upRes.rawHeaders, (n) => HOP.has(n));
  const plainBlob = !t.query.has('snapshot') && !t.query.has('versionid');
  if (st && plainBlob && (op === 'GetBlob' || op === 'GetProperties') && (ok || status === 304)) {
    raw = filterHeaders(raw, (n) => n.startsWith('x-ms-copy-')).concat(copyHeaderPairs(st));
  }
  const include = t.query.getAll('include').join(',').split(',');
  const wantList = op === 'ListBlobs' && ok && include.includes('copy') &&
    [...copies.keys()].some((k) => k.startsWith(`${t.container}/`));
  if (!wantList) {
    res.writeHead(status, upRes.statusMessage, raw);
    if (opt.connRate > 0 && req.method === 'GET') {
      trickle(upRes, res, opt.connRate, (err) => { if (err) res.destroy(); else res.end(); });
    } else {
      upRes.pipe(res);
    }
    return;
  }
  const chunks = [];
  upRes.on('data', (c) => chunks.push(c));
  upRes.on('error', () => res.destroy());
  upRes.on('end', () => {
    const body = Buffer.from(rewriteList(Buffer.concat(chunks).toString('utf8'), t.container), 'utf8');
    raw = filterHeaders(raw, (n) => n === 'content-length' || n === 'transfer-encoding');
    res.writeHead(status, upRes.statusMessage, raw.concat(['Content-Length', String(body.length)]));
    res.end(body);
  });
}

// ---------------------------------------------------------------- control
function control(req, res) {
  req.resume();
  const u = new URL(req.url, 'http://x');
  const json = (code, obj) => {
    const b = JSON.stringify(obj) + '\n';
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
    res.end(b);
  };
  const post = req.method === 'POST' || req.method === 'PUT';
  switch (u.pathname) {
    case '/__emu/log':
      return json(200, { ...log, latencyMs: opt.latency, copies: log.copies.map((s) => ({ id: s.id, dest: s.dest, source: s.source, status: s.status })) });
    case '/__emu/copies':
      return json(200, [...copies.values()].map(copyView));
    case '/__emu/reset':
      if (!post) return json(405, { error: 'use POST' });
      resetLog();
      return json(200, { ok: true });
    case '/__emu/rate': {
      const bps = Number(u.searchParams.get('bps'));
      if (!post) return json(405, { error: 'use POST' });
      if (!(bps > 0)) return json(400, { error: 'bps must be > 0' });
      rate = bps;
      return json(200, { rate });
    }
    default:
      return json(404, { error: 'unknown emulator endpoint' });
  }
}

// ---------------------------------------------------------------- server
// expect: the request carries "Expect: 100-continue" (node left the interim
// response to us); a refused write then gets its 409 before any body is sent.
function handle(req, res, expect) {
  const proceed = () => { if (expect) res.writeContinue(); };
  if (req.url.startsWith('/__emu/')) { proceed(); return control(req, res); }
  const t = parseTarget(req.url);
  const op = classify(req.method, t, req.headers);
  log.requests++;
  log.byMethod[req.method] = (log.byMethod[req.method] || 0) + 1;
  log.ops[op] = (log.ops[op] || 0) + 1;
  if (opt.passthrough) { proceed(); return forward(req, res, t, op); }
  if (op === 'CopyBlob') {
    proceed();
    return startCopy(req, res, t).catch((e) => {
      vlog(`copy error: ${e.stack}`);
      sendError(req, res, 500, 'InternalError', 'emulator error');
    });
  }
  const st = t.blob ? copies.get(t.key) : undefined;
  if (op === 'AbortCopy' && st) { proceed(); return abortCopy(req, res, t, st); }
  if (st && st.status === 'pending' && BLOCKED.has(op)) {
    req.resume();
    if (op === 'Delete') log.deletes.push({ dest: t.key, status: 409 });
    return sendError(req, res, 409, 'PendingCopyOperation', 'There is currently a pending copy operation.');
  }
  proceed();
  return forward(req, res, t, op);
}

function safeHandle(expect) {
  const run = (req, res) => {
    try {
      handle(req, res, expect);
    } catch (e) {
      vlog(`handler error: ${e.stack}`);
      sendError(req, res, 500, 'InternalError', 'emulator error');
    }
  };
  // --latency: the request waits before anything is done with it (its
  // body waits in the socket meanwhile)
  return (req, res) => {
    if (opt.latency > 0 && !req.url.startsWith('/__emu/')) setTimeout(run, opt.latency, req, res);
    else run(req, res);
  };
}
const server = http.createServer(safeHandle(false));
server.on('checkContinue', safeHandle(true));
server.requestTimeout = 0; // large uploads may take long
server.keepAliveTimeout = 30000;
server.on('clientError', (e, sock) => { vlog(`client error: ${e.message}`); sock.destroy(); });

process.on('uncaughtException', (e) => vlog(`uncaught: ${e.stack}`));
process.on('unhandledRejection', (e) => vlog(`unhandled: ${e && e.stack}`));
const cleanup = () => { try { fs.rmSync(tmpDir, { recursive: true, force: true }); } catch { /* ignore */ } };
process.on('exit', cleanup);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));

server.on('error', (e) => {
  process.stderr.write(`copyemu: ${e.message}\n`);
  process.exit(1);
});
server.listen(opt.listen, '127.0.0.1', () => {
  listenPort = server.address().port;
  process.stdout.write(`listening ${listenPort}\n`);
});
