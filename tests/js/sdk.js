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
// Subcommands:
//   mkcontainer C | rmcontainer C
//   put C NAME FILE|-          upload a file (or stdin)
//   putstr C NAME STRING       upload a string
//   get C NAME FILE|-          download to a file (or stdout)
//   list C [PREFIX]            one blob name per line (flat, all pages)
//   listjson C [PREFIX]        JSON array with name, size, metadata and copy
//                              properties of every blob (include=copy,metadata)
//   props C NAME               JSON of Get Blob Properties (the SDK lowercases
//                              metadata keys read from headers; listjson keeps
//                              their case)
//   setmeta C NAME [k=v ...]   replace the metadata
//   delete C NAME
//   startcopy C NAME SOURCEURL [--tier T] [--meta k=v ...]
//                              start an asynchronous Copy Blob, print copy id
//   abortcopy C NAME COPYID
//   sha256 C NAME              hex sha256 of the content (streamed)
//   mkdirblob C NAME           zero-length blob with metadata hdi_isfolder=true
//   seturl C NAME | url C NAME print the blob's full, encoded URL
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const { pipeline } = require('stream/promises');
const { BlobServiceClient } = require('@azure/storage-blob');

const USAGE = 'usage: sdk.js mkcontainer|rmcontainer|put|putstr|get|list|listjson|props|' +
  'setmeta|delete|startcopy|abortcopy|sha256|mkdirblob|seturl ARGS...';

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
  async put([c, name, file]) {
    const b = blob(c, name);
    if (file === '-') await b.uploadStream(process.stdin, 4 << 20, 4);
    else await b.uploadFile(file);
  },
  async putstr([c, name, str]) {
    const buf = Buffer.from(str, 'utf8');
    await blob(c, name).upload(buf, buf.length);
  },
  async get([c, name, file]) {
    const r = await blob(c, name).download(0);
    const out = file === '-' ? process.stdout : fs.createWriteStream(file);
    await pipeline(r.readableStreamBody, out);
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
  async props([c, name]) {
    const p = await blob(c, name).getProperties();
    const out = {
      contentLength: p.contentLength,
      etag: p.etag,
      metadata: p.metadata || {},
      ...copyProps(p),
      blobType: p.blobType ?? null,
      accessTier: p.accessTier ?? null,
      contentType: p.contentType ?? null,
      lastModified: iso(p.lastModified),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  },
  async setmeta([c, name, ...kv]) {
    await blob(c, name).setMetadata(parseKV(kv));
  },
  async delete([c, name]) {
    await blob(c, name).delete();
  },
  async startcopy([c, name, source, ...rest]) {
    need([source], 1, 'SOURCEURL');
    const opts = {};
    const meta = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '--tier' && i + 1 < rest.length) opts.tier = rest[++i];
      else if (rest[i] === '--meta' && i + 1 < rest.length) meta.push(rest[++i]);
      else throw new UsageError(`unknown option ${rest[i]}`);
    }
    if (meta.length) opts.metadata = parseKV(meta);
    // beginCopyFromURL issues the Copy Blob request and returns a poller; we
    // do not poll, we only report the id of the (possibly pending) copy.
    const poller = await blob(c, name).beginCopyFromURL(source, opts);
    const st = poller.getOperationState();
    process.stdout.write(`${st.copyId}\n`);
  },
  async abortcopy([c, name, id]) {
    need([id], 1, 'COPYID');
    await blob(c, name).abortCopyFromURL(id);
  },
  async sha256([c, name]) {
    const r = await blob(c, name).download(0);
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
  mkcontainer: 1, rmcontainer: 1, put: 3, putstr: 3, get: 3, list: 1, listjson: 1,
  props: 2, setmeta: 2, delete: 2, startcopy: 3, abortcopy: 3, sha256: 2,
  mkdirblob: 2, seturl: 2, url: 2,
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
