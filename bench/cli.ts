import { errorMessage } from '../devhost/errors.js';
import { benchBlobs } from './blobs.js';
import { benchDevhost } from './devhost.js';
import { benchMnist } from './mnist.js';
import { benchPool } from './pool.js';
import { benchRequests } from './requests.js';
import { benchTabular } from './tabular.js';

const benches: Record<string, () => Promise<void>> = {
  blobs: benchBlobs,
  devhost: benchDevhost,
  mnist: benchMnist,
  pool: benchPool,
  requests: benchRequests,
  tabular: benchTabular,
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in benches));
  if (unknown.length > 0)
    throw new Error(
      `unknown benchmark '${unknown.join(', ')}': choose from ${Object.keys(benches).join(', ')}`,
    );
  for (const name of names.length > 0 ? names : Object.keys(benches)) {
    console.log(`\n== bench: ${name} ==`);
    await (benches[name] ?? (() => Promise.resolve()))();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorMessage(err)}`);
  process.exit(1);
});
