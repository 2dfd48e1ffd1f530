import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processRunScratch, runScratch } from './paths.js';
import { removeRunScratch, removeScratch, removeTryFolder } from './scratch.js';

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

describe("a try's download folder", () => {
  const files = (dir: string, names: string[]) =>
    names.map((n) => {
      const file = path.join(dir, n);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, n);
      return file;
    });

  it('goes with the files the try fetched, and with whatever else the script or nested names left in it', () => {
    const temp = mkdtempSync(path.join(os.tmpdir(), 'try-folder-'));
    try {
      const plain = path.join(temp, 'plain');
      removeTryFolder(plain, files(plain, ['a.png', 'b.png']));
      const nested = path.join(temp, 'nested');
      removeTryFolder(nested, files(nested, ['x/a.png', 'x/y/b.png']));
      const leftBehind = path.join(temp, 'left');
      const fetched = files(leftBehind, ['a.png']);
      files(leftBehind, ['script-temp.txt']);
      removeTryFolder(leftBehind, fetched);
      // A file that went during the try (the script removed it): the rest still goes.
      const gone = path.join(temp, 'gone');
      const fetchedGone = files(gone, ['a.png', 'b.png']);
      rmSync(fetchedGone[0] ?? '');
      removeTryFolder(gone, fetchedGone);
      // Nothing fetched (every download failed), or no folder at all (a table's try).
      const empty = path.join(temp, 'empty');
      mkdirSync(empty);
      removeTryFolder(empty, [undefined]);
      removeTryFolder(path.join(temp, 'never-made'));
      expect(readdirSync(temp)).toEqual([]);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('never unlinks through a folder in it that the script made a link to another one', () => {
    const temp = mkdtempSync(path.join(os.tmpdir(), 'try-folder-'));
    try {
      const outside = files(path.join(temp, 'outside'), ['a.png']);
      const dir = path.join(temp, 'try');
      mkdirSync(dir);
      symlinkSync(path.join(temp, 'outside'), path.join(dir, 'x'));
      removeTryFolder(dir, [path.join(dir, 'x', 'a.png')]);
      expect(existsSync(outside[0] ?? '')).toBe(true);
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it("never touches a fetched path outside it: a local dataset's own files", () => {
    const temp = mkdtempSync(path.join(os.tmpdir(), 'try-folder-'));
    try {
      const own = files(path.join(temp, 'dataset'), ['a.png', 'b.png']);
      // A sibling whose name starts with the folder's is outside it too.
      const sibling = files(path.join(temp, 'try-1x'), ['c.png']);
      const dir = path.join(temp, 'try-1');
      mkdirSync(dir);
      removeTryFolder(dir, [...own, ...sibling]);
      expect([...own, ...sibling].map((f) => existsSync(f))).toEqual([true, true, true]);
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
