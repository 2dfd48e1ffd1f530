import type { ErrorLine, ProgressView, RunSummary, RunView } from './wire.js';

/**
 * C0 and C1 controls but line breaks and tabs, DEL, and the bidirectional overrides and isolates: a
 * file name or an error text holding them could move the cursor, recolour or rewrite what the
 * terminal shows (an ANSI escape in a script's error, U+202E in a name).
 */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** User data (item names, error texts, run names) as the terminal may show it: each control character escaped (`\u001b`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of user data: line breaks escaped too (`printable` has escaped the others). */
function oneLine(text: string): string {
  return printable(text).replace(/\n/g, '\\n');
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function bar(percent: number, width = 24): string {
  const filled = Math.min(width, Math.max(0, Math.round((percent / 100) * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function counts(p: ProgressView): string {
  const done = p.items.succeeded + p.items.failed;
  const batches = p.miniBatches.succeeded + p.miniBatches.failed;
  const eta = p.etaSeconds === null ? '' : `, ETA ${duration(p.etaSeconds)}`;
  return (
    `${p.percent.toFixed(1)}% ${done}/${p.items.total} items (${p.items.failed} failed), ` +
    `mini-batches ${batches}/${p.miniBatches.total} (${p.miniBatches.inFlight} in flight), ` +
    `${p.itemsPerSecond} items/s${eta}`
  );
}

/** One line of progress: the phase, then the counts once the run has been planned. */
export function progressLine(view: RunView): string {
  const phase = view.phase ?? view.status.toLowerCase();
  if (!view.progress || phase === 'planning') return phase;
  return `${phase}: ${counts(view.progress)}`;
}

export function summaryLines(view: RunView): string[] {
  const s: RunSummary | undefined = view.summary;
  const head = `run ${view.runId} ${view.status}${view.reason ? `: ${printable(view.reason)}` : ''}`;
  if (!s) return [head];
  const t = s.totals;
  const lines = [
    head,
    `  items         ${t.items}: ${t.itemsSucceeded} succeeded, ${t.itemsFailed} failed, ${t.items - t.itemsSucceeded - t.itemsFailed} not processed`,
    `  mini-batches  ${t.miniBatches}: ${t.miniBatchesSucceeded} succeeded, ${t.miniBatchesFailed} failed, ${t.tries} tries`,
    `  time          ${duration(s.durationSeconds)} (${s.itemsPerSecond.toFixed(1)} items/s)`,
    s.output
      ? `  output        ${s.output.container}/${oneLine(s.output.blob)} (${s.output.bytes} bytes): parallel-run results ${view.runId} --head 10`
      : '  output        none',
  ];
  if (s.errors.lines > 0) {
    lines.push(`  errors        ${s.errors.lines} lines: parallel-run errors ${view.runId}`);
  }
  return lines;
}

export function errorLines(errors: ErrorLine[]): string[] {
  return errors.map(
    (e) =>
      `  ${oneLine(e.item)} (mini-batch ${e.mini_batch}, ${e.attempts} tries, ${e.kind}): ${printable(e.error)}`,
  );
}

/** A run as one row of `parallel-run runs`. */
export function runRow(view: RunView): string {
  const p = view.progress;
  const progress = p ? `${p.percent.toFixed(1)}%`.padStart(6) : '     -';
  const rate = p ? `${p.itemsPerSecond}/s` : '-';
  return [
    view.runId.padEnd(40),
    view.status.padEnd(9),
    progress,
    rate.padStart(9),
    view.createdTime.replace(/\.\d+Z$/, 'Z'),
    view.pipeline ?? '-',
  ].join('  ');
}

export const RUN_HEADER = [
  'run'.padEnd(40),
  'status'.padEnd(9),
  '  done',
  '   items',
  'started'.padEnd(20),
  'pipeline',
].join('  ');
