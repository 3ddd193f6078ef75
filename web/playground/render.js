// render.js - shows a prediction's output by what it is: media inline, text, JSON, downloads.
import { el } from './form.js';

function mimeOf(s) {
  const m = /^data:([^;,]*)/.exec(s);
  if (m) return m[1].toLowerCase();
  const ext = (/\.([a-z0-9]+)(?:[?#].*)?$/i.exec(s) || [])[1];
  const byExt = {
    png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
    wav: 'audio/wav', mp3: 'audio/mpeg', ogg: 'audio/ogg', flac: 'audio/flac', m4a: 'audio/mp4',
    mp4: 'video/mp4', webm: 'video/webm', mov: 'video/quicktime',
    txt: 'text/plain', json: 'application/json',
  };
  return ext ? byExt[ext.toLowerCase()] || '' : '';
}

function isFileValue(s, schema) {
  if (typeof s !== 'string') return false;
  if (s.startsWith('data:')) return true;
  return (schema && schema.format === 'uri') && /^https?:\/\//.test(s);
}

function fileName(s, i) {
  if (!s.startsWith('data:')) {
    try {
      const last = new URL(s).pathname.split('/').pop();
      if (last) return decodeURIComponent(last);
    } catch (e) { /* not a URL */ }
  }
  const sub = (mimeOf(s).split('/')[1] || 'bin').replace(/^x-/, '');
  const ext = ({ jpeg: 'jpg', 'octet-stream': 'bin', plain: 'txt', mpeg: 'mp3', 'svg+xml': 'svg' }[sub] || sub).replace(/[^a-z0-9]/g, '');
  const stem = typeof i === 'string' ? i : `output${i === undefined ? '' : '-' + i}`;
  return `${stem}.${ext}`;
}

function fileBlock(s, i) {
  const mime = mimeOf(s);
  const name = fileName(s, i);
  const box = el('figure', { class: 'file-out' });
  if (mime.startsWith('image/')) box.append(el('img', { src: s, alt: `Output image ${name}` }));
  else if (mime.startsWith('audio/')) box.append(el('audio', { src: s, controls: true, 'aria-label': `Output audio ${name}` }));
  else if (mime.startsWith('video/')) box.append(el('video', { src: s, controls: true, 'aria-label': `Output video ${name}` }));
  box.append(el('figcaption', {}, el('a', { href: s, download: name, text: `Download ${name}` }), mime ? ` (${mime})` : ''));
  return box;
}

// Replaces container's content with the rendering of output (schema: the Output schema).
export function renderOutput(container, output, schema = {}) {
  container.replaceChildren();
  if (output === undefined || output === null) return;
  const items = schema.type === 'array' ? schema.items || {} : null;
  if (Array.isArray(output)) {
    const concat = schema['x-cog-array-display'] === 'concatenate' && output.every((x) => typeof x === 'string');
    if (concat && !output.some((x) => isFileValue(x, items))) {
      container.append(el('div', { class: 'text-out', text: output.join('') }));
      return;
    }
    if (output.every((x) => isFileValue(x, items || { format: 'uri' }))) {
      output.forEach((x, i) => container.append(fileBlock(x, i)));
      return;
    }
    if (output.every((x) => typeof x === 'string')) {
      container.append(el('div', { class: 'text-out', text: output.join('\n') }));
      return;
    }
  }
  if (isFileValue(output, schema)) {
    container.append(fileBlock(output));
    return;
  }
  if (typeof output === 'string') {
    container.append(el('div', { class: 'text-out', text: output }));
    return;
  }
  // An object: its short scalar fields at a glance, its JSON (data URIs shortened), then
  // the files among its fields.
  if (output && typeof output === 'object' && !Array.isArray(output)) {
    const dl = el('dl', { class: 'fields-out' });
    for (const [k, v] of Object.entries(output)) {
      const scalar = typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 200 && !isFileValue(v, { format: 'uri' }));
      if (scalar) dl.append(el('dt', { text: k }), el('dd', { text: String(v) }));
    }
    if (dl.childElementCount) container.append(dl);
  }
  const shorten = (k, v) => (typeof v === 'string' && v.startsWith('data:') && v.length > 120 ? v.slice(0, 60) + '…' : v);
  container.append(el('pre', { class: 'json-out', tabindex: '0', 'aria-label': 'Output as JSON', text: JSON.stringify(output, shorten, 2) }));
  if (output && typeof output === 'object' && !Array.isArray(output)) {
    for (const [k, v] of Object.entries(output)) {
      const files = (Array.isArray(v) ? v : [v]).filter((x) => typeof x === 'string' && isFileValue(x, { format: 'uri' }));
      files.forEach((x, i) => container.append(fileBlock(x, files.length > 1 ? `${k}-${i}` : k)));
    }
  }
}
