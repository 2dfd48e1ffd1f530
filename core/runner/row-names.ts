import { fork } from 'node:child_process';
import type { Materialized } from '../datasets/kind.js';
import { itemNames } from '../datasets/index.js';
import { semiSpaceMb, workerMemoryLimitMb } from './memory.js';
import type { NamedRows, ReadInWorker } from './messages.js';
import { runnerEntry } from './paths.js';

/**
 * Names without their rows: what a failed try's error lines need (`inputs` stands for the rows only
 * to be counted).
 */
function namesOnly(names: string[], missing: Materialized['missing'] = []): Materialized {
  return { inputs: names, names, missing };
}

/**
 * The items themselves as the names, as their kind names them (a byte range or row groups each,
 * without the version the manifest keeps): one error line each.
 */
export function namedWhole({ input, items }: Pick<ReadInWorker, 'input' | 'items'>): Materialized {
  return namesOnly(itemNames(input, items));
}

/**
 * The names of a failed table try's rows, for its error lines, read in a process of their own. The
 * rows are parsed from the user's bytes, and a corrupt file can end the process that parses it with
 * a fatal V8 error no try/catch sees (a Parquet page whose sizes are garbage: "Fatal JavaScript
 * invalid size error"); that process must never be the host, which serves every run. When the rows
 * cannot be read there either (that same crash, a read error, `timeoutMs` passed), each item is
 * named whole.
 */
export function rowNamesApart(read: ReadInWorker, timeoutMs: number): Promise<Materialized> {
  return new Promise((resolve) => {
    const limitMb = workerMemoryLimitMb();
    const child = fork(runnerEntry('row-names-process'), [], {
      execArgv: [`--max-old-space-size=${limitMb}`, `--max-semi-space-size=${semiSpaceMb(limitMb)}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    let settled = false;
    const settle = (named: Materialized) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(named);
    };
    const timer = setTimeout(() => settle(namedWhole(read)), timeoutMs);
    child.once('message', (answer: NamedRows) =>
      settle('error' in answer ? namedWhole(read) : namesOnly(answer.names, answer.missing)),
    );
    // 'close', not 'exit': it comes after the IPC channel closed, so after any answer the process sent.
    child.once('close', () => settle(namedWhole(read)));
    child.once('error', () => settle(namedWhole(read)));
    child.send(read);
  });
}
