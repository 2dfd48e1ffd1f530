import { existsSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { init, parse } from 'es-module-lexer';

/** Files followed at most: a script's own imports, not a bundled library's thousand modules. */
const MAX_FILES = 2_000;

/** What Node's loader may have been asked for: the file itself, or what require() tries for an extensionless name. */
const CANDIDATES = ['', '.js', '.json', '.node', '/index.js', '/index.json'];

/** `require('./x')` and `require("../y.cjs")` in CommonJS source, which the ES module lexer does not read. */
const REQUIRE = /\brequire\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*\)/g;

function resolved(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  for (const suffix of CANDIDATES) {
    const file = `${base}${suffix}`;
    // Where Node loads it from: a helper shared by a symbolic link is hashed (and its own imports
    // resolved) at its real path, as the loader does.
    if (existsSync(file) && statSync(file).isFile()) return realpathSync(file);
  }
  return undefined;
}

/** The relative specifiers a module names: static imports and re-exports, `import('…')` of a literal, `require('…')`. */
async function relativeSpecifiers(file: string): Promise<string[]> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const found = [...source.matchAll(REQUIRE)].map((m) => m[2] ?? '');
  try {
    await init;
    const [imports] = parse(source, file);
    for (const spec of imports) if (spec.n?.startsWith('.')) found.push(spec.n);
  } catch {
    // Not an ES module the lexer reads (CommonJS, or a syntax error): its require() calls still count.
  }
  return found;
}

/**
 * Every file `entry` reaches through relative imports, itself included, as real absolute paths: what
 * the entry script runs besides its packages; `complete` false when there were more than MAX_FILES. A specifier computed at run time cannot be followed; a
 * package (a bare specifier) is the deployment's, not the script's.
 */
export async function localImports(entry: string): Promise<{ files: string[]; complete: boolean }> {
  const start = realpathSync(entry);
  const seen = new Set<string>([start]);
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.size >= MAX_FILES) return { files: [...seen], complete: false };
    for (const specifier of await relativeSpecifiers(file)) {
      const target = resolved(file, specifier);
      if (target === undefined || seen.has(target)) continue;
      seen.add(target);
      queue.push(target);
    }
  }
  return { files: [...seen], complete: true };
}
