import { errorMessage } from '../errors.js';
import type { NamedRows, ReadInWorker } from './messages.js';
import { reader } from './worker-read.js';

/**
 * A short-lived process that reads a failed table try's rows only to name them for its error lines
 * (core/runner/row-names.ts), then exits. It builds its storage clients from its environment, as a
 * pool process does.
 */
if (!process.send) throw new Error('the row-naming process must run as a child process with an IPC channel');

// The host went away: nobody waits for the answer.
process.on('disconnect', () => process.exit(0));

async function nameRows(call: ReadInWorker): Promise<NamedRows> {
  try {
    // Read as columns: only the names are wanted, and no object is built per row (a mini-batch too
    // big for row objects is still named row by row). The names are the same in either view.
    const read = await (await reader()).read(call, 'columns');
    return { names: [...read.names], missing: read.missing };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

process.once('message', (call: ReadInWorker) => {
  void nameRows(call).then((answer) => process.send?.(answer, () => process.exit(0)));
});
