// run.js - creates a prediction and follows it until it ends.
//
// A transport turns "run this input" into a stream of prediction snapshots
// (Cog's prediction JSON) delivered to onUpdate, ending with a terminal one.
// Two: streaming (the default) and async + polling (the fallback).
//
// Streaming creates the prediction async with {"stream": true} and reads
// Replicate's events (output, logs, error, done) with an EventSource on the
// prediction's stream URL. Chosen over fetch() + Accept: text/event-stream on the
// POST because: the prediction is async, so it runs on when the tab closes or
// reloads (a prediction created by an SSE POST is canceled when its reader hangs
// up) and the history can reopen it; the stream is a plain GET under the page's
// base URL, so nginx and a location prefix need nothing more; EventSource
// reconnects by itself with Last-Event-ID after a dropped connection; and the
// same URL replays a running or finished prediction. Replicate's output event
// carries a string item as the text itself and other values as JSON, so the
// Output schema says which; the final snapshot is always read back with a GET.

export const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

// An HTTP error with the server's JSON body (a 422's detail list, a 503's message).
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    super(typeof detail === 'string' ? detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function json(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch (e) {
    return { detail: text.slice(0, 500) };
  }
}

export async function api(base, path, opts = {}) {
  const res = await fetch(new URL(path, base), opts);
  const body = await json(res);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 1000;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// Follows prediction id by polling until it is terminal or the run is stopped.
async function poll(base, id, onUpdate, signal) {
  let wait = POLL_FIRST_MS;
  let misses = 0;
  while (!signal.aborted) {
    await sleep(wait, signal);
    if (signal.aborted) return;
    let p;
    try {
      p = await api(base, 'predictions/' + encodeURIComponent(id), { signal });
      misses = 0;
    } catch (e) {
      if (signal.aborted) return;
      // A dropped connection or a restarting server: keep trying for a while.
      if (++misses > 20 || (e instanceof ApiError && e.status === 404)) throw e;
      continue;
    }
    onUpdate(p);
    if (TERMINAL.has(p.status)) return;
    wait = Math.min(POLL_MAX_MS, wait * 1.5);
  }
}

const pollingTransport = {
  name: 'polling',
  async start(base, input, onUpdate, signal) {
    const created = await api(base, 'predictions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
      body: JSON.stringify({ input }),
      signal,
    });
    onUpdate(created);
    if (!TERMINAL.has(created.status)) await poll(base, created.id, onUpdate, signal);
  },
  follow(base, id, onUpdate, signal) {
    return poll(base, id, onUpdate, signal);
  },
};

// Decodes one Replicate output event's data by the Output schema's item type.
function decodeItem(data, outSchema) {
  const items = outSchema && outSchema.type === 'array' ? outSchema.items || {} : outSchema || {};
  if (items.type === 'string') return data;
  try {
    return JSON.parse(data);
  } catch (e) {
    return data;
  }
}

// Reads prediction `created` (a snapshot with an id) from its stream URL until done;
// resolves false when the stream could not be read (the caller polls instead).
function readStream(base, created, onUpdate, signal, outSchema) {
  return new Promise((resolve, reject) => {
    const id = created.id;
    const url = new URL(`predictions/${encodeURIComponent(id)}/stream`, base);
    const es = new EventSource(url);
    const snap = { ...created };
    let output = null;
    let logs = null;
    let error = null;
    let received = false;
    let failures = 0;
    const finish = (fn) => { es.close(); signal.removeEventListener('abort', onAbort); fn(); };
    const onAbort = () => finish(() => resolve(true));
    signal.addEventListener('abort', onAbort, { once: true });
    const update = () => {
      if (!TERMINAL.has(snap.status)) snap.status = 'processing';
      if (output) snap.output = output.slice();
      if (logs !== null) snap.logs = logs;
      onUpdate({ ...snap });
    };
    es.onopen = () => { failures = 0; };
    es.addEventListener('output', (e) => {
      received = true;
      // The stream replays from the first item (a reconnect resumes by Last-Event-ID).
      if (output === null) output = [];
      output.push(decodeItem(e.data, outSchema));
      update();
    });
    es.addEventListener('logs', (e) => {
      received = true;
      logs = (logs || '') + e.data; // the chunk keeps its line breaks
      update();
    });
    es.addEventListener('error', (e) => {
      if (typeof e.data === 'string') {
        received = true;
        try { error = JSON.parse(e.data).detail || e.data; } catch (x) { error = e.data; }
        return;
      }
      // A connection error: EventSource reconnects by itself unless it gave up.
      if (es.readyState === EventSource.CLOSED || ++failures > 10) {
        finish(() => resolve(received ? 'lost' : false));
      }
    });
    es.addEventListener('done', () => {
      received = true;
      finish(async () => {
        try {
          const p = await api(base, 'predictions/' + encodeURIComponent(id), { signal });
          if (error && !p.error) p.error = error;
          onUpdate(p);
          resolve(true);
        } catch (x) {
          if (signal.aborted) resolve(true);
          else reject(x);
        }
      });
    });
  });
}

const streamTransport = {
  name: 'stream',
  async start(base, input, onUpdate, signal, outSchema) {
    const created = await api(base, 'predictions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
      body: JSON.stringify({ input, stream: true }),
      signal,
    });
    onUpdate(created);
    if (TERMINAL.has(created.status)) return;
    // A server without Replicate's urls has no stream URL: poll.
    const ok = created.urls && created.urls.stream ? await readStream(base, created, onUpdate, signal, outSchema) : false;
    if (ok !== true && !signal.aborted) await poll(base, created.id, onUpdate, signal);
  },
  async follow(base, id, onUpdate, signal, outSchema, last) {
    const ok = await readStream(base, last && last.id === id ? last : { id }, onUpdate, signal, outSchema);
    if (ok !== true && !signal.aborted) await poll(base, id, onUpdate, signal);
  },
};

// One run: start(input) or follow(id), cancel(), stop(). onUpdate(prediction) on every
// new snapshot; the returned promise settles when the prediction ends (or throws ApiError).
// opts.outSchema: the Output schema (decodes streamed items); opts.transport: 'polling'
// forces polling (streaming is the default where the browser has EventSource).
export class Run {
  constructor(base, onUpdate, opts = {}) {
    this.base = base;
    this.onUpdate = (p) => { this.id = p.id || this.id; this.last = p; onUpdate(p); };
    this.controller = new AbortController();
    this.outSchema = opts.outSchema;
    const canStream = typeof EventSource !== 'undefined' && opts.transport !== 'polling';
    this.transport = canStream ? streamTransport : pollingTransport;
    this.id = null;
    this.last = null;
  }

  start(input) {
    return this.transport.start(this.base, input, this.onUpdate, this.controller.signal, this.outSchema);
  }

  // last: the snapshot already shown (kept until the stream replays its output).
  follow(id, last) {
    this.id = id;
    return this.transport.follow(this.base, id, this.onUpdate, this.controller.signal, this.outSchema, last);
  }

  async cancel() {
    if (!this.id) return;
    await api(this.base, `predictions/${encodeURIComponent(this.id)}/cancel`, { method: 'POST' });
  }

  // Stops following (the prediction itself goes on).
  stop() {
    this.controller.abort();
  }
}

// The last tqdm-style progress in logs: "45%|████▌     | 9/20 [00:01<00:02, 5.1it/s]".
export function parseProgress(logs) {
  if (!logs) return null;
  const lines = logs.split(/[\r\n]+/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /(\d{1,3})%\|[^|]*\|\s*(\d+)\/(\d+)/.exec(lines[i]);
    if (m) {
      const current = Number(m[2]);
      const total = Number(m[3]);
      return { percent: total > 0 ? Math.min(100, (100 * current) / total) : Number(m[1]), current, total };
    }
  }
  return null;
}
