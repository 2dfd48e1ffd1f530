import { errorMessage } from '../errors.js';
import { containers, runPaths } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';

/** The most one Append Block may carry (4 MiB on every service version). */
const MAX_APPEND_BYTES = 4 * 1024 * 1024;
/**
 * The most held between two flushes: a script printing a million lines in one try held them all in
 * the host (700 MB more), and then failed to append them in one block, losing them all.
 */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * What a run's entry script logged on this instance, buffered between flushes to
 * `runs/<runId>/logs/user.log` (an append blob: created once, then only appended to).
 */
export class ScriptLog {
  private lines: string[] = [];
  private bytes = 0;
  /** Lines past MAX_BUFFERED_BYTES since the last flush: counted, not kept. */
  private dropped = 0;
  /** Whether `logs/user.log` exists yet. */
  private created = false;

  constructor(
    private readonly storage: Storage,
    private readonly runId: string,
  ) {}

  /** One line from a worker process, stamped, also echoed to the host's console. */
  add(worker: number, level: string, text: string): void {
    const line = `${new Date().toISOString()} worker ${worker} ${level}: ${text}`;
    console.log(`[${this.runId}] ${line}`);
    if (this.bytes > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line) + 1;
  }

  /** Appends what was logged since the last flush, in blocks; a failed append is reported, never thrown. */
  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const lines = this.lines;
    if (this.dropped > 0)
      lines.push(
        `${new Date().toISOString()} parallel-run: ${this.dropped} more lines were printed and not kept (over ${MAX_BUFFERED_BYTES / 1024 / 1024} MiB between two writes of this log)`,
      );
    this.lines = [];
    this.bytes = 0;
    this.dropped = 0;
    const blob = this.storage.blobs
      .getContainerClient(containers.runs)
      .getAppendBlobClient(runPaths.scriptLog(this.runId));
    try {
      if (!this.created) {
        await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' } });
        this.created = true;
      }
      for (const block of blocksOf(lines)) await blob.appendBlock(block, block.length);
    } catch (err) {
      console.error(`[${this.runId}] could not append to logs/user.log: ${errorMessage(err)}`);
    }
  }
}

/**
 * The lines as blocks of whole lines, each at most MAX_APPEND_BYTES. A line is never longer than one
 * block: the pool keeps 16 KB of a printed or logged line (MAX_LINE_CHARS).
 */
function* blocksOf(lines: string[]): Generator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for (const line of lines) {
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    if (size + bytes.length > MAX_APPEND_BYTES) {
      yield Buffer.concat(parts);
      parts = [];
      size = 0;
    }
    parts.push(bytes);
    size += bytes.length;
  }
  if (parts.length > 0) yield Buffer.concat(parts);
}
