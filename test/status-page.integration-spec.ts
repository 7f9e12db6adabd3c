import { existsSync } from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';
import { createPipeline, freePort, Pipeline, routeItemsThroughProxy, TcpProxy, waitFor } from '@tributary/testing';

/**
 * The status page (issue #16) in a real browser: Debian's Chromium driven by
 * playwright-core against the all-in-one app. A person signs in with the
 * token, watches a route turn from running to failing when its target goes
 * down and back to running when it returns, and retries a dead letter from
 * the page once the target accepts the row. STATUS_PAGE_SCREENSHOT=<file>
 * keeps a picture of the page (docs/status-page.png is made so).
 */
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'status-page-token-0123456789';

describe('status page in a browser', () => {
  let pipeline: Pipeline;
  let proxy: TcpProxy;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
    pipeline = await createPipeline();
    // The target has a rule the source does not: a row named 'refused' is refused there (a dead letter).
    proxy = await routeItemsThroughProxy(
      pipeline,
      'shop',
      "CREATE TABLE items (id integer PRIMARY KEY, grp integer NOT NULL, name varchar(64) NOT NULL CONSTRAINT not_refused CHECK (name <> 'refused'), amount numeric(12,2), noted timestamp(6), payload jsonb)",
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await waitFor(() => fetch(`${base}/health/live`).then((r) => r.ok).catch(() => false), { timeoutMs: 60_000, what: 'the admin to listen' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.down();
    await pipeline?.teardown();
  });

  const state = () => page.locator('tr[data-route="items-pg"] [data-state]');

  it('signs in with the token and shows the route running', async () => {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'first', 1.00, NOW(6), NULL)");
    // The admin's root leads to the page, which sends a browser without a session to sign in.
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/status/`);
    await waitFor(async () => (await state().getAttribute('data-state')) === 'running', { timeoutMs: 30_000, what: 'the route shown running' });
    await expect(page.locator('header .summary').textContent()).resolves.toMatch(/1 route/);
    // On a phone each route is a card: its name and state still in view, no sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await state().isVisible()).toBe(true);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    if (process.env.STATUS_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.STATUS_PAGE_SCREENSHOT.replace(/\.png$/, '-phone.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    // Links to the queue dashboard and the API docs.
    expect(await page.locator('nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href')))).toEqual(['/queues/', '/docs']);
  }, 90_000);

  it('shows the route failing while its target is down, with why, and running again when it returns', async () => {
    await proxy.down();
    await pipeline.source.knex.raw("INSERT INTO items VALUES (2, 0, 'during the outage', 2.00, NOW(6), NULL)");
    await waitFor(async () => (await state().getAttribute('data-state')) === 'failing', { timeoutMs: 60_000, what: 'the route shown failing' });
    await expect(page.locator('tr[data-route="items-pg"]').textContent()).resolves.toMatch(/ECONNREFUSED|connect|terminat|timeout/i);
    await proxy.up();
    await waitFor(async () => (await state().getAttribute('data-state')) === 'running', { timeoutMs: 60_000, what: 'the route shown running again' });
    expect(await pipeline.postgres.knex('items').where({ id: 2 }).first()).toMatchObject({ name: 'during the outage' });
  }, 150_000);

  it('lists a dead letter with the target\'s reason and retries it from the page', async () => {
    await pipeline.source.knex.raw("INSERT INTO items VALUES (3, 0, 'refused', 3.00, NOW(6), NULL)");
    const letters = page.locator('tr[data-route="items-pg"] button', { hasText: '1 open' });
    await letters.waitFor({ timeout: 60_000 });
    await letters.click();
    const letter = page.locator('tr[data-letter]');
    await letter.waitFor({ timeout: 30_000 });
    await expect(letter.textContent()).resolves.toMatch(/not_refused/);
    if (process.env.STATUS_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.STATUS_PAGE_SCREENSHOT, fullPage: true });

    // The cause is fixed at the target; the person retries the change from the page.
    await pipeline.postgres.knex.raw('ALTER TABLE items DROP CONSTRAINT not_refused');
    await letter.locator('button', { hasText: 'Retry' }).click();
    await waitFor(async () => (await pipeline.postgres.knex('items').where({ id: 3 }).first()) !== undefined, { timeoutMs: 60_000, what: 'the retried row at the target' });
    await page.locator('tr[data-letter]').waitFor({ state: 'detached', timeout: 30_000 });
    await waitFor(async () => (await page.locator('tr[data-route="items-pg"]').textContent())?.includes('none') ?? false, { timeoutMs: 30_000, what: 'no dead letters shown' });
  }, 150_000);
});
