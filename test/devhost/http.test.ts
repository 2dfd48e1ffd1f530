import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, repoRoot, spawnDevHost, type DevHostProcess } from '../support/devhost.js';

let host: DevHostProcess;

beforeAll(async () => {
  host = await spawnDevHost({ storage: inject('storage') });
});

afterAll(async () => {
  await host.kill();
});

describe('HTTP triggers', () => {
  it('lists the routes at start, like func start', () => {
    expect(
      host.lines.some((l) => l.includes(`echo: [GET,POST,PUT] http://localhost:${host.port}/api/echo/{id?}`)),
    ).toBe(true);
  });

  it('passes method, route params, query, headers and body, and converts an HttpResponse', async () => {
    const reply = await call(host.baseUrl, 'PUT', '/api/echo/42?q=search&status=201', 'raw body', {
      'x-test': 'hdr',
    });
    expect(reply.status).toBe(201);
    expect(reply.headers.get('x-echo')).toBe('yes');
    expect(reply.headers.get('content-type')).toContain('application/json');
    expect(reply.body).toEqual({ method: 'PUT', id: '42', q: 'search', body: 'raw body', header: 'hdr' });
  });

  it('matches an optional route parameter when it is absent', async () => {
    const reply = await call(host.baseUrl, 'GET', '/api/echo');
    expect(reply.body).toMatchObject({ method: 'GET', id: null });
  });

  it('converts a plain response object', async () => {
    const reply = await call(host.baseUrl, 'GET', '/api/plain');
    expect(reply.text).toBe('plain text');
    expect(reply.headers.get('content-type')).toBe('text/plain');
  });

  it('passes context.log through to the host log', async () => {
    await call(host.baseUrl, 'POST', '/api/echo/logged', '{}');
    await host.waitForLine(/\[echo\] echo POST/);
    await host.waitForLine(/Executed 'Functions\.echo' \(Succeeded, Id=[0-9a-f-]+, Duration=\d+ms\)/);
  });

  it('answers 404 for an unknown route and 405 for a method the route does not take', async () => {
    const missing = await call(host.baseUrl, 'GET', '/api/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: { code: 'NOT_FOUND', message: 'No function is listening at GET /api/nowhere.' },
    });
    const wrong = await call(host.baseUrl, 'DELETE', '/api/echo/1');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST, PUT');
  });

  it('answers 500 without a stack trace when a function throws, and logs why', async () => {
    const reply = await call(host.baseUrl, 'GET', '/api/throws');
    expect(reply.status).toBe(500);
    expect(reply.text).not.toContain('handler failed on purpose');
    expect(reply.text).toContain('see the host log');
    await host.waitForLine(/Executed 'Functions\.throws' \(Failed.*handler failed on purpose/);
  });

  it('is anonymous when no keys are configured, as Core Tools is', async () => {
    expect((await call(host.baseUrl, 'GET', '/api/secure')).status).toBe(200);
  });

  it('names a function module that failed at import and keeps serving the rest', () => {
    expect(
      host.lines.some((l) =>
        l.includes('Worker failed to load function file dist/broken.js: fixture module broken on purpose'),
      ),
    ).toBe(true);
  });
});

describe('HTTP keys from local settings', () => {
  let keyed: DevHostProcess;

  beforeAll(async () => {
    keyed = await spawnDevHost({
      storage: inject('storage'),
      args: ['--local-settings', path.join(repoRoot, 'test/fixtures/keys.local.settings.json')],
    });
  });

  afterAll(async () => {
    await keyed.kill();
  });

  it('enforces function keys by query or header', async () => {
    expect((await call(keyed.baseUrl, 'GET', '/api/secure')).status).toBe(401);
    expect((await call(keyed.baseUrl, 'GET', '/api/secure?code=wrong')).status).toBe(401);
    expect((await call(keyed.baseUrl, 'GET', '/api/secure?code=function-key-for-tests')).status).toBe(200);
    expect(
      (
        await call(keyed.baseUrl, 'GET', '/api/secure', undefined, {
          'x-functions-key': 'master-key-for-tests',
        })
      ).status,
    ).toBe(200);
  });

  it('takes only the master key for admin functions and leaves anonymous ones open', async () => {
    expect((await call(keyed.baseUrl, 'GET', '/api/admin-only?code=function-key-for-tests')).status).toBe(
      401,
    );
    expect((await call(keyed.baseUrl, 'GET', '/api/admin-only?code=master-key-for-tests')).status).toBe(200);
    expect((await call(keyed.baseUrl, 'GET', '/api/plain')).status).toBe(200);
  });

  it('guards the durable webhook API with the master key', async () => {
    expect((await call(keyed.baseUrl, 'GET', '/runtime/webhooks/durabletask/instances/')).status).toBe(401);
    expect(
      (await call(keyed.baseUrl, 'GET', '/runtime/webhooks/durabletask/instances/?code=master-key-for-tests'))
        .status,
    ).toBe(200);
  });

  it('answers 413 to a body over the Functions host limit as soon as its length says so, and keeps serving', async () => {
    const { port } = new URL(host.baseUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/echo',
          headers: { 'content-length': String(200 * 1024 * 1024) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // Only a little is sent: the answer must not wait for the 200 MB the header announces.
      req.write('x'.repeat(1024));
    });
    expect(status).toBe(413);
    expect((await call(host.baseUrl, 'GET', '/api/plain')).status).toBe(200);
  });
});
