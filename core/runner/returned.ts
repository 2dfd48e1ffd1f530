import type { NamedFailure, RunOutcome } from './messages.js';

/** What run() returned, checked: in the host for rows sent back, in the worker for a mini-batch it read itself. */

/** A value a script gave where another was wanted, in a few words for its error. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (undefined)';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `a string (${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '…' : ''})`;
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}`;
}

/** run() must return a list with at most one row per input item (ParallelRunStep's unchecked rule, checked). */
export function checkReturned(rows: unknown, failures: NamedFailure[], inputs: number): RunOutcome {
  if (!Array.isArray(rows)) {
    return {
      ok: false,
      kind: 'bad_return',
      error: {
        message: `run() returned ${describe(rows)}; it must return a list with one row per successful item (at most ${inputs})`,
      },
    };
  }
  const named = new Set(failures.map((f) => f.index ?? f.item)).size;
  if (rows.length + named > inputs) {
    const detail = named ? ` and named ${named} failed item(s)` : '';
    return {
      ok: false,
      kind: 'bad_return',
      error: {
        message: `run() returned ${rows.length} rows${detail} for ${inputs} input items; at most one row per input item is allowed`,
      },
    };
  }
  return { ok: true, rows, failures };
}
