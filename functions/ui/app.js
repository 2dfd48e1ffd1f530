// The status page: runs, one run's live progress, its first rows and errors, models and pipelines.
// Everything shown comes from the API and is user data (file names, error texts, run names): it is put
// on the page only as text nodes (el() below), never parsed as HTML.

const key = new URLSearchParams(location.search).get('code');
const POLL_RUN_MS = 1000;
const POLL_LIST_MS = 2000;
const ROWS_SHOWN = 20;
/** The newest runs listed: the list is read again every few seconds. */
const RUNS_SHOWN = 100;
const ERRORS_SHOWN = 20;

// Characters that hide or reorder text (controls, bidi overrides): shown as \uXXXX, as the CLI shows
// them, so a file named "bad\u202eevil.txt" cannot read as "badtxt.live". Line breaks and tabs stay.
const HIDDEN =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const visible = (text) => text.replace(HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** An element with properties and children; strings become text nodes, their hidden characters shown. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'data') Object.assign(node.dataset, value);
    else node[name] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? visible(String(child)) : child);
  }
  return node;
}

/** A URL of the API with the page's function key, for links a person follows. */
function withKey(path) {
  return key ? `${path}${path.includes('?') ? '&' : '?'}code=${encodeURIComponent(key)}` : path;
}

const runPath = (runId, tail = '') => `/api/runs/${encodeURIComponent(runId)}${tail}`;

function showConnection(problem) {
  document.getElementById('connection').textContent = visible(problem ?? '');
}

/** GET from the API; null on 404 (a file not written yet), an Error naming the API's message otherwise. */
async function get(path, as = 'json') {
  let res;
  try {
    res = await fetch(path, { headers: key ? { 'x-functions-key': key } : {} });
  } catch {
    throw new Error('the service cannot be reached');
  }
  if (res.status === 404) return null;
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(body?.error?.message ?? `${path} answered ${res.status}`);
  }
  return as === 'json' ? res.json() : res.text();
}

function bar(percent, wide = false) {
  const fill = el('div');
  fill.style.width = `${Math.max(0, Math.min(100, Number(percent) || 0))}%`;
  return el('div', { className: wide ? 'bar wide' : 'bar', role: 'presentation' }, fill);
}

const isEnded = (status) => status === 'Completed' || status === 'Failed' || status === 'Canceled';

function duration(seconds) {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function table(headers, rows) {
  return el(
    'table',
    {},
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headers.map((h) => el('th', {}, h)),
      ),
    ),
    el('tbody', {}, rows),
  );
}

// ---- the list: runs, pipelines, models ----

function runRow(run) {
  const p = run.progress;
  return el(
    'tr',
    { data: { run: run.runId } },
    el(
      'td',
      {},
      el('a', { href: `#/runs/${encodeURIComponent(run.runId)}` }, run.runId),
      run.runName ? el('div', { className: 'muted' }, run.runName) : null,
    ),
    el('td', { className: `status-${run.status}` }, run.status, run.phase ? ` (${run.phase})` : ''),
    el('td', {}, p ? [bar(p.percent), `${p.percent.toFixed(1)}%`] : '–'),
    el('td', {}, p ? `${p.itemsPerSecond}` : '–'),
    el('td', {}, new Date(run.createdTime).toLocaleString()),
    el('td', {}, run.pipeline ?? '–'),
  );
}

async function catalog() {
  const [pipelines, models] = await Promise.all([get('/api/pipelines'), get('/api/models')]);
  return [
    el('h2', {}, 'Pipelines'),
    table(
      ['name', 'parameters', 'published'],
      (pipelines?.pipelines ?? []).map((p) =>
        el(
          'tr',
          {},
          el('td', {}, p.name),
          el('td', {}, p.parameters.join(', ') || '–'),
          el('td', {}, new Date(p.updated).toLocaleString()),
        ),
      ),
    ),
    el('h2', {}, 'Models'),
    table(
      ['name', 'versions'],
      (models?.models ?? []).map((m) =>
        el('tr', {}, el('td', {}, m.name), el('td', {}, m.versions.join(', '))),
      ),
    ),
  ];
}

async function listView(view, alive) {
  const runsBox = el('div', { id: 'runs' }, el('p', {}, 'Loading runs…'));
  const catalogBox = el('div', { id: 'catalog' });
  view.replaceChildren(el('h2', {}, 'Runs'), runsBox, catalogBox);
  catalog()
    .then((parts) => catalogBox.replaceChildren(...parts))
    .catch((err) => catalogBox.replaceChildren(el('p', {}, err.message)));
  while (alive()) {
    try {
      const { runs } = await get(`/api/runs?top=${RUNS_SHOWN}`);
      if (!alive()) return;
      runsBox.replaceChildren(
        runs.length === 0
          ? el('p', {}, 'No runs yet: submit one with parallel-run submit <settings.json>.')
          : table(['run', 'status', 'progress', 'items/s', 'started', 'pipeline'], runs.map(runRow)),
        runs.length === RUNS_SHOWN
          ? el('p', {}, `The newest ${RUNS_SHOWN} runs; older ones: parallel-run runs, or GET /api/runs.`)
          : null,
      );
      showConnection();
    } catch (err) {
      showConnection(err.message);
    }
    await wait(POLL_LIST_MS);
  }
}

// ---- one run ----

function progressPart(run) {
  const p = run.progress;
  if (!p)
    return el(
      'p',
      { id: 'items' },
      run.phase === 'planning'
        ? 'Planning: listing the input…'
        : run.reusedFrom
          ? `Reused the results of ${run.reusedFrom}: no mini-batch ran.`
          : 'Waiting to start…',
    );
  const batches = p.miniBatches;
  return el(
    'div',
    {},
    bar(p.percent, true),
    el(
      'dl',
      {},
      el('dt', {}, 'items'),
      el(
        'dd',
        { id: 'items' },
        `${p.items.succeeded + p.items.failed} / ${p.items.total} items (${p.items.failed} failed) · ${p.percent.toFixed(1)}%`,
      ),
      el('dt', {}, 'mini-batches'),
      el(
        'dd',
        {},
        `${batches.succeeded + batches.failed} / ${batches.total} (${batches.failed} failed, ${batches.inFlight} in flight)`,
      ),
      el('dt', {}, 'speed'),
      el(
        'dd',
        {},
        `${p.itemsPerSecond} items/s`,
        p.etaSeconds === null ? '' : ` · ETA ${duration(p.etaSeconds)}`,
      ),
      el('dt', {}, 'elapsed'),
      el('dd', {}, duration(p.elapsedSeconds)),
    ),
  );
}

function summaryPart(summary) {
  const t = summary.totals;
  return el(
    'dl',
    { id: 'summary' },
    el('dt', {}, 'items'),
    el(
      'dd',
      {},
      `${t.items}: ${t.itemsSucceeded} succeeded, ${t.itemsFailed} failed, ${t.items - t.itemsSucceeded - t.itemsFailed} not processed`,
    ),
    el('dt', {}, 'mini-batches'),
    el(
      'dd',
      {},
      `${t.miniBatches}: ${t.miniBatchesSucceeded} succeeded, ${t.miniBatchesFailed} failed, ${t.tries} tries`,
    ),
    el('dt', {}, 'time'),
    el('dd', {}, `${duration(summary.durationSeconds)} (${summary.itemsPerSecond.toFixed(1)} items/s)`),
    el('dt', {}, 'output'),
    el(
      'dd',
      {},
      summary.output
        ? `${summary.output.container}/${summary.output.blob} (${summary.output.bytes} bytes)`
        : 'none',
    ),
    el('dt', {}, 'logs'),
    el('dd', {}, `runs/${summary.logs.overview}, runs/${summary.logs.script}`),
  );
}

function header(run) {
  return [
    el('h2', {}, 'Run ', run.runId),
    run.runName ? el('p', { className: 'muted' }, run.runName) : null,
    el(
      'p',
      {},
      el('strong', { id: 'status', className: `status-${run.status}` }, run.status),
      run.phase ? ` · ${run.phase}` : '',
      run.pipeline ? ` · pipeline ${run.pipeline}` : '',
      ` · started ${new Date(run.createdTime).toLocaleString()}`,
    ),
    run.reason ? el('p', { id: 'reason' }, run.reason) : null,
  ];
}

function links(run) {
  const link = (label, path) => el('a', { href: withKey(path) }, label);
  return el(
    'p',
    { id: 'links' },
    'Raw: ',
    link('status (JSON)', runPath(run.runId)),
    ' · ',
    link('output', runPath(run.runId, '/output')),
    ' · ',
    link('errors.jsonl', runPath(run.runId, '/errors')),
  );
}

async function rowsPart(run) {
  if (!run.summary?.output)
    return el('p', { className: 'muted' }, 'No output: ', run.reason ?? 'the run wrote none.');
  let text;
  try {
    text = await get(runPath(run.runId, `/output?head=${ROWS_SHOWN}`), 'text');
  } catch (err) {
    // A Parquet output has no lines to show: the service says so, and the output link downloads it.
    return el('p', { className: 'muted' }, err.message);
  }
  const rows = (text ?? '').split('\n').filter((line) => line !== '');
  return el(
    'div',
    {},
    el('h3', {}, `First ${rows.length} rows`),
    el(
      'ol',
      { id: 'rows' },
      rows.map((row) => el('li', {}, el('code', {}, row))),
    ),
  );
}

function errorItem(line) {
  return el(
    'li',
    {},
    el('code', { className: 'item' }, line.item),
    el(
      'span',
      { className: 'muted' },
      ` mini-batch ${line.mini_batch}, ${line.attempts} tries, ${line.kind}`,
    ),
    el('pre', { className: 'message' }, line.error),
    line.stack ? el('details', {}, el('summary', {}, 'stack'), el('pre', {}, line.stack)) : null,
  );
}

async function errorsPart(run) {
  const text = await get(runPath(run.runId, `/errors?head=${ERRORS_SHOWN}`), 'text');
  const lines = (text ?? '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  if (lines.length === 0) return el('p', { id: 'no-errors', className: 'muted' }, 'No failed items.');
  const total = run.summary?.errors.lines ?? lines.length;
  return el(
    'div',
    {},
    el('h3', {}, `Errors (first ${lines.length} of ${total})`),
    el('ol', { id: 'errors' }, lines.map(errorItem)),
  );
}

async function runView(view, alive, runId) {
  view.replaceChildren(el('p', {}, 'Loading run…'));
  while (alive()) {
    let run;
    try {
      run = await get(runPath(runId));
      showConnection();
    } catch (err) {
      showConnection(err.message);
      await wait(POLL_RUN_MS);
      continue;
    }
    if (!alive()) return;
    if (run === null) {
      view.replaceChildren(
        el('p', {}, 'No run ', el('code', {}, runId), '.'),
        el('a', { href: '#/' }, 'All runs'),
      );
      return;
    }
    const live = [header(run), progressPart(run), links(run)];
    if (!isEnded(run.status)) {
      view.replaceChildren(...live.flat().filter(Boolean));
      await wait(POLL_RUN_MS);
      continue;
    }
    const details = await Promise.all([rowsPart(run), errorsPart(run)]).catch((err) => [
      el('p', {}, err.message),
    ]);
    if (!alive()) return;
    view.replaceChildren(
      ...live.flat().filter(Boolean),
      run.summary ? summaryPart(run.summary) : '',
      ...details,
    );
    return;
  }
}

// ---- routing ----

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let generation = 0;

/** As the API takes run ids: anything else (".", "..", markup) names no run, and is never fetched. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** The run id of a `#/runs/<id>` address: a malformed escape ("%E0%A4%A") is shown as it was typed. */
function decodedRunId(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

async function noSuchRun(view, runId) {
  view.replaceChildren(
    el('p', {}, 'No run ', el('code', {}, runId), ': a run id is letters, digits, "_" and "-".'),
    el('a', { href: '#/' }, 'All runs'),
  );
}

function route() {
  const mine = ++generation;
  const alive = () => mine === generation;
  const view = document.getElementById('view');
  const match = /^#\/runs\/([^/]+)$/.exec(location.hash);
  const runId = match ? decodedRunId(match[1]) : undefined;
  const shown =
    runId === undefined
      ? listView(view, alive)
      : RUN_ID.test(runId)
        ? runView(view, alive, runId)
        : noSuchRun(view, runId);
  shown.catch((err) => view.replaceChildren(el('p', {}, `The page failed: ${err.message}`)));
}

window.addEventListener('hashchange', route);
route();
