import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { removeScratch } from './scratch.js';

it('removes a scratch folder while a try still writes into it, without failing', async () => {
  const root = path.join(os.tmpdir(), `scratch-test-${process.pid}`);
  for (let i = 0; i < 200; i++) {
    mkdirSync(path.join(root, `d${i}`), { recursive: true });
    writeFileSync(path.join(root, `d${i}`, 'f'), 'x');
  }
  // What a mini-batch still downloading does: new folders and files, turn after turn.
  let writing = true;
  let n = 0;
  const write = () => {
    if (!writing) return;
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
