#!/usr/bin/env node
// sdk.js - command-line wrapper around @azure/storage-blob.
//
// This is the *independent client* of the test suite: tests use it to create
// fixtures and to check what azblobfs really wrote on the wire, without going
// through the C code.  The connection comes from the environment variable
// AZB_CONN (a full connection string; for Azurite use
// "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;
// BlobEndpoint=http://127.0.0.1:PORT/devstoreaccount1;").
//
// Blob names are taken raw (UTF-8, any characters); the SDK encodes them.
// Exit status: 0 on success, 1 on a service/IO error, 2 on bad usage.  On
// failure a single line "sdk.js: CMD: [STATUS CODE: ]message" goes to stderr.
//
// Subcommands (WHICH = --version ID or --snapshot TIME: that version or
// snapshot instead of the current blob; --lease ID: the write carries the
// lease id; --print-version-id: print the x-ms-version-id of the answer, or
// "null", on a line of its own; "--" ends the options):
//   mkcontainer C | rmcontainer C
//   put C NAME FILE|- [--lease ID] [--print-version-id]
//                              upload a file (or stdin)
//   putstr C NAME STRING [--lease ID] [--print-version-id]
//                              upload a string
//   get C NAME FILE|- [WHICH]  download to a file (or stdout)
//   getrange C NAME OFFSET COUNT [WHICH]
//                              download COUNT bytes from OFFSET to stdout
//   list C [PREFIX]            one blob name per line (flat, all pages)
//   listjson C [PREFIX]        JSON array with name, size, metadata and copy
//                              properties of every blob (include=copy,metadata)
//   listversions C [PREFIX] [--page N] [--delimiter D]
//                              JSON array of every blob, version and snapshot
//                              (include=versions,snapshots,metadata) in the
//                              service's order, N per page; under a delimiter
//                              a virtual directory is {"prefix": NAME}
//   props C NAME [WHICH]       JSON of Get Blob Properties (the SDK lowercases
//                              metadata keys read from headers; listjson keeps
//                              their case)
//   setmeta C NAME [k=v ...] [--lease ID] [--print-version-id]
//                              replace the metadata
//   delete C NAME [WHICH] [--lease ID]
//   startcopy C NAME SOURCEURL [--tier T] [--meta k=v ...] [--lease ID]
//                              [--source-lease ID] [--print-version-id]
//                              start an asynchronous Copy Blob, print copy id
//                              (--source-lease sends x-ms-source-lease-id)
//   abortcopy C NAME COPYID
//   sha256 C NAME [WHICH]      hex sha256 of the content (streamed)
//   mkdirblob C NAME           zero-length blob with metadata hdi_isfolder=true
//   seturl C NAME | url C NAME print the blob's full, encoded URL
//   lease C NAME acquire [SECONDS] | renew ID | release ID | change ID NEWID |
//                break [SECONDS]
//                              Lease Blob; prints the lease id (acquire, renew,
//                              change) or the seconds left (break)
//   snapshot C NAME            Snapshot Blob, print the snapshot time
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const { pipeline } = require('stream/promises');
const { BlobServiceClient } = require('@azure/storage-blob');

const USAGE = 'usage: sdk.js mkcontainer|rmcontainer|put|putstr|get|getrange|list|listjson|' +
  'listversions|props|setmeta|delete|startcopy|abortcopy|sha256|mkdirblob|seturl|lease|' +
  'snapshot ARGS...';

class UsageError extends Error {}

function need(args, n, what) {
  if (args.length < n) throw new UsageError(`expected ${what}`);
}

function client() {
  const conn = process.env.AZB_CONN;
  if (!conn) throw new UsageError('AZB_CONN is not set');
  return BlobServiceClient.fromConnectionString(conn, {
    retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
  });
}

function blob(c, name) {
  return client().getContainerClient(c).getBlockBlobClient(name);
}

// Splits ARGS into positional arguments and the --options named in spec
// (name -> true when it takes a value); a repeated option keeps every value.
// "--" ends the options: what follows is positional even if it starts "--".
function options(args, spec) {
  const pos = [];
  const opt = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      pos.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      pos.push(a);
      continue;
    }
    const name = a.slice(2);
    if (!(name in spec)) throw new UsageError(`unknown option ${a}`);
    if (!spec[name]) {
      opt[name] = true;
      continue;
    }
    if (i + 1 >= args.length) throw new UsageError(`${a} needs a value`);
    (opt[name] = opt[name] || []).push(args[++i]);
  }
  const one = (n) => (opt[n] ? opt[n][opt[n].length - 1] : undefined);
  return { pos, opt, one };
}

const WHICH = { version: true, snapshot: true };

// The blob client for --version/--snapshot, or the current blob.
function which(c, name, o) {
  let b = client().getContainerClient(c).getBlobClient(name);
  if (o.one('version')) b = b.withVersion(o.one('version'));
  if (o.one('snapshot')) b = b.withSnapshot(o.one('snapshot'));
  return b;
}

function printVersionId(o, r) {
  if (o.opt['print-version-id']) process.stdout.write(`${r.versionId ?? 'null'}\n`);
}

function parseKV(list) {
  const out = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`expected k=v, got "${kv}"`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function iso(d) {
  return d instanceof Date ? d.toISOString() : (d === undefined ? null : d);
}

function copyProps(p) {
  return {
    copyStatus: p.copyStatus ?? null,
    copyProgress: p.copyProgress ?? null,
    copyId: p.copyId ?? null,
    copySource: p.copySource ?? null,
    copyStatusDescription: p.copyStatusDescription ?? null,
    copyCompletedOn: iso(p.copyCompletedOn),
  };
}

async function writeOut(file, text) {
  if (file === '-') process.stdout.write(text);
  else await fs.promises.writeFile(file, text);
}

const commands = {
  async mkcontainer([c]) {
    await client().getContainerClient(c).create();
  },
  async rmcontainer([c]) {
    await client().getContainerClient(c).delete();
  },
  async put(args) {
    const o = options(args, { lease: true, 'print-version-id': false });
    const [c, name, file] = o.pos;
    need(o.pos, 3, 'C NAME FILE');
    const b = blob(c, name);
    const opts = o.one('lease') ? { conditions: { leaseId: o.one('lease') } } : {};
    const r = file === '-' ? await b.uploadStream(process.stdin, 4 << 20, 4, opts)
      : await b.uploadFile(file, opts);
    printVersionId(o, r);
  },
  async putstr(args) {
    const o = options(args, { lease: true, 'print-version-id': false });
    const [c, name, str] = o.pos;
    need(o.pos, 3, 'C NAME STRING');
    const buf = Buffer.from(str, 'utf8');
    const opts = o.one('lease') ? { conditions: { leaseId: o.one('lease') } } : {};
    printVersionId(o, await blob(c, name).upload(buf, buf.length, opts));
  },
  async get(args) {
    const o = options(args, WHICH);
    const [c, name, file] = o.pos;
    need(o.pos, 3, 'C NAME FILE');
    const r = await which(c, name, o).download(0);
    const out = file === '-' ? process.stdout : fs.createWriteStream(file);
    await pipeline(r.readableStreamBody, out);
  },
  async getrange(args) {
    const o = options(args, WHICH);
    const [c, name, offset, count] = o.pos;
    need(o.pos, 4, 'C NAME OFFSET COUNT');
    const r = await which(c, name, o).download(Number(offset), Number(count));
    await pipeline(r.readableStreamBody, process.stdout);
  },
  async list([c, prefix]) {
    const cc = client().getContainerClient(c);
    const opts = prefix ? { prefix } : {};
    for await (const page of cc.listBlobsFlat(opts).byPage({ maxPageSize: 5000 })) {
      let s = '';
      for (const item of page.segment.blobItems) s += item.name + '\n';
      process.stdout.write(s);
    }
  },
  async listjson([c, prefix]) {
    const cc = client().getContainerClient(c);
    const opts = { includeCopy: true, includeMetadata: true };
    if (prefix) opts.prefix = prefix;
    const out = [];
    for await (const item of cc.listBlobsFlat(opts)) {
      out.push({
        name: item.name,
        contentLength: item.properties.contentLength,
        etag: item.properties.etag,
        metadata: item.metadata || {},
        ...copyProps(item.properties),
      });
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  },
  async listversions(args) {
    const o = options(args, { page: true, delimiter: true });
    const [c, prefix] = o.pos;
    const cc = client().getContainerClient(c);
    const opts = { includeVersions: true, includeSnapshots: true, includeMetadata: true };
    if (prefix) opts.prefix = prefix;
    const delim = o.one('delimiter');
    const pages = (delim ? cc.listBlobsByHierarchy(delim, opts) : cc.listBlobsFlat(opts))
      .byPage({ maxPageSize: Number(o.one('page') || 5000) });
    const out = [];
    for await (const page of pages) {
      for (const p of page.segment.blobPrefixes || []) out.push({ prefix: p.name });
      for (const item of page.segment.blobItems) {
        out.push({
          name: item.name,
          versionId: item.versionId ?? null,
          isCurrentVersion: item.isCurrentVersion ?? null,
          snapshot: item.snapshot || null,
          contentLength: item.properties.contentLength,
          etag: item.properties.etag,
          metadata: item.metadata || {},
        });
      }
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  },
  async props(args) {
    const o = options(args, WHICH);
    const [c, name] = o.pos;
    const p = await which(c, name, o).getProperties();
    const out = {
      contentLength: p.contentLength,
      etag: p.etag,
      metadata: p.metadata || {},
      ...copyProps(p),
      blobType: p.blobType ?? null,
      accessTier: p.accessTier ?? null,
      contentType: p.contentType ?? null,
      lastModified: iso(p.lastModified),
      versionId: p.versionId ?? null,
      isCurrentVersion: p.isCurrentVersion ?? null,
      leaseState: p.leaseState ?? null,
      leaseStatus: p.leaseStatus ?? null,
      leaseDuration: p.leaseDuration ?? null,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  },
  async setmeta(args) {
    const o = options(args, { lease: true, 'print-version-id': false });
    const [c, name, ...kv] = o.pos;
    const opts = o.one('lease') ? { conditions: { leaseId: o.one('lease') } } : {};
    printVersionId(o, await blob(c, name).setMetadata(parseKV(kv), opts));
  },
  async delete(args) {
    const o = options(args, { ...WHICH, lease: true });
    const [c, name] = o.pos;
    const opts = o.one('lease') ? { conditions: { leaseId: o.one('lease') } } : {};
    await which(c, name, o).delete(opts);
  },
  async startcopy(args) {
    const o = options(args, { tier: true, meta: true, lease: true, 'source-lease': true,
      'print-version-id': false });
    const [c, name, source] = o.pos;
    need(o.pos, 3, 'C NAME SOURCEURL');
    const opts = {};
    if (o.one('tier')) opts.tier = o.one('tier');
    if (o.opt.meta) opts.metadata = parseKV(o.opt.meta);
    if (o.one('lease')) opts.conditions = { leaseId: o.one('lease') };
    const b = blob(c, name);
    const srcLease = o.one('source-lease');
    if (srcLease) {
      // The SDK has no option for x-ms-source-lease-id on Copy Blob: a
      // policy ahead of the signing one adds it to that request.
      b.storageClientContext.pipeline.addPolicy({
        name: 'sdkjsSourceLease',
        sendRequest(req, next) {
          if (req.headers.has('x-ms-copy-source')) req.headers.set('x-ms-source-lease-id', srcLease);
          return next(req);
        },
      });
    }
    // One Copy Blob request (what beginCopyFromURL sends first); no polling:
    // only the id of the (possibly pending) copy is reported.
    const r = await b.startCopyFromURL(source, opts);
    process.stdout.write(`${r.copyId}\n`);
    printVersionId(o, r);
  },
  async lease([c, name, action, ...rest]) {
    const lc = (id) => client().getContainerClient(c).getBlobClient(name).getBlobLeaseClient(id);
    let r;
    switch (action) {
      case 'acquire':
        r = await lc().acquireLease(rest[0] === undefined ? -1 : Number(rest[0]));
        process.stdout.write(`${r.leaseId}\n`);
        return;
      case 'renew':
        need(rest, 1, 'lease ID');
        r = await lc(rest[0]).renewLease();
        process.stdout.write(`${r.leaseId}\n`);
        return;
      case 'release':
        need(rest, 1, 'lease ID');
        await lc(rest[0]).releaseLease();
        return;
      case 'change':
        need(rest, 2, 'lease ID and new ID');
        r = await lc(rest[0]).changeLease(rest[1]);
        process.stdout.write(`${r.leaseId}\n`);
        return;
      case 'break':
        r = await lc().breakLease(rest[0] === undefined ? 0 : Number(rest[0]));
        process.stdout.write(`${r.leaseTime}\n`);
        return;
      default:
        throw new UsageError('lease action must be acquire, renew, release, change or break');
    }
  },
  async snapshot([c, name]) {
    const r = await client().getContainerClient(c).getBlobClient(name).createSnapshot();
    process.stdout.write(`${r.snapshot}\n`);
  },
  async abortcopy([c, name, id]) {
    need([id], 1, 'COPYID');
    await blob(c, name).abortCopyFromURL(id);
  },
  async sha256(args) {
    const o = options(args, WHICH);
    const [c, name] = o.pos;
    const r = await which(c, name, o).download(0);
    const h = crypto.createHash('sha256');
    await pipeline(r.readableStreamBody, h);
    process.stdout.write(h.digest('hex') + '\n');
  },
  async mkdirblob([c, name]) {
    await blob(c, name).upload(Buffer.alloc(0), 0, { metadata: { hdi_isfolder: 'true' } });
  },
  async seturl([c, name]) {
    await writeOut('-', blob(c, name).url + '\n');
  },
};
commands.url = commands.seturl;

const ARITY = {
  mkcontainer: 1, rmcontainer: 1, put: 3, putstr: 3, get: 3, getrange: 4, list: 1, listjson: 1,
  listversions: 1, props: 2, setmeta: 2, delete: 2, startcopy: 3, abortcopy: 3, sha256: 2,
  mkdirblob: 2, seturl: 2, url: 2, lease: 3, snapshot: 2,
};

function oneLine(s) {
  return String(s).split('\n')[0].trim();
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  try {
    if (!cmd || !commands[cmd]) throw new UsageError(USAGE);
    need(args, ARITY[cmd], `at least ${ARITY[cmd]} argument(s)`);
    await commands[cmd](args);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`sdk.js: ${cmd || ''}: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    let msg = '';
    if (e.statusCode) msg += `${e.statusCode} `;
    const code = e.code || (e.details && e.details.errorCode);
    if (code) msg += `${code}: `;
    const text = oneLine(e.message || e);
    // HEAD responses carry no body: the SDK's message is then just "RestError".
    msg += text && text !== 'RestError' ? text : (code ? '(no message)' : 'request failed');
    process.stderr.write(`sdk.js: ${cmd}: ${msg}\n`);
    process.exitCode = 1;
  }
}

main();
