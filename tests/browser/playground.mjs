// playground.mjs - the playground in Debian's chromium, driven by playwright-core.
//
// Environment (set by run.sh): DIGITS (the digits model at the root), DIGITS_PREFIXED (the
// same under /models/digits/), SLOW (tests/projects/slow), PROGRESS, KITCHEN and MEDIA
// (tests/browser/projects/*), DIGIT_PNG and DIGIT_LABEL (a picture of a digit and what it
// is), ART (where the screenshots go), AXE (axe.min.js). Prints one "PASS name" or "FAIL name: why" per check.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const env = process.env;
const ART = env.ART;
const axeSource = readFileSync(env.AXE, 'utf8');
let shot = 0;

function pass(name) { console.log('PASS ' + name); }
function fail(name, why) { console.log('FAIL ' + name + (why ? ': ' + String(why).split('\n')[0].slice(0, 300) : '')); }
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) fail(name); else pass(name);
  } catch (e) {
    fail(name, e && e.message);
  }
}
async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: `${ART}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

// axe-core on the current page: no serious or critical violations. evaluate() is not subject
// to the page's Content-Security-Policy, which keeps inline scripts out.
async function axeCheck(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0] && v.nodes[0].target.join(' ') }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.filter((v) => !bad.includes(v)).map((v) => `${v.id}(${v.impact})`);
  if (minor.length) console.log(`  axe ${label}, minor: ${minor.join(', ')}`);
  assert(!bad.length, bad.map((v) => `${v.id} (${v.impact}) x${v.nodes} at ${v.target}`).join('; '));
}

async function waitStatus(page, re, timeout = 60000) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('run-status').textContent),
    re.source, { timeout });
  return page.textContent('#run-status');
}

async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector('#fields .field', { timeout: 30000 });
  page.jsErrors = errors;
  return page;
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, deviceScaleFactor: 1 });
let digitShown = null;
try {
  // ---- digits at the root ----
  const page = await openPage(context, env.DIGITS + '/');
  await check('the page builds a form from the schema (one image field, file picker + URL)', async () => {
    assert(await page.locator('#fields .field').count() === 1, 'expected one field');
    assert(await page.locator('input[type=file]#in-image').count() === 1, 'no file input');
    assert(await page.locator('label[for=in-image]').textContent() === 'Image *', 'label: ' + await page.locator('label[for=in-image]').textContent());
    assert((await page.textContent('.field .desc')).includes('handwritten digit'), 'description missing');
  });
  await check('the examples of examples/digits are presets', async () => {
    await page.waitForSelector('#examples:not([hidden]) button');
    assert(await page.getByRole('button', { name: 'a handwritten 7' }).count() === 1, 'no preset');
  });
  await screenshot(page, 'digits-form');
  await check('axe-core: no serious or critical violations (light)', () => axeCheck(page, 'light'));

  await page.setInputFiles('#in-image', env.DIGIT_PNG);
  await check('an uploaded image is previewed', () => page.waitForSelector('.preview img', { timeout: 5000 }));
  await screenshot(page, 'digits-uploaded');
  await page.click('#run');
  await check('Run: the prediction succeeds', () => waitStatus(page, /succeeded/));
  await check('the predicted digit is shown', async () => {
    const out = JSON.parse(await page.textContent('#output .json-out'));
    digitShown = out.digit;
    assert(String(out.digit) === env.DIGIT_LABEL, `shown ${out.digit}, expected ${env.DIGIT_LABEL}`);
  });
  await check('elapsed time is shown', async () => /\d+(\.\d+)? s/.test(await page.textContent('#elapsed')));
  await check('the prediction is listed in this browser\'s history', async () => (await page.locator('#history button').count()) === 1);
  await screenshot(page, 'digits-result');

  // ---- API tab ----
  await page.keyboard.press('Home');
  await page.click('#tab-api');
  await check('the API tab shows curl, Python and JavaScript, sync and async', async () => {
    for (const id of ['curl-sync', 'curl-async', 'python-sync', 'python-async', 'js-sync', 'js-async'])
      assert((await page.textContent('#snippet-' + id)).length > 40, id + ' empty');
    assert((await page.textContent('#snippet-python-sync')).includes('requests.post('), 'python');
    assert((await page.textContent('#snippet-js-sync')).includes('await fetch('), 'js');
  });
  await check('the snippets use the page\'s own base URL', async () =>
    (await page.textContent('#snippet-curl-sync')).includes(env.DIGITS + '/predictions'));
  await check('the API tab\'s curl line, run, gives the same output', async () => {
    const line = await page.textContent('#snippet-curl-sync');
    const out = JSON.parse(execFileSync('bash', ['-c', line], { encoding: 'utf8', timeout: 30000 }));
    assert(out.status === 'succeeded' && out.output.digit === digitShown, `curl gave ${JSON.stringify(out).slice(0, 200)}`);
  });
  await check('the async curl snippet polls to the same output', async () => {
    const text = await page.textContent('#snippet-curl-async');
    const out = JSON.parse(execFileSync('bash', ['-c', text], { encoding: 'utf8', timeout: 30000 }));
    assert(out.status === 'succeeded' && out.output.digit === digitShown, JSON.stringify(out).slice(0, 200));
  });
  await check('the Python and JavaScript snippets, run, give the same digit', async () => {
    const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 30000 });
    const py = run('/usr/bin/python3', ['-c', await page.textContent('#snippet-python-sync')]);
    assert(py.includes(`'digit': ${digitShown}`), 'python sync: ' + py.slice(0, 80));
    const pya = run('/usr/bin/python3', ['-c', await page.textContent('#snippet-python-async')]);
    assert(pya.startsWith('succeeded ') && pya.includes(`'digit': ${digitShown}`), 'python async: ' + pya.slice(0, 80));
    const js = run(process.execPath, ['--input-type=module', '-e', await page.textContent('#snippet-js-sync')]);
    assert(js.includes(`digit: ${digitShown}`), 'js sync: ' + js.slice(0, 80));
    const jsa = run(process.execPath, ['--input-type=module', '-e', await page.textContent('#snippet-js-async')]);
    assert(jsa.startsWith('succeeded ') && jsa.includes(`digit: ${digitShown}`), 'js async: ' + jsa.slice(0, 80));
  });
  // The stream snippets print the items as they come, then "STATUS OUTPUT-JSON" last.
  const lastLine = (out) => { const l = out.trimEnd().split('\n').pop(); const i = l.indexOf(' '); return [l.slice(0, i), JSON.parse(l.slice(i + 1))]; };
  await check('the stream snippets (curl -N, Python, JavaScript), run, give the same digit', async () => {
    const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 30000 });
    const curl = run('bash', ['-c', await page.textContent('#snippet-curl-stream')]);
    const done = /event: completed\ndata: (.*)\n/.exec(curl);
    assert(/^event: start$/m.test(curl) && done, 'curl stream: ' + curl.slice(0, 120));
    const p = JSON.parse(done[1]);
    assert(p.status === 'succeeded' && p.output.digit === digitShown, 'curl stream: ' + done[1].slice(0, 120));
    for (const [id, cmd, args] of [['python-stream', '/usr/bin/python3', ['-c']], ['js-stream', process.execPath, ['--input-type=module', '-e']]]) {
      const [status, output] = lastLine(run(cmd, [...args, await page.textContent('#snippet-' + id)]));
      assert(status === 'succeeded' && output.digit === digitShown, `${id}: ${status} ${JSON.stringify(output)}`);
    }
  });
  await screenshot(page, 'api-tab');
  await check('tabs work with the arrow keys', async () => {
    await page.focus('#tab-api');
    await page.keyboard.press('ArrowLeft');
    return (await page.getAttribute('#tab-run', 'aria-selected')) === 'true' && !(await page.isHidden('#panel-run'));
  });

  // ---- a bad value: the client's check, then the server's 422 at the field ----
  await page.click('.dropzone button:has-text("Clear")');
  await page.fill('#in-image-url', 'ftp://example.com/seven.png');
  await page.click('#run');
  const scheme = "'ftp' is not a valid URL scheme. 'data', 'http', or 'https' is supported.";
  await check('a bad value is caught by the page at its field', async () => {
    await page.waitForSelector('#in-image-error:not([hidden])', { timeout: 5000 });
    assert((await page.textContent('#in-image-error')) === scheme, await page.textContent('#in-image-error'));
  });
  const raw = await openPage(context, env.DIGITS + '/?validate=off');
  await raw.fill('#in-image-url', 'ftp://example.com/seven.png');
  await raw.click('#run');
  await check('with the page\'s checks off, the server\'s 422 detail is shown at its field', async () => {
    await raw.waitForSelector('#in-image-error:not([hidden])', { timeout: 10000 });
    const msg = await raw.textContent('#in-image-error');
    assert(msg === scheme, 'got ' + msg);
    assert((await raw.getAttribute('#in-image', 'aria-invalid')) === 'true', 'not marked invalid');
    assert((await raw.textContent('#form-errors')).includes('Image'), 'no summary');
  });
  await screenshot(raw, 'server-error-at-field');
  await raw.close();

  // ---- a preset and the history, after a reload ----
  await page.reload();
  await page.waitForSelector('#examples:not([hidden]) button');
  await page.getByRole('button', { name: 'a handwritten 7' }).click();
  await check('a preset fills the form and shows its recorded output', async () => {
    await page.waitForSelector('.preview img');
    return JSON.parse(await page.textContent('#output .json-out')).digit === 7;
  });
  await page.locator('#history button').first().click();
  await check('a past prediction reopens from the server', async () => {
    await waitStatus(page, /succeeded/, 10000);
    return JSON.parse(await page.textContent('#output .json-out')).digit === digitShown;
  });
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'dark');
  await check('axe-core: no serious or critical violations (dark)', () => axeCheck(page, 'dark'));
  await page.emulateMedia({ colorScheme: 'light' });
  assert(!page.jsErrors.length, page.jsErrors.join('; '));
  await check('no script errors on the page', () => page.jsErrors.length === 0 || Promise.reject(new Error(page.jsErrors.join('; '))));
  await page.close();

  // ---- Cog's root document for API clients; its docs_url is this page ----
  await check('the root JSON\'s docs_url opens the playground', async () => {
    const root = await (await fetch(env.DIGITS + '/')).json();
    assert(root.docs_url === '/docs' && root.predictions_url === '/predictions', JSON.stringify(root));
    const docs = await context.newPage();
    await docs.goto(new URL(root.docs_url, env.DIGITS + '/').href);
    await docs.waitForSelector('#fields .field', { timeout: 10000 });
    await docs.close();
  });

  // ---- the same page under /models/digits/ ----
  const pre = await context.newPage();
  const urls = [];
  pre.on('request', (r) => urls.push(new URL(r.url())));
  await pre.goto(env.DIGITS_PREFIXED + '/');
  await pre.waitForSelector('#fields .field');
  await pre.setInputFiles('#in-image', env.DIGIT_PNG);
  await pre.waitForSelector('.preview img');
  await pre.click('#run');
  await check('under /models/digits/: the prediction succeeds', () => waitStatus(pre, /succeeded/));
  await check('under /models/digits/: the digit is shown', async () =>
    String(JSON.parse(await pre.textContent('#output .json-out')).digit) === env.DIGIT_LABEL);
  await check('under /models/digits/: every request stayed under the prefix', async () => {
    const http = urls.filter((u) => u.protocol.startsWith('http'));
    const out = http.filter((u) => !u.pathname.startsWith('/models/digits/'));
    assert(http.length > 5 && !out.length, out.map((u) => u.pathname).join(', '));
  });
  await pre.click('#tab-api');
  await check('under /models/digits/: the curl line has the prefix', async () =>
    (await pre.textContent('#snippet-curl-sync')).includes(env.DIGITS_PREFIXED + '/predictions'));
  await screenshot(pre, 'prefix');
  await pre.close();

  // ---- Cancel ends a slow prediction ----
  const slow = await openPage(context, env.SLOW + '/');
  await check('a number input has min, max, step and its default', async () => {
    const a = await slow.$eval('#in-seconds', (e) => [e.type, e.min, e.max, e.step, e.value].join(' '));
    assert(a === 'number 0 60 any 5', a);
  });
  await slow.fill('#in-seconds', '99');
  await slow.click('#run');
  await check('the page checks a bound as the server does', async () => {
    await slow.waitForSelector('#in-seconds-error:not([hidden])');
    const m = await slow.textContent('#in-seconds-error');
    assert(m === 'ensure this value is less than or equal to 60.0', m);
  });
  await slow.fill('#in-seconds', '30');
  await slow.click('#run');
  await check('a slow prediction is processing, with a Cancel button', async () => {
    await waitStatus(slow, /processing/, 15000);
    await slow.waitForSelector('#cancel:not([hidden])');
  });
  const t0 = Date.now();
  await slow.click('#cancel');
  await check('Cancel ends it: canceled', async () => {
    await waitStatus(slow, /Status: canceled$/, 15000);
    assert(Date.now() - t0 < 12000, `took ${Date.now() - t0} ms`);
    assert(await slow.isHidden('#cancel'), 'cancel still shown');
  });
  await screenshot(slow, 'canceled');

  // ---- keyboard only: Tab to the field, type, Enter runs ----
  await slow.reload();
  await slow.waitForSelector('#in-seconds');
  await check('keyboard only: Tab reaches the input, Enter runs the prediction', async () => {
    for (let i = 0; i < 25; i++) {
      await slow.keyboard.press('Tab');
      if (await slow.evaluate(() => document.activeElement && document.activeElement.id) === 'in-seconds') break;
    }
    assert(await slow.evaluate(() => document.activeElement.id) === 'in-seconds', 'never focused');
    await slow.keyboard.press('Control+A');
    await slow.keyboard.type('0');
    await slow.keyboard.press('Enter');
    await waitStatus(slow, /succeeded/, 20000);
    assert((await slow.textContent('#output')).includes('slept 0.0'), await slow.textContent('#output'));
  });
  await slow.close();

  // ---- live logs, a progress bar and text growing ----
  const prog = await openPage(context, env.PROGRESS + '/');
  const streamReqs = [];
  prog.on('request', (r) => {
    if (/\/predictions\/[^/]+\/stream$/.test(new URL(r.url()).pathname)) streamReqs.push(r);
  });
  await prog.fill('#in-steps', '8');
  await prog.fill('#in-delay', '0.5');
  await prog.click('#run');
  await check('while it runs: a progress bar from the tqdm lines, logs and text growing', async () => {
    await prog.waitForFunction(() => {
      const p = document.getElementById('progress');
      return !document.getElementById('progress-box').hidden && p.value > 0 && p.value < 100;
    }, null, { timeout: 20000 });
    const partial = await prog.textContent('#output');
    const status = await prog.textContent('#run-status');
    assert(/processing/.test(status), 'status ' + status);
    assert(/word1/.test(partial) && !/word8/.test(partial), 'output so far: ' + partial);
    assert(/\d\/8/.test(await prog.textContent('#logs')), 'no logs');
    await screenshot(prog, 'progress');
  });
  await check('the text is complete at the end', async () => {
    await waitStatus(prog, /succeeded/, 30000);
    const text = await prog.textContent('#output');
    assert(text.trim() === 'word1 word2 word3 word4 word5 word6 word7 word8', text);
    assert((await prog.getAttribute('#progress', 'value')) === '100', 'bar not full');
  });
  await check('the text came through the stream URL (EventSource, Accept: text/event-stream)', async () => {
    assert(streamReqs.length >= 1, 'no request to predictions/{id}/stream');
    const h = await streamReqs[0].allHeaders();
    assert(/text\/event-stream/.test(h.accept || ''), 'Accept: ' + h.accept);
  });

  await check('the stream snippets, run on the text model, print the same text, word by word', async () => {
    await prog.click('#tab-api');
    const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
    const want = 'word1 word2 word3 word4 word5 word6 word7 word8';
    const curl = run('bash', ['-c', await prog.textContent('#snippet-curl-stream')]);
    const chunks = [...curl.matchAll(/event: output\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]).chunk);
    assert(chunks.length === 8 && chunks.join('').trim() === want, 'curl: ' + JSON.stringify(chunks));
    const py = run('/usr/bin/python3', ['-c', await prog.textContent('#snippet-python-stream')]);
    const [status, output] = lastLine(py);
    assert(py.startsWith(want) && status === 'succeeded' && output.join('').trim() === want, 'python: ' + py.slice(0, 200));
    await prog.click('#tab-run');
  });

  await check('a running prediction reopened after a reload goes on growing from its stream', async () => {
    await prog.fill('#in-steps', '6');
    await prog.fill('#in-delay', '0.5');
    await prog.click('#run');
    await prog.waitForFunction(() => /word2/.test(document.getElementById('output').textContent), null, { timeout: 20000 });
    await prog.reload();
    await prog.waitForSelector('#history button');
    const before = streamReqs.length;
    await prog.locator('#history button').first().click();
    await waitStatus(prog, /succeeded/, 30000);
    const text = (await prog.textContent('#output')).trim();
    assert(text === 'word1 word2 word3 word4 word5 word6', text);
    assert(streamReqs.length > before, 'the reopened prediction was not read from its stream');
  });
  await check('?stream=off: the same run by polling, no stream request', async () => {
    const before = streamReqs.length;
    await prog.goto(env.PROGRESS + '/?stream=off');
    await prog.waitForSelector('#fields .field');
    await prog.fill('#in-steps', '3');
    await prog.fill('#in-delay', '0.2');
    await prog.click('#run');
    await waitStatus(prog, /succeeded/, 30000);
    assert((await prog.textContent('#output')).trim() === 'word1 word2 word3', await prog.textContent('#output'));
    assert(streamReqs.length === before, 'a stream was opened');
  });

  // ---- phone width ----
  await prog.setViewportSize({ width: 390, height: 844 });
  await check('at phone width nothing scrolls sideways', async () => {
    const [sw, w] = await prog.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert(sw <= w + 1, `${sw} > ${w}`);
  });
  await screenshot(prog, 'phone');
  await check('axe-core: no serious or critical violations (phone, after a run)', () => axeCheck(prog, 'phone'));
  await prog.close();

  // ---- every kind of input (tests/browser/projects/kitchen) ----
  const k = await openPage(context, env.KITCHEN + '/');
  await check('one field per input in x-order, each with its description', async () => {
    const names = await k.$$eval('#fields .field', (els) => els.map((e) => e.dataset.name));
    assert(names.join(',') === 'prompt,steps,scale,flag,color,count,key,image,tags,old,code', names.join(','));
    assert(await k.locator('#fields .desc').count() === 11, 'descriptions');
  });
  await check('the right control per type, defaults prefilled', async () => {
    const d = await k.evaluate(() => {
      const $ = (id) => document.getElementById(id);
      return {
        prompt: [$('in-prompt').tagName, $('in-prompt').value],
        steps: [$('in-steps').type, $('in-steps').min, $('in-steps').max, $('in-steps').step, $('in-steps').value],
        scale: [$('in-scale').step, $('in-scale').value],
        flag: [$('in-flag').type, $('in-flag').checked],
        color: [$('in-color').tagName, [...$('in-color').options].map((o) => o.text).join('/'), $('in-color').selectedOptions[0].text],
        count: [[...$('in-count').options].map((o) => o.text).join('/')],
        key: [$('in-key').type],
        image: [$('in-image').type],
        tags: [...document.querySelectorAll('[data-name=tags] li textarea, [data-name=tags] li input')].map((e) => e.value),
        oldHidden: document.querySelector('[data-name=old]').hidden,
      };
    });
    const want = {
      prompt: ['TEXTAREA', 'a cat'], steps: ['number', '1', '50', '1', '10'], scale: ['any', '7.5'],
      flag: ['checkbox', true], color: ['SELECT', 'red/green/blue', 'red'], count: ['1/2/4'], key: ['password'],
      image: ['file'], tags: ['a'], oldHidden: true,
    };
    assert(JSON.stringify(d) === JSON.stringify(want), JSON.stringify(d));
  });
  await check('axe-core: no serious or critical violations (every kind of input)', () => axeCheck(k, 'kitchen'));
  await k.fill('#in-code', 'AB1');
  await k.click('#run');
  await check('a pattern is checked as the server does', async () => {
    await k.waitForSelector('#in-code-error:not([hidden])');
    const m = await k.textContent('#in-code-error');
    assert(m === 'string does not match regex "^[a-z]+$"', m);
  });
  await k.fill('#in-code', 'xyz');
  await k.fill('#in-prompt', 'a dog');
  await k.fill('#in-steps', '3');
  await k.uncheck('#in-flag');
  await k.selectOption('#in-color', { label: 'blue' });
  await k.selectOption('#in-count', { label: '4' });
  await k.fill('#in-key', 'hunter2');
  await k.click('text=Add Tags item');
  await k.locator('[data-name=tags] li').nth(1).locator('textarea, input').fill('b');
  await k.check('#show-deprecated');
  await check('the deprecated input shows behind its toggle', async () => !(await k.isHidden('#in-old')));
  await k.fill('#in-old', 'y');
  const png = readFileSync(env.DIGIT_PNG).toString('base64');
  // Drag and drop of a file onto the image's zone.
  await k.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
    document.querySelector('[data-name=image] .dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, png);
  await check('a dropped image becomes the input (preview)', async () => {
    await k.waitForSelector('[data-name=image] .preview img', { timeout: 5000 });
    return (await k.textContent('[data-name=image] .preview')).includes('dropped.png');
  });
  await k.click('#run');
  await check('every control\'s value reaches the model', async () => {
    await waitStatus(k, /succeeded/, 20000);
    const got = JSON.parse(await k.textContent('#output'));
    const want = { code: 'xyz', color: 'blue', count: 4, flag: false, image_bytes: readFileSync(env.DIGIT_PNG).length,
      key_reversed: '2retnuh', old: 'y', prompt: 'a dog', scale: 7.5, steps: 3, tags: ['a', 'b'] };
    assert(JSON.stringify(got) === JSON.stringify(want), JSON.stringify(got));
  });
  await screenshot(k, 'every-input');
  // Paste of an image.
  await k.click('[data-name=image] .dropzone button:has-text("Clear")');
  await k.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
    document.querySelector('#in-image').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, png);
  await check('a pasted image becomes the input', async () => {
    await k.waitForSelector('[data-name=image] .preview img', { timeout: 5000 });
    return (await k.textContent('[data-name=image] .preview')).includes('pasted.png');
  });
  await check('the secret is not kept in this browser\'s history', async () =>
    !(await k.evaluate(() => JSON.stringify(localStorage))).includes('hunter2'));
  await k.close();

  // ---- file outputs: an image and a sound inline, a download for the rest ----
  const m = await openPage(context, env.MEDIA + '/');
  await m.click('#run');
  await check('file outputs: the image inline, a player for the sound, a download link for the rest', async () => {
    await waitStatus(m, /succeeded/, 20000);
    await m.waitForFunction(() => { const i = document.querySelector('#output img'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 5000 });
    const d = await m.evaluate(() => ({
      img: document.querySelector('#output img').naturalWidth,
      audio: (document.querySelector('#output audio') || {}).src || '',
      links: [...document.querySelectorAll('#output a[download]')].map((a) => a.getAttribute('download')),
    }));
    assert(d.img === 32, 'image width ' + d.img);
    assert(d.audio.startsWith('data:audio/'), 'audio ' + d.audio.slice(0, 40));
    assert(d.links.join(',') === 'output-0.png,output-1.wav,output-2.bin', d.links.join(','));
  });
  await screenshot(m, 'file-outputs');
  await check('axe-core: no serious or critical violations (file outputs)', () => axeCheck(m, 'media'));
  await m.close();
} catch (e) {
  fail('the browser test ran to its end', e && e.stack);
} finally {
  await browser.close();
}
