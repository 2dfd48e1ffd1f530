import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The repository root, found by walking up from this module: the same answer whether it runs from
 * `samples/mnist/` (vitest) or compiled from `dist/samples/mnist/`.
 */
function repositoryRoot(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'samples', 'mnist'))) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no repository root above ${import.meta.dirname}`);
  }
}

/**
 * The committed model folder in the source tree (`mnist.onnx`, `model.json`), for training and
 * tests only: a deployed package has no source tree, so the entry script never asks for it.
 */
export function sourceModelDir(): string {
  return path.join(repositoryRoot(), 'samples', 'mnist', 'model');
}
