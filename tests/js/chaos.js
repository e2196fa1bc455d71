#!/usr/bin/env node
// chaos.js - a fault-injecting HTTP reverse proxy in front of Azurite.
//
// Every request is forwarded unchanged to --upstream (minus the hop-by-hop
// headers Connection, Keep-Alive, Proxy-Connection and Expect), except that,
// with probability --rate, one fault drawn uniformly from --faults is
// injected into it.  A kind listed twice is drawn twice as often.  The
// faults:
//
//   503       answered at once with "503 Server Busy", Retry-After: 1 and an
//             Azure XML error body (Code ServerBusy); NOT forwarded.
//   500       answered at once with "500 Internal Server Error" and an XML
//             body (Code InternalError); NOT forwarded.
//   reset     forwarded; once Azurite has answered, the client connection is
//             reset (RST) halfway through the response body, or before any
//             byte of the response when it has no body (HEAD, 201, 202,
//             204...).  The operation HAS taken effect on the server: this is
//             the "done, but the client never heard" case.  (libcurl sends a
//             request again by itself when a reused connection dies before
//             the first byte of the answer, so a client may see the answer to
//             that second attempt instead.)
//   stall     held for --stall-ms, then forwarded if the client is still
//             connected (if it gave up, nothing is forwarded).  Tests set the
//             client's timeout below --stall-ms to exercise timeouts.
//   truncate  forwarded; the answer advertises more bytes than it delivers,
//             then the connection is closed (FIN, not RST): half of the body
//             of a Content-Length answer; the whole body of a chunked answer
//             under a Content-Length of 1 GiB; "Content-Length: 16" and no
//             body for an empty answer; and for answers that cannot carry a
//             body (HEAD, 204, 304) the status line is cut in the middle
//             (libcurl accepts a header block cut anywhere after the status
//             line as complete).  The operation HAS taken effect on the
//             server.
//   trickle   forwarded, and completed, but slowly: the response body is
//             sent to the client at --trickle-bps (default 64 KiB/s); for a
//             request that uploads a body it is the upload that is sent on to
//             Azurite at that rate; a request with neither body is only
//             delayed by 250 ms.
//
// --match REGEX limits the faults to the requests it matches; it is tested
// against "METHOD URL" followed by one "\nname: value" line per request
// header (names in lower case), e.g. "^PUT " or "x-ms-copy-source:".  Other
// requests are forwarded untouched and use no draw.  --count N stops the
// faults after N injections (until the rate is set again); with --rate 1 it
// hits exactly the next N matching requests.
//
// The draws come from a seeded generator (--seed, default random; printed on
// stderr), one or two per request in arrival order, so a run with the same
// seed and the same request order injects the same faults.  Bodies are
// streamed in both directions, never held in memory as a whole.
//
// Test hooks (never faulted, never forwarded):
//   GET  /__chaos/stats   JSON {requests, injected:{KIND:n}, byMethod,
//                         injectedByMethod:{METHOD:{KIND:n}}, rate, faults,
//                         match, budget (null = unlimited), seed}
//   GET  /__chaos/log     JSON array of the last 1000 injections
//                         ({n, kind, method, url, status, t})
//   POST /__chaos/rate?r=R[&faults=K1,K2][&match=REGEX][&count=N]   sets the
//                         rate (and the faults, the match, an empty match
//                         being all requests, and the injection budget;
//                         without count= the budget is unlimited)
//   POST /__chaos/reset   zeroes the counters and the log
//
// Usage: node chaos.js --listen PORT --upstream http://127.0.0.1:PORT
//          [--rate 0.05] [--seed N] [--faults 503,500,reset,stall,truncate,trickle]
//          [--stall-ms 3000] [--trickle-bps 65536] [--match REGEX] [--count N]
//          [--verbose]
// Prints "listening PORT" on stdout once ready (--listen 0 picks a port).
'use strict';

const http = require('http');
const crypto = require('crypto');
const { trickle } = require('./pace');

const KINDS = ['503', '500', 'reset', 'stall', 'truncate', 'trickle'];

// ---------------------------------------------------------------- options
function parseFaults(s) {
  const list = String(s).split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of list) if (!KINDS.includes(k)) throw new Error(`unknown fault "${k}" (known: ${KINDS.join(',')})`);
  if (!list.length) throw new Error('empty fault list');
  return list;
}

function parseMatch(s) {
  if (s === null || s === '') return null;
  try {
    return new RegExp(s);
  } catch (e) {
    throw new Error(`bad match "${s}": ${e.message}`);
  }
}

function parseCount(s) {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad count "${s}": a whole number`);
  return n;
}

function parseRate(s) {
  const r = Number(s);
  if (!(r >= 0 && r <= 1)) throw new Error(`bad rate "${s}": a number from 0 to 1`);
  return r;
}

function parseArgs(argv) {
  const o = { listen: 0, upstream: null, rate: 0.05, seed: null, faults: KINDS.slice(),
    stallMs: 3000, trickleBps: 65536, match: null, count: Infinity, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--listen') o.listen = Number(val());
    else if (a === '--upstream') o.upstream = val();
    else if (a === '--rate') o.rate = parseRate(val());
    else if (a === '--seed') o.seed = Number(val());
    else if (a === '--faults') o.faults = parseFaults(val());
    else if (a === '--stall-ms') o.stallMs = Number(val());
    else if (a === '--trickle-bps') o.trickleBps = Number(val());
    else if (a === '--match') o.match = parseMatch(val());
    else if (a === '--count') o.count = parseCount(val());
    else if (a === '--verbose') o.verbose = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.upstream) throw new Error('--upstream is required');
  if (!Number.isInteger(o.listen) || o.listen < 0 || o.listen > 65535) throw new Error('bad --listen');
  if (o.seed !== null && !Number.isInteger(o.seed)) throw new Error('bad --seed: an integer');
  if (!(o.stallMs >= 0)) throw new Error('bad --stall-ms');
  if (!(o.trickleBps >= 1024)) throw new Error('bad --trickle-bps: at least 1024');
  return o;
}

let opt;
try {
  opt = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`chaos: ${e.message}\nusage: chaos.js --listen PORT --upstream ` +
    'http://127.0.0.1:PORT [--rate R] [--seed N] [--faults LIST] [--stall-ms MS] ' +
    '[--trickle-bps BPS] [--match REGEX] [--count N] [--verbose]\n');
  process.exit(2);
}
const up = new URL(opt.upstream);
const upPort = Number(up.port || 80);
let rate = opt.rate;
let faults = opt.faults;
let match = opt.match;
let budget = opt.count;
const seed = opt.seed === null ? crypto.randomInt(0, 2 ** 31) : opt.seed;
process.stderr.write(`chaos: seed ${seed}\n`);

function vlog(...a) {
  if (opt.verbose) process.stderr.write(`chaos: ${a.join(' ')}\n`);
}

// mulberry32: small, fast, good enough to pick faults reproducibly
let prngState = seed >>> 0;
function rand() {
  prngState = (prngState + 0x6d2b79f5) >>> 0;
  let t = prngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// ---------------------------------------------------------------- stats
let stats;
let injLog;
function resetStats() {
  stats = { requests: 0, injected: Object.fromEntries(KINDS.map((k) => [k, 0])),
    byMethod: {}, injectedByMethod: {} };
  injLog = [];
}
resetStats();

function record(kind, req) {
  stats.injected[kind]++;
  const m = (stats.injectedByMethod[req.method] ||= {});
  m[kind] = (m[kind] || 0) + 1;
  const e = { n: stats.requests, kind, method: req.method, url: req.url, status: null,
    t: new Date().toISOString() };
  injLog.push(e);
  if (injLog.length > 1000) injLog.shift();
  vlog(`#${e.n} ${kind} ${req.method} ${req.url}`);
  return e;
}

// ---------------------------------------------------------------- helpers
const HOP = new Set(['connection', 'keep-alive', 'expect', 'proxy-connection']);

function filterHeaders(raw, drop) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!drop(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function headerValue(raw, name) {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name) return raw[i + 1];
  return undefined;
}

function xmlEsc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Hard close: RST when the platform allows it.
function resetSocket(sock) {
  if (!sock || sock.destroyed) return;
  if (typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
  else sock.destroy();
}

// Soft close once everything written so far has left: FIN.
function endSocket(sock) {
  if (!sock || sock.destroyed) return;
  sock.end();
  setTimeout(() => sock.destroy(), 2000).unref();
}

function sendAzureError(req, res, status, reason, code, message, extra) {
  const id = crypto.randomUUID();
  const body = req.method === 'HEAD' ? '' :
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>` +
    `${xmlEsc(message)}\nRequestId:${id}\nTime:${new Date().toISOString()}</Message></Error>`;
  res.writeHead(status, reason, {
    'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body),
    'x-ms-request-id': id, 'x-ms-error-code': code, 'x-ms-version': req.headers['x-ms-version'] || '2021-08-06',
    Date: new Date().toUTCString(), Server: 'chaos', ...extra,
  });
  res.end(body);
}

// Copies src to dst until limit bytes have gone, then calls cut() (and
// stops reading src); a src ending earlier calls cut() too.
function pipeUpTo(src, dst, limit, cut) {
  let sent = 0;
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    src.destroy();
    cut();
  };
  if (limit <= 0) { stop(); return; }
  src.on('data', (c) => {
    if (done) return;
    if (sent + c.length >= limit) {
      const part = c.subarray(0, limit - sent);
      sent = limit;
      src.pause();
      dst.write(part, () => stop());
      return;
    }
    sent += c.length;
    if (!dst.write(c)) { src.pause(); dst.once('drain', () => { if (!done) src.resume(); }); }
  });
  src.on('end', () => { if (!done) { done = true; dst.write(Buffer.alloc(0), () => cut()); } });
  src.on('error', () => stop());
}

// What --match is tested against.
function describe(req) {
  let s = `${req.method} ${req.url}`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    s += `\n${req.rawHeaders[i].toLowerCase()}: ${req.rawHeaders[i + 1]}`;
  }
  return s;
}

// ---------------------------------------------------------------- forwarding
function forward(req, res, kind, entry) {
  const upReq = http.request({
    host: up.hostname, port: upPort, method: req.method, path: req.url, agent: upAgent,
    headers: filterHeaders(req.rawHeaders, (n) => HOP.has(n)),
  });
  let clientGone = false;
  res.on('close', () => {
    if (!res.writableFinished) { clientGone = true; upReq.destroy(); }
  });
  upReq.on('error', (e) => {
    if (clientGone) return;
    vlog(`upstream error ${req.method} ${req.url}: ${e.message}`);
    if (!res.headersSent) {
      req.resume();
      sendAzureError(req, res, 502, 'Bad Gateway', 'ChaosUpstreamError', e.message, { Connection: 'close' });
    } else {
      res.destroy();
    }
  });
  const reqLen = Number(req.headers['content-length'] || 0);
  const uploads = reqLen > 0 || req.headers['transfer-encoding'] !== undefined;
  if (kind === 'trickle' && uploads) {
    trickle(req, upReq, opt.trickleBps, (e) => { if (e) upReq.destroy(); else upReq.end(); });
  } else {
    req.pipe(upReq);
  }
  upReq.on('response', (upRes) => {
    if (entry) entry.status = upRes.statusCode;
    if (clientGone) { upRes.resume(); return; }
    respond(req, res, kind, uploads, upRes);
  });
}

function respond(req, res, kind, uploads, upRes) {
  const status = upRes.statusCode;
  const raw = filterHeaders(upRes.rawHeaders, (n) => HOP.has(n));
  const canHaveBody = req.method !== 'HEAD' && status !== 204 && status !== 304 &&
    !(status >= 100 && status < 200);
  const clHeader = headerValue(raw, 'content-length');
  const len = clHeader === undefined ? null : Number(clHeader);
  const hasBody = canHaveBody && (len === null || len > 0);
  upRes.on('error', () => res.destroy());

  switch (kind) {
    case 'reset':
      if (!hasBody) {
        upRes.resume();
        upRes.on('end', () => resetSocket(res.socket));
        return;
      }
      res.writeHead(status, upRes.statusMessage, raw);
      // half of a known length; else the first chunk and no more
      pipeUpTo(upRes, res, len === null ? 1 : Math.floor(len / 2), () => resetSocket(res.socket));
      return;
    case 'truncate': {
      if (!canHaveBody) {
        // libcurl takes a header block cut after the status line for a
        // complete answer, so the cut falls inside the status line
        upRes.resume();
        upRes.on('end', () => {
          const s = res.socket;
          if (!s || s.destroyed) return;
          s.write(`HTTP/1.1 ${String(status).slice(0, 2)}`, () => endSocket(s));
        });
        return;
      }
      if (len === 0) {
        upRes.resume();
        const h = filterHeaders(raw, (n) => n === 'content-length').concat(['Content-Length', '16']);
        res.writeHead(status, upRes.statusMessage, h);
        res.flushHeaders();
        upRes.on('end', () => endSocket(res.socket));
        return;
      }
      if (len === null) {
        const h = filterHeaders(raw, (n) => n === 'transfer-encoding').concat(['Content-Length', String(1 << 30)]);
        res.writeHead(status, upRes.statusMessage, h);
        pipeUpTo(upRes, res, Infinity, () => endSocket(res.socket));
        return;
      }
      res.writeHead(status, upRes.statusMessage, raw);
      pipeUpTo(upRes, res, Math.floor(len / 2), () => endSocket(res.socket));
      return;
    }
    case 'trickle':
      if (!uploads && hasBody) {
        res.writeHead(status, upRes.statusMessage, raw);
        trickle(upRes, res, opt.trickleBps, (e) => { if (e) res.destroy(); else res.end(); });
        return;
      }
      if (!uploads) {
        setTimeout(() => {
          if (res.destroyed) { upRes.resume(); return; }
          res.writeHead(status, upRes.statusMessage, raw);
          upRes.pipe(res);
        }, 250);
        return;
      }
      break; // the upload was the slow part
    default:
      break;
  }
  res.writeHead(status, upRes.statusMessage, raw);
  upRes.pipe(res);
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
    case '/__chaos/stats':
      return json(200, { ...stats, rate, faults, match: match ? match.source : null,
        budget: budget === Infinity ? null : budget, seed });
    case '/__chaos/log':
      return json(200, injLog);
    case '/__chaos/reset':
      if (!post) return json(405, { error: 'use POST' });
      resetStats();
      return json(200, { ok: true });
    case '/__chaos/rate':
      if (!post) return json(405, { error: 'use POST' });
      try {
        const r = parseRate(u.searchParams.get('r'));
        const f = u.searchParams.has('faults') ? parseFaults(u.searchParams.get('faults')) : faults;
        const m = u.searchParams.has('match') ? parseMatch(u.searchParams.get('match')) : match;
        const n = u.searchParams.has('count') ? parseCount(u.searchParams.get('count')) : Infinity;
        rate = r;
        faults = f;
        match = m;
        budget = n;
      } catch (e) {
        return json(400, { error: e.message });
      }
      vlog(`rate ${rate} faults ${faults.join(',')}`);
      return json(200, { rate, faults, match: match ? match.source : null,
        budget: budget === Infinity ? null : budget });
    default:
      return json(404, { error: 'unknown chaos endpoint' });
  }
}

// ---------------------------------------------------------------- server
// expect: the client sent "Expect: 100-continue"; node leaves the interim
// response to us, and a refused request is answered before any body comes.
function handle(req, res, expect) {
  const proceed = () => { if (expect && !res.headersSent) res.writeContinue(); };
  if (req.url.startsWith('/__chaos/')) { proceed(); return control(req, res); }
  stats.requests++;
  stats.byMethod[req.method] = (stats.byMethod[req.method] || 0) + 1;
  let kind = null;
  if (rate > 0 && budget > 0 && (!match || match.test(describe(req))) && rand() < rate) {
    kind = faults[Math.floor(rand() * faults.length)];
    budget--;
  }
  const entry = kind ? record(kind, req) : null;

  switch (kind) {
    case '503':
    case '500': {
      const [status, reason, code, msg, extra] = kind === '503'
        ? [503, 'Server Busy', 'ServerBusy', 'The server is currently unable to receive requests. Please retry your request.', { 'Retry-After': '1' }]
        : [500, 'Internal Server Error', 'InternalError', 'The server encountered an internal error. Please retry the request.', {}];
      entry.status = status;
      if (expect) {
        // never asked for the body: close after answering
        sendAzureError(req, res, status, reason, code, msg, { ...extra, Connection: 'close' });
        return;
      }
      // read the whole upload first, so the client sees the answer, not a reset
      req.on('end', () => sendAzureError(req, res, status, reason, code, msg, extra));
      req.on('error', () => res.destroy());
      req.resume();
      return;
    }
    case 'stall': {
      const sock = req.socket;
      const gone = () => { clearTimeout(t); entry.status = 'client gone'; };
      const t = setTimeout(() => {
        sock.removeListener('close', gone);
        if (sock.destroyed || res.destroyed) { entry.status = 'client gone'; return; }
        proceed();
        forward(req, res, kind, entry);
      }, opt.stallMs);
      sock.once('close', gone);
      return;
    }
    default:
      proceed();
      forward(req, res, kind, entry);
  }
}

function safeHandle(expect) {
  return (req, res) => {
    try {
      handle(req, res, expect);
    } catch (e) {
      vlog(`handler error: ${e.stack}`);
      if (!res.headersSent) sendAzureError(req, res, 500, 'Internal Server Error', 'InternalError', 'proxy error', {});
      else res.destroy();
    }
  };
}

// One upstream connection per request: no keep-alive race with Azurite.
const upAgent = new http.Agent({ keepAlive: false });
const server = http.createServer(safeHandle(false));
server.on('checkContinue', safeHandle(true));
server.requestTimeout = 0; // large uploads may take long
server.headersTimeout = 60000;
server.keepAliveTimeout = 30000;
server.on('clientError', (e, sock) => { vlog(`client error: ${e.message}`); sock.destroy(); });

process.on('uncaughtException', (e) => vlog(`uncaught: ${e.stack}`));
process.on('unhandledRejection', (e) => vlog(`unhandled: ${e && e.stack}`));
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));

server.on('error', (e) => {
  process.stderr.write(`chaos: ${e.message}\n`);
  process.exit(1);
});
server.listen(opt.listen, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
