// snippets.js - the API calls that reproduce the form's prediction: curl, Python, JavaScript.

// A word for a POSIX shell: single-quoted, ' as '\''.
export function shellQuote(s) {
  return "'" + String(s).replace(/'/g, "'\\''") + "'";
}

function pyLiteral(v, indent = '') {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  const inner = indent + '    ';
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return '[\n' + v.map((x) => inner + pyLiteral(x, inner)).join(',\n') + ',\n' + indent + ']';
  }
  const entries = Object.entries(v);
  if (!entries.length) return '{}';
  return '{\n' + entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${pyLiteral(x, inner)}`).join(',\n') + ',\n' + indent + '}';
}

// {id: text} for every variant. base: the model's base URL, ending in '/'.
export function snippets(base, input) {
  const url = base + 'predictions';
  const body = JSON.stringify({ input });
  const jsInput = JSON.stringify(input, null, 2).replace(/\n/g, '\n  ');
  return {
    'curl-sync':
      `curl -s -X POST ${shellQuote(url)} -H 'Content-Type: application/json' -d ${shellQuote(body)}`,
    'curl-async':
      `id=$(curl -s -X POST ${shellQuote(url)} -H 'Content-Type: application/json' \\\n` +
      `  -H 'Prefer: respond-async' -d ${shellQuote(body)} | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')\n` +
      `until curl -s ${shellQuote(url)}/"$id" | grep -qE '"status": ?"(succeeded|failed|canceled)"'; do sleep 1; done\n` +
      `curl -s ${shellQuote(url)}/"$id"`,
    'python-sync':
      `import requests\n\n` +
      `resp = requests.post(\n    ${JSON.stringify(url)},\n    json={"input": ${pyLiteral(input, '    ')}},\n)\n` +
      `resp.raise_for_status()\nprint(resp.json()["output"])`,
    'python-async':
      `import time\nimport requests\n\n` +
      `resp = requests.post(\n    ${JSON.stringify(url)},\n    json={"input": ${pyLiteral(input, '    ')}},\n` +
      `    headers={"Prefer": "respond-async"},\n)\nresp.raise_for_status()\nprediction = resp.json()\n` +
      `while prediction["status"] not in ("succeeded", "failed", "canceled"):\n    time.sleep(1)\n` +
      `    prediction = requests.get(${JSON.stringify(url + '/')} + prediction["id"]).json()\n` +
      `print(prediction["status"], prediction.get("output"))`,
    'js-sync':
      `const resp = await fetch(${JSON.stringify(url)}, {\n  method: "POST",\n` +
      `  headers: { "Content-Type": "application/json" },\n  body: JSON.stringify({ input: ${jsInput} }),\n});\n` +
      `const prediction = await resp.json();\nconsole.log(prediction.output);`,
    'js-async':
      `let resp = await fetch(${JSON.stringify(url)}, {\n  method: "POST",\n` +
      `  headers: { "Content-Type": "application/json", Prefer: "respond-async" },\n` +
      `  body: JSON.stringify({ input: ${jsInput} }),\n});\nlet prediction = await resp.json();\n` +
      `while (!["succeeded", "failed", "canceled"].includes(prediction.status)) {\n` +
      `  await new Promise((r) => setTimeout(r, 1000));\n` +
      `  prediction = await (await fetch(${JSON.stringify(url + '/')} + prediction.id)).json();\n}\n` +
      `console.log(prediction.status, prediction.output);`,
  };
}
