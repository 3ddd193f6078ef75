// run.js - creates a prediction and follows it until it ends.
//
// A transport turns "run this input" into a stream of prediction snapshots
// (Cog's prediction JSON) delivered to onUpdate, ending with a terminal one.
// Today there is one: async + polling (Prefer: respond-async, then GET
// predictions/{id}). A Server-Sent Events transport (EventSource on the
// prediction's stream URL) can be added beside it with the same shape and chosen
// in startPrediction when the server advertises it; the page does not change.

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

// One run: start(input) or follow(id), cancel(), stop(). onUpdate(prediction) on every
// new snapshot; the returned promise settles when the prediction ends (or throws ApiError).
export class Run {
  constructor(base, onUpdate) {
    this.base = base;
    this.onUpdate = (p) => { this.id = p.id || this.id; this.last = p; onUpdate(p); };
    this.controller = new AbortController();
    this.transport = pollingTransport;
    this.id = null;
    this.last = null;
  }

  start(input) {
    return this.transport.start(this.base, input, this.onUpdate, this.controller.signal);
  }

  follow(id) {
    this.id = id;
    return this.transport.follow(this.base, id, this.onUpdate, this.controller.signal);
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
