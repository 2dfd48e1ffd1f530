import { errorMessage } from '../errors.js';
import { containers, runPaths } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';

/**
 * What a run's entry script logged on this instance, buffered between flushes to
 * `runs/<runId>/logs/user.log` (an append blob: created once, then only appended to).
 */
export class ScriptLog {
  private readonly lines: string[] = [];
  /** Whether `logs/user.log` exists yet. */
  private created = false;

  constructor(
    private readonly storage: Storage,
    private readonly runId: string,
  ) {}

  /** One line from a worker process, stamped, also echoed to the host's console. */
  add(worker: number, level: string, text: string): void {
    const line = `${new Date().toISOString()} worker ${worker} ${level}: ${text}`;
    this.lines.push(line);
    console.log(`[${this.runId}] ${line}`);
  }

  /** Appends what was logged since the last flush; a failed append is reported, never thrown. */
  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const text = `${this.lines.splice(0).join('\n')}\n`;
    const blob = this.storage.blobs
      .getContainerClient(containers.runs)
      .getAppendBlobClient(runPaths.scriptLog(this.runId));
    try {
      if (!this.created) {
        await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' } });
        this.created = true;
      }
      await blob.appendBlock(text, Buffer.byteLength(text));
    } catch (err) {
      console.error(`[${this.runId}] could not append to logs/user.log: ${errorMessage(err)}`);
    }
  }
}
