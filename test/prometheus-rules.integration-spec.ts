import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPipeline, freePort, Pipeline, routeItemsToPostgres, waitFor } from '@tributary/testing';

/**
 * The alerting rules and the Grafana dashboard in deploy/ name only metrics
 * the apps really export (checked against a scrape of the running
 * all-in-one app), and the rules are valid and fire as their unit tests say
 * (promtool, from Debian's prometheus package; CI installs it).
 */
const DEPLOY = join(__dirname, '..', 'deploy');
const RULES = join(DEPLOY, 'prometheus', 'tributary-rules.yml');
const DASHBOARD = join(DEPLOY, 'grafana', 'dashboards', 'tributary.json');
const TOKEN = randomBytes(16).toString('hex');

/** Metric names an expression text uses (histogram series named by their metric). */
function metricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/\btributary_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, '')));
}

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('alerting rules and dashboard', () => {
  let pipeline: Pipeline;
  let port: number;

  beforeAll(async () => {
    pipeline = await createPipeline();
    await routeItemsToPostgres(pipeline);
    port = await freePort();
    pipeline.start('tributary', { ADMIN_PORT: String(port), ADMIN_TOKEN: TOKEN });
    await pipeline.source.knex.raw("INSERT INTO items VALUES (1, 0, 'one', 1.00, NOW(6), NULL)");
    await pipeline.waitForCatchUp('items-pg');
  });

  afterAll(async () => {
    await pipeline?.teardown();
  });

  it('name only metrics the apps export', async () => {
    const scrape = await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
        // The status sampler and the relay have reported once.
        return text.includes('tributary_route_state{') && text.includes('tributary_relay_leading{') ? text : null;
      },
      { what: 'a scrape with the sampled and relay metrics', timeoutMs: 30_000 },
    );
    const exported = new Set([...scrape.matchAll(/^# TYPE (tributary_[a-z_]+) /gm)].map(([, name]) => name));
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const used = new Set([...metricNames(readFileSync(RULES, 'utf8')), ...dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => [...metricNames(target.expr)]))]);
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // This process leads the source: the gauge the no-leader alert sums says so.
    expect(scrape).toMatch(/^tributary_relay_leading\{source="src"\} 1$/m);
  });

  const promtool = hasPromtool() || process.env.CI_REQUIRE_PROMTOOL === '1' ? it : it.skip;
  promtool('are valid and fire as their unit tests say (promtool)', () => {
    const run = (...args: string[]) => execFileSync('promtool', args, { cwd: join(DEPLOY, 'prometheus'), encoding: 'utf8' });
    expect(run('check', 'rules', 'tributary-rules.yml')).toMatch(/SUCCESS: 10 rules found/);
    expect(run('test', 'rules', 'tributary-rules.test.yml')).toMatch(/SUCCESS/);
  });
});
