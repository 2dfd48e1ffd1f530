import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import {
  claimTry,
  dropBeacon,
  finishClaim,
  renewClaim,
  touchBeacon,
  type HeldClaim,
} from '../core/compute/claims.js';
import { MINI_BATCHES_PER_PROCESS } from '../core/compute/placement.js';
import { queueFor } from '../core/compute/pool.js';
import {
  boundedResult,
  decodeMessage,
  encodeMessage,
  readPoolTry,
  triesOf,
  type PoolOutcome,
  type PoolTry,
} from '../core/compute/protocol.js';
import { poisonQueue, poolQueue, RESULTS_QUEUE } from '../core/config/pools.js';
import { errorMessage, NotFoundError, ParallelRunError } from '../core/errors.js';
import type { MiniBatchResult } from '../core/outputs/records.js';
import { executeMiniBatch, recordLostMiniBatch, TryFencedError } from '../core/runner/execute.js';
import { executeMiniBatchGroup, GROUP_PIPELINE } from '../core/runner/execute-group.js';
import { endedElsewhere } from '../core/runner/ended-runs.js';
import { endRun, runHasEnded } from '../core/runner/pools.js';
import { loadRun, miniBatchItems } from '../core/runs/record.js';
import { isNotFound, type Storage } from '../core/storage/storage.js';
import { tryTiming } from './timing.js';

export interface ConsumerOptions {
  pool: string;
  /** A message taken more than this many times goes to the poison queue, its try failed (as the Functions host does). */
  maxDequeueCount?: number;
  log?: (line: string) => void;
}

/** A message whose try is running here: its pop receipt changes with every renewal. */
interface Held {
  message: DequeuedMessageItem;
  popReceipt: string;
}

/**
 * An idle worker looks at its queue at least twice a second: a new run's first tries wait no longer
 * than that for it (at 2 s, the tuned MNIST run on two local workers left both cores idle for 1.5–2 s
 * after planning, a sixth of the run). In Azure an idle replica's polls cost two queue transactions a
 * second, and only while KEDA keeps it (cooldown, or a minimum replica count).
 */
const IDLE_POLL_MS = { min: 100, max: 500 };
/**
 * While a try runs here or one ended lately, the next is probably on its way (the shard enqueues one
 * as each result reaches it): the queue is looked at this often, not on the idle backoff, which
 * would leave a slot empty for up to a second after each try (measured: bench/pool.ts).
 */
const BUSY_POLL_MS = 100;
const BUSY_WINDOW_MS = 10_000;
/** The most messages one receive may ask for (Azure Storage queues). */
const MAX_MESSAGES_PER_RECEIVE = 32;
const FIRST_VISIBILITY_SECONDS = 5;
/** How often a worker says it is alive (well within the smallest pool start timeout, 10 s). */
const BEACON_MS = 3_000;

/**
 * Deletes a held message; one that is gone already, or that another worker holds now (it was shown
 * again after a late heartbeat), is no error: whoever holds it finds the try finished.
 */
async function deleteIfThere(queue: QueueClient, held: Held): Promise<void> {
  try {
    await queue.deleteMessage(held.message.messageId, held.popReceipt);
  } catch (err) {
    const receiptGone = (err as { code?: unknown } | null)?.code === 'PopReceiptMismatch';
    if (!isNotFound(err) && !receiptGone) throw err;
  }
}

/** How many times this try has been delivered: this message's deliveries, and those its earlier copies counted. */
function deliveriesOf(t: PoolTry, held: Held): number {
  return (t.deliveries ?? 0) + held.message.dequeueCount;
}

/** A promise and the function that settles it (Promise.withResolvers is not in Node 20). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A pool worker's queue consumer (README, "GPU pools"): takes tries from `minibatches-<pool>`, runs
 * each with the same core code as the Functions path, puts the result on `minibatch-results`, and
 * deletes the message only then. It holds two tries per script process (one scoring, one fetching
 * its inputs); its script pool scores at most `process_count_per_node` of them at once (one per
 * GPU). While a try runs, its message stays hidden and its claim fresh (heartbeats); if the worker
 * dies, both lapse and another worker takes the try over.
 */
export class PoolConsumer {
  readonly id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  /** Messages being handled here: their run, and the lanes each uses (a group scores one try while the next fetches). */
  private readonly running = new Map<Promise<void>, { runId: string; lanes: number }>();
  /** Lanes the last message taken used: how many the next receive asks for is sized by it. */
  private lastLanes = 1;
  private readonly perProcessLimit = new Map<string, number>();
  private stopping = false;
  /** Settles when a run's process_count_per_node becomes known (the capacity may then grow). */
  private learned = signal();
  private wake: (() => void) | undefined;
  private lastTryEndedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly storage: Storage,
    private readonly options: ConsumerOptions,
  ) {}

  private log(line: string): void {
    (this.options.log ?? console.log)(line);
  }

  /**
   * Reaches the pool's queue (creating it locally): a worker says it takes tries only once it can,
   * and one that cannot says why (wrong account or key, no role on the queue, storage unreachable).
   */
  async connect(): Promise<QueueClient> {
    const name = poolQueue(this.options.pool);
    try {
      const queue = await queueFor(this.storage, name);
      // Creating may be refused where the worker may only use the queue; a peek needs what taking needs.
      await queue.peekMessages({ numberOfMessages: 1 });
      return queue;
    } catch (err) {
      const url = new URL(this.storage.queues.url);
      throw new ParallelRunError(
        'CONFIGURATION',
        `cannot reach queue ${name} at ${url.origin}${url.pathname}: ${errorMessage(err).split('\n')[0] ?? ''} (check AzureWebJobsStorage, or that the worker's identity has the Storage Queue Data Contributor role)`,
      );
    }
  }

  /** Takes and runs tries until `stop()`; resolves once the tries it started have ended. */
  async run(): Promise<void> {
    const queue = await this.connect();
    const beacon = this.beacon();
    let idle = IDLE_POLL_MS.min;
    while (!this.stopping) {
      if (this.lanesInUse() >= this.capacity()) {
        // A slot frees, or a run's process_count_per_node becomes known (capacity may grow).
        await Promise.race([...this.running.keys(), this.learned.promise]);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        // As many as there is room for (one request for them all). Hidden for a first short while
        // (a worker that dies before its first heartbeat gives the try back soon); the try's own
        // timing takes over once it is read.
        const got = await queue.receiveMessages({
          numberOfMessages: Math.min(
            MAX_MESSAGES_PER_RECEIVE,
            Math.max(1, Math.floor((this.capacity() - this.lanesInUse()) / this.lastLanes)),
          ),
          visibilityTimeout: FIRST_VISIBILITY_SECONDS,
        });
        messages = got.receivedMessageItems;
      } catch (err) {
        this.log(`cannot read queue ${queue.name}: ${errorMessage(err)}`);
      }
      if (messages.length > 0 && this.stopRequested()) {
        // SIGTERM came while they were being read: another replica takes them now.
        await Promise.all(
          messages.map((m) =>
            queue.updateMessage(m.messageId, m.popReceipt, undefined, 0).catch(() => undefined),
          ),
        );
        break;
      }
      if (messages.length === 0) {
        if (this.busyLately()) {
          await this.pause(BUSY_POLL_MS);
          idle = IDLE_POLL_MS.min;
        } else {
          await this.pause(idle);
          idle = Math.min(IDLE_POLL_MS.max, idle * 2);
        }
        continue;
      }
      idle = IDLE_POLL_MS.min;
      for (const message of messages) this.start(queue, message);
    }
    await Promise.allSettled(this.running.keys());
    await beacon.stop();
  }

  /**
   * Says this worker is alive every few seconds, busy or not, so a try waiting behind others is not
   * mistaken for one no worker will ever take (core/compute/claims.ts `poolHasLiveWorker`).
   */
  private beacon(): { stop(): Promise<void> } {
    const touch = () =>
      touchBeacon(this.storage, this.options.pool, this.id).catch((err: unknown) => {
        // No run was ever started on this storage (the app creates its container with the first):
        // nothing can be waiting for this worker yet.
        if (isNotFound(err)) return;
        this.log(`cannot say this worker is alive: ${errorMessage(err)}`);
      });
    void touch();
    const timer = setInterval(() => void touch(), BEACON_MS);
    return {
      stop: async () => {
        clearInterval(timer);
        await dropBeacon(this.storage, this.options.pool, this.id).catch(() => undefined);
      },
    };
  }

  /** Stops taking tries; `run()` resolves when the running ones have ended. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Read through a call: `stop()` may have come while the loop awaited. */
  private stopRequested(): boolean {
    return this.stopping;
  }

  private lanesInUse(): number {
    let lanes = 0;
    for (const { lanes: l } of this.running.values()) lanes += l;
    return lanes;
  }

  /** Messages (a try, or a group of tries) being handled here now. */
  get active(): number {
    return this.running.size;
  }

  private busyLately(): boolean {
    return this.running.size > 0 || performance.now() - this.lastTryEndedAt < BUSY_WINDOW_MS;
  }

  /**
   * One try at a time until a run's process_count_per_node is known; then two per process: one
   * scoring, one fetching its inputs behind it (its script pool scores process_count_per_node at once).
   */
  private capacity(): number {
    const limits = [...this.running.values()].map(({ runId }) => {
      const processes = this.perProcessLimit.get(runId);
      return processes === undefined ? 1 : processes * MINI_BATCHES_PER_PROCESS;
    });
    return limits.length === 0 ? 1 : Math.min(...limits);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private start(queue: QueueClient, message: DequeuedMessageItem): void {
    let runId = '';
    let lanes = 1;
    try {
      const t = readPoolTry(decodeMessage(message.messageText));
      runId = t.runId;
      lanes = Math.min(GROUP_PIPELINE, triesOf(t).length);
    } catch {
      // handle() reports it
    }
    this.lastLanes = lanes;
    const task = this.handle(queue, { message, popReceipt: message.popReceipt })
      .catch((err: unknown) => {
        // The message stays: it reappears, and after too many tries goes to the poison queue.
        this.log(`try from message ${message.messageId} not finished: ${errorMessage(err)}`);
      })
      .finally(() => {
        this.running.delete(task);
        this.lastTryEndedAt = performance.now();
        // A slot is free: look for the next try now, not when the idle pause ends.
        this.wake?.();
      });
    this.running.set(task, { runId, lanes });
  }

  private async handle(queue: QueueClient, held: Held): Promise<void> {
    let t: PoolTry;
    try {
      t = readPoolTry(decodeMessage(held.message.messageText));
    } catch (err) {
      // Nothing can ever run it: drop it, loudly.
      this.log(`dropped message ${held.message.messageId} on ${queue.name}: ${errorMessage(err)}`);
      await queue.deleteMessage(held.message.messageId, held.popReceipt);
      return;
    }
    const run = await loadRun(this.storage, t.runId).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!run) {
      // A run that does not exist (deleted, or a message not from the app): nothing can run it.
      this.log(`dropped message ${held.message.messageId} on ${queue.name}: run '${t.runId}' does not exist`);
      await queue.deleteMessage(held.message.messageId, held.popReceipt);
      return;
    }
    if (!this.perProcessLimit.has(t.runId)) {
      this.perProcessLimit.set(t.runId, run.settings.process_count_per_node);
      this.learned.resolve();
      this.learned = signal();
    }
    const tell = (what: string) => this.logTries(t, what);
    const beyond = triesOf(t).find((x) => x.attempt > run.settings.run_max_try);
    if (beyond) {
      // No shard hands out such an attempt: a forged or mixed-up message. Running it could only overwrite.
      await queue.deleteMessage(held.message.messageId, held.popReceipt);
      tell(
        `outcome=dropped (attempt ${beyond.attempt} is beyond the run's run_max_try ${run.settings.run_max_try})`,
      );
      return;
    }
    if (await runHasEnded(this.storage, t.runId)) {
      // Nobody waits for it (its shards have ended), and its parts are the run's output now: neither
      // claimed nor run. A message left behind by a canceled run, or one that is not from the app.
      await queue.deleteMessage(held.message.messageId, held.popReceipt);
      tell('outcome=dropped (its run has ended)');
      return;
    }
    const timing = tryTiming(t.deadlineSeconds);
    const claim = await claimTry(this.storage, t, this.id, timing.takeoverMs);
    if ('finished' in claim) {
      // Its worker stored the result and died before sending it (or this is a copy): send it again.
      await this.send(t, claim.finished);
      await queue.deleteMessage(held.message.messageId, held.popReceipt);
      tell('outcome=resent (it had finished; its result is sent again)');
      return;
    }
    if ('skip' in claim) {
      if (claim.skip === 'busy') {
        // Another worker holds it and answers: look again when its claim would lapse, as a fresh
        // message carrying the deliveries that counted. Hidden again instead, a copy (an activity's
        // retry enqueues one) would count a delivery each time it found the try busy, and once its
        // holder died, the first worker to take it over would poison a try only one worker died
        // under. This look is not a delivery; the ones before it were (a holder that died), and they
        // go on counting, so a try that kills every worker taking it is still poisoned.
        const seconds = Math.max(1, Math.ceil(claim.lapsesInMs / 1000));
        const counted = deliveriesOf(t, held) - 1;
        await queue.sendMessage(encodeMessage({ ...t, ...(counted > 0 ? { deliveries: counted } : {}) }), {
          visibilityTimeout: seconds,
          messageTimeToLive: -1,
        });
        await deleteIfThere(queue, held);
        tell(
          `outcome=busy (delivery ${deliveriesOf(t, held)}; another worker runs it: back on the queue in ${seconds} s)`,
        );
      } else {
        await queue.deleteMessage(held.message.messageId, held.popReceipt);
        tell('outcome=dropped (given up by its shard)');
      }
      return;
    }
    const started = performance.now();
    const heartbeat = this.keepAlive(t.runId, queue, held, claim.taken, timing);
    try {
      const poisoned = deliveriesOf(t, held) > (this.options.maxDequeueCount ?? 5);
      const options = { mayWrite: () => heartbeat.renew() };
      let result: PoolOutcome;
      try {
        if (poisoned) result = await this.poisoned(t, held);
        else if (t.tries)
          result = await executeMiniBatchGroup(
            this.storage,
            { runId: t.runId, shard: t.shard, tries: t.tries, inParallel: GROUP_PIPELINE },
            options,
          );
        else result = await executeMiniBatch(this.storage, t, options);
      } catch (err) {
        // Given up while it ran, or a mini-batch its run does not have: nothing more can come of it.
        if (!(err instanceof TryFencedError || err instanceof NotFoundError)) throw err;
        await heartbeat.stop();
        await queue.deleteMessage(held.message.messageId, held.popReceipt).catch(() => undefined);
        const why = err instanceof TryFencedError ? 'given up by its shard while it ran' : errorMessage(err);
        tell(`outcome=dropped (${why})`);
        return;
      }
      await heartbeat.stop();
      result = boundedResult(result);
      // The result goes into the claim first: if this worker dies before sending it, it is not lost.
      if (!(await finishClaim(claim.taken, result))) {
        await queue.deleteMessage(held.message.messageId, held.popReceipt).catch(() => undefined);
        tell('outcome=dropped (given up by its shard as it finished)');
        return;
      }
      await this.send(t, result);
      // Gone when its pop receipt was lost and the try, found busy, went back as a fresh message.
      await deleteIfThere(queue, held);
      this.logResults(t, result, Math.round(performance.now() - started));
    } finally {
      await heartbeat.stop();
    }
  }

  /** One line per try of the message (a group's each), as the README's worker log shows them. */
  private logTries(t: PoolTry, what: string): void {
    for (const { index, attempt } of triesOf(t))
      this.log(`try run=${t.runId} mini-batch=${index} attempt=${attempt} ${what}`);
  }

  /** One line per try: how it ended; a group's tries it stopped before, as left to the shard. */
  private logResults(t: PoolTry, outcome: PoolOutcome, durationMs: number): void {
    const results = Array.isArray(outcome) ? outcome : [outcome];
    for (const r of results) {
      const how = r.ended ? 'ended' : r.ok ? 'ok' : r.final ? 'failed' : 'failed-retry';
      this.log(
        `try run=${t.runId} mini-batch=${r.index} attempt=${r.attempt} outcome=${how} items=${r.inputs} failed=${r.failedItems} duration=${t.tries ? r.durationMs : durationMs}ms${r.error ? ` error=${JSON.stringify(r.error)}` : ''}`,
      );
    }
    for (const { index, attempt } of triesOf(t).slice(results.length))
      this.log(
        `try run=${t.runId} mini-batch=${index} attempt=${attempt} outcome=untried (its group stopped before it: the shard hands it out again)`,
      );
  }

  private async send(t: PoolTry, result: PoolOutcome): Promise<void> {
    await (
      await queueFor(this.storage, t.replyTo ?? RESULTS_QUEUE)
    ).sendMessage(encodeMessage({ ...t, result }));
  }

  /**
   * A try taken too many times (every worker that took it died under it: a crash, an OOM kill, a GPU
   * fault): it goes to the poison queue and counts as a failed try, so its items end as error lines.
   */
  private async poisoned(t: PoolTry, held: Held): Promise<PoolOutcome> {
    // First, so that the message is kept whatever follows.
    await (
      await queueFor(this.storage, poisonQueue(this.options.pool))
    ).sendMessage(held.message.messageText);
    const run = await loadRun(this.storage, t.runId);
    const results: MiniBatchResult[] = [];
    for (const { index, attempt } of triesOf(t)) {
      const names = await miniBatchItems(this.storage, t.runId, t.shard, index);
      const final = attempt >= run.settings.run_max_try;
      const error = `mini-batch ${index} (attempt ${attempt}) was taken ${deliveriesOf(t, held)} times by workers of pool "${this.options.pool}" and never finished (each worker died under it: crash, out of memory, or killed); its message is in ${poisonQueue(this.options.pool)}`;
      if (final)
        await recordLostMiniBatch(this.storage, { runId: t.runId, shard: t.shard, index, attempt, error });
      results.push({
        index,
        attempt,
        ok: false,
        final,
        inputs: names.length,
        succeeded: 0,
        failedItems: final ? names.length : 0,
        error,
        durationMs: 0,
      });
    }
    return t.tries ? results : (results[0] ?? results);
  }

  /**
   * Keeps the message hidden and the claim fresh while the try runs. Renewals of the claim run one
   * after another (each needs the ETag the last one got): `renew` is the try's own, just before it
   * writes; `stop` waits for the one under way.
   */
  private keepAlive(
    runId: string,
    queue: QueueClient,
    held: Held,
    claim: HeldClaim,
    timing: ReturnType<typeof tryTiming>,
  ): { renew(): Promise<boolean>; stop(): Promise<void> } {
    let chain: Promise<boolean> = Promise.resolve(true);
    // A renewal that failed (a storage error) must not fail every later one with it.
    const renew = (): Promise<boolean> => (chain = chain.catch(() => false).then(() => renewClaim(claim)));
    const beat = async () => {
      try {
        const renewed = await queue.updateMessage(
          held.message.messageId,
          held.popReceipt,
          undefined,
          timing.visibilitySeconds,
        );
        if (renewed.popReceipt) held.popReceipt = renewed.popReceipt;
      } catch (err) {
        // The message may be shown again (a late beat lost its pop receipt): the claim still says the
        // try is this worker's, and renewing it keeps whoever takes the message from running it again.
        this.log(`heartbeat of message ${held.message.messageId} failed: ${errorMessage(err)}`);
      }
      try {
        if (!(await renew())) this.log(`the claim of message ${held.message.messageId} was given up`);
        // A canceled run's tries end here too (the cancel reached the app, not this worker).
        if (await endedElsewhere(this.storage, runId)) await endRun(runId);
      } catch (err) {
        this.log(`claim renewal of message ${held.message.messageId} failed: ${errorMessage(err)}`);
      }
    };
    let beating = Promise.resolve();
    const beatNow = () => {
      beating = beating.then(beat);
    };
    // The message was just taken and the claim just written: the first beat comes before the
    // message would reappear, not at once (most tries end before it, and need none).
    let timer: NodeJS.Timeout = setTimeout(
      () => {
        beatNow();
        timer = setInterval(beatNow, timing.heartbeatMs);
      },
      Math.min(timing.heartbeatMs, (FIRST_VISIBILITY_SECONDS * 1000) / 2),
    );
    return {
      renew,
      stop: async () => {
        clearTimeout(timer);
        await beating;
        await chain.catch(() => false);
      },
    };
  }
}
