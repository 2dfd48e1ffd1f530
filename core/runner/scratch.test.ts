import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { processRunScratch, runScratch } from './paths.js';
import { removeRunScratch, removeScratch } from './scratch.js';

it('removes a scratch folder while a try still writes into it, without failing', async () => {
  const root = path.join(os.tmpdir(), `scratch-test-${process.pid}`);
  for (let i = 0; i < 200; i++) {
    mkdirSync(path.join(root, `d${i}`), { recursive: true });
    writeFileSync(path.join(root, `d${i}`, 'f'), 'x');
  }
  // What a mini-batch still downloading does: new folders and files, turn after turn, for a while (a
  // writer with no end, on a busy machine, could outpace the remove for ever: no download does).
  let writing = true;
  let n = 0;
  const write = () => {
    if (!writing || n >= 2_000) return;
    try {
      mkdirSync(path.join(root, `w${n}`), { recursive: true });
      writeFileSync(path.join(root, `w${n++}`, 'f'), 'x');
    } catch {
      // The remove got there first.
    }
    setImmediate(write);
  };
  write();
  await expect(removeScratch(root)).resolves.toBeUndefined();
  writing = false;
  await removeScratch(root);
  expect(existsSync(root)).toBe(false);
});

it("removes this process's folder of a run, never another process's or a try's", async () => {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'scratch-run-'));
  const before = process.env.PARALLEL_RUN_TEMP;
  process.env.PARALLEL_RUN_TEMP = temp;
  try {
    const run = 'run-1';
    const mine = path.join(processRunScratch(run), 'side', 'labels.txt');
    // A second worker on this machine: its side inputs, and a try of its own downloading.
    const theirs = path.join(runScratch(run), 'process-1-abcdef01', 'side', 'labels.txt');
    const theirTry = path.join(runScratch(run), '3-1-a-try', 'a.txt');
    for (const file of [mine, theirs, theirTry]) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'x');
    }
    await removeRunScratch(run);
    expect([mine, theirs, theirTry].map((f) => existsSync(f))).toEqual([false, true, true]);
    // Once the others have gone too, the run's folder goes with the last.
    rmSync(path.dirname(path.dirname(theirs)), { recursive: true });
    rmSync(path.dirname(theirTry), { recursive: true });
    await removeRunScratch(run);
    expect(existsSync(runScratch(run))).toBe(false);
  } finally {
    if (before === undefined) delete process.env.PARALLEL_RUN_TEMP;
    else process.env.PARALLEL_RUN_TEMP = before;
    rmSync(temp, { recursive: true, force: true });
  }
});
