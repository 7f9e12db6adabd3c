import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, CapturedTable, DeadLetter, ParkedConflict, RouteHistory, RouteStatus, SignedOut, VerifyRun } from './api';
import { activeCopy, byUrgency, lagText, rateText, stateTone, summaryText, verifyText } from './format';
import { LagChart, Sparkline } from './lag-chart';
import './style.css';

const STATUS_EVERY_MS = 3000;
const HISTORY_EVERY_MS = 20_000;
const SLOW_EVERY_MS = 30_000;

/** Runs `work` now and every `ms` after it finished, until the component goes. */
function usePolling(work: () => Promise<void>, ms: number): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      await work();
      if (!stopped) timer = setTimeout(tick, ms);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [work, ms]);
}

/**
 * A route's list in an open panel (dead letters, parked conflicts): read now
 * and every few seconds; `act` runs an action, then reads the list and the
 * routes' status again.
 */
function usePanelList<T>(read: () => Promise<T[]>, changed: () => Promise<void>, guard: (work: () => Promise<void>) => Promise<void>) {
  const [items, setItems] = useState<T[] | null>(null);
  const load = useCallback(() => guard(async () => setItems(await read())), [guard, read]);
  usePolling(load, STATUS_EVERY_MS);
  const act = (work: () => Promise<unknown>) => () =>
    guard(async () => {
      await work();
      await Promise.all([load(), changed()]);
    });
  return { items, act };
}

/** A panel table's header: its columns, and a last one of buttons named for screen readers only. */
function PanelHead({ columns, actions }: { columns: string[]; actions: string }) {
  return (
    <thead>
      <tr>
        {columns.map((name) => (
          <th scope="col" key={name}>
            {name}
          </th>
        ))}
        <th scope="col">
          <span class="sr-only">{actions}</span>
        </th>
      </tr>
    </thead>
  );
}

function signIn(): void {
  window.location.assign(`/login?next=${encodeURIComponent('/status/')}`);
}

function App() {
  const [routes, setRoutes] = useState<RouteStatus[] | null>(null);
  const [history, setHistory] = useState<RouteHistory[]>([]);
  const [drift, setDrift] = useState<Array<CapturedTable & { source: string }>>([]);
  const [runs, setRuns] = useState<Map<string, VerifyRun>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const lastRoutes = useRef<RouteStatus[] | null>(null);

  const guard = useCallback(async (work: () => Promise<void>) => {
    try {
      await work();
      setError(null);
    } catch (failure) {
      if (failure instanceof SignedOut) return signIn();
      setError((failure as Error).message);
    }
  }, []);

  const loadStatus = useCallback(
    () =>
      guard(async () => {
        const read = await api.status();
        lastRoutes.current = read;
        setRoutes(read);
        setUpdatedAt(new Date());
      }),
    [guard],
  );
  const loadHistory = useCallback(() => guard(async () => setHistory(await api.history(60))), [guard]);
  const loadSlow = useCallback(
    () =>
      guard(async () => {
        const sources = await api.sources();
        const tables = await Promise.all(sources.map(async (s) => (await api.tables(s.id)).map((t) => ({ ...t, source: s.id }))));
        setDrift(tables.flat().filter((t) => t.drifted || t.installed === false || t.error));
        // The routes the last status read found (loadStatus keeps them); read here only before the first.
        const ids = (lastRoutes.current ?? (await api.status())).map((r) => r.route);
        const latest = await Promise.all(ids.map(async (id) => [id, (await api.verifyRuns(id))[0]] as const));
        setRuns(new Map(latest.filter((entry): entry is readonly [string, VerifyRun] => entry[1] !== undefined)));
      }),
    [guard],
  );
  usePolling(loadStatus, STATUS_EVERY_MS);
  usePolling(loadHistory, HISTORY_EVERY_MS);
  usePolling(loadSlow, SLOW_EVERY_MS);

  useEffect(() => {
    if (routes) document.title = `${routes.some((r) => r.state === 'failing' || r.state === 'stalled') ? '⚠ ' : ''}Tributary · ${summaryText(routes)}`;
  }, [routes]);

  const historyOf = new Map(history.map((h) => [h.route, h.points.map((p) => p.lagSeconds)]));
  return (
    <>
      <header>
        <h1>Tributary</h1>
        <p class="summary" aria-live="polite">
          {routes ? summaryText(routes) : 'loading…'}
        </p>
        <nav>
          <a href="/queues/">Queues</a>
          <a href="/docs">API</a>
          <form method="post" action="/logout">
            <button type="submit" class="link">
              Sign out
            </button>
          </form>
        </nav>
      </header>
      <main>
        {error && (
          <p class="banner bad" role="alert">
            Cannot read the admin API: {error}
          </p>
        )}
        {drift.length > 0 && (
          <section class="banner warn" aria-label="Capture triggers that need attention">
            <strong>Capture needs attention:</strong>
            <ul>
              {drift.map((t) => (
                <li key={`${t.source}.${t.table}`}>
                  {t.source}.{t.table}: {t.error ?? (t.installed === false ? 'triggers missing' : 'triggers drifted from the table')}
                  {t.refresh && <code>{t.refresh}</code>}
                </li>
              ))}
            </ul>
          </section>
        )}
        {history.some((h) => h.points.length >= 3) && (
          <section aria-label="Lag over the last hour">
            <h2>Lag, last hour</h2>
            <LagChart history={history} routes={6} />
          </section>
        )}
        <section aria-label="Routes">
          <h2>
            Routes {updatedAt && <small class="muted">updated {updatedAt.toLocaleTimeString()}</small>}
          </h2>
          {routes && routes.length === 0 && <p>No routes yet: create one with POST /api/routes (see the API docs).</p>}
          {routes && routes.length > 0 && (
            <table class="routes">
              <thead>
                <tr>
                  <th scope="col">Route</th>
                  <th scope="col">State</th>
                  <th scope="col">Lag</th>
                  <th scope="col">Last hour</th>
                  <th scope="col">Applying</th>
                  <th scope="col">Dead letters</th>
                  <th scope="col">Copy / verify</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {byUrgency(routes).map((route) => (
                  <RouteRow
                    key={route.route}
                    route={route}
                    lag={historyOf.get(route.route) ?? []}
                    run={runs.get(route.route)}
                    expanded={open === route.route}
                    toggle={() => setOpen(open === route.route ? null : route.route)}
                    changed={loadStatus}
                    guard={guard}
                  />
                ))}
              </tbody>
            </table>
          )}
        </section>
      </main>
    </>
  );
}

interface RowProps {
  route: RouteStatus;
  lag: Array<number | null>;
  run: VerifyRun | undefined;
  expanded: boolean;
  toggle(): void;
  changed(): Promise<void>;
  guard(work: () => Promise<void>): Promise<void>;
}

function RouteRow({ route, lag, run, expanded, toggle, changed, guard }: RowProps) {
  const copy = activeCopy(route.snapshot);
  const verify = verifyText(run);
  const act = (work: () => Promise<unknown>) => () => guard(async () => {
    await work();
    await changed();
  });
  return (
    <>
      <tr data-route={route.route} class={`tone-${stateTone(route.state)}`}>
        <th scope="row">
          <span class="name">{route.route}</span>
          <span class="muted">
            {route.source}.{route.table} → {route.target}.{route.targetTable}
          </span>
        </th>
        <td data-label="State">
          <span class={`badge ${stateTone(route.state)}`} data-state={route.state}>
            {route.state}
          </span>
          {route.stateReason && <span class="reason">{route.stateReason}</span>}
          {route.lastError && route.lastError !== route.stateReason && <span class="reason">last error: {route.lastError}</span>}
          {route.tableRebuiltAt && <span class="reason">table truncated or rebuilt at {new Date(route.tableRebuiltAt).toLocaleString()}</span>}
        </td>
        <td data-label="Lag">{lagText(route.lag)}</td>
        <td data-label="Last hour" class="spark-cell">
          <Sparkline points={lag} />
        </td>
        <td data-label="Applying">{rateText(route.throughput.changesPerSecond)}</td>
        <td data-label="Dead letters">
          {route.deadLetters.open + route.deadLetters.retrying === 0 ? (
            <span class="muted">none</span>
          ) : (
            <button type="button" class="link" aria-expanded={expanded} onClick={toggle}>
              {route.deadLetters.open} open{route.deadLetters.retrying > 0 ? `, ${route.deadLetters.retrying} retrying` : ''}
            </button>
          )}
          {route.conflicts.open > 0 && (
            <button type="button" class="link reason" aria-expanded={expanded} onClick={toggle}>
              {route.conflicts.open} parked conflict{route.conflicts.open === 1 ? '' : 's'}
            </button>
          )}
        </td>
        <td data-label="Copy / verify">
          {copy && (
            <>
              {copy.fraction !== null && <progress max={1} value={copy.fraction} aria-label={copy.label} />}
              <span class="reason">{copy.label}</span>
            </>
          )}
          {verify && <span class="reason">{verify}</span>}
          {!copy && !verify && <span class="muted">–</span>}
        </td>
        <td data-label="Actions">
          {route.state === 'paused' ? (
            <button type="button" onClick={act(() => api.resume(route.route))}>
              Resume
            </button>
          ) : (
            <button type="button" onClick={act(() => api.pause(route.route))}>
              Pause
            </button>
          )}
        </td>
      </tr>
      {expanded && (
        <tr class="letters">
          <td colSpan={8}>
            {route.deadLetters.open + route.deadLetters.retrying > 0 && <DeadLetters routeId={route.route} changed={changed} guard={guard} />}
            {route.conflicts.open > 0 && <Conflicts routeId={route.route} changed={changed} guard={guard} />}
          </td>
        </tr>
      )}
    </>
  );
}

function DeadLetters({ routeId, changed, guard }: { routeId: string; changed(): Promise<void>; guard(work: () => Promise<void>): Promise<void> }) {
  const read = useCallback(async () => (await api.deadLetters(routeId)).items, [routeId]);
  const { items: letters, act } = usePanelList<DeadLetter>(read, changed, guard);
  if (letters === null) return <p>loading dead letters…</p>;
  if (letters.length === 0) return <p>No open dead letters.</p>;
  return (
    <div class="letters-panel">
      <p>
        Changes the target refused. Fix the cause (the target's constraint, or the row at the source), then retry; or discard one with a reason.{' '}
        <button type="button" onClick={act(() => api.retryAll(routeId))}>
          Retry all
        </button>
      </p>
      <table>
        <PanelHead columns={['Seq', 'Change', 'Why the target refused it']} actions="Actions" />
        <tbody>
          {letters.map((letter) => (
            <tr key={letter.id} data-letter={letter.id}>
              <td>{letter.seq}</td>
              <td>
                {letter.op} {letter.table} {JSON.stringify(letter.key)}
              </td>
              <td>
                {letter.reason}
                {letter.attempts > 1 && <span class="muted"> ({letter.attempts} attempts)</span>}
              </td>
              <td class="actions">
                <button type="button" onClick={act(() => api.retryLetter(routeId, letter.id))}>
                  Retry
                </button>
                <button
                  type="button"
                  onClick={() => {
                    const reason = window.prompt(`Discard the change at seq ${letter.seq}? Say why (kept with the letter):`);
                    if (reason) void act(() => api.discardLetter(routeId, letter.id, reason))();
                  }}
                >
                  Discard…
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A route's conflicts parked for a person (manual policy): decide each for its key, in the key's order. */
function Conflicts({ routeId, changed, guard }: { routeId: string; changed(): Promise<void>; guard(work: () => Promise<void>): Promise<void> }) {
  const read = useCallback(() => api.conflicts(routeId), [routeId]);
  const { items: conflicts, act } = usePanelList<ParkedConflict>(read, changed, guard);
  const decide = (id: number, action: 'apply-source' | 'keep-target') => act(() => api.resolveConflict(id, action));
  if (conflicts === null) return <p>loading parked conflicts…</p>;
  if (conflicts.length === 0) return <p>No parked conflicts.</p>;
  return (
    <div class="letters-panel">
      <p>
        Changes parked for a decision: the target row changed since the source read it. A decision covers every parked change of that key (merging a row
        by hand: <code>POST /api/conflicts/&#123;id&#125;/resolve</code> with <code>"action": "merge"</code>).
      </p>
      <table>
        <PanelHead columns={['Seq', 'Incoming', 'Target holds']} actions="Decision" />
        <tbody>
          {conflicts.map((c) => (
            <tr key={c.id} data-conflict={c.id}>
              <td>{c.seq}</td>
              <td>
                {c.op} {c.table} {JSON.stringify(c.key)}: <code>{JSON.stringify(c.incoming.after ?? c.incoming.before)}</code>
              </td>
              <td>
                <code>{JSON.stringify(c.target)}</code>
              </td>
              <td class="actions">
                <button type="button" onClick={decide(c.id, 'apply-source')}>
                  Apply source
                </button>
                <button type="button" onClick={decide(c.id, 'keep-target')}>
                  Keep target
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
