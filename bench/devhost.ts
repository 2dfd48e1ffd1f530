import path from 'node:path';
import { spawnDevHostProcess, type DevHostProcess } from '../devhost/process.js';
import { median, printTable, repoRoot, withAzurite, writeResult } from './report.js';

const SHARD = 1_000;

async function fanOut(host: DevHostProcess, n: number): Promise<number> {
  const api = `${host.baseUrl}/runtime/webhooks/durabletask`;
  const started = performance.now();
  const res = await fetch(`${api}/orchestrators/benchFanOut`, {
    method: 'POST',
    body: JSON.stringify({ n, per: SHARD }),
  });
  if (res.status !== 202) throw new Error(`start answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const status = (await (await fetch(`${api}/instances/${id}?waitForCompletionSeconds=600`)).json()) as {
    runtimeStatus: string;
    output: unknown;
  };
  const ms = performance.now() - started;
  if (status.runtimeStatus !== 'Completed' || status.output !== n) {
    throw new Error(`fan-out of ${n} ended ${status.runtimeStatus} with ${JSON.stringify(status.output)}`);
  }
  return ms;
}

/**
 * `npm run bench -- devhost`: the durable engine's cost per activity at 1,000 and 10,000 no-op
 * activities (sub-orchestrations of at most 1,000), on a devhost process against in-memory Azurite.
 */
export async function benchDevhost(): Promise<void> {
  await withAzurite(measureFanOut);
}

async function measureFanOut(storage: string): Promise<void> {
  const host = await spawnDevHostProcess({
    app: path.join(repoRoot, 'bench/apps/fanout'),
    storage,
    env: { BENCH_HUB: 'DevhostBench' },
    args: ['--log-level', 'warn'],
    echo: (line) => (line.includes('ERROR') ? console.error(line) : undefined),
  });
  try {
    await fanOut(host, 200); // warm-up: JIT, connections, containers
    const rows: [number, number, number][] = [];
    const perActivityMs: Record<string, number> = {};
    for (const n of [1_000, 10_000]) {
      const ms = median([await fanOut(host, n), await fanOut(host, n), await fanOut(host, n)]);
      perActivityMs[String(n)] = ms / n;
      rows.push([n, Math.round(ms), ms / n]);
    }
    const growth = (perActivityMs['10000'] ?? 0) / (perActivityMs['1000'] ?? 1);
    printTable(['activities', 'total ms (median of 3)', 'ms per activity'], rows);
    console.log(`\ngrowth (per-activity cost at 10,000 / at 1,000): ${growth.toFixed(3)}  (goal ≤ 1.5)`);
    const file = writeResult('devhost', { perActivityMs, growth, shardSize: SHARD });
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await host.kill();
  }
}
