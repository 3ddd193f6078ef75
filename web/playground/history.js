// history.js - this browser's last predictions of this model, kept in localStorage.
//
// Keyed by the model's base URL, so two models under one origin (/models/a/,
// /models/b/) keep separate lists. Big values (data URIs of files) are not kept:
// the server keeps the whole prediction, and a reopened one is fetched from it.

const MAX = 20;
const MAX_VALUE = 4096;

function key(base) {
  return 'cog-fcgi-playground:' + new URL(base).pathname;
}

function small(v) {
  if (typeof v === 'string') return v.length > MAX_VALUE ? undefined : v;
  if (Array.isArray(v)) return v.map(small).filter((x) => x !== undefined);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const s = small(x);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  return v;
}

export function load(base) {
  try {
    const list = JSON.parse(localStorage.getItem(key(base)) || '[]');
    return Array.isArray(list) ? list : [];
  } catch (e) {
    return [];
  }
}

function save(base, list) {
  try {
    localStorage.setItem(key(base), JSON.stringify(list.slice(0, MAX)));
  } catch (e) {
    /* storage full or disabled: the list is a convenience */
  }
}

// Records (or updates) a prediction snapshot.
export function remember(base, p, input) {
  if (!p || !p.id) return;
  const list = load(base).filter((h) => h.id !== p.id);
  const old = load(base).find((h) => h.id === p.id) || {};
  list.unshift({
    id: p.id,
    created_at: p.created_at || old.created_at || new Date().toISOString(),
    status: p.status,
    input: small(input || p.input || old.input || {}),
    output: small(p.output),
  });
  save(base, list);
}

export function clear(base) {
  save(base, []);
}
