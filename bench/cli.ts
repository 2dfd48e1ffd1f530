import { errorMessage } from '../devhost/errors.js';
import { benchBlobs } from './blobs.js';
import { benchDevhost } from './devhost.js';
import { benchMnist } from './mnist.js';
import { benchPool } from './pool.js';
import { benchRequests } from './requests.js';
import { benchScale } from './scale.js';
import { benchTabular } from './tabular.js';

/** Each bench gets the options given after the names (`npm run bench -- scale --items 20000`). */
const benches: Record<string, (options: string[]) => Promise<void>> = {
  blobs: benchBlobs,
  devhost: benchDevhost,
  mnist: benchMnist,
  pool: benchPool,
  requests: benchRequests,
  scale: benchScale,
  tabular: benchTabular,
};

/** Benches too long to run unasked (a million files take 15–30 minutes): they run only when named. */
const onlyByName = new Set(['scale']);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const firstOption = args.findIndex((a) => a.startsWith('--'));
  const names = firstOption === -1 ? args : args.slice(0, firstOption);
  const options = firstOption === -1 ? [] : args.slice(firstOption);
  const unknown = names.filter((n) => !(n in benches));
  if (unknown.length > 0)
    throw new Error(
      `unknown benchmark '${unknown.join(', ')}': choose from ${Object.keys(benches).join(', ')}`,
    );
  for (const name of names.length > 0 ? names : Object.keys(benches).filter((n) => !onlyByName.has(n))) {
    console.log(`\n== bench: ${name} ==`);
    await (benches[name] ?? (() => Promise.resolve()))(options);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorMessage(err)}`);
  process.exit(1);
});
