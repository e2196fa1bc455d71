#!/usr/bin/env node
// bench.js - the benchmark's own Blob client (@azure/storage-blob), used by
// tests/bench/run.sh for fixtures, for waiting until data is on the server
// and for the "raw" column: what the service gives a client that talks to it
// directly, without a file system in between.
//
// The connection comes from AZB_CONN (a connection string), as for
// tests/js/sdk.js.  Timed subcommands measure inside the process, so node's
// start-up is not counted, and print one JSON line {"seconds": S, ...}.
//
// Subcommands:
//   sas C [NAME]                     URL of the blob with a read SAS, or of
//                                    the container with a read+delete+list SAS
//                                    (1 day)
//   mkfixture C NAME FILE            upload FILE in 8 MiB blocks (8 at once,
//                                    Put Block even for a small file)
//   putmany C PREFIX N BYTES [CONC]  N blobs PREFIX000000.. of BYTES bytes
//   waitsize C NAME BYTES [TIMEOUT]  poll Get Blob Properties (every 50 ms)
//                                    until the blob has BYTES bytes
//   waitcount C PREFIX N [TIMEOUT]   poll List Blobs until >= N blobs
//   size C NAME                      content length, or -1 if missing
//   cpfrom C DEST SRCC SRCNAME       Copy Blob from another container
//   rmprefix C PREFIX                delete every blob under PREFIX
//   cpdir SRCC DIR DSTC DSTPREFIX    Copy Blob of DIR and every blob under
//                                    DIR/ to DSTPREFIX + its name in DSTC
//                                    (metadata and directory blobs kept):
//                                    the data one client wrote, for another
//   timed upload C NAME FILE BLOCK_MIB CONC
//                                    uploadFile, the SDK's parallel upload
//                                    (always in blocks, never one Put Blob)
//   timed download C NAME BLOCK_MIB CONC
//                                    parallel ranged Get Blob, data discarded
//   timed copy C DEST SRCNAME        Copy Blob in the account, until success
//   timed move C DEST SRCNAME        Copy Blob, then Delete Blob of the source
//   timed list C PREFIX              list every blob under PREFIX (5000/page)
//   timed putsmall C PREFIX N BYTES  N Put Blob, one after the other
//   timed getsmall C PREFIX N        N Get Blob, one after the other
//   timed putdir C PREFIX DIR CONC   Put Blob of every file under DIR as
//                                    PREFIX + its relative path, CONC at once
//   timed getall C PREFIX CONC       Get Blob of every blob under PREFIX
//   timed copyall C FROM TO CONC     Copy Blob of every blob under FROM to
//                                    TO + the rest of its name
//   timed moveall C FROM TO CONC     as copyall, each copy followed by the
//                                    Delete Blob of its source
//   timed rmall C PREFIX CONC        Delete Blob of every blob under PREFIX
//   timed eagerdir C PREFIX DIR CONC [tar]
//                                    as putdir, as a command keeping the
//                                    contract must: directory blobs and
//                                    empty creates one after the other,
//                                    the bytes behind, CONC at a time
//                                    (tar: then each directory's mtime and
//                                    mode, as tar x sets them)
//   timed eagercp C FROM TO          per blob under FROM, one after the
//                                    other: an empty create, its Copy Blob
//   timed append C NAME FILE         add FILE at the end of a block blob:
//                                    Get Block List, Put Block, Put Block List
'use strict';

const fs = require('fs');
const path = require('path');
const { BlobServiceClient, BlobSASPermissions, ContainerSASPermissions } = require('@azure/storage-blob');

function client() {
  const conn = process.env.AZB_CONN;
  if (!conn) throw new Error('AZB_CONN is not set');
  return BlobServiceClient.fromConnectionString(conn, {
    retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
  });
}
const container = (c) => client().getContainerClient(c);
const blob = (c, n) => container(c).getBlockBlobClient(n);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const small = (prefix, i) => `${prefix}${String(i).padStart(6, '0')}`;

async function pool(n, conc, fn) { // runs fn(0..n-1), conc at a time
  let next = 0;
  const worker = async () => { while (next < n) { const i = next++; await fn(i); } };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
}

async function drain(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

async function sizeOf(c, n) {
  try {
    return (await blob(c, n).getProperties()).contentLength;
  } catch (e) {
    if (e.statusCode === 404) return -1;
    throw e;
  }
}

function walk(dir, rel = '') { // the files under dir, as paths relative to it
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

async function namesUnder(c, prefix) { // every blob name under prefix
  const names = [];
  for await (const item of container(c).listBlobsFlat({ prefix })) names.push(item.name);
  return names;
}

async function copyBlob(dc, dest, sc, src) { // Copy Blob sc/src to dc/dest, until success
  const poller = await blob(dc, dest).beginCopyFromURL(blob(sc, src).url, { intervalInMs: 50 });
  await poller.pollUntilDone();
}

// an empty create that never replaces a blob, as a create through a
// mount keeping the contract sends it
const createEmpty = (c, name) => blob(c, name).upload(Buffer.alloc(0), 0, { conditions: { ifNoneMatch: '*' } });

async function timed(what, fn) {
  const t0 = now();
  const extra = (await fn()) || {};
  process.stdout.write(JSON.stringify({ op: what, seconds: now() - t0, ...extra }) + '\n');
}

const TIMED = {
  async upload([c, name, file, bmib, conc]) {
    await blob(c, name).uploadFile(file,
      { blockSize: Number(bmib) << 20, concurrency: Number(conc), maxSingleShotSize: 0 });
  },
  async download([c, name, bmib, conc]) {
    const b = blob(c, name);
    const total = (await b.getProperties()).contentLength;
    const bs = Number(bmib) << 20;
    let bytes = 0;
    await pool(Math.ceil(total / bs), Number(conc), async (i) => {
      const off = i * bs;
      const r = await b.download(off, Math.min(bs, total - off));
      const got = await drain(r.readableStreamBody);
      bytes += got;
    });
    if (bytes !== total) throw new Error(`downloaded ${bytes} of ${total} bytes`);
    return { bytes };
  },
  async copy([c, dest, src]) {
    await copyBlob(c, dest, c, src);
  },
  async move([c, dest, src]) {
    await copyBlob(c, dest, c, src);
    await blob(c, src).delete();
  },
  async list([c, prefix]) {
    let n = 0;
    for await (const page of container(c).listBlobsFlat({ prefix }).byPage({ maxPageSize: 5000 })) {
      n += page.segment.blobItems.length;
    }
    return { blobs: n };
  },
  async putsmall([c, prefix, n, bytes]) {
    const buf = Buffer.alloc(Number(bytes), 'x');
    for (let i = 0; i < Number(n); i++) await blob(c, small(prefix, i)).upload(buf, buf.length);
  },
  async getsmall([c, prefix, n]) {
    for (let i = 0; i < Number(n); i++) {
      await drain((await blob(c, small(prefix, i)).download(0)).readableStreamBody);
    }
  },
  // the distant group's raw column: the requests a client that talks to
  // the service itself sends for the same work, CONC at a time
  async putdir([c, prefix, dir, conc]) {
    const files = walk(dir);
    await pool(files.length, Number(conc), async (i) => {
      const data = fs.readFileSync(path.join(dir, files[i]));
      await blob(c, prefix + files[i]).upload(data, data.length);
    });
    return { blobs: files.length };
  },
  // the contract's floor for the same work (INTERFACE.md: any create
  // makes its blob before it returns): a command makes one file after
  // the other, each create waits for its empty Put Blob, the bytes go up
  // behind it CONC at a time, and mkdir waits for its directory blob
  // (tar: at the end tar sets each directory's mtime, then its mode:
  // two Set Blob Metadata per directory, one after the other)
  async eagerdir([c, prefix, dir, conc, tar]) {
    const files = walk(dir);
    const made = new Set();
    const behind = new Set();
    let blobs = 0;
    const put = (name, data, opts) => blob(c, name).upload(data, data.length, opts);
    for (const f of files) {
      const parts = f.split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (made.has(d)) continue;
        made.add(d);
        await put(prefix + d, Buffer.alloc(0), { metadata: { hdi_isfolder: 'true' } });
      }
      await createEmpty(c, prefix + f);
      while (behind.size >= Number(conc)) await Promise.race(behind);
      const data = fs.readFileSync(path.join(dir, f));
      const p = put(prefix + f, data).then(() => { behind.delete(p); blobs++; });
      behind.add(p);
    }
    await Promise.all(behind);
    if (tar === 'tar') {
      const meta = { hdi_isfolder: 'true', mode: '40755' };
      for (const d of [...made].reverse()) {
        await blob(c, prefix + d).setMetadata({ ...meta, mtime: new Date().toISOString() });
        await blob(c, prefix + d).setMetadata(meta);
      }
    }
    return { blobs, dirs: made.size };
  },
  async eagercp([c, from, to]) { // cp -r: each create, then its Copy Blob
    const names = await namesUnder(c, from);
    for (const n of names) {
      const dest = to + n.slice(from.length);
      await createEmpty(c, dest);
      await copyBlob(c, dest, c, n);
    }
    return { blobs: names.length };
  },
  async getall([c, prefix, conc]) {
    const names = await namesUnder(c, prefix);
    let bytes = 0;
    await pool(names.length, Number(conc), async (i) => {
      bytes += await drain((await blob(c, names[i]).download(0)).readableStreamBody);
    });
    return { blobs: names.length, bytes };
  },
  async copyall([c, from, to, conc]) {
    const names = await namesUnder(c, from);
    await pool(names.length, Number(conc), (i) => copyBlob(c, to + names[i].slice(from.length), c, names[i]));
    return { blobs: names.length };
  },
  async moveall([c, from, to, conc]) {
    const names = await namesUnder(c, from);
    await pool(names.length, Number(conc), async (i) => {
      await copyBlob(c, to + names[i].slice(from.length), c, names[i]);
      await blob(c, names[i]).delete();
    });
    return { blobs: names.length };
  },
  async rmall([c, prefix, conc]) {
    const names = await namesUnder(c, prefix);
    await pool(names.length, Number(conc), (i) => blob(c, names[i]).delete());
    return { blobs: names.length };
  },
  async append([c, name, file]) {
    const b = blob(c, name);
    const data = fs.readFileSync(file);
    const list = await b.getBlockList('committed');
    const ids = list.committedBlocks.map((x) => x.name);
    // block ids of one blob must all have the same length
    const len = ids.length ? Buffer.from(ids[0], 'base64').length : 16;
    const id = Buffer.from(`a${Date.now()}`.padEnd(len, '0').slice(0, len)).toString('base64');
    await b.stageBlock(id, data, data.length);
    await b.commitBlockList([...ids, id]);
    return { blocksBefore: ids.length };
  },
};

const commands = {
  async sas([c, name]) {
    const expiresOn = new Date(Date.now() + 86400e3);
    const url = name ? await blob(c, name).generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn })
      : await container(c).generateSasUrl({ permissions: ContainerSASPermissions.parse('rdl'), expiresOn });
    process.stdout.write(url + '\n');
  },
  async mkfixture([c, name, file]) {
    await blob(c, name).uploadFile(file, { blockSize: 8 << 20, concurrency: 8, maxSingleShotSize: 0 });
  },
  async putmany([c, prefix, n, bytes, conc]) {
    const buf = Buffer.alloc(Number(bytes), 'x');
    await pool(Number(n), Number(conc || 32), (i) => blob(c, small(prefix, i)).upload(buf, buf.length));
  },
  async waitsize([c, name, bytes, timeout]) {
    const end = now() + Number(timeout || 600);
    for (;;) {
      const s = await sizeOf(c, name);
      if (s === Number(bytes)) return;
      if (now() > end) throw new Error(`${name}: size ${s}, waited for ${bytes}`);
      await sleep(50);
    }
  },
  async waitcount([c, prefix, n, timeout]) {
    const end = now() + Number(timeout || 600);
    for (;;) {
      let k = 0;
      for await (const page of container(c).listBlobsFlat({ prefix }).byPage({ maxPageSize: 5000 })) {
        k += page.segment.blobItems.length;
      }
      if (k >= Number(n)) return;
      if (now() > end) throw new Error(`${prefix}: ${k} blobs, waited for ${n}`);
      await sleep(100);
    }
  },
  async rmprefix([c, prefix]) {
    const names = await namesUnder(c, prefix);
    await pool(names.length, 32, (i) => blob(c, names[i]).deleteIfExists());
  },
  async cpdir([sc, dir, dc, dprefix]) {
    const names = [];
    for await (const item of container(sc).listBlobsFlat({ prefix: dir })) {
      if (item.name === dir || item.name.startsWith(`${dir}/`)) names.push(item.name);
    }
    await pool(names.length, 16, (i) => copyBlob(dc, dprefix + names[i], sc, names[i]));
    process.stdout.write(`${names.length}\n`);
  },
  async cpfrom([c, dest, sc, sn]) {
    await copyBlob(c, dest, sc, sn);
  },
  async size([c, name]) {
    process.stdout.write(`${await sizeOf(c, name)}\n`);
  },
  async timed([what, ...args]) {
    if (!TIMED[what]) throw new Error(`unknown timed operation ${what}`);
    await timed(what, () => TIMED[what](args));
  },
};

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  try {
    if (!commands[cmd]) throw new Error(`usage: bench.js ${Object.keys(commands).join('|')} ARGS...`);
    await commands[cmd](args);
  } catch (e) {
    process.stderr.write(`bench.js: ${cmd}: ${e.statusCode ? e.statusCode + ' ' : ''}` +
      `${String(e.message || e).split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}

main();
