import type { ChildProcessWithoutNullStreams, ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

/** A child process whose output is kept line by line (devhosts, pool workers: tests, benches, demos). */
export interface WatchedProcess {
  readonly pid: number | undefined;
  readonly lines: string[];
  /** Resolves with the `count`-th line, past or future, that matches `pattern`. */
  waitForLine(pattern: RegExp, options?: { count?: number; timeoutMs?: number }): Promise<string>;
  /** Sends `signal` (SIGTERM by default; SIGKILL 10 s later if it is still there) and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

type Child = ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>;

export function watchLines(child: Child, what: string, echo?: (line: string) => void): WatchedProcess {
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const push = (line: string) => {
    lines.push(line);
    echo?.(line);
  };
  let partial = '';
  const onData = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    parts.forEach(push);
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      if (partial) push(partial);
      for (const l of listeners) l();
      resolve(code);
    }),
  );

  const waitForLine: WatchedProcess['waitForLine'] = (pattern, { count = 1, timeoutMs = 30_000 } = {}) =>
    new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const check = () => {
        const hits = lines.filter((l) => pattern.test(l));
        if (hits.length >= count) {
          cleanup();
          resolve(hits[count - 1] ?? '');
        } else if (done) {
          cleanup();
          reject(
            new Error(`${what} exited before printing ${String(pattern)}:\n${lines.slice(-40).join('\n')}`),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no line matching ${String(pattern)} (x${count}) within ${timeoutMs} ms:\n${lines.slice(-40).join('\n')}`,
          ),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    pid: child.pid,
    lines,
    waitForLine,
    exited,
    async kill(signal = 'SIGTERM') {
      if (done) return exited;
      child.kill(signal);
      // A process that does not stop within 10 s of SIGTERM is ended.
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
}
