import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { forgetAzurite, recordAzurite, awaitLeftoverAzurite } from './azurite-lifetime.js';
import { endsWithItsParent } from './ends-with-parent.js';
import { DevHostError } from './errors.js';

/** Azurite's well-known development account (public, documented by Microsoft; never a secret). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}

export interface AzuriteOptions {
  /** Folder for persistent data; omitted means in-memory (tests). */
  location?: string;
  /** Fixed ports; omitted means free ports chosen now. */
  ports?: Partial<AzuritePorts>;
  host?: string;
  startTimeoutMs?: number;
}

export interface Azurite {
  readonly ports: AzuritePorts;
  /** Its process, for benchmarks that read its CPU time. */
  readonly pid: number | undefined;
  readonly connectionString: string;
  stop(): Promise<void>;
}

export function connectionStringFor(ports: AzuritePorts, host = '127.0.0.1'): string {
  const base = `http://${host}`;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${base}:${ports.blob}/${DEV_ACCOUNT}`,
    `QueueEndpoint=${base}:${ports.queue}/${DEV_ACCOUNT}`,
    `TableEndpoint=${base}:${ports.table}/${DEV_ACCOUNT}`,
  ].join(';');
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the free port'));
      });
    });
  });
}

export async function isPortInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function azuriteCli(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
}

/** Starts Azurite through its CLI and resolves once blob, queue and table all accept connections. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const host = options.host ?? '127.0.0.1';
  const ports: AzuritePorts = {
    blob: options.ports?.blob ?? (await freePort(host)),
    queue: options.ports?.queue ?? (await freePort(host)),
    table: options.ports?.table ?? (await freePort(host)),
  };
  for (const [service, port] of Object.entries(ports) as [keyof AzuritePorts, number][]) {
    if (await isPortInUse(port, host)) {
      throw new DevHostError(
        'PORT_IN_USE',
        `Azurite ${service} port ${port} is already in use on ${host}: stop what listens there or choose another port.`,
      );
    }
  }
  const args = [
    azuriteCli(),
    '--silent',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--loose',
    '--disableTelemetry',
    '--blobHost',
    host,
    '--queueHost',
    host,
    '--tableHost',
    host,
    '--blobPort',
    String(ports.blob),
    '--queuePort',
    String(ports.queue),
    '--tablePort',
    String(ports.table),
  ];
  const location = options.location;
  if (location) {
    mkdirSync(location, { recursive: true });
    await awaitLeftoverAzurite(location);
    args.push('--location', location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawn(process.execPath, [...endsWithItsParent(), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (location) recordAzurite(location, child.pid);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 50) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  try {
    await waitUntilListening(child, ports, host, options.startTimeoutMs ?? 30_000, output);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    ports,
    connectionString: connectionStringFor(ports, host),
    pid: child.pid,
    stop: async () => {
      await stopChild(child);
      if (location) forgetAzurite(location);
    },
  };
}

async function waitUntilListening(
  child: ChildProcess,
  ports: AzuritePorts,
  host: string,
  timeoutMs: number,
  output: string[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state: { exitCode?: number } = {};
  child.once('exit', (code) => (state.exitCode = code ?? -1));
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    if (state.exitCode !== undefined) {
      throw new DevHostError(
        'AZURITE_FAILED',
        `Azurite exited (code ${state.exitCode}) while starting:\n${output.join('')}`,
      );
    }
    const up = await Promise.all(Object.values(ports).map((p: number) => isPortInUse(p, host)));
    if (up.every(Boolean)) return;
    if (Date.now() > deadline) {
      throw new DevHostError(
        'AZURITE_FAILED',
        `Azurite did not answer within ${timeoutMs} ms:\n${output.join('')}`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
