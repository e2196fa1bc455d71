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
//   * Copy sources may be snapshots (?snapshot=, read from Azurite) and
//     versions (?versionid=, see Versioning); they are copied like any
//     source (pending, progress, abort).  A snapshot or version copied over
//     its own base blob restores it.
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
//   * Leases: Lease Blob (acquire, renew, change, release, break) goes to
//     Azurite, which enforces leases on the writes sent through here (412
//     LeaseIdMissing, LeaseIdMismatchWithBlobOperation); every operation is
//     logged.  Copy Blob with x-ms-source-lease-id starts only while the
//     source holds an active lease with that id, else 412
//     LeaseNotPresentWithBlobOperation (no lease; snapshots, versions and
//     URLs outside the account have none), LeaseLost (expired or broken) or
//     LeaseIdMismatchWithBlobOperation.  A pending copy leaves its source's
//     lease alone (the client renews it).  A leased destination needs
//     x-ms-lease-id on Copy Blob; the copy's final write uses the lease id
//     last seen for it.
//   * Versioning (--versioning, or POST /__emu/versioning?on=1): Put Blob,
//     Put Block List, Set Blob Metadata, Snapshot Blob, Copy Blob (when
//     accepted; its result fills that version) and sync copies through here
//     give the blob a new current version id (the service's form,
//     2024-01-01T00:00:00.1234567Z), answered as x-ms-version-id and shown
//     with x-ms-is-current-version on Get Blob / Get Blob Properties.  The
//     replaced content becomes a previous version, kept in a file of the
//     emulator's temporary directory with its properties in memory; Delete
//     Blob makes the current version a previous one and leaves none.  A blob
//     written before has no version id; the version that saves it is named
//     by its creation time.  List Blobs include=versions lists previous
//     versions (VersionId, no IsCurrentVersion) before the current one
//     (IsCurrentVersion true), deleted blobs' versions by name (a BlobPrefix
//     under a delimiter).  Get Blob (ranges, conditions), Get Blob
//     Properties and Get Blob Metadata with ?versionid= serve that version;
//     Delete Blob ?versionid= deletes a previous version (the current one:
//     403 OperationNotAllowedOnRootBlob); an unknown id is 404 BlobNotFound.
//     Switched off, writes make no versions and clear the current id; the
//     previous versions stay readable.
//
// What it does NOT emulate: https sources or non-loopback hosts (404),
// incremental copies, page/append blob sources (the destination is always a
// block blob), copies to snapshots or versions, x-ms-tags, Blob Batch, copy
// sources in other accounts of the same Azurite, and the service's own timing
// (only the rate is modelled).  Leases: container leases are forwarded but not
// logged; a copy whose destination was leased behind the emulator's back
// (straight at Azurite, id never seen) fails at its final write.  Versioning:
// one switch for the whole account; writes sent straight to Azurite make no
// version (the next versioned write files their content under the old id);
// Put Page and Append Block make none (as the service); no soft delete,
// include=deletedwithversions, tiers or tags of versions, nor SAS for versions
// (other operations on a previous version answer 501, requests for previous
// versions are not authenticated); a List Blobs page holding versions may
// exceed maxresults.  Copy state and versions live in memory (version bytes in
// a temporary directory) and end with the process.  Every other request is
// forwarded unchanged to Azurite (except the hop-by-hop headers Connection,
// Keep-Alive and Expect; the Host header is kept, Shared Key signatures do not
// cover it); Azurite 3.35 ignores ?versionid=, so reads of the current version
// by its id are forwarded as they are.
//
// Counting mode (--passthrough): no emulation at all.  Every request,
// Copy Blob and Abort Copy Blob included, is forwarded unchanged to Azurite
// (which completes copies inside the request), while the counters of
// /__emu/log (requests, uploadBodyBytes, downloadBodyBytes, byMethod, ops,
// deletes, aborts) are still kept; "copies" then stays empty.  The benchmark (tests/bench/run.sh)
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
//   GET  /__emu/log         JSON log of copies (with sourceLeaseId, startedAt,
//                           endedAt), aborts, deletes, leases (kind, blob,
//                           leaseId, status, time), counters (requests,
//                           uploadBodyBytes: request bodies received,
//                           downloadBodyBytes: answer bodies sent)
//   GET  /__emu/copies      JSON of the full copy state (bytes, total, ...)
//   POST /__emu/reset       clears the log (not the copy state)
//   POST /__emu/rate?bps=N  changes the transfer rate
//   GET  /__emu/versioning  {"versioning": true|false}
//   POST /__emu/versioning?on=1|0  switches versioning on or off
//   GET  /__emu/versions    JSON of the versions kept (blob, current, prior)
//
// Usage: node copyemu.js --listen PORT --upstream http://127.0.0.1:PORT
//        [--rate BYTES_PER_SEC] [--conn-rate BYTES_PER_SEC] [--latency MS]
//        [--passthrough] [--versioning] [--verbose]
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
    else if (a === '--versioning') o.versioning = true;
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
    '[--latency MS] [--passthrough] [--versioning] [--verbose]\n');
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
  'GetBlob', 'GetProperties', 'ListBlobs', 'Delete', 'SetMetadata', 'SetProperties', 'Lease',
  'Snapshot'];
let log;
function resetLog() {
  log = { copies: [], aborts: [], deletes: [], leases: [], requests: 0, uploadBodyBytes: 0,
    downloadBodyBytes: 0, byMethod: {}, ops: Object.fromEntries(OPS.map((o) => [o, 0])) };
}
resetLog();

function copyView(s) {
  return { id: s.id, dest: s.dest, source: s.source, status: s.status,
    progress: `${s.bytes}/${s.total}`, description: s.description };
}

// A copy as /__emu/log shows it: when it started and ended, and the source
// lease id its Copy Blob request carried.
function copyLogView(s) {
  return { id: s.id, dest: s.dest, source: s.source, status: s.status,
    sourceLeaseId: s.sourceLeaseId, startedAt: s.startedAt.toISOString(),
    endedAt: s.completedOn ? s.completedOn.toISOString() : null };
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

// The blob name of a <Blob> or <BlobPrefix> element of List Blobs.
function itemName(xml) {
  const m = /<Name(\s[^>]*)?>([\s\S]*?)<\/Name>/.exec(xml);
  if (!m) return null;
  const name = xmlUnesc(m[2]);
  return m[1] && /Encoded="true"/i.test(m[1]) ? dec(name) : name;
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

// ---------------------------------------------------------------- leases
// Lease Blob requests go to Azurite unchanged: it enforces the lease on
// every write sent through here (412 LeaseIdMissing without the id).  The
// ids its answers carry are remembered so that the emulator's own final
// write of a copy can pass a leased destination, and every lease operation
// is logged (kind, blob, lease id, time) for the tests.
const leaseIds = new Map(); // "container/blob" -> id last acquired or changed

function recordLease(req, t, upRes) {
  const kind = String(req.headers['x-ms-lease-action'] || '').toLowerCase();
  const ok = upRes.statusCode >= 200 && upRes.statusCode < 300;
  // Lease Blob answers acquire, renew and change with x-ms-lease-id (the
  // new id for change); release and break name none.
  const id = upRes.headers['x-ms-lease-id'] || req.headers['x-ms-lease-id'] || leaseIds.get(t.key) || null;
  if (ok && (kind === 'acquire' || kind === 'change')) leaseIds.set(t.key, upRes.headers['x-ms-lease-id']);
  if (ok && kind === 'release') leaseIds.delete(t.key);
  const e = { kind, blob: t.key, leaseId: id, status: upRes.statusCode, time: new Date().toISOString() };
  if (kind === 'acquire') e.duration = Number(req.headers['x-ms-lease-duration']);
  if (kind === 'break' && upRes.headers['x-ms-lease-time'] !== undefined) {
    e.leaseTime = Number(upRes.headers['x-ms-lease-time']);
  }
  log.leases.push(e);
  vlog(`lease ${kind} ${t.key}: ${upRes.statusCode} ${id || ''}`);
}

// Copy Blob with x-ms-source-lease-id (REST "Copy Blob", 2012-02-12 and
// later): the copy starts only while the source has an active lease with
// that id, else 412 with the codes of the Blob service error table.
// Snapshots, versions and URLs outside the account cannot be leased.
async function checkSourceLease(src, leaseId) {
  if (!src.leaseTarget) {
    throw new HttpError(412, 'LeaseNotPresentWithBlobOperation', 'There is currently no lease on the blob.');
  }
  const p = await src.leaseTarget.getProperties();
  if (p.leaseState !== 'leased' && p.leaseState !== 'breaking') {
    if (p.leaseState === 'expired' || p.leaseState === 'broken') {
      throw new HttpError(412, 'LeaseLost', 'A lease ID was specified, but the lease for the blob has expired.');
    }
    throw new HttpError(412, 'LeaseNotPresentWithBlobOperation', 'There is currently no lease on the blob.');
  }
  // Azurite checks a lease id given on a read against the blob's lease.
  try {
    await src.leaseTarget.getProperties({ conditions: { leaseId } });
  } catch (e) {
    if (e.statusCode !== 412) throw e;
    throw new HttpError(412, 'LeaseIdMismatchWithBlobOperation',
      'The lease ID specified did not match the lease ID for the blob.');
  }
}

// The lease condition the emulator's own writes to a copy destination need:
// none while it is not leased, else the id last seen for it (or the one the
// Copy Blob request gave).
async function destConditions(st) {
  const p = await destClient(st).getProperties().catch(() => null);
  if (!p || (p.leaseState !== 'leased' && p.leaseState !== 'breaking')) return {};
  const id = leaseIds.get(st.dest) || st.leaseId;
  return id ? { leaseId: id } : {};
}

// ---------------------------------------------------------------- versions
// Azurite has no blob versioning.  With --versioning (or POST
// /__emu/versioning?on=1) each write through here that makes a new version
// in the service gets a version id, returned as x-ms-version-id, and the
// content it replaced is kept as a previous version: its bytes in a file of
// the emulator's temporary directory, its properties in memory.  Writes that
// bypass the emulator are not seen.
let versioning = opt.versioning === true;
// "container/blob" -> { current: id or null, prior: [version, ...] by id }
const versionStore = new Map();
// Put Blob, Put Block List, Copy Blob, Set Blob Metadata and Snapshot Blob
// make the current version a previous one and a new current version; Delete
// Blob makes it a previous one and leaves none (Blob versioning overview).
// Put Block, Set Blob Properties and Set Blob Tier make no version.
const VERSIONED = new Set(['PutBlob', 'PutBlockList', 'SetMetadata', 'CopyBlobSync',
  'PutBlobFromURL', 'Snapshot', 'Delete']);
let lastTicks = 0n;

// A version id is the time the version was made, as the service writes it:
// 2024-01-01T00:00:00.1234567Z (100 ns ticks).  Ids made here only grow.
function ticksToId(ticks) {
  const s = new Date(Number(ticks / 10000000n) * 1000).toISOString().slice(0, 19);
  return `${s}.${String(ticks % 10000000n).padStart(7, '0')}Z`;
}

function newVersionId() {
  let ticks = BigInt(Date.now()) * 10000n;
  if (ticks <= lastTicks) ticks = lastTicks + 1n;
  lastTicks = ticks;
  return ticksToId(ticks);
}

// A blob written before versioning was on has no version id; the version
// that saves it when it is replaced is named by its creation time.
function creationVersionId(e, created) {
  let ticks = BigInt(created.getTime()) * 10000n;
  while (e.prior.some((v) => v.id === ticksToId(ticks))) ticks++;
  return ticksToId(ticks);
}

function replacesVersion(op, t, req) {
  if (!t.blob || !VERSIONED.has(op)) return false;
  if (op === 'Delete' && (t.query.has('snapshot') ||
      String(req.headers['x-ms-delete-snapshots']).toLowerCase() === 'only')) return false;
  return versioning || versionStore.has(t.key);
}

// Runs fn() alone among the versioned writes of one blob.
const keyLocks = new Map();
function withKeyLock(key, fn) {
  const run = (keyLocks.get(key) || Promise.resolve()).then(fn);
  const tail = run.catch(() => {});
  keyLocks.set(key, tail);
  tail.then(() => { if (keyLocks.get(key) === tail) keyLocks.delete(key); });
  return run;
}

// Saves the blob's current content and properties, to become a previous
// version if the write that follows succeeds.  null when there is no blob.
async function captureCurrent(t) {
  const cc = svc.getContainerClient(t.container);
  const file = path.join(tmpDir, `version-${crypto.randomUUID()}`);
  let d;
  try {
    d = await cc.getBlobClient(t.blob).downloadToFile(file);
  } catch (e) {
    fs.rm(file, { force: true }, () => {});
    if (e.statusCode === 404) return null;
    throw e;
  }
  return {
    id: null, file, size: d.contentLength || 0, etag: stripEtag(d.etag),
    lastModified: d.lastModified, createdOn: d.createdOn || d.lastModified,
    contentType: d.contentType, contentEncoding: d.contentEncoding,
    contentLanguage: d.contentLanguage, cacheControl: d.cacheControl,
    contentDisposition: d.contentDisposition,
    contentMD5: d.contentMD5 ? Buffer.from(d.contentMD5).toString('base64') : null,
    metadata: (await exactCaseMetadata(cc, t.blob)) || d.metadata || {},
    blobType: d.blobType || 'BlockBlob',
  };
}

function dropVersion(v) {
  if (v) fs.rm(v.file, { force: true }, () => {});
}

// After a successful versioned write: the saved content becomes a previous
// version and the blob gets a new current version id (none after a delete,
// or once versioning is off).  Returns the new current id or null.
function commitVersion(key, prior, deleted) {
  let e = versionStore.get(key);
  if (!e) {
    e = { current: null, prior: [] };
    versionStore.set(key, e);
  }
  if (prior) {
    prior.id = e.current || creationVersionId(e, prior.createdOn);
    e.prior.push(prior);
    e.prior.sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  e.current = versioning && !deleted ? newVersionId() : null;
  if (!e.current && !e.prior.length) versionStore.delete(key);
  return e.current;
}

function dropContainerVersions(container) {
  for (const [k, e] of versionStore) {
    if (!k.startsWith(`${container}/`)) continue;
    e.prior.forEach(dropVersion);
    versionStore.delete(k);
  }
}

// Put Blob, Put Block List, Set Blob Metadata, ... through the emulator with
// versioning: save the current content, forward the write, then keep or
// drop what was saved.  The answer carries x-ms-version-id.
function versionedWrite(req, res, t, op, proceed) {
  return withKeyLock(t.key, async () => {
    let prior = null;
    if (versioning) {
      try {
        prior = await captureCurrent(t);
      } catch (e) {
        req.resume();
        const he = fromRestError(e);
        sendError(req, res, he.status, he.code, he.message);
        return;
      }
    }
    proceed();
    await new Promise((resolve) => {
      res.on('close', resolve);
      forward(req, res, t, op, (status) => {
        if (status < 200 || status >= 300) {
          dropVersion(prior);
          return [];
        }
        const id = commitVersion(t.key, prior, op === 'Delete');
        return id ? ['x-ms-version-id', id] : [];
      });
    });
  });
}

// Conditional headers of a read of a previous version: 412, 304 or 0.
function versionCondition(req, v) {
  const h = req.headers;
  const mod = Math.floor(v.lastModified.getTime() / 1000);
  const sec = (d) => Math.floor(new Date(d).getTime() / 1000);
  if (h['if-match'] && !etagMatches(h['if-match'], v.etag)) return 412;
  if (h['if-unmodified-since'] && mod > sec(h['if-unmodified-since'])) return 412;
  if (h['if-none-match'] && etagMatches(h['if-none-match'], v.etag)) return 304;
  if (h['if-modified-since'] && mod <= sec(h['if-modified-since'])) return 304;
  return 0;
}

// Get Blob, Get Blob Properties and Get Blob Metadata of a previous version
// (?versionid=): its own content and properties, x-ms-version-id and no
// x-ms-is-current-version; x-ms-range or Range as for Get Blob.
function serveVersion(req, res, v, op) {
  const h = { ...baseHeaders(req), 'Last-Modified': v.lastModified.toUTCString(), ETag: `"${v.etag}"`,
    'x-ms-version-id': v.id, 'x-ms-creation-time': v.createdOn.toUTCString() };
  for (const [k, val] of Object.entries(v.metadata)) h[`x-ms-meta-${k}`] = val;
  const cond = versionCondition(req, v);
  if (cond === 412) {
    return sendError(req, res, 412, 'ConditionNotMet', 'The condition specified using HTTP conditional header(s) is not met.');
  }
  if (cond === 304) {
    res.writeHead(304, h);
    res.end();
    return undefined;
  }
  if (op === 'GetMetadata') {
    res.writeHead(200, { ...h, 'Content-Length': 0 });
    res.end();
    return undefined;
  }
  Object.assign(h, { 'x-ms-blob-type': v.blobType, 'x-ms-server-encrypted': 'true',
    'x-ms-access-tier': 'Hot', 'x-ms-access-tier-inferred': 'true', 'Accept-Ranges': 'bytes',
    'Content-Type': v.contentType || 'application/octet-stream' });
  if (v.contentEncoding) h['Content-Encoding'] = v.contentEncoding;
  if (v.contentLanguage) h['Content-Language'] = v.contentLanguage;
  if (v.cacheControl) h['Cache-Control'] = v.cacheControl;
  if (v.contentDisposition) h['Content-Disposition'] = v.contentDisposition;
  let start = 0;
  let end = v.size - 1;
  let status = 200;
  const spec = op === 'GetBlob' ? req.headers['x-ms-range'] || req.headers.range : undefined;
  const m = spec ? /^\s*bytes=(\d+)-(\d*)\s*$/.exec(spec) : null;
  if (m) {
    start = Number(m[1]);
    if (start >= v.size) {
      return sendError(req, res, 416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
    }
    end = m[2] === '' ? v.size - 1 : Math.min(Number(m[2]), v.size - 1);
    status = 206;
    h['Content-Range'] = `bytes ${start}-${end}/${v.size}`;
  } else if (v.contentMD5) {
    h['Content-MD5'] = v.contentMD5;
  }
  h['Content-Length'] = end - start + 1;
  res.writeHead(status, h);
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return undefined;
  }
  fs.createReadStream(v.file, { start, end }).on('error', () => res.destroy()).pipe(res);
  return undefined;
}

// A request naming ?versionid=.  The current version is the base blob:
// reads of it go to Azurite (3.35 ignores versionid and serves the base
// blob); previous versions are served here.
function versionRequest(req, res, t, op, proceed) {
  const id = t.query.get('versionid');
  const e = versionStore.get(t.key);
  const v = e && e.prior.find((x) => x.id === id);
  if (e && e.current === id && (req.method === 'GET' || req.method === 'HEAD')) {
    t.currentVersion = true;
    proceed();
    return forward(req, res, t, op);
  }
  proceed();
  req.resume();
  if (e && e.current === id && op === 'Delete') {
    // Delete Blob with the current version's id is refused (403); Delete
    // Blob without versionid makes it a previous version.
    log.deletes.push({ dest: t.key, versionId: id, status: 403 });
    return sendError(req, res, 403, 'OperationNotAllowedOnRootBlob',
      'This operation is not permitted on the current version of the blob.');
  }
  if (!v && !(e && e.current === id)) {
    if (op === 'Delete') log.deletes.push({ dest: t.key, versionId: id, status: 404 });
    return sendError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.');
  }
  if (v && (op === 'GetBlob' || op === 'GetProperties' || op === 'GetMetadata')) {
    return serveVersion(req, res, v, op);
  }
  if (v && op === 'Delete') {
    e.prior = e.prior.filter((x) => x !== v);
    dropVersion(v);
    if (!e.current && !e.prior.length) versionStore.delete(t.key);
    log.deletes.push({ dest: t.key, versionId: id, status: 202 });
    res.writeHead(202, { ...baseHeaders(req), 'Content-Length': 0 });
    res.end();
    return undefined;
  }
  return sendError(req, res, 501, 'NotImplemented',
    `The emulator does not emulate ${op} on a blob version.`);
}

// A previous version as List Blobs (include=versions) shows it: no
// IsCurrentVersion element and no lease state, as the service writes it.
function versionXml(name, v, withMeta) {
  let p = `<Creation-Time>${v.createdOn.toUTCString()}</Creation-Time>` +
    `<Last-Modified>${v.lastModified.toUTCString()}</Last-Modified><Etag>${xmlEsc(v.etag)}</Etag>` +
    `<Content-Length>${v.size}</Content-Length>`;
  for (const [el, val] of [['Content-Type', v.contentType], ['Content-Encoding', v.contentEncoding],
    ['Content-Language', v.contentLanguage], ['Content-MD5', v.contentMD5],
    ['Cache-Control', v.cacheControl], ['Content-Disposition', v.contentDisposition]]) {
    if (val) p += `<${el}>${xmlEsc(val)}</${el}>`;
  }
  p += `<BlobType>${v.blobType}</BlobType><ServerEncrypted>true</ServerEncrypted>` +
    '<AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>';
  const meta = withMeta ? `<Metadata>${Object.entries(v.metadata)
    .map(([k, val]) => `<${k}>${xmlEsc(val)}</${k}>`).join('')}</Metadata>` : '';
  return `<Blob><Name>${xmlEsc(name)}</Name><VersionId>${v.id}</VersionId><Properties>${p}</Properties>${meta}</Blob>`;
}

// List Blobs with include=versions: Azurite lists only current blobs.  Each
// gets its VersionId and IsCurrentVersion, its previous versions are put
// before it (oldest first, the current version last, as the service orders
// them), and blobs that only have previous versions (deleted ones) are
// placed by name, or as a BlobPrefix under a delimiter.  A page holds the
// names after its marker up to its NextMarker (Azurite's markers are the
// last name of a page), so a page may hold more than maxresults items.
function mergeVersions(xml, t, include) {
  const m = /<Blobs>([\s\S]*)<\/Blobs>|<Blobs\s*\/>/.exec(xml);
  if (!m) return xml;
  const items = [];
  const re = /<BlobPrefix>[\s\S]*?<\/BlobPrefix>|<Blob>[\s\S]*?<\/Blob>/g;
  for (let x = re.exec(m[1] || ''); x; x = re.exec(m[1] || '')) {
    const isPrefix = x[0].startsWith('<BlobPrefix>');
    items.push({ isPrefix, name: itemName(x[0]), xml: x[0], snap: !isPrefix && /<Snapshot>/.test(x[0]) });
  }
  const withMeta = include.includes('metadata');
  const prefix = t.query.get('prefix') || '';
  const delim = t.query.get('delimiter') || '';
  const marker = t.query.get('marker') || '';
  const nm = /<NextMarker>([^<]*)<\/NextMarker>/.exec(xml);
  const next = nm ? xmlUnesc(nm[1]) : '';
  const out = [];
  const listed = new Set();
  for (const it of items) {
    const e = !it.isPrefix && !it.snap && it.name !== null && versionStore.get(`${t.container}/${it.name}`);
    if (e) {
      listed.add(it.name);
      for (const v of e.prior) out.push({ isPrefix: false, name: it.name, xml: versionXml(it.name, v, withMeta) });
      if (e.current) {
        it.xml = it.xml.replace('</Name>',
          `</Name><VersionId>${e.current}</VersionId><IsCurrentVersion>true</IsCurrentVersion>`);
      }
    }
    out.push(it);
  }
  const prefixes = new Set(items.filter((i) => i.isPrefix).map((i) => i.name));
  for (const [k, e] of versionStore) {
    if (!k.startsWith(`${t.container}/`) || !e.prior.length) continue;
    const name = k.slice(t.container.length + 1);
    if (listed.has(name) || !name.startsWith(prefix) || name <= marker || (next && name > next)) continue;
    const cut = delim ? name.indexOf(delim, prefix.length) : -1;
    if (cut < 0) {
      for (const v of e.prior) out.push({ isPrefix: false, name, xml: versionXml(name, v, withMeta) });
    } else if (!prefixes.has(name.slice(0, cut + delim.length))) {
      const p = name.slice(0, cut + delim.length);
      prefixes.add(p);
      out.push({ isPrefix: true, name: p, xml: `<BlobPrefix><Name>${xmlEsc(p)}</Name></BlobPrefix>` });
    }
  }
  // Azurite's order: prefixes first, then blobs by name (stable: a name's
  // previous versions, its current version, its snapshots).
  out.sort((a, b) => {
    if (a.isPrefix !== b.isPrefix) return a.isPrefix ? -1 : 1;
    return a.name < b.name ? -1 : (a.name > b.name ? 1 : 0);
  });
  return `${xml.slice(0, m.index)}<Blobs>${out.map((i) => i.xml).join('')}</Blobs>` +
    xml.slice(m.index + m[0].length);
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
  const key = `${cc.containerName}/${name}`;
  // Versions live here, not in Azurite: the current one is the base blob.
  const entry = ver ? versionStore.get(key) : undefined;
  const isVersion = () => {
    const e = versionStore.get(key);
    return !!e && (e.current === ver || e.prior.some((v) => v.id === ver));
  };
  if (ver && !(entry && entry.current === ver)) return openVersionSource(entry, ver, isVersion);
  if (snap) bc = bc.withSnapshot(snap);
  let d;
  try {
    d = await bc.download(0);
  } catch (e) {
    if (e.statusCode === 404) throw new HttpError(404, 'CannotVerifyCopySource', CANNOT_VERIFY);
    throw fromRestError(e);
  }
  return {
    key: snap ? null : key,
    total: d.contentLength || 0,
    etag: d.etag,
    stream: d.readableStreamBody,
    metadata: (!snap && await exactCaseMetadata(cc, name)) || d.metadata || {},
    httpHeaders: { blobContentType: d.contentType, blobContentEncoding: d.contentEncoding,
      blobContentLanguage: d.contentLanguage, blobCacheControl: d.cacheControl,
      blobContentDisposition: d.contentDisposition },
    leaseTarget: snap || ver ? null : bc,
    async probe() {
      // A version stays what it was while it exists, even once the base
      // blob has a newer one.
      if (ver) return isVersion() ? d.etag : null;
      try { return (await bc.getProperties()).etag; } catch (e) {
        if (e.statusCode === 404) return null;
        throw e;
      }
    },
  };
}

// A previous version as a copy source: read from the emulator's own store.
function openVersionSource(entry, ver, isVersion) {
  const v = entry && entry.prior.find((x) => x.id === ver);
  if (!v) throw new HttpError(404, 'CannotVerifyCopySource', CANNOT_VERIFY);
  const etag = `"${v.etag}"`;
  return {
    key: null,
    total: v.size,
    etag,
    stream: fs.createReadStream(v.file),
    metadata: v.metadata,
    httpHeaders: { blobContentType: v.contentType, blobContentEncoding: v.contentEncoding,
      blobContentLanguage: v.contentLanguage, blobCacheControl: v.cacheControl,
      blobContentDisposition: v.contentDisposition },
    leaseTarget: null,
    async probe() { return isVersion() ? etag : null; },
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
  const conditions = await destConditions(st);
  // The content fills the version the Copy Blob answer named: no new one.
  await bc.uploadFile(st.tmp, { metadata, blobHTTPHeaders: st.src.httpHeaders, conditions });
  if (st.status !== 'pending') { // aborted or failed while uploading: back to zero length
    await bc.upload(Buffer.alloc(0), 0, { metadata, conditions }).catch(() => {});
    return;
  }
  if (st.tier) {
    await bc.setAccessTier(st.tier, { conditions }).catch((e) => vlog(`tier ${st.id}: ${e.message}`));
  }
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
  const sourceLeaseId = req.headers['x-ms-source-lease-id'] || null;
  let src;
  let created;
  let versionId = null;
  const reqMeta = requestMetadata(req.rawHeaders);
  try {
    src = await openSource(source, req.headers);
    if (sourceLeaseId) await checkSourceLease(src, sourceLeaseId);
    const conditions = {};
    // A leased destination needs its lease id (Copy Blob, x-ms-lease-id).
    if (req.headers['x-ms-lease-id']) conditions.leaseId = req.headers['x-ms-lease-id'];
    if (req.headers['if-match']) conditions.ifMatch = req.headers['if-match'];
    if (req.headers['if-none-match']) conditions.ifNoneMatch = req.headers['if-none-match'];
    if (req.headers['if-modified-since']) conditions.ifModifiedSince = new Date(req.headers['if-modified-since']);
    if (req.headers['if-unmodified-since']) conditions.ifUnmodifiedSince = new Date(req.headers['if-unmodified-since']);
    if (busy()) throw new HttpError(409, 'PendingCopyOperation', 'There is currently a pending copy operation.');
    const metadata = Object.keys(reqMeta).length ? reqMeta : src.metadata;
    const bc = svc.getContainerClient(t.container).getBlockBlobClient(t.blob);
    const create = async () => {
      // With versioning the destination's content becomes a previous
      // version and the copy's result a new current version, whose id the
      // Copy Blob answer carries (x-ms-version-id) while it is pending.
      const prior = versioning ? await captureCurrent(t) : null;
      try {
        // A copy onto itself must not truncate its own source.
        created = src.key === t.key ? await bc.getProperties({ conditions })
          : await bc.upload(Buffer.alloc(0), 0, { metadata, conditions });
      } catch (e) {
        dropVersion(prior);
        throw e;
      }
      if (versioning || versionStore.has(t.key)) versionId = commitVersion(t.key, prior, false);
    };
    await (versioning || versionStore.has(t.key) ? withKeyLock(t.key, create) : create());
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
    sourceLeaseId, leaseId: req.headers['x-ms-lease-id'] || null, startedAt: new Date(),
  };
  const old = copies.get(t.key);
  if (old) stopJob(old);
  copies.set(t.key, st);
  log.copies.push(st);
  const h = { ...baseHeaders(req), ETag: created.etag, 'Last-Modified': created.lastModified.toUTCString(),
    'x-ms-copy-id': st.id, 'x-ms-copy-status': 'pending', 'Content-Length': 0 };
  if (versionId) h['x-ms-version-id'] = versionId;
  res.writeHead(202, h);
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
    const name = itemName(inner);
    if (name === null) return whole;
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
// hook(status), if given, returns header pairs to add to the answer.
function forward(req, res, t, op, hook) {
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
      onResponse(req, res, t, op, upRes, hook);
    } catch (e) {
      vlog(`response error: ${e.stack}`);
      upRes.resume();
      sendError(req, res, 500, 'InternalError', 'emulator error');
    }
  });
}

function onResponse(req, res, t, op, upRes, hook) {
  const status = upRes.statusCode;
  const ok = status >= 200 && status < 300;
  let st = t.blob ? copies.get(t.key) : undefined;
  if (op === 'Delete') log.deletes.push({ dest: t.key, status });
  if (op === 'Lease') recordLease(req, t, upRes);
  if (op === 'AbortCopy') log.aborts.push({ id: t.query.get('copyid') || '', dest: t.key, result: status });
  if (st && st.status !== 'pending' && ((ok && OVERWRITES.has(op)) ||
      (status === 404 && (op === 'GetBlob' || op === 'GetProperties')))) {
    copies.delete(t.key);
    st = undefined;
  }
  if (ok && op === 'DeleteContainer') {
    for (const [k, s] of copies) if (k.startsWith(`${t.container}/`)) { stopJob(s); copies.delete(k); }
    dropContainerVersions(t.container);
  }
  let raw = filterHeaders(upRes.rawHeaders, (n) => HOP.has(n));
  const plainBlob = !t.query.has('snapshot') && (!t.query.has('versionid') || t.currentVersion);
  const read = op === 'GetBlob' || op === 'GetProperties';
  if (st && plainBlob && read && (ok || status === 304)) {
    raw = filterHeaders(raw, (n) => n.startsWith('x-ms-copy-')).concat(copyHeaderPairs(st));
  }
  // The current version's id, as Get Blob and Get Blob Properties give it.
  const ver = plainBlob && (read || op === 'GetMetadata') && (ok || status === 304) &&
    versionStore.get(t.key);
  if (ver && ver.current) {
    raw = filterHeaders(raw, (n) => n === 'x-ms-version-id' || n === 'x-ms-is-current-version')
      .concat(['x-ms-version-id', ver.current, 'x-ms-is-current-version', 'true']);
  }
  if (hook) raw = raw.concat(hook(status));
  const include = t.query.getAll('include').join(',').split(',');
  const inContainer = (k) => k.startsWith(`${t.container}/`);
  const wantCopy = include.includes('copy') && [...copies.keys()].some(inContainer);
  const wantVersions = include.includes('versions') && [...versionStore.keys()].some(inContainer);
  const wantList = op === 'ListBlobs' && ok && (wantCopy || wantVersions);
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
    let text = Buffer.concat(chunks).toString('utf8');
    if (wantCopy) text = rewriteList(text, t.container);
    if (wantVersions) text = mergeVersions(text, t, include);
    const body = Buffer.from(text, 'utf8');
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
      return json(200, { ...log, latencyMs: opt.latency, copies: log.copies.map(copyLogView) });
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
    case '/__emu/versioning': {
      const on = u.searchParams.get('on');
      if (post && on !== '1' && on !== '0') return json(400, { error: 'on must be 1 or 0' });
      if (post) versioning = on === '1';
      return json(200, { versioning });
    }
    case '/__emu/versions':
      return json(200, [...versionStore].map(([blob, e]) => ({ blob, current: e.current,
        prior: e.prior.map((v) => ({ id: v.id, size: v.size, etag: v.etag })) })));
    default:
      return json(404, { error: 'unknown emulator endpoint' });
  }
}

// ---------------------------------------------------------------- server
// countDownload: the body bytes of every answer to a client (not of the
// test hooks) add to log.downloadBodyBytes, whichever path wrote them.
function countDownload(res) {
  const write = res.write;
  const end = res.end;
  const add = (c) => {
    if (typeof c === 'string' || Buffer.isBuffer(c) || c instanceof Uint8Array) {
      log.downloadBodyBytes += Buffer.byteLength(c);
    }
  };
  res.write = function (c, ...rest) { add(c); return write.call(this, c, ...rest); };
  res.end = function (c, ...rest) { add(c); return end.call(this, c, ...rest); };
}

// expect: the request carries "Expect: 100-continue" (node left the interim
// response to us); a refused write then gets its 409 before any body is sent.
function handle(req, res, expect) {
  const proceed = () => { if (expect) res.writeContinue(); };
  if (req.url.startsWith('/__emu/')) { proceed(); return control(req, res); }
  const t = parseTarget(req.url);
  const op = classify(req.method, t, req.headers);
  log.requests++;
  countDownload(res);
  log.byMethod[req.method] = (log.byMethod[req.method] || 0) + 1;
  log.ops[op] = (log.ops[op] || 0) + 1;
  if (opt.passthrough) { proceed(); return forward(req, res, t, op); }
  if (t.blob && t.query.has('versionid')) return versionRequest(req, res, t, op, proceed);
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
  if (replacesVersion(op, t, req)) {
    return versionedWrite(req, res, t, op, proceed).catch((e) => {
      vlog(`versioned write error: ${e.stack}`);
      sendError(req, res, 500, 'InternalError', 'emulator error');
    });
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
