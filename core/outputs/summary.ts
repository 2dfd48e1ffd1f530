import type { RunTotals } from './records.js';

export type RunStatus = 'Completed' | 'Failed' | 'Canceled';

/** `runs/<runId>/summary.json`: the job_result — how the run ended and why, with its numbers. */
export interface RunSummary {
  runId: string;
  status: RunStatus;
  reason?: string;
  totals: RunTotals;
  thresholds: { error_threshold: number; mini_batch_error_threshold: number; allowed_failed_percent: number };
  /** The run's models as given in its settings → the version every worker process loaded. */
  models: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  itemsPerSecond: number;
  output?: { container: string; blob: string; bytes: number; composedServerSide: boolean };
  errors: { container: string; blob: string; lines: number };
  logs: { overview: string; script: string };
  /**
   * allow_reuse: the earlier Completed run with the same fingerprint whose results this run serves
   * (its output, errors and script log are that run's, pointed at, not copied); no mini-batch ran.
   */
  reusedFrom?: string;
  /** A resume: the run it resumed, and how many of its mini-batches it reused or ran again. */
  resumedFrom?: string;
  resume?: ResumeCounts;
}

/** What a resume reused (kept as the resumed run wrote it) and ran again. */
export interface ResumeCounts {
  miniBatchesReused: number;
  itemsReused: number;
  /** Mini-batches this run tried (they failed, or never ran, in the run it resumed). */
  miniBatchesRerun: number;
}

function pct(n: number, of: number): string {
  return of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`;
}

function lineage(s: RunSummary): string[] {
  if (s.reusedFrom)
    return [
      `Reused        ${s.reusedFrom} (same fingerprint; no mini-batch ran: its output and errors are served)`,
    ];
  if (!s.resumedFrom) return [];
  const r = s.resume;
  return [
    `Resumed from  ${s.resumedFrom}${r ? `: ${r.miniBatchesReused} mini-batches (${r.itemsReused} items) reused, ${r.miniBatchesRerun} run again` : ''}`,
  ];
}

/** `logs/overview.txt`: what a person reads first (ParallelRunStep's job_progress_overview + job_result). */
export function overviewText(s: RunSummary): string {
  const t = s.totals;
  const lines = [
    `Run ${s.runId}: ${s.status.toUpperCase()}${s.reason ? ` — ${s.reason}` : ''}`,
    ...lineage(s),
    '',
    `Started   ${s.startedAt}`,
    `Finished  ${s.finishedAt}  (${s.durationSeconds.toFixed(1)} s, ${s.itemsPerSecond.toFixed(1)} items/s)`,
    '',
    `Items         ${t.items}: ${t.itemsSucceeded} succeeded, ${t.itemsFailed} failed (${pct(t.itemsFailed, t.items)}), ${t.items - t.itemsSucceeded - t.itemsFailed} not processed`,
    `Mini-batches  ${t.miniBatches}: ${t.miniBatchesSucceeded} succeeded, ${t.miniBatchesFailed} failed, ${t.tries} tries`,
    `Models        ${
      Object.entries(s.models)
        .map(([given, pinned]) => (given === pinned ? pinned : `${given} → ${pinned}`))
        .join(', ') || 'none'
    }`,
    `Thresholds    error_threshold ${s.thresholds.error_threshold}, mini_batch_error_threshold ${s.thresholds.mini_batch_error_threshold}, allowed_failed_percent ${s.thresholds.allowed_failed_percent}`,
    '',
    s.output
      ? `Output        ${s.output.container}/${s.output.blob} (${s.output.bytes} bytes)`
      : 'Output        none (see the reason above)',
    `Errors        runs/${s.errors.blob} (${s.errors.lines} lines: one per failed item, with its error and stack)`,
    `Script log    runs/${s.logs.script}`,
  ];
  return `${lines.join('\n')}\n`;
}
