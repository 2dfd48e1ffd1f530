import { partBody } from '../outputs/formats.js';
import type { MiniBatchResult } from '../outputs/records.js';
import type { Storage } from '../storage/storage.js';
import { endedElsewhere } from './ended-runs.js';
import {
  cleanRows,
  endedResult,
  settleTry,
  succeededResult,
  TryFencedError,
  tryMiniBatch,
  writePart,
  type ExecuteOptions,
  type MiniBatchInput,
  type TriedMiniBatch,
} from './execute.js';

/** One try of one mini-batch of a group (its attempt may differ from its neighbours'). */
export interface GroupTry {
  index: number;
  attempt: number;
}

/** Consecutive mini-batches of one shard, tried by one activity (orchestrations/shard.ts). */
export interface MiniBatchGroup {
  runId: string;
  shard: number;
  tries: GroupTry[];
  /** Tries in progress at once (default GROUP_PIPELINE). */
  inParallel?: number;
}

/**
 * Tries of a group in progress at once: one scoring on the pool while the next one fetches its files,
 * as two single tries in flight per process would.
 */
export const GROUP_PIPELINE = 2;

/** Whether the shard must see this result before the group goes on: it counts a failure, or ends the run. */
function stopsGroup(result: MiniBatchResult): boolean {
  if (result.ended === true || result.fatal !== undefined) return true;
  return result.final && !(result.ok && result.failedItems === 0);
}

interface Held {
  tried: TriedMiniBatch;
  rows: unknown[];
}

/**
 * Runs a group's tries in order, `GROUP_PIPELINE` at a time, and returns the results of those it ran:
 * always a prefix of the group. It stops starting tries after one that counts a failure (or ends the
 * run), so the shard applies its thresholds before any more run, as it would between single tries;
 * the tries it did not start go back to the shard untried.
 *
 * The clean tries (every input a row) from the group's first mini-batch on share one part,
 * `parts/<first>` covering to its `last`: one upload, and one read at finalize, for many small
 * mini-batches. Any other try is written on its own, as a single try would be. A range only ever
 * starts at a group's first mini-batch, and a group run again (at-least-once, or retried) always
 * rewrites or removes that part; a try that fails removes its own. So an older part can only be a
 * single one inside a newer range, which finalize skips (core/outputs/part-listing.ts).
 */
export async function executeMiniBatchGroup(
  storage: Storage,
  group: MiniBatchGroup,
  options: ExecuteOptions = {},
): Promise<MiniBatchResult[]> {
  /** Before anything is written: a pool worker's group given up meanwhile writes nothing more. */
  const fence = async (input: MiniBatchInput) => {
    if (options.mayWrite && !(await options.mayWrite())) throw new TryFencedError(input);
  };
  const results: (MiniBatchResult | Held | undefined)[] = [];
  let next = 0;
  let stopped = false;
  let failure: Error | undefined;
  const runOne = async (position: number, work: GroupTry) => {
    const input: MiniBatchInput = { runId: group.runId, shard: group.shard, ...work };
    const tried = await tryMiniBatch(storage, input);
    if ('index' in tried) {
      results[position] = tried;
      stopped ||= stopsGroup(tried);
      return;
    }
    const rows = cleanRows(tried);
    if (rows) {
      results[position] = { tried, rows };
      return;
    }
    // Known before its records are written: the other lane starts nothing more meanwhile.
    stopped ||= countsFailure(tried);
    if (tried.outcome.ok || tried.outcome.kind !== 'ended') await fence(input);
    const result = await settleTry(storage, tried);
    results[position] = result;
    stopped ||= stopsGroup(result);
  };
  const lane = async () => {
    while (!stopped && next < group.tries.length) {
      const position = next++;
      const work = group.tries[position];
      if (!work) continue;
      try {
        await runOne(position, work);
      } catch (err) {
        // The other lane ends its try first: nothing of this group is left running behind a lost activity.
        failure ??= err instanceof Error ? err : new Error(String(err));
        stopped = true;
      }
    }
  };
  await Promise.all(
    Array.from(
      { length: Math.max(1, Math.min(group.inParallel ?? GROUP_PIPELINE, group.tries.length)) },
      lane,
    ),
  );
  if (failure !== undefined) throw failure;
  const ran = results.slice(0, firstGap(results));
  const held = ran.find((r): r is Held => r !== undefined && 'tried' in r);
  // The run ended under the group (canceled: its summary may be written already): the clean tries
  // it holds write nothing either, as a single try ended by the cancel writes nothing. A pool worker
  // learns of a cancel only from storage, and its cached answer may be 2 s old: it asks afresh here.
  const endedUnder =
    ran.some((r) => r !== undefined && !('tried' in r) && r.ended === true) ||
    (held !== undefined &&
      options.mayWrite !== undefined &&
      (await endedElsewhere(storage, group.runId, { fresh: true })));
  if (endedUnder)
    return ran.map((r) =>
      r && 'tried' in r
        ? endedResult(r.tried.input, r.tried.names.length, r.tried.started)
        : (r as MiniBatchResult),
    );
  if (held) await fence(held.tried.input);
  // A range of one is no range: its try writes its own part (settleTry), as any other try does.
  const prefix = cleanPrefix(ran);
  const range = prefix.length > 1 ? prefix : [];
  if (range.length > 0) await writeRange(storage, range);
  return Promise.all(
    ran.map((r, i) => {
      if (!r || !('tried' in r)) return Promise.resolve(r as MiniBatchResult);
      return i < range.length ? Promise.resolve(succeededResult(r.tried)) : settleTry(storage, r.tried);
    }),
  );
}

/** The clean tries from the group's first on, while their mini-batches are consecutive. */
function cleanPrefix(ran: (MiniBatchResult | Held | undefined)[]): Held[] {
  const prefix: Held[] = [];
  for (const r of ran) {
    const previous = prefix[prefix.length - 1];
    if (!r || !('tried' in r)) break;
    if (previous && r.tried.input.index !== previous.tried.input.index + 1) break;
    prefix.push(r);
  }
  return prefix;
}

/** A try that is not clean and gets no other try: the shard counts it as a failure. */
function countsFailure({ outcome, input, run }: TriedMiniBatch): boolean {
  if (outcome.ok) return true;
  if (outcome.kind === 'ended') return true;
  return outcome.fatal === true || input.attempt >= run.settings.run_max_try;
}

/** Tries run after a stop by the pipeline's other lane are kept: the results end at the first not run. */
function firstGap(results: unknown[]): number {
  const gap = Array.from(results, (r) => r === undefined).indexOf(true);
  return gap < 0 ? results.length : gap;
}

/** One part for consecutive clean tries, at the first one's index. */
async function writeRange(storage: Storage, held: Held[]): Promise<void> {
  const first = held[0];
  const last = held[held.length - 1];
  if (!first || !last) return;
  const span = { first: first.tried.input.index, last: last.tried.input.index };
  const rows = held.flatMap((h) => h.rows);
  const body = partBody(rows, first.tried.run.settings.append_row_format);
  await writePart(storage, first.tried.run, span, body, rows.length, 0);
}
