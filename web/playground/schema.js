// schema.js - turns the model's OpenAPI document into form fields, and checks values the way
// the server does (predictor/project/validate.c), with the server's own messages.

// A property with its $ref / allOf[$ref] (Cog's enums) merged in.
function resolve(prop, doc) {
  let s = { ...prop };
  const ref = prop.$ref || (Array.isArray(prop.allOf) && prop.allOf.length === 1 && prop.allOf[0].$ref);
  if (ref && ref.startsWith('#/')) {
    let target = doc;
    for (const part of ref.slice(2).split('/')) target = target && target[part];
    if (target) {
      s = { ...target, ...prop };
      delete s.allOf;
      delete s.$ref;
      // The enum's own title is its type name ("color"), not the input's.
      s.title = prop.title;
      if (!prop.description && target.description === 'An enumeration.') delete s.description;
    }
  }
  return s;
}

function titleOf(name) {
  const words = name.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// kind: choice | boolean | integer | number | file | secret | text | list | json
function kindOf(s) {
  if (Array.isArray(s.enum)) return 'choice';
  if (s.type === 'boolean') return 'boolean';
  if (s.type === 'integer') return 'integer';
  if (s.type === 'number') return 'number';
  if (s.type === 'string' && s.format === 'uri') return 'file';
  if (s.type === 'string' && (s['x-cog-secret'] || s.format === 'password')) return 'secret';
  if (s.type === 'string') return 'text';
  if (s.type === 'array') return 'list';
  return 'json';
}

function fieldOf(name, prop, doc, required) {
  const s = resolve(prop, doc);
  const f = {
    name,
    title: s.title || titleOf(name),
    description: s.description || '',
    kind: kindOf(s),
    schema: s,
    required,
    deprecated: !!s.deprecated,
    hasDefault: Object.prototype.hasOwnProperty.call(s, 'default'),
    default: s.default,
    order: typeof s['x-order'] === 'number' ? s['x-order'] : 1e9,
  };
  if (f.kind === 'list') {
    f.item = fieldOf(name, s.items || {}, doc, false);
    f.item.hasDefault = false;
    f.item.isItem = true;
  }
  return f;
}

// The inputs of the prediction, in x-order.
export function inputFields(doc) {
  const input = doc && doc.components && doc.components.schemas && doc.components.schemas.Input;
  if (!input || !input.properties) return [];
  const required = new Set(input.required || []);
  return Object.entries(input.properties)
    .map(([name, prop]) => fieldOf(name, prop, doc, required.has(name)))
    .sort((a, b) => a.order - b.order);
}

// The Output schema with references resolved one level (enough to pick a renderer).
export function outputSchema(doc) {
  const out = doc && doc.components && doc.components.schemas && doc.components.schemas.Output;
  return out ? resolve(out, doc) : {};
}

// Python's repr of a float limit, as pydantic prints it: 60.0, 0.5, 1e-05.
function pyFloat(x) {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  return String(x);
}

function pyRepr(v) {
  if (typeof v === 'string') return "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v);
  return JSON.stringify(v);
}

// Number of code points, as Python's len() counts.
function chars(s) {
  return Array.from(s).length;
}

function checkNumber(f, v) {
  const s = f.schema;
  const asInt = f.kind === 'integer';
  const lim = (x) => (asInt && Number.isInteger(x) ? String(x) : pyFloat(x));
  const rules = [
    ['exclusiveMinimum', (l) => v > l, 'greater than'],
    ['minimum', (l) => v >= l, 'greater than or equal to'],
    ['exclusiveMaximum', (l) => v < l, 'less than'],
    ['maximum', (l) => v <= l, 'less than or equal to'],
  ];
  for (const [key, ok, words] of rules) {
    if (typeof s[key] === 'number' && !ok(s[key])) return `ensure this value is ${words} ${lim(s[key])}`;
  }
  return null;
}

function checkString(f, v) {
  const s = f.schema;
  const n = chars(v);
  if (Number.isInteger(s.minLength) && n < s.minLength) return `ensure this value has at least ${s.minLength} characters`;
  if (Number.isInteger(s.maxLength) && n > s.maxLength) return `ensure this value has at most ${s.maxLength} characters`;
  if (typeof s.pattern === 'string') {
    let re = null;
    try {
      // Python's re.match: anchored at the start only.
      re = new RegExp('^(?:' + s.pattern + ')', 'u');
    } catch (e) {
      re = null; // a pattern JavaScript cannot read: the server decides
    }
    if (re && !re.test(v)) return `string does not match regex "${s.pattern}"`;
  }
  return null;
}

function checkFile(v) {
  const m = /^\s*([A-Za-z][A-Za-z0-9+.-]*):/.exec(v);
  const scheme = m ? m[1].toLowerCase() : '';
  if (scheme === 'http' || scheme === 'https' || scheme === 'data') return null;
  return `'${scheme}' is not a valid URL scheme. 'data', 'http', or 'https' is supported.`;
}

// The server's message for a value of field f (already converted by the form), or null.
export function checkValue(f, v) {
  if (v === undefined) return f.required ? 'field required' : null;
  if (v === null) return null;
  switch (f.kind) {
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return 'value is not a valid integer';
      return checkNumber(f, v);
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'value is not a valid float';
      return checkNumber(f, v);
    case 'choice':
      if (!f.schema.enum.some((e) => e === v))
        return 'value is not a valid enumeration member; permitted: ' + f.schema.enum.map(pyRepr).join(', ');
      return null;
    case 'text':
    case 'secret':
      return typeof v === 'string' ? checkString(f, v) : 'str type expected';
    case 'file':
      return typeof v === 'string' ? checkFile(v) : 'str type expected';
    case 'list': {
      if (!Array.isArray(v)) return 'value is not a valid list';
      for (const item of v) {
        const m = checkValue(f.item, item);
        if (m) return m;
      }
      return null;
    }
    default:
      return null;
  }
}
