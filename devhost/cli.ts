#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startAzurite, type Azurite } from './azurite.js';
import { errorMessage } from './errors.js';
import { startDevHost } from './host.js';
import { parseLogLevel } from './log.js';

const usage = `Usage: devhost [--app <dir>] [--port <n>] [--bind <addr>] [--storage <connection string>]
               [--azurite <data dir> | --azurite-memory] [--log-level error|warn|info|debug]
               [--local-settings <file>] [--hub <task hub name>]

Runs an Azure Functions (Node, v4 model) app locally: HTTP, queue and blob triggers, and Durable
Functions, against Azurite. --azurite starts an embedded Azurite keeping data in <data dir>.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string', default: '.' },
      port: { type: 'string' },
      bind: { type: 'string' },
      storage: { type: 'string' },
      azurite: { type: 'string' },
      'azurite-memory': { type: 'boolean' },
      'log-level': { type: 'string' },
      'local-settings': { type: 'string' },
      hub: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`--port '${values.port ?? ''}' is not a port number (0 to 65535)`);
  }
  let azurite: Azurite | undefined;
  if (values.azurite !== undefined || values['azurite-memory']) {
    azurite = await startAzurite(values.azurite ? { location: path.resolve(values.azurite) } : {});
  }
  const host = await startDevHost({
    appRoot: values.app,
    ...(port === undefined ? {} : { port }),
    ...(values.bind ? { bind: values.bind } : {}),
    ...(azurite ? { storage: azurite.connectionString } : values.storage ? { storage: values.storage } : {}),
    logLevel: parseLogLevel(values['log-level']),
    ...(values.hub ? { hubName: values.hub } : {}),
    ...(values['local-settings'] ? { localSettingsFile: path.resolve(values['local-settings']) } : {}),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await host.stop();
    await azurite?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`devhost: ${errorMessage(err)}`);
  process.exit(1);
});
