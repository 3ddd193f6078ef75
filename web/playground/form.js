// form.js - one labelled control per input, reading and writing the prediction's input object.
import { checkValue } from './schema.js';

let uid = 0;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}
export { el };

function describeLimits(f) {
  const s = f.schema;
  const bits = [];
  if (f.kind === 'integer' || f.kind === 'number') {
    bits.push(f.kind === 'integer' ? 'integer' : 'number');
    const lo = s.minimum ?? s.exclusiveMinimum;
    const hi = s.maximum ?? s.exclusiveMaximum;
    if (lo !== undefined && hi !== undefined) bits.push(`${s.exclusiveMinimum !== undefined ? '>' : ''}${lo} to ${s.exclusiveMaximum !== undefined ? '<' : ''}${hi}`);
    else if (lo !== undefined) bits.push(s.exclusiveMinimum !== undefined ? `more than ${lo}` : `at least ${lo}`);
    else if (hi !== undefined) bits.push(s.exclusiveMaximum !== undefined ? `less than ${hi}` : `at most ${hi}`);
  }
  if (Number.isInteger(s.minLength) || Number.isInteger(s.maxLength))
    bits.push(`${s.minLength ?? 0} to ${s.maxLength ?? '∞'} characters`);
  if (s.pattern) bits.push(`matching ${s.pattern}`);
  if (f.kind === 'file') bits.push('a file (drop or paste one here) or an http(s) URL');
  if (f.hasDefault && f.default !== null && f.kind !== 'secret' && f.kind !== 'file')
    bits.push('default ' + JSON.stringify(f.default));
  return bits.join(' · ');
}

function readFileAsDataURI(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

function mimeOf(uri) {
  const m = /^data:([^;,]*)/.exec(uri || '');
  return m ? m[1] : '';
}

// A file input: file picker, URL box, drag and drop, paste. Value: data URI or URL.
function fileControl(f, id, describedBy) {
  const preview = el('div', { class: 'preview' });
  const urlBox = el('input', { type: 'url', id: id + '-url', class: 'url', placeholder: 'https://… or data:…',
    'aria-describedby': describedBy, autocomplete: 'off' });
  const picker = el('input', { type: 'file', id, 'aria-describedby': describedBy });
  const clear = el('button', { type: 'button', class: 'small', text: 'Clear', hidden: true });
  const zone = el('div', { class: 'dropzone' },
    picker,
    el('label', { for: id + '-url', class: 'sub', text: `${f.title}: URL` }),
    urlBox, clear, preview);
  const ctl = { root: zone, focus: picker, value: undefined, name: '' };
  const show = () => {
    preview.replaceChildren();
    clear.hidden = ctl.value === undefined;
    if (ctl.value === undefined) return;
    const uri = ctl.value;
    if (mimeOf(uri).startsWith('image/') || /^https?:.*\.(png|jpe?g|gif|webp|svg)$/i.test(uri)) {
      preview.append(el('img', { src: uri, alt: `Preview of ${f.title}${ctl.name ? ': ' + ctl.name : ''}` }));
    }
    const bytes = Math.round((uri.length - uri.indexOf(',') - 1) * 3 / 4);
    const size = uri.startsWith('data:') ? (bytes < 10240 ? ` (${bytes} bytes)` : ` (${Math.round(bytes / 1024)} KiB)`) : '';
    preview.append(el('p', { class: 'muted', text: (ctl.name || (uri.startsWith('data:') ? 'data URI' : uri.slice(0, 80))) + size }));
  };
  const take = async (file) => {
    if (!file) return;
    ctl.value = await readFileAsDataURI(file);
    ctl.name = file.name || 'pasted ' + (file.type || 'file');
    urlBox.value = '';
    show();
    zone.dispatchEvent(new Event('change', { bubbles: true }));
  };
  picker.addEventListener('change', () => take(picker.files[0]));
  urlBox.addEventListener('input', () => {
    ctl.value = urlBox.value.trim() === '' ? undefined : urlBox.value.trim();
    ctl.name = '';
    picker.value = '';
    show();
  });
  clear.addEventListener('click', () => {
    ctl.value = undefined;
    ctl.name = '';
    picker.value = '';
    urlBox.value = '';
    show();
    picker.focus();
  });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files.length) take(e.dataTransfer.files[0]);
    else {
      const text = e.dataTransfer.getData('text/uri-list') || e.dataTransfer.getData('text/plain');
      if (text) { urlBox.value = text.trim(); urlBox.dispatchEvent(new Event('input')); }
    }
  });
  zone.addEventListener('paste', (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === 'file');
    if (item) { e.preventDefault(); take(item.getAsFile()); }
  });
  ctl.get = () => ctl.value;
  ctl.set = (v) => {
    ctl.value = v === null || v === undefined ? undefined : String(v);
    ctl.name = '';
    picker.value = '';
    urlBox.value = ctl.value && !ctl.value.startsWith('data:') ? ctl.value : '';
    show();
  };
  ctl.take = take;
  return ctl;
}

// Parses a number box. undefined when empty, NaN when unreadable.
function readNumber(input) {
  if (input.validity && input.validity.badInput) return NaN;
  const t = input.value.trim();
  if (t === '') return undefined;
  return Number(t);
}

// A control for one value of field f: {root, focus, get(), set(v)}.
function control(f, id, describedBy) {
  const s = f.schema;
  const common = { id, 'aria-describedby': describedBy };
  switch (f.kind) {
    case 'boolean': {
      const box = el('input', { type: 'checkbox', ...common });
      return { root: box, focus: box, get: () => box.checked, set: (v) => { box.checked = !!v; } };
    }
    case 'integer':
    case 'number': {
      const box = el('input', { type: 'number', ...common, inputmode: f.kind === 'integer' ? 'numeric' : 'decimal',
        step: f.kind === 'integer' ? '1' : 'any', min: s.minimum ?? s.exclusiveMinimum, max: s.maximum ?? s.exclusiveMaximum });
      return { root: box, focus: box, get: () => readNumber(box),
        set: (v) => { box.value = v === null || v === undefined ? '' : String(v); } };
    }
    case 'choice': {
      const sel = el('select', common);
      if (!f.hasDefault) sel.append(el('option', { value: '', text: f.required ? 'Choose…' : '(not set)' }));
      s.enum.forEach((v, i) => sel.append(el('option', { value: String(i), text: String(v) })));
      return { root: sel, focus: sel,
        get: () => (sel.value === '' ? undefined : s.enum[Number(sel.value)]),
        set: (v) => { const i = s.enum.findIndex((e) => e === v); sel.value = i < 0 ? '' : String(i); } };
    }
    case 'secret': {
      const box = el('input', { type: 'password', ...common, autocomplete: 'off', spellcheck: 'false' });
      return { root: box, focus: box, get: () => (box.value === '' ? undefined : box.value),
        set: (v) => { box.value = v ? String(v) : ''; } };
    }
    case 'file':
      return fileControl(f, id, describedBy);
    case 'text': {
      const short = f.isItem || (Number.isInteger(s.maxLength) && s.maxLength <= 80);
      const box = short ? el('input', { type: 'text', ...common, maxlength: s.maxLength })
        : el('textarea', { ...common, rows: 3 });
      return { root: box, focus: box, get: () => (box.value === '' ? undefined : box.value),
        set: (v) => { box.value = v === null || v === undefined ? '' : String(v); } };
    }
    case 'list':
      return listControl(f, id, describedBy);
    default: {
      const box = el('textarea', { ...common, rows: 3, class: 'mono', spellcheck: 'false' });
      return { root: box, focus: box,
        get: () => { if (box.value.trim() === '') return undefined; try { return JSON.parse(box.value); } catch (e) { return box.value; } },
        set: (v) => { box.value = v === undefined ? '' : JSON.stringify(v, null, 2); } };
    }
  }
}

// A list input: one row per item (the item's own control) with Remove, and Add.
function listControl(f, id, describedBy) {
  const rows = el('ol', { class: 'list-rows' });
  const items = [];
  const root = el('div', { class: 'list', role: 'group', 'aria-labelledby': id + '-label', 'aria-describedby': describedBy });
  const add = el('button', { type: 'button', class: 'small', id, text: `Add ${f.title} item` });
  const renumber = () => items.forEach((it, i) => {
    it.label.textContent = `${f.title} item ${i + 1}`;
    it.remove.textContent = 'Remove';
    it.remove.setAttribute('aria-label', `Remove ${f.title} item ${i + 1}`);
  });
  const addRow = (v) => {
    const rid = `${id}-${++uid}`;
    const ctl = control(f.item, rid, undefined);
    const label = el('label', { for: rid, class: 'sub' });
    const remove = el('button', { type: 'button', class: 'small' });
    const li = el('li', {}, label, ctl.root, remove);
    const it = { ctl, li, label, remove };
    remove.addEventListener('click', () => {
      items.splice(items.indexOf(it), 1);
      li.remove();
      renumber();
      add.focus();
    });
    items.push(it);
    rows.append(li);
    if (v !== undefined) ctl.set(v);
    renumber();
    return it;
  };
  add.addEventListener('click', () => addRow().ctl.focus.focus());
  root.append(rows, add);
  return {
    root, focus: add,
    get: () => {
      const vals = items.map((it) => it.ctl.get()).filter((v) => v !== undefined);
      return vals.length ? vals : undefined;
    },
    set: (v) => {
      items.splice(0).forEach((it) => it.li.remove());
      (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).forEach((x) => addRow(x));
    },
  };
}

// The form: fields in order, errors at each field, deprecated ones behind a toggle.
export class InputForm {
  constructor(container, fields) {
    this.fields = fields;
    this.controls = new Map();
    this.errors = new Map();
    container.replaceChildren();
    for (const f of fields) container.append(this.fieldBlock(f));
    this.reset();
  }

  fieldBlock(f) {
    const id = 'in-' + f.name;
    const ids = [];
    const desc = f.description ? el('p', { class: 'desc', id: id + '-desc', text: f.description }) : null;
    if (desc) ids.push(desc.id);
    const hintText = describeLimits(f);
    const hint = hintText ? el('p', { class: 'hint', id: id + '-hint', text: hintText }) : null;
    if (hint) ids.push(hint.id);
    const err = el('p', { class: 'error', id: id + '-error', hidden: true });
    ids.push(err.id);
    const ctl = control(f, id, ids.join(' '));
    const label = el('label', { for: id, id: id + '-label' }, document.createTextNode(f.title));
    if (f.kind === 'list') label.removeAttribute('for');
    if (f.required) label.append(el('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }));
    if (f.deprecated) label.append(el('span', { class: 'tag', text: ' deprecated' }));
    if (f.required && f.kind !== 'list' && f.kind !== 'boolean') ctl.focus.setAttribute('aria-required', 'true');
    const block = el('div', { class: `field kind-${f.kind}`, 'data-name': f.name });
    const parts = f.kind === 'boolean' ? [el('div', { class: 'check' }, ctl.root, label), desc, hint, err]
      : [label, desc, ctl.root, hint, err];
    block.append(...parts.filter(Boolean));
    if (f.deprecated) {
      block.classList.add('deprecated');
      block.hidden = true;
    }
    this.controls.set(f.name, { f, ctl, block, err });
    return block;
  }

  showDeprecated(on) {
    for (const { f, block } of this.controls.values()) if (f.deprecated) block.hidden = !on;
  }

  reset() {
    for (const { f, ctl } of this.controls.values()) ctl.set(f.hasDefault ? f.default : undefined);
    this.clearErrors();
  }

  // Fills the form from an input object (an example, a past prediction). A past
  // prediction's secrets are the server's redaction ("**********"): left empty.
  fill(input, { secrets = true } = {}) {
    this.reset();
    for (const [name, v] of Object.entries(input || {})) {
      const c = this.controls.get(name);
      if (c && (secrets || c.f.kind !== 'secret')) {
        c.ctl.set(v);
        if (c.f.deprecated) this.showDeprecated(true);
      }
    }
  }

  // {input, problems}: the values to send (empty optional fields left out) and the
  // client-side checks' findings as [{name, msg}].
  read(check = true) {
    const input = {};
    const problems = [];
    for (const { f, ctl, block } of this.controls.values()) {
      if (block.hidden && f.deprecated) continue;
      let v = ctl.get();
      if (typeof v === 'number' && Number.isNaN(v)) {
        problems.push({ name: f.name, msg: f.kind === 'integer' ? 'value is not a valid integer' : 'value is not a valid float' });
        continue;
      }
      if (check) {
        const msg = checkValue(f, v);
        if (msg) problems.push({ name: f.name, msg });
      }
      if (v !== undefined) input[f.name] = v;
    }
    return { input, problems };
  }

  clearErrors() {
    for (const { ctl, err } of this.controls.values()) {
      err.hidden = true;
      err.textContent = '';
      ctl.focus.removeAttribute('aria-invalid');
    }
  }

  // Shows [{name, msg}] at their fields; returns those that name no field.
  showErrors(list) {
    this.clearErrors();
    const rest = [];
    let first = null;
    for (const { name, msg } of list) {
      const c = this.controls.get(name);
      if (!c) { rest.push({ name, msg }); continue; }
      if (c.f.deprecated) this.showDeprecated(true);
      c.err.textContent = c.err.textContent ? c.err.textContent + '; ' + msg : msg;
      c.err.hidden = false;
      c.ctl.focus.setAttribute('aria-invalid', 'true');
      first = first || c;
    }
    if (first) first.ctl.focus.focus();
    return rest;
  }

  titleOf(name) {
    const c = this.controls.get(name);
    return c ? c.f.title : name;
  }

  fileControls() {
    return [...this.controls.values()].filter((c) => c.f.kind === 'file').map((c) => c.ctl);
  }
}
