import { setTimeout as delay } from 'node:timers/promises';
import { errorLines, progressLine, summaryLines, bar } from './format.js';
import { ApiError, runPath, type Api } from './http.js';
import { isEnded, type ErrorLine, type RunView } from './wire.js';

/** Where the CLI writes: stdout, or a test's buffer. */
export interface Out {
  write(text: string): void;
  isTTY: boolean;
  columns: number;
}

export const exitCodes = { Completed: 0, Failed: 1, Canceled: 2, usage: 3 } as const;

const POLL_MS = 1000;
/** Without a terminal a line is written when the phase changes, and otherwise at most this often. */
const PLAIN_EVERY_MS = 5000;
const ERRORS_SHOWN = 5;

/** Redraws one line in place on a terminal; writes plain lines, fewer of them, anywhere else. */
export class ProgressWriter {
  private lastLine = '';
  private lastPhase: string | undefined;
  private lastAt = 0;
  private drawn = false;

  constructor(private readonly out: Out) {}

  show(view: RunView): void {
    const line = progressLine(view);
    if (this.out.isTTY) {
      const text = `${bar(view.progress?.percent ?? 0)} ${line}`.slice(0, Math.max(this.out.columns - 1, 20));
      this.out.write(`\r${text}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    const phaseChanged = view.phase !== this.lastPhase;
    if (line !== this.lastLine && (phaseChanged || now - this.lastAt >= PLAIN_EVERY_MS)) {
      this.out.write(`${new Date(now).toISOString()} ${line}\n`);
      this.lastLine = line;
      this.lastAt = now;
    }
    this.lastPhase = view.phase;
  }

  end(): void {
    if (this.drawn) this.out.write('\n');
  }
}

async function firstErrors(api: Api, runId: string): Promise<ErrorLine[]> {
  try {
    const text = await api.text(runPath(runId, `/errors?head=${ERRORS_SHOWN}`));
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ErrorLine);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return [];
    throw err;
  }
}

/** The exit code of an ended run's status. */
function exitCodeOf(view: RunView): number {
  return exitCodes[view.status as 'Completed' | 'Failed' | 'Canceled'];
}

/**
 * For scripts: the run's view as one JSON line each time it changes, the ended view last, in place
 * of the progress lines and summary. The exit code is the same.
 */
async function watchJson(api: Api, runId: string, out: Out): Promise<number> {
  let last = '';
  for (;;) {
    const view = await api.json<RunView>('GET', runPath(runId));
    const line = JSON.stringify(view);
    if (line !== last) out.write(`${line}\n`);
    last = line;
    if (isEnded(view.status)) return exitCodeOf(view);
    await delay(POLL_MS);
  }
}

/** Polls the run until it ends, showing its progress; then its summary and first errors. Returns the exit code. */
export async function watchRun(api: Api, runId: string, out: Out, json = false): Promise<number> {
  if (json) return watchJson(api, runId, out);
  const writer = new ProgressWriter(out);
  let view = await api.json<RunView>('GET', runPath(runId));
  while (!isEnded(view.status)) {
    writer.show(view);
    await delay(POLL_MS);
    view = await api.json<RunView>('GET', runPath(runId));
  }
  writer.show(view);
  writer.end();
  for (const line of summaryLines(view)) out.write(`${line}\n`);
  if ((view.summary?.totals.itemsFailed ?? 0) > 0 || (view.summary?.errors.lines ?? 0) > 0) {
    const errors = await firstErrors(api, runId);
    if (errors.length > 0) {
      out.write(`first ${errors.length} error lines:\n`);
      for (const line of errorLines(errors)) out.write(`${line}\n`);
    }
  }
  return exitCodeOf(view);
}
