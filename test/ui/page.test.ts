import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { call, uniqueNames } from '../support/devhost.js';
import { finish, startApp, submit, uploadFiles } from '../support/pipeline.js';

/** User data that would run if the page ever parsed it as HTML ("/" would make a folder of a blob name). */
const hostile = 'bad-<script>window.pwned=1<script>.txt';
const hostileImg = 'bad-<img src=x onerror="window.pwned=2">.txt';
const good = Array.from({ length: 4 }, (_, i) => `row-${i}.txt`);
const gated = Array.from({ length: 6 }, (_, i) => `gate-${i}.txt`);
const WAIT_MS = 30_000;

/**
 * What the tests read in the page (this project type-checks for Node, without the DOM's types). The
 * functions given to page.evaluate run in the page: they cannot call helpers of this file.
 */
interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  pwned?: number;
  marker?: number;
}

/** Waits until the element's text contains `text` (the page polls the API; no sleeps here). */
async function textAppears(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) =>
      (globalThis as unknown as PageGlobals).document.querySelector(sel)?.textContent?.includes(want) ===
      true,
    [selector, text] as const,
    { timeout: WAIT_MS, polling: 100 },
  );
}

describe('the status page in Chromium', () => {
  const { hub } = uniqueNames();
  const container = `ui-${hub.toLowerCase()}`;
  let host: DevHostProcess;
  let browser: Browser;
  let page: Page;
  let gate = '';
  let finished = '';
  let running = '';

  beforeAll(async () => {
    const storage = inject('storage');
    gate = await mkdtemp(path.join(tmpdir(), 'ui-gate-'));
    await uploadFiles(storage, container, 'done/', [...good, hostile, hostileImg]);
    await uploadFiles(storage, container, 'gated/', gated);
    host = await startApp(storage, { hub });
    finished = await submit(host, {
      // Markup, and a right-to-left override that would show the rest reversed.
      run_name: 'page <b>test</b> \u202eevil',
      entry_script: 'fail_named.js',
      input: { container, path: 'done/' },
      mini_batch_size: 2,
    });
    await finish(host, finished);
    running = await submit(host, {
      entry_script: 'gate.js',
      input: { container, path: 'gated/' },
      mini_batch_size: 1,
      node_count: 1,
      process_count_per_node: 1,
      environment_variables: { GATE_DIR: gate },
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser.close();
    // Opens the rest of the gate so the running run ends before its host does.
    await Promise.all(gated.map((g) => writeFile(path.join(gate, g), '')));
    await host.kill();
  });

  it('lists the runs, with their status and name, and the models and pipelines', async () => {
    await page.goto(`${host.baseUrl}/api/ui`);
    await textAppears(page, '#runs', finished);
    await textAppears(page, '#runs', running);
    await textAppears(page, `tr[data-run="${finished}"]`, 'Completed');
    await textAppears(page, `tr[data-run="${finished}"]`, 'page <b>test</b> \\u202eevil');
    await textAppears(page, '#catalog', 'Models');
    expect(await page.locator('#runs b').count()).toBe(0);
  });

  it('loads as well from its address with a slash at the end', async () => {
    await page.goto(`${host.baseUrl}/api/ui/`);
    await textAppears(page, '#runs', finished);
  });

  it("shows a finished run's summary, first rows and errors, names as text", async () => {
    await page.goto(`${host.baseUrl}/api/ui#/runs/${finished}`);
    await textAppears(page, '#rows', 'row-0.txt: ok');
    const rows = await page.locator('#rows li').allTextContents();
    expect(rows).toEqual(good.map((g) => `${g}: ok`));
    const items = await page.locator('#errors .item').allTextContents();
    expect(items.map((i) => path.basename(i)).sort()).toEqual([hostile, hostileImg].sort());
    const messages = await page.locator('#errors .message').allTextContents();
    expect(messages).toContain(`unreadable: ${hostile}`);
    expect(await page.locator('#summary').textContent()).toContain(
      '6: 4 succeeded, 2 failed, 0 not processed',
    );
    // Shown, never parsed: no element came out of the names, and nothing they hold ran.
    expect(await page.locator('#view script, #view img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).pwned)).toBeUndefined();
    const anchors = await page.locator('#links a').all();
    const links = await Promise.all(anchors.map((a) => a.getAttribute('href')));
    expect(links).toEqual([
      `/api/runs/${finished}`,
      `/api/runs/${finished}/output`,
      `/api/runs/${finished}/errors`,
    ]);
  });

  it("shows a running run's progress advancing without a reload", async () => {
    await page.goto(`${host.baseUrl}/api/ui#/runs/${running}`);
    await textAppears(page, '#status', 'Running');
    await textAppears(page, '#items', '0 / 6 items');
    const marker = await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).marker = 7;
      return 7;
    });
    await Promise.all(gated.slice(0, 2).map((g) => writeFile(path.join(gate, g), '')));
    await textAppears(page, '#items', '2 / 6 items');
    await Promise.all(gated.slice(2, 4).map((g) => writeFile(path.join(gate, g), '')));
    await textAppears(page, '#items', '4 / 6 items');
    await Promise.all(gated.slice(4).map((g) => writeFile(path.join(gate, g), '')));
    await textAppears(page, '#status', 'Completed');
    await textAppears(page, '#rows', 'gate-5.txt: ok');
    // The same document all along: the page polled, it did not reload.
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).marker)).toBe(marker);
  });

  it('serves only its own files, with a policy that refuses inline script', async () => {
    const js = await call(host.baseUrl, 'GET', '/api/ui/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const other = await call(host.baseUrl, 'GET', '/api/ui/index.ts');
    expect(other.status).toBe(404);
    const html = await call(host.baseUrl, 'GET', '/api/ui');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});
