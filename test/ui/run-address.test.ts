import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevHostProcess } from '../../devhost/process.js';
import { uniqueNames } from '../support/devhost.js';
import { startApp } from '../support/pipeline.js';

interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  pwned?: number;
}

/**
 * A `#/runs/<id>` address that names no run the API could have made: a malformed escape (the page
 * threw and kept showing what it showed before), "." (fetched /api/runs/., the runs list, and showed
 * it as a run, "Waiting to start…", forever) or markup (a 400 polled every second under "Loading run…").
 */
describe('the status page at an address that names no run', () => {
  let host: DevHostProcess;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    host = await startApp(inject('storage'), { hub: uniqueNames().hub });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  });

  afterAll(async () => {
    await browser.close();
    await host.kill();
  });

  it.each([
    ['%E0%A4%A', '%E0%A4%A'],
    ['.', '.'],
    ['..', '..'],
    ['%3Cimg%20src%3Dx%20onerror%3D%22window.pwned%3D1%22%3E', '<img src=x onerror="window.pwned=1">'],
  ])('#/runs/%s says there is no run %j, and asks the API nothing about it', async (hash, shown) => {
    await page.goto(`${host.baseUrl}/api/ui`);
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.querySelector('#runs table, #runs p') !== null,
    );
    requested.length = 0;
    await page.goto(`${host.baseUrl}/api/ui#/runs/${hash}`);
    await page.waitForFunction(
      (want) =>
        (globalThis as unknown as PageGlobals).document
          .querySelector('#view')
          ?.textContent?.startsWith(`No run ${want}`) === true,
      shown,
      { timeout: 30_000, polling: 100 },
    );
    // What the list view reads, and the page's own files: nothing else, no /api/runs/<id>.
    const listing = [
      '/api/runs',
      '/api/models',
      '/api/pipelines',
      '/api/ui',
      '/api/ui/app.js',
      '/api/ui/app.css',
    ];
    expect(requested.filter((p) => !listing.includes(p))).toEqual([]);
    expect(await page.locator('#view img, #view script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).pwned)).toBeUndefined();
  });
});
