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
    // Streaming: Cog's server-sent events on the POST (start, output, log, metric, completed).
    // Each prints the output items as they come, then "STATUS OUTPUT-AS-JSON" on the last line.
    'curl-stream':
      `curl -N -s -X POST ${shellQuote(url)} -H 'Content-Type: application/json' \\\n` +
      `  -H 'Accept: text/event-stream' -d ${shellQuote(body)}`,
    'python-stream':
      `import json\nimport sys\nimport requests\n\n` +
      `resp = requests.post(\n    ${JSON.stringify(url)},\n    json={"input": ${pyLiteral(input, '    ')}},\n` +
      `    headers={"Accept": "text/event-stream"},\n    stream=True,\n)\nresp.raise_for_status()\n` +
      `resp.encoding = "utf-8"\nevent = None\n` +
      `for line in resp.iter_lines(chunk_size=None, decode_unicode=True, delimiter="\\n"):\n` +
      `    if line.startswith("event: "):\n        event = line[7:]\n` +
      `    elif line.startswith("data: "):\n        data = json.loads(line[6:])\n` +
      `        if event == "output":\n            chunk = data["chunk"]\n` +
      `            print(chunk if isinstance(chunk, str) else json.dumps(chunk), end="", flush=True)\n` +
      `        elif event == "log":\n            print(data["data"], end="", file=sys.stderr, flush=True)\n` +
      `        elif event == "completed":\n            print()\n` +
      `            print(data["status"], json.dumps(data.get("output")))\n` +
      `        elif event == "error":\n            print(data, file=sys.stderr)`,
    'js-stream':
      `const resp = await fetch(${JSON.stringify(url)}, {\n  method: "POST",\n` +
      `  headers: { "Content-Type": "application/json", Accept: "text/event-stream" },\n` +
      `  body: JSON.stringify({ input: ${jsInput} }),\n});\n` +
      `const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();\n` +
      `let buffer = "";\nlet event = null;\n` +
      `for (;;) {\n  const { value, done } = await reader.read();\n  if (done) break;\n  buffer += value;\n` +
      `  let nl;\n  while ((nl = buffer.indexOf("\\n")) >= 0) {\n` +
      `    const line = buffer.slice(0, nl).replace(/\\r$/, "");\n    buffer = buffer.slice(nl + 1);\n` +
      `    if (line.startsWith("event: ")) event = line.slice(7);\n` +
      `    else if (line.startsWith("data: ")) {\n      const data = JSON.parse(line.slice(6));\n` +
      `      if (event === "output") console.log(typeof data.chunk === "string" ? data.chunk : JSON.stringify(data.chunk));\n` +
      `      else if (event === "log") console.error(data.data.trimEnd());\n` +
      `      else if (event === "completed") console.log(data.status, JSON.stringify(data.output));\n` +
      `      else if (event === "error") console.error(data);\n    }\n  }\n}`,
  };
}
