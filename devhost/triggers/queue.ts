import { QueueClient, QueueServiceClient, type DequeuedMessageItem } from '@azure/storage-queue';
import { errorMessage } from '../errors.js';
import type { Invoker } from '../invoker.js';
import type { Logger } from '../log.js';
import type { RegisteredFunction, Registry } from '../registry.js';
import type { HostSettings } from '../settings.js';
import { Backoff, connectionFor, pause, triggerSetting } from './common.js';

/** Lease taken on a message while the function runs; it is deleted or released before it ends. */
const LEASE_SECONDS = 300;

/**
 * Queue triggers as the real host runs them: poll, invoke, delete on success; on failure the message
 * becomes visible again after `visibilityTimeout`, and after `maxDequeueCount` tries it moves to `<queue>-poison`.
 */
export class QueueTriggers {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly invoker: Invoker,
    private readonly defaultConnection: string,
    private readonly settings: HostSettings['queues'],
    private readonly log: Logger,
  ) {}

  start(): void {
    for (const fn of this.registry.byTrigger('queueTrigger')) {
      try {
        const queueName = triggerSetting(fn, 'queueName').toLowerCase();
        const service = QueueServiceClient.fromConnectionString(connectionFor(fn) || this.defaultConnection);
        this.loops.push(
          this.poll(fn, service.getQueueClient(queueName), service.getQueueClient(`${queueName}-poison`)),
        );
      } catch (err) {
        this.log.error(`Queue trigger '${fn.name}' is not listening: ${errorMessage(err)}`);
      }
    }
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private async poll(fn: RegisteredFunction, queue: QueueClient, poison: QueueClient): Promise<void> {
    const signal = this.abort.signal;
    await queue.createIfNotExists();
    const backoff = new Backoff(50, this.settings.maxPollingIntervalMs);
    while (!signal.aborted) {
      let found = false;
      try {
        const { receivedMessageItems } = await queue.receiveMessages({
          numberOfMessages: this.settings.batchSize,
          visibilityTimeout: LEASE_SECONDS,
        });
        found = receivedMessageItems.length > 0;
        await Promise.all(receivedMessageItems.map((m) => this.handle(fn, queue, poison, m)));
      } catch (err) {
        if (!this.stopping)
          this.log.error(`Queue trigger '${fn.name}' could not read ${queue.name}: ${errorMessage(err)}`);
      }
      await pause(backoff.next(found), signal);
    }
  }

  private decode(text: string): string {
    if (this.settings.messageEncoding === 'none') return text;
    const bytes = Buffer.from(text, 'base64');
    if (bytes.toString('base64').replace(/=+$/, '') !== text.trim().replace(/=+$/, '')) {
      throw new Error(
        'the message is not base64, but host.json queues.messageEncoding is base64 (the default): encode it, or set messageEncoding to "none"',
      );
    }
    return bytes.toString('utf8');
  }

  private async handle(
    fn: RegisteredFunction,
    queue: QueueClient,
    poison: QueueClient,
    m: DequeuedMessageItem,
  ): Promise<void> {
    let ok = false;
    try {
      const text = this.decode(m.messageText);
      const outcome = await this.invoker.invoke(fn, parseMaybeJson(text), {
        triggerMetadata: {
          id: m.messageId,
          queueTrigger: text,
          dequeueCount: m.dequeueCount,
          insertionTime: m.insertedOn,
          expirationTime: m.expiresOn,
          nextVisibleTime: m.nextVisibleOn,
          popReceipt: m.popReceipt,
        },
        detail: `MessageId=${m.messageId}, DequeueCount=${m.dequeueCount}`,
      });
      ok = outcome.ok;
    } catch (err) {
      this.log.warn(`Queue trigger '${fn.name}' failed on message ${m.messageId}: ${errorMessage(err)}`);
    }
    if (ok) {
      await queue.deleteMessage(m.messageId, m.popReceipt);
    } else if (m.dequeueCount >= this.settings.maxDequeueCount) {
      await poison.createIfNotExists();
      await poison.sendMessage(m.messageText);
      await queue.deleteMessage(m.messageId, m.popReceipt);
      this.log.warn(
        `Message ${m.messageId} failed ${m.dequeueCount} times: moved to queue '${poison.name}'.`,
      );
    } else {
      await queue.updateMessage(
        m.messageId,
        m.popReceipt,
        undefined,
        Math.round(this.settings.visibilityTimeoutMs / 1000),
      );
    }
  }
}

/** The worker hands JSON messages to the function as objects, anything else as the string. */
function parseMaybeJson(text: string): unknown {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return text;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return text;
  }
}
