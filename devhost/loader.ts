import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { DevHostError, errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { Registry, type FunctionHandler, type FunctionMetadata } from './registry.js';

interface Disposable {
  dispose(): void;
}

let activeRegistry: Registry | undefined;
let hookInstalled = false;

class CoreDisposable implements Disposable {
  constructor(private readonly onDispose: () => void) {}
  static from(...items: Disposable[]): CoreDisposable {
    return new CoreDisposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.onDispose();
  }
}

/** The `@azure/functions-core` module the Azure Node worker provides to app code, backed by a Registry. */
function createCoreApi(): object {
  let programmingModel: unknown;
  const registry = (): Registry => {
    if (!activeRegistry) throw new Error('devhost: no app is being loaded');
    return activeRegistry;
  };
  return {
    version: '3.10.1',
    hostVersion: '4.1037.0',
    Disposable: CoreDisposable,
    setProgrammingModel: (model: unknown) => (programmingModel = model),
    getProgrammingModel: () => programmingModel,
    registerFunction: (metadata: FunctionMetadata, handler: FunctionHandler) => {
      registry().add(metadata, handler);
      return new CoreDisposable(() => undefined);
    },
    registerHook: (name: string, callback: (context: unknown) => unknown) => {
      const hooks = registry().hooks;
      const list = hooks.get(name) ?? [];
      list.push(callback);
      hooks.set(name, list);
      return new CoreDisposable(() => list.splice(list.indexOf(callback), 1));
    },
    log: (level: string, category: string, message: string) => {
      if (level === 'error' || level === 'warning') process.stderr.write(`[${category}] ${message}\n`);
    },
  };
}

/**
 * Makes `require('@azure/functions-core')` answer with our core API, as the real worker does.
 * It must happen before @azure/functions first looks the module up: it caches a miss for good.
 */
function installCoreModuleHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  const coreApi = createCoreApi();
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  const original = proto.require;
  proto.require = function (this: unknown, id: string): unknown {
    return id === '@azure/functions-core' ? coreApi : original.call(this, id);
  };
}

export interface LoadedApp {
  registry: Registry;
  files: string[];
  failures: { file: string; message: string }[];
}

function readMainGlob(appRoot: string): string {
  const file = path.join(appRoot, 'package.json');
  let pkg: { main?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8')) as { main?: unknown };
  } catch (err) {
    throw new DevHostError('APP_MAIN_NOT_FOUND', `cannot read ${file}: ${errorMessage(err)}`);
  }
  if (typeof pkg.main !== 'string' || pkg.main.trim() === '') {
    throw new DevHostError(
      'APP_MAIN_NOT_FOUND',
      `${file} has no "main": set it to the glob of your compiled functions, e.g. "dist/functions/**/*.js".`,
    );
  }
  return pkg.main;
}

/** Imports every file matched by package.json `main`, as the Azure worker does, capturing registrations. */
export async function loadApp(appRoot: string, log: Logger): Promise<LoadedApp> {
  installCoreModuleHook();
  const registry = new Registry();
  const main = readMainGlob(appRoot);
  const files = (await glob(main, { cwd: appRoot, absolute: true, onlyFiles: true })).sort();
  if (files.length === 0) {
    throw new DevHostError(
      'APP_MAIN_EMPTY',
      `package.json "main" is '${main}', which matches no file under ${appRoot}: did you run the build?`,
    );
  }
  const failures: LoadedApp['failures'] = [];
  activeRegistry = registry;
  try {
    for (const file of files) {
      try {
        await import(pathToFileURL(file).href);
      } catch (err) {
        const message = errorMessage(err);
        failures.push({ file, message });
        log.error(`Worker failed to load function file ${path.relative(appRoot, file)}: ${message}`);
      }
    }
  } finally {
    activeRegistry = undefined;
  }
  return { registry, files, failures };
}
