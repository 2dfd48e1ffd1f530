/**
 * `npm run tutorial:azure -- --url <API_BASE_URL> --key <function key> --storage <account name>`:
 * the tutorial of `npm start`, against a deployed app. The sample (model mnist:1, 10,000 digits in
 * sampledata/mnist/) is written with your own Entra ID sign-in (`az login`; the deployment's
 * `principalId` parameter grants it blob access), never a key; the run goes through the API with the
 * function key.
 */
import { parseArgs } from 'node:util';
import { SETTING } from '../core/config/app-settings.js';
import { errorMessage } from '../devhost/errors.js';
import { ApiClient } from './client.js';
import { runTutorial } from './demo.js';
import { seedImages, seedModel } from './sample.js';

const log = (line: string) => console.log(line);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      app: { type: 'string' },
      key: { type: 'string' },
      storage: { type: 'string' },
    },
  });
  const { key, storage } = values;
  const base = apiHost(values.url, values.app);
  if (!base || !key || !storage) {
    throw new Error(
      'give --url <API_BASE_URL, a deployment output> (or --app <function app name>) --key <function key> --storage <storage account name>',
    );
  }
  // core/storage/storage.ts reads these; with no client id it signs in as you (DefaultAzureCredential).
  process.env[SETTING.storageBlobUri] = `https://${storage}.blob.core.windows.net/`;
  process.env[SETTING.storageQueueUri] = `https://${storage}.queue.core.windows.net/`;
  log('seeding the MNIST sample (model mnist:1, 10,000 images) where absent…');
  await seedModel(log);
  log(`sample ready: ${await seedImages(log)} images in sampledata/mnist/`);
  const ok = await runTutorial(new ApiClient(base, key), log);
  process.exitCode = ok ? 0 : 1;
}

/**
 * The app's address: the deployment's API_BASE_URL (`https://<host>/api`), or, from the app's name, the
 * classic host name, which an app created with a unique default host name (`<app>-<hash>.<region>-01…`) does not answer.
 */
function apiHost(url: string | undefined, app: string | undefined): string | undefined {
  if (url) return url.replace(/\/+$/, '').replace(/\/api$/, '');
  return app ? `https://${app}.azurewebsites.net` : undefined;
}

main().catch((err: unknown) => {
  console.error(`tutorial: ${errorMessage(err)}`);
  process.exitCode = 1;
});
