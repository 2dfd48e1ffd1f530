/**
 * `npm run package`: the deployable Function App, staged in `.package/app/` (what `azd deploy` uploads,
 * azure.yaml `dist`) and zipped as `.package/parallel-run.zip` (for `az functionapp deployment source
 * config-zip`, or any other one-deploy). It holds host.json, a production package.json, the compiled
 * app (no tests, devhost, bench or tooling) and the production dependencies, taken from node_modules
 * offline: nothing is downloaded. onnxruntime-node keeps only its linux-x64 binaries, what Azure runs.
 */
import { cpSync, createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import yazl from 'yazl';
import { filesUnder, productionPackages } from './package-files.js';

/** The compiled app: what package.json `main` loads, and the deployed scripts folder (`PARALLEL_RUN_SCRIPTS`'s default). */
const APP_FOLDERS = [
  'dist/core',
  'dist/functions',
  'dist/orchestrations',
  'dist/samples/scripts',
  // The status page's files, read at run time from functions/ui (functions/api/ui.ts): not compiled.
  'functions/ui',
];

/** Source maps point at .ts files the package does not carry; tests are never deployed. */
const LEFT_OUT = /(\.map|\.d\.ts|\.test\.js)$/;

/** Dependencies' source maps, TypeScript sources and declarations: never loaded at run time, and most of @azure's weight. */
const DEPENDENCY_LEFT_OUT = /\.(map|ts|cts|mts)$/;

/** onnxruntime-node ships binaries for every platform (darwin, win32, linux arm64: 245 MB); Azure runs linux-x64. */
const OTHER_PLATFORMS = /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/(?!linux\/x64(\/|$))[^/]+\/[^/]+/;

/** Fixed times make the same inputs give the same zip. */
const FIXED_TIME = new Date('2026-01-01T00:00:00Z');

export interface Package {
  stage: string;
  zip: string;
  files: number;
  bytes: number;
}

export async function buildPackage(repoRoot: string, outDir: string): Promise<Package> {
  const stage = path.join(outDir, 'app');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  cpSync(path.join(repoRoot, 'host.json'), path.join(stage, 'host.json'));
  writeFileSync(path.join(stage, 'package.json'), productionManifest(repoRoot));
  // azd zips the staged folder again; with an ignore file of its own it keeps node_modules.
  writeFileSync(path.join(stage, '.funcignore'), '# scripts/package.ts chose every file here\n*.zip\n');
  for (const folder of APP_FOLDERS) copyTree(repoRoot, folder, stage, (f) => !LEFT_OUT.test(f));
  for (const dir of productionPackages(repoRoot)) {
    const own = (f: string) => !f.startsWith(`${dir}/node_modules/`);
    copyTree(repoRoot, dir, stage, (f) => own(f) && !DEPENDENCY_LEFT_OUT.test(f) && !OTHER_PLATFORMS.test(f));
  }
  const zip = path.join(outDir, 'parallel-run.zip');
  const files = filesUnder(stage);
  await writeZip(stage, files, zip);
  return { stage, zip, files: files.length, bytes: statSync(zip).size };
}

/** package.json as Azure needs it: what to load (`main`), ESM, the Node versions, the dependencies. */
function productionManifest(repoRoot: string): string {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const keep = ['name', 'version', 'private', 'description', 'type', 'main', 'engines', 'dependencies'];
  const manifest = Object.fromEntries(keep.filter((k) => k in pkg).map((k) => [k, pkg[k]]));
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Copies the files under `folder` (relative to `from`) that `keep` accepts (given their relative paths). */
function copyTree(from: string, folder: string, to: string, keep: (relative: string) => boolean): void {
  for (const relative of filesUnder(from, folder)) {
    if (!keep(relative)) continue;
    mkdirSync(path.dirname(path.join(to, relative)), { recursive: true });
    cpSync(path.join(from, relative), path.join(to, relative));
  }
}

async function writeZip(stage: string, files: readonly string[], zipPath: string): Promise<void> {
  const zip = new yazl.ZipFile();
  const out = createWriteStream(zipPath);
  zip.outputStream.pipe(out);
  for (const relative of files) {
    const { mode } = statSync(path.join(stage, relative));
    zip.addFile(path.join(stage, relative), relative, { mtime: FIXED_TIME, mode });
  }
  zip.end();
  await finished(out);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: '.package' } } });
  const repoRoot = path.resolve(import.meta.dirname, '../..');
  const built = await buildPackage(repoRoot, path.resolve(values.out));
  const mb = (built.bytes / 2 ** 20).toFixed(1);
  console.log(`${built.zip}: ${built.files} files, ${mb} MB (staged in ${built.stage})`);
}

if (process.argv[1] === import.meta.filename) {
  main().catch((err: unknown) => {
    console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
