import path from 'node:path';
import { startAzurite } from '../devhost/azurite.js';
import { errorMessage } from '../devhost/errors.js';
import { startDevHost } from '../devhost/host.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** `npm start`: embedded Azurite (data kept in .data/azurite) and the app on the devhost at :7071. */
async function main(): Promise<void> {
  const location = path.join(repoRoot, '.data', 'azurite');
  const azurite = await startAzurite({ location });
  console.log(
    `Azurite: blob :${azurite.ports.blob}, queue :${azurite.ports.queue}, table :${azurite.ports.table} (data in ${path.relative(process.cwd(), location) || '.'})`,
  );
  const port = Number(process.env.PORT ?? 7071);
  const host = await startDevHost({ appRoot: repoRoot, port, storage: azurite.connectionString });
  console.log(`Serving at ${host.baseUrl}. Ctrl-C stops.`);
  const stop = async () => {
    await host.stop();
    await azurite.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`npm start: ${errorMessage(err)}`);
  process.exit(1);
});
