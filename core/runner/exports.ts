import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { init, parse } from 'es-module-lexer';

/** Re-exports followed this deep at most (`export * from './impl.js'` chains). */
const MAX_DEPTH = 8;

/**
 * Whether the ES module at `file` exports `name`, read from its source without running it: `true`,
 * `false`, or `undefined` when the source cannot tell (a re-export from a package, or source the
 * lexer cannot read): then only loading it will.
 */
export async function exportsName(file: string, name: string, depth = 0): Promise<boolean | undefined> {
  if (depth > MAX_DEPTH) return undefined;
  await init;
  let source: string;
  let imports: ReturnType<typeof parse>[0];
  let exports: ReturnType<typeof parse>[1];
  try {
    source = await readFile(file, 'utf8');
    [imports, exports] = parse(source, file);
  } catch {
    return undefined;
  }
  if (exports.some((e) => e.n === name)) return true;
  let unknown = false;
  for (const spec of imports) {
    if (!/^export\s*\*\s*from/.test(source.slice(spec.ss, spec.se))) continue;
    if (!spec.n?.startsWith('.')) {
      unknown = true;
      continue;
    }
    const found = await exportsName(path.resolve(path.dirname(file), spec.n), name, depth + 1);
    if (found) return true;
    if (found === undefined) unknown = true;
  }
  return unknown ? undefined : false;
}
