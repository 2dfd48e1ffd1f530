import type { RunView } from '../functions/api/runs.js';
import { labelsByName } from '../samples/mnist/images.js';
import type { ApiClient } from './client.js';
import { SAMPLE_CONTAINER, SAMPLE_PREFIX } from './sample.js';

/** The ParallelRunStep tutorial's settings, as a user would copy them. */
export const tutorialSettings = {
  run_name: 'mnist-tutorial',
  entry_script: 'digit_identification.ts',
  source_directory: 'mnist',
  models: ['mnist:1'],
  input: { container: SAMPLE_CONTAINER, path: SAMPLE_PREFIX, glob: '*.png' },
  mini_batch_size: '5',
  error_threshold: 10,
  output_action: 'append_row',
  append_row_file_name: 'mnist_outputs.txt',
  node_count: 2,
  process_count_per_node: 2,
  logging_level: 'INFO',
};

type Log = (line: string) => void;

function bar(percent: number): string {
  const filled = Math.round(percent / 5);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}]`;
}

function progressLine(view: RunView): string {
  const p = view.progress;
  if (!p || view.phase === 'planning') return `${view.status}${view.phase ? ` (${view.phase})` : ''}`;
  if (view.phase === 'finalizing') return `${bar(100)} finalizing: composing the output, writing the summary`;
  const eta = p.etaSeconds === null ? '' : `, ETA ${p.etaSeconds}s`;
  return `${bar(p.percent)} ${p.percent.toFixed(1)}%  ${p.items.succeeded + p.items.failed}/${p.items.total} items (${p.items.failed} failed), mini-batches ${p.miniBatches.succeeded + p.miniBatches.failed}/${p.miniBatches.total} (${p.miniBatches.inFlight} in flight), ${p.itemsPerSecond} items/s${eta}`;
}

/** The CLI as a user types it against `baseUrl` (its default address needs no setting). */
export function cliCommand(baseUrl: string): string {
  return /^http:\/\/(localhost|127\.0\.0\.1):7071$/.test(baseUrl)
    ? 'npx parallel-run'
    : `PARALLEL_RUN_URL=${baseUrl} npx parallel-run`;
}

/** Submits a run and shows its progress until it ends; returns its final view. */
export async function submitAndWatch(api: ApiClient, settings: object, log: Log): Promise<RunView> {
  const { runId } = await api.json<{ runId: string }>('POST', '/api/runs', settings, 202);
  log(`submitted run ${runId}`);
  log(`  follow it from another terminal: ${cliCommand(api.baseUrl)} watch ${runId}`);
  log(`  or in the browser: ${api.baseUrl}/api/ui#/runs/${runId}`);
  let last = '';
  let lastAt = 0;
  for (;;) {
    const view = await api.json<RunView>('GET', `/api/runs/${runId}`);
    const line = progressLine(view);
    const now = Date.now();
    if (line !== last && (now - lastAt >= 2000 || !line.startsWith('['))) {
      log(`  ${line}`);
      last = line;
      lastAt = now;
    }
    if (view.status !== 'Running' && view.status !== 'Pending') return view;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The run's throughput; a reused run ran nothing, so the figure is the one of the run it reuses. */
async function throughputLine(api: ApiClient, view: RunView): Promise<string> {
  const measured = view.reusedFrom
    ? (await api.json<RunView>('GET', `/api/runs/${view.reusedFrom}`)).summary
    : view.summary;
  const figure = `${measured?.itemsPerSecond.toFixed(1) ?? '?'} images/s over ${measured?.durationSeconds.toFixed(1) ?? '?'} s`;
  return view.reusedFrom
    ? `reused run ${view.reusedFrom} (allow_reuse: same settings, script, model and input); it ran at ${figure}`
    : `throughput: ${figure}`;
}

/** The same settings again: allow_reuse (true, as in ParallelRunStep) serves the earlier run's output at once. */
async function showReuse(api: ApiClient, log: Log, first: RunView): Promise<boolean> {
  log('\n== the same settings submitted again (allow_reuse defaults to true) ==');
  const again = await submitAndWatch(api, tutorialSettings, log);
  const source = first.reusedFrom ?? first.runId;
  if (again.status !== 'Completed' || again.reusedFrom !== source) {
    log(
      `run ${again.runId} ended ${again.status}, reused from ${again.reusedFrom ?? 'nothing'}: expected a reuse of ${source}`,
    );
    return false;
  }
  log(
    `  ${again.runId}: Completed at once, reused from ${source} (no mini-batch ran; same output ${again.summary?.output?.blob ?? ''})`,
  );
  return true;
}

/** The tutorial end to end: the 10,000-image run, its results, then the single-image resubmission. */
export async function runTutorial(api: ApiClient, log: Log): Promise<boolean> {
  log('\n== ParallelRunStep tutorial: classify 10,000 MNIST digits ==');
  const view = await submitAndWatch(api, tutorialSettings, log);
  const summary = view.summary;
  if (view.status !== 'Completed' || !summary?.output) {
    log(`run ${view.runId} ended ${view.status}: ${view.reason ?? 'no reason given'}`);
    log(`errors: GET /api/runs/${view.runId}/errors, overview: runs/${view.runId}/logs/overview.txt`);
    return false;
  }
  const head = await api.text(`/api/runs/${view.runId}/output?head=10`);
  log(`\nfirst 10 rows of ${summary.output.container}/${summary.output.blob}:`);
  for (const line of head.trimEnd().split('\n')) log(`  ${line}`);
  const rows = (await api.text(`/api/runs/${view.runId}/output`)).trimEnd().split('\n');
  const labels = labelsByName();
  let right = 0;
  for (const row of rows) {
    const [name = '', digit = ''] = row.split(': ');
    if (labels.get(name) === Number(digit)) right++;
  }
  const t = summary.totals;
  log(`\nrows: ${rows.length} (items ${t.items}: ${t.itemsSucceeded} succeeded, ${t.itemsFailed} failed)`);
  log(`accuracy against the labels: ${(right / rows.length).toFixed(4)}`);
  log(await throughputLine(api, view));
  log(`output: ${summary.output.container}/${summary.output.blob} (GET /api/runs/${view.runId}/output)`);
  if (!(await showReuse(api, log, view))) return false;

  log('\n== resubmit with a single image, mini_batch_size "1", process_count_per_node 1 ==');
  const single = await submitAndWatch(
    api,
    {
      ...tutorialSettings,
      run_name: 'mnist-single',
      input: { container: SAMPLE_CONTAINER, path: SAMPLE_PREFIX, names: ['0.png'] },
      mini_batch_size: '1',
      process_count_per_node: 1,
    },
    log,
  );
  if (single.status !== 'Completed') {
    log(`single-image run ended ${single.status}: ${single.reason ?? ''}`);
    return false;
  }
  log(
    `  ${(await api.text(`/api/runs/${single.runId}/output`)).trim()}  (label: ${labels.get('0.png') ?? '?'})`,
  );
  return rows.length === 10_000 && right / rows.length >= 0.92;
}
