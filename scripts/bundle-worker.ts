/**
 * Bundles the runner's child processes (core/runner/paths.ts `BUNDLED_ENTRIES`): the scoring process
 * (`dist/core/runner/worker.js`, with the dataset readers and storage clients it loads for a
 * table's rows) and the process that names a failed table try's rows, each into `<entry>.bundle.js`,
 * sharing chunks beside them: a process then starts from a few files instead of resolving and
 * compiling over three hundred modules one by one. Measured on the tabular bench, module loading was
 * a quarter of a scoring process's CPU, about one second a process (importing the storage clients
 * alone: 0.85 s of CPU unbundled, 0.36 bundled). A process is forked from its bundle where it is not
 * older than the compiled module (`runnerEntry`), else from the module itself.
 *
 * Left out, loaded from node_modules as before: Node's own modules, @azure/identity (loaded only
 * when a managed identity asks for a token) and onnxruntime-node (native; an entry script imports
 * its own copy).
 */
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'rolldown';
import { BUNDLED_ENTRIES, bundleOf } from '../core/runner/paths.js';

const EXTERNAL = [/^node:/, /^@azure\/identity(\/|$)/, /^onnxruntime-/];

/** The bundle's chunks, beside it in `dist/core/runner`. */
const CHUNK_PREFIX = 'worker-chunk-';

/** The chunks of the last build, listed for the next one. */
const CHUNK_LIST = 'worker-chunks.json';

function chunksListed(file: string): string[] {
  try {
    const listed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(listed) ? listed.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * Builds the bundle over the last one. A chunk is loaded when first needed (the storage clients of
 * an undeclared model), possibly long after its process started: a process still running the last
 * build's bundle finds that build's chunks in place (their names hold a hash of their content), and
 * only those of the build before are removed.
 */
export async function bundleWorker(distRoot: string): Promise<string[]> {
  const dir = path.join(distRoot, 'core', 'runner');
  const listFile = path.join(dir, CHUNK_LIST);
  const previous = chunksListed(listFile);
  const { output } = await build({
    input: Object.fromEntries(
      BUNDLED_ENTRIES.map((entry) => [bundleOf(entry).replace(/\.js$/, ''), path.join(dir, `${entry}.js`)]),
    ),
    platform: 'node',
    external: EXTERNAL,
    logLevel: 'warn',
    output: {
      dir,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: `${CHUNK_PREFIX}[name]-[hash].js`,
    },
  });
  const chunks = output.map((file) => file.fileName).filter((name) => name.startsWith(CHUNK_PREFIX));
  const kept = new Set([...chunks, ...previous]);
  for (const name of await readdir(dir))
    if (name.startsWith(CHUNK_PREFIX) && !kept.has(name)) rmSync(path.join(dir, name));
  writeFileSync(listFile, `${JSON.stringify(chunks)}\n`);
  return chunks;
}

/** Run as a script (a build step), under whatever path, a link's too. */
const invoked = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invoked === realpathSync(import.meta.filename))
  await bundleWorker(path.resolve(import.meta.dirname, '..'));
