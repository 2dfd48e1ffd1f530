import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectionStringFor, type Azurite, type AzuritePorts } from '../devhost/azurite.js';

/** What one request did, coarsely: enough to see where a run's storage traffic goes. */
function requestKind(service: keyof AzuritePorts, method: string, url: string): string {
  const query = new URL(url, 'http://x').searchParams;
  const comp = query.get('comp');
  if (service === 'blob') {
    if (comp === 'list') return 'blob list';
    if (comp === 'block' || comp === 'blocklist' || comp === 'appendblock') return `blob ${comp}`;
    if (method === 'GET') return 'blob download';
    if (method === 'HEAD') return 'blob properties';
    if (method === 'PUT') return 'blob upload';
    if (method === 'DELETE') return 'blob delete';
  }
  return `${service} ${method.toLowerCase()}`;
}

export interface RequestCounter {
  /** A connection string that sends everything through the counter. */
  readonly connectionString: string;
  /** Counts since the last reset, by kind. */
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * A pass-through proxy in front of each Azurite service that counts requests: what a run costs in
 * storage transactions (each one a round trip, and in Azure a billed transaction), whoever made them —
 * the app, the durable store, the SDKs' retries.
 */
export async function countRequests(azurite: Azurite): Promise<RequestCounter> {
  let counts: Record<string, number> = {};
  const servers: http.Server[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const listen = async (service: keyof AzuritePorts): Promise<number> => {
    const server = http.createServer((req, res) => {
      const kind = requestKind(service, req.method ?? 'GET', req.url ?? '/');
      counts[kind] = (counts[kind] ?? 0) + 1;
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: azurite.ports[service],
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const ports: AzuritePorts = {
    blob: await listen('blob'),
    queue: await listen('queue'),
    table: await listen('table'),
  };
  return {
    connectionString: connectionStringFor(ports),
    counts: () => ({ ...counts }),
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => {
      counts = {};
    },
    stop: async () => {
      agent.destroy();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
