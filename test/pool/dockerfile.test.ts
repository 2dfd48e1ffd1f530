import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/devhost.js';

/**
 * No Docker engine here: the worker's Dockerfile is checked by reading it. `npm test` builds dist/
 * before vitest runs, so the compiled paths it copies are there to check.
 */
const dockerfile = readFileSync(path.join(repoRoot, 'worker/Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const copies = instructions
  .filter((l) => l.startsWith('COPY '))
  .map((l) => {
    const words = l.split(/\s+/).slice(1);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), line: l };
  });
const stages = instructions.filter((l) => l.startsWith('FROM '));
const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1) ?? ''));

/** Relative imports of a compiled module, followed through the tree: every file it needs at run time. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    // Comment lines left out: a bundle keeps its libraries' comments, examples of imports among them.
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\/?\*)/.test(line))
      .join('\n');
    for (const m of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      visit(path.resolve(path.dirname(file), m[1] ?? ''));
    }
  };
  visit(entry);
  return seen;
}

describe('worker/Dockerfile', () => {
  it('copies only paths that exist: sources from the repository, compiled files from the build', () => {
    for (const copy of copies) {
      for (const source of copy.sources) {
        if (copy.from === 'deps' || source.startsWith('/usr/')) continue;
        const local = copy.from === 'build' ? source.replace(/^\/app\//, '') : source;
        expect(existsSync(path.join(repoRoot, local)), copy.line).toBe(true);
      }
    }
  });

  it('sends the builder only what it copies from the repository (.dockerignore)', () => {
    const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // Everything is left out, then what the Dockerfile copies from the context is let in again.
    expect(ignore[0]).toBe('*');
    const letIn = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    const fromContext = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect([...new Set(fromContext)].sort()).toEqual([...letIn].sort());
  });

  it("runs the worker's compiled main as a non-root user on a CUDA 12 + cuDNN 9 runtime", () => {
    expect(stages.at(-1)).toMatch(/^FROM nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/);
    expect(runtime.find((l) => l.startsWith('ENTRYPOINT'))).toBe(
      'ENTRYPOINT ["node", "dist/worker/main.js"]',
    );
    expect(existsSync(path.join(repoRoot, 'dist/worker/main.js'))).toBe(true);
    const user = runtime.findLast((l) => l.startsWith('USER '))?.split(/\s+/)[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime.some((l) => l.includes('PARALLEL_RUN_EXECUTION_PROVIDERS=cuda,cpu'))).toBe(true);
  });

  it('installs production dependencies with the CUDA 12 provider of onnxruntime-node, on Node 20 or 22', () => {
    const deps = instructions.slice(instructions.findIndex((l) => /^FROM .* AS deps$/.test(l)));
    const install = deps.findIndex((l) => l.startsWith('RUN npm ci'));
    expect(deps[install]).toBe('RUN npm ci --omit=dev');
    expect(deps.slice(0, install)).toContain('ENV ONNXRUNTIME_NODE_INSTALL=cuda12');
    // The repository's .npmrc says skip: it must not reach that stage.
    expect(copies.filter((c) => deps.includes(c.line)).flatMap((c) => c.sources)).not.toContain('.npmrc');
    expect(instructions[0]).toMatch(/^ARG NODE_VERSION=(20|22)$/);
  });

  it('builds the bundle the pool forks for a scoring process, after compiling', () => {
    const build = instructions.slice(
      0,
      instructions.findIndex((l) => /^FROM .* AS deps$/.test(l)),
    );
    expect(build.filter((l) => l.startsWith('RUN ') && l.includes('tsc -p tsconfig.build.json'))).toEqual([
      'RUN npx tsc -p tsconfig.build.json && node dist/scripts/bundle-worker.js',
    ]);
  });

  it('copies every compiled file the worker and its script processes load', () => {
    const copied = copies
      .filter((c) => c.from === 'build')
      .flatMap((c) => c.sources.map((s) => path.join(repoRoot, s.replace(/^\/app\//, ''))));
    const needed = new Set([
      ...closure(path.join(repoRoot, 'dist/worker/main.js')),
      ...closure(path.join(repoRoot, 'dist/core/runner/worker.js')),
      ...closure(path.join(repoRoot, 'dist/core/runner/worker.bundle.js')),
    ]);
    const missing = [...needed].filter((f) => !copied.some((dir) => f.startsWith(`${dir}${path.sep}`)));
    expect(missing).toEqual([]);
  });
});
