// app.js - the playground: the model's form, its runs, its API calls, its examples.
//
// Every URL is resolved against the page's own directory (base), so the page works
// at / and under any location prefix (/models/digits/) without knowing it.
import { inputFields, outputSchema } from './schema.js';
import { InputForm, el } from './form.js';
import { Run, ApiError, TERMINAL, api, parseProgress } from './run.js';
import { renderOutput } from './render.js';
import { snippets } from './snippets.js';
import * as history from './history.js';

const base = new URL('.', document.baseURI).href;
const $ = (id) => document.getElementById(id);
// ?validate=off sends the form as it is, to see the server's own checks.
const clientChecks = new URLSearchParams(location.search).get('validate') !== 'off';
// ?stream=off follows predictions by polling instead of their event stream.
const transport = new URLSearchParams(location.search).get('stream') === 'off' ? 'polling' : undefined;

const state = { doc: null, form: null, run: null, outSchema: {}, timer: null, startedAt: 0, lastInput: {} };

// ---- tabs (WAI-ARIA tabs: arrow keys move between them) ----
function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (tab.id === 'tab-api') updateSnippets();
  };
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => select(t));
    t.addEventListener('keydown', (e) => {
      const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!d && e.key !== 'Home' && e.key !== 'End') return;
      e.preventDefault();
      const next = e.key === 'Home' ? tabs[0] : e.key === 'End' ? tabs[tabs.length - 1] : tabs[(i + d + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
}

// ---- model status and schema ----
async function health() {
  try {
    const h = await api(base, 'health-check');
    $('model-status').textContent = 'Model: ' + h.status;
    return h.status;
  } catch (e) {
    $('model-status').textContent = 'Model: unreachable';
    return null;
  }
}

async function loadSchema() {
  for (;;) {
    try {
      return await api(base, 'openapi.json');
    } catch (e) {
      const status = await health();
      if (status === 'SETUP_FAILED' || status === 'DEFUNCT') {
        $('fields').replaceChildren(el('p', { class: 'error', text: `The model could not start (${status}); see health-check.` }));
        return null;
      }
      $('fields').replaceChildren(el('p', { class: 'muted', text: 'The model is still loading…' }));
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
}

// ---- the run panel ----
function setStatus(text, cls) {
  const s = $('run-status');
  s.textContent = text;
  s.className = cls ? 'status-' + cls : '';
}

function tickElapsed(p) {
  if (p && p.metrics && typeof p.metrics.predict_time === 'number' && TERMINAL.has(p.status)) {
    $('elapsed').textContent = `${p.metrics.predict_time.toFixed(2)} s predicting`;
    return;
  }
  if (state.startedAt) $('elapsed').textContent = `${((Date.now() - state.startedAt) / 1000).toFixed(1)} s`;
}

function stopTimer() {
  clearInterval(state.timer);
  state.timer = null;
}

function showPrediction(p) {
  const status = p.status || 'starting';
  setStatus(`Status: ${status}`, status);
  const logs = $('logs');
  const stick = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
  if (logs.textContent !== (p.logs || '')) {
    logs.textContent = p.logs || '';
    if (stick) logs.scrollTop = logs.scrollHeight;
  }
  const prog = parseProgress(p.logs);
  $('progress-box').hidden = !prog;
  if (prog) {
    $('progress').value = prog.percent;
    $('progress-label').textContent = `Progress: ${prog.current} of ${prog.total}`;
  }
  renderOutput($('output'), p.output, state.outSchema);
  const err = $('run-error');
  err.hidden = !p.error;
  err.textContent = p.error ? 'Error: ' + p.error : '';
  tickElapsed(p);
  $('cancel').hidden = TERMINAL.has(status) || !p.id;
  if (p.id) history.remember(base, p, withoutSecrets(state.lastInput));
}

// Secrets never go to localStorage: a reopened prediction asks for them again.
function withoutSecrets(input) {
  const out = { ...input };
  for (const f of state.form ? state.form.fields : []) if (f.kind === 'secret') delete out[f.name];
  return out;
}

function endRun() {
  stopTimer();
  tickElapsed(state.run && state.run.last);
  $('run').disabled = false;
  $('cancel').hidden = true;
  renderHistory();
}

function clearRunPanel() {
  $('run-error').hidden = true;
  $('recorded-note').hidden = true;
  $('output').replaceChildren();
  $('logs').textContent = '';
  $('progress-box').hidden = true;
  $('elapsed').textContent = '';
}

function beginRun() {
  if (state.run) state.run.stop();
  clearRunPanel();
  state.startedAt = Date.now();
  stopTimer();
  state.timer = setInterval(() => tickElapsed(state.run && state.run.last), 100);
  $('run').disabled = true;
  state.run = new Run(base, (p) => { if (run === state.run) showPrediction(p); }, { outSchema: state.outSchema, transport });
  const run = state.run;
  return run;
}

// The server's 422: [{loc: ["body", "input", NAME, ...], msg}], shown at each field.
function showServerErrors(e) {
  const detail = e.body && e.body.detail;
  if (e.status === 422 && Array.isArray(detail)) {
    const list = detail.map((d) => {
      const loc = Array.isArray(d.loc) ? d.loc : [];
      const name = loc[0] === 'body' && loc[1] === 'input' && loc.length > 2 ? String(loc[2]) : null;
      return { name, msg: d.msg || JSON.stringify(d) };
    });
    const rest = state.form.showErrors(list.filter((x) => x.name));
    const other = list.filter((x) => !x.name).concat(rest);
    showFormBanner(list, other);
    setStatus('The server refused the input.', 'failed');
  } else {
    setStatus(`Could not run: ${e.message}`, 'failed');
    const err = $('run-error');
    err.hidden = false;
    err.textContent = e.status ? `HTTP ${e.status}: ${e.message}` : String(e.message || e);
  }
}

function showFormBanner(all, unplaced) {
  const banner = $('form-errors');
  if (!all.length) { banner.hidden = true; banner.replaceChildren(); return; }
  banner.replaceChildren(el('p', { text: all.length === 1 ? 'One input needs attention.' : `${all.length} inputs need attention.` }));
  const ul = el('ul');
  for (const x of all) {
    if (x.name) ul.append(el('li', {}, el('a', { href: '#in-' + x.name, text: state.form.titleOf(x.name) }), ': ' + x.msg));
    else if (unplaced.includes(x)) ul.append(el('li', { text: x.msg }));
  }
  banner.append(ul);
  banner.hidden = false;
}

async function onSubmit(e) {
  e.preventDefault();
  const { input, problems } = state.form.read(clientChecks);
  state.form.clearErrors();
  showFormBanner([], []);
  if (problems.length) {
    state.form.showErrors(problems);
    showFormBanner(problems, []);
    setStatus('Some inputs need attention.', 'failed');
    return;
  }
  state.lastInput = input;
  const run = beginRun();
  setStatus('Status: starting', 'starting');
  try {
    await run.start(input);
  } catch (err) {
    if (err.name === 'AbortError') return;
    if (run === state.run) showServerErrors(err);
  } finally {
    if (run === state.run) endRun();
  }
}

async function onCancel() {
  if (!state.run) return;
  $('cancel').disabled = true;
  try {
    await state.run.cancel();
    setStatus('Status: canceling…', 'canceled');
  } catch (err) {
    setStatus(`Cancel failed: ${err.message}`, 'failed');
  } finally {
    $('cancel').disabled = false;
  }
}

// ---- history ----
function renderHistory() {
  const ul = $('history');
  ul.replaceChildren();
  const list = history.load(base);
  $('clear-history').hidden = !list.length;
  if (!list.length) { ul.append(el('li', { class: 'muted', text: 'None yet.' })); return; }
  for (const h of list) {
    const when = new Date(h.created_at);
    const label = `${isNaN(when) ? '' : when.toLocaleString()} · ${h.status}`;
    ul.append(el('li', {}, el('button', { type: 'button', class: 'small', onclick: () => reopen(h) },
      el('span', { text: h.id }), el('span', { class: 'muted', text: label }))));
  }
}

async function reopen(h) {
  state.form.fill(h.input, { secrets: false });
  state.lastInput = h.input;
  const run = beginRun();
  setStatus('Status: loading…');
  try {
    const p = await api(base, 'predictions/' + encodeURIComponent(h.id));
    state.form.fill(p.input || h.input, { secrets: false });
    showPrediction(p);
    if (!TERMINAL.has(p.status)) await run.follow(p.id, p);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      showPrediction({ ...h, id: null, logs: '' });
      const note = $('recorded-note');
      note.hidden = false;
      note.textContent = 'The server no longer has this prediction; this is what this browser kept of it.';
    } else if (err.name !== 'AbortError') showServerErrors(err);
  } finally {
    if (run === state.run) endRun();
  }
}

// ---- examples ----
async function loadExamples() {
  let doc;
  try {
    doc = await api(base, 'playground/examples.json');
  } catch (e) {
    return;
  }
  const list = (doc && doc.examples) || [];
  const ul = $('examples').querySelector('ul');
  ul.replaceChildren();
  for (const ex of list) {
    ul.append(el('li', {}, el('button', { type: 'button', class: 'small', title: ex.description || undefined,
      onclick: () => useExample(ex), text: ex.name })));
  }
  $('examples').hidden = !list.length;
}

function useExample(ex) {
  if (state.run) state.run.stop();
  state.form.fill(ex.input);
  clearRunPanel();
  stopTimer();
  $('run').disabled = false;
  if (ex.output !== undefined) {
    const note = $('recorded-note');
    note.hidden = false;
    note.textContent = `Recorded output of the example “${ex.name}”. Run it to compute it again.`;
    renderOutput($('output'), ex.output, state.outSchema);
    setStatus('Example loaded (recorded output shown).');
  } else {
    setStatus(`Example “${ex.name}” loaded.`);
  }
  updateSnippets();
}

// ---- API tab ----
const SNIPPETS = [
  ['curl-sync', 'curl, synchronous'],
  ['curl-async', 'curl, asynchronous + polling'],
  ['python-sync', 'Python (requests), synchronous'],
  ['python-async', 'Python (requests), asynchronous + polling'],
  ['js-sync', 'JavaScript (fetch), synchronous'],
  ['js-async', 'JavaScript (fetch), asynchronous + polling'],
  ['curl-stream', 'curl, streaming (server-sent events)'],
  ['python-stream', 'Python (requests), streaming'],
  ['js-stream', 'JavaScript (fetch), streaming'],
];

function buildSnippets() {
  const box = $('snippets');
  for (const [id, title] of SNIPPETS) {
    const pre = el('pre', { id: 'snippet-' + id, tabindex: '0', 'aria-labelledby': 'h-snippet-' + id }, el('code'));
    const copy = el('button', { type: 'button', class: 'small', 'aria-label': 'Copy: ' + title, text: 'Copy' });
    copy.addEventListener('click', async () => {
      const text = pre.textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (e) {
        const sel = getSelection();
        const r = document.createRange();
        r.selectNodeContents(pre);
        sel.removeAllRanges();
        sel.addRange(r);
        document.execCommand('copy');
      }
      copy.textContent = 'Copied';
      setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
    });
    box.append(el('div', { class: 'snippet' },
      el('div', { class: 'snippet-head' }, el('h3', { id: 'h-snippet-' + id, text: title }), copy), pre));
  }
}

function updateSnippets() {
  if (!state.form) return;
  $('base-url').textContent = base;
  const all = snippets(base, state.form.read(false).input);
  for (const [id] of SNIPPETS) $('snippet-' + id).firstChild.textContent = all[id];
}

// ---- paste of an image anywhere on the page goes to the only (or focused) file input ----
function setupPaste() {
  document.addEventListener('paste', (e) => {
    if (e.defaultPrevented || !state.form) return;
    const t = e.target;
    if (t && (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && t.type !== 'file'))) return;
    const file = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === 'file');
    const controls = state.form.fileControls();
    if (!file || !controls.length) return;
    const target = controls.find((c) => c.root.contains(t)) || controls[0];
    e.preventDefault();
    target.take(file.getAsFile());
  });
}

async function main() {
  setupTabs();
  buildSnippets();
  setupPaste();
  renderHistory();
  $('form').addEventListener('submit', onSubmit);
  $('form').addEventListener('input', () => { if (!$('panel-api').hidden) updateSnippets(); });
  $('cancel').addEventListener('click', onCancel);
  $('reset').addEventListener('click', () => { state.form && state.form.reset(); showFormBanner([], []); });
  $('clear-history').addEventListener('click', () => { history.clear(base); renderHistory(); });
  $('show-deprecated').addEventListener('change', (e) => state.form && state.form.showDeprecated(e.target.checked));
  health();
  setInterval(health, 5000);
  const doc = await loadSchema();
  if (!doc) return;
  state.doc = doc;
  state.outSchema = outputSchema(doc);
  const fields = inputFields(doc);
  if (doc.info && doc.info.title && doc.info.title !== 'Cog') document.title = `${doc.info.title} · Playground`;
  state.form = new InputForm($('fields'), fields);
  if (!fields.length) $('fields').replaceChildren(el('p', { class: 'muted', text: 'This model takes no inputs.' }));
  $('deprecated-toggle').hidden = !fields.some((f) => f.deprecated);
  $('run').disabled = false;
  updateSnippets();
  await loadExamples();
}

main();
