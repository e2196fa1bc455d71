// pace.js - a stream sent on at a set rate, for the stand-ins in tests/js:
// chaos.js's trickle fault and copyemu.js --conn-rate.
'use strict';

// Writes src to dst at bps bytes/s in pieces of a tenth of a second, with
// backpressure; calls done(err) at the end of src. Time the receiver spends
// not reading is lost, as on a TCP connection whose window closed: at most
// CATCH_UP_MS of sending may be made up at once afterwards.
const CATCH_UP_MS = 20;
function trickle(src, dst, bps, done) {
  const piece = Math.max(1, Math.floor(bps / 10));
  const queue = [];
  let due = Date.now(); // when the bytes sent so far may all be out
  let ended = false;
  let busy = false;
  let finished = false;
  const finish = (e) => { if (!finished) { finished = true; done(e); } };
  const pump = () => {
    if (busy || finished) return;
    if (!queue.length) {
      if (ended) finish(null);
      else src.resume();
      return;
    }
    busy = true;
    let c = queue.shift();
    if (c.length > piece) { queue.unshift(c.subarray(piece)); c = c.subarray(0, piece); }
    due = Math.max(due, Date.now() - CATCH_UP_MS) + (c.length * 1000) / bps;
    dst.write(c, () => {
      // the next piece leaves when the rate allows it (at once when a
      // little behind: a timer waits at least a millisecond)
      const wait = due - Date.now();
      const next = () => { busy = false; pump(); };
      if (wait > 0) setTimeout(next, wait);
      else next();
    });
  };
  src.on('data', (c) => { queue.push(c); if (queue.length > 4) src.pause(); pump(); });
  src.on('end', () => { ended = true; pump(); });
  src.on('error', (e) => finish(e));
  dst.on('close', () => { if (!finished) { src.destroy(); finish(new Error('closed')); } });
}

module.exports = { trickle };
