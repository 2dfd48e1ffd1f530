import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Files under `folder` of `root` (default: all of `root`), as sorted paths relative to `root` with `/`. */
export function filesUnder(root: string, folder = ''): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) found.push(child);
    }
  };
  walk(folder);
  return found.sort();
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Where Node finds package `name` from `dir`: the nearest node_modules up to the repository root. */
function locate(repoRoot: string, fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === repoRoot || path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The folders (relative to the repository root, e.g. `node_modules/@azure/functions`) of the
 * dependencies the app needs at run time: package.json `dependencies`, and theirs, transitively,
 * resolved as Node resolves them. devDependencies are never reached. A missing optional dependency
 * (another platform's binary) is skipped; a missing required one is an error naming who needs it.
 */
export function productionPackages(repoRoot: string): string[] {
  const found = new Set<string>();
  const visit = (fromDir: string, name: string, optional: boolean, neededBy: string) => {
    const dir = locate(repoRoot, fromDir, name);
    if (dir === undefined) {
      if (optional) return;
      throw new Error(`${neededBy} needs ${name}, which is not installed: run npm ci first`);
    }
    const relative = path.relative(repoRoot, dir).split(path.sep).join('/');
    if (found.has(relative)) return;
    found.add(relative);
    const manifest = readManifest(dir);
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dir, dep, false, name);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dir, dep, true, name);
  };
  const root = readManifest(repoRoot);
  for (const dep of Object.keys(root.dependencies ?? {})) visit(repoRoot, dep, false, 'package.json');
  return [...found].sort();
}
