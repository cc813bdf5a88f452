/**
 * The live wallboard in real headless Chromium, fed by real calls: the lab places calls
 * through the real router over ESL, analytics ingests the stream, and the wallboard pushes
 * snapshots over a WebSocket. The sales head sees a caller start waiting within 1 s of the
 * router's `call.queue_entered` event, sees the agent's state change, and ends with the same
 * figures the snapshot API gives.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLiveState } from '../../analytics/adapters/live-state';
import { wallboardRoutes } from '../../analytics/http/wallboard';
import { startAnalytics, type AnalyticsHandle } from '../../analytics/main';
import { ScaledClock } from '../../platform/clock';
import { parseCallEvent } from '../../platform/events/contract';
import { createRedis } from '../../platform/redis';
import { buildWebOnce, createPerson, launchBrowser, signIn, startUiServer, type TestPerson, type UiServer } from '../helpers/browser';
import { closeAll, testConfig, testLogger, testPool, testRedis, uniq } from '../helpers';
import { startLab, type Lab } from '../lab/harness';
import { provisionScenario, type Provisioned } from '../lab/provision';
import { localToMs, parseScenario } from '../lab/scenario';

const TZ = 'Europe/Moscow';
const pool = testPool();
const redis = testRedis();
const config = testConfig({ REDIS_PREFIX: uniq('wb') });
const stream = uniq('wb-events');
// Lab time runs 10x: a 60 s talk takes 6 real seconds.
const clock = new ScaledClock(localToMs('2026-11-02T10:00:00', TZ), 10);
const number = `+7495${String(Math.floor(Math.random() * 9_000_000) + 1_000_000)}`;
const scenario = parseScenario({
  timezone: TZ,
  schedule: { weekly: { mon: ['09:00-19:00'] } },
  afterHours: 'voicemail',
  channels: [{ name: 'radio', numbers: [number], monthlyCost: 10000 }],
  ivr: null,
  queues: [{ name: 'sales', strategy: 'ring-all', agents: ['101'], ringSeconds: 30, maxWaitSeconds: 600 }],
  agents: [{ ext: '101', name: 'Anna Lab', answerAfterSeconds: 2 }],
  contacts: [],
  calls: [{ id: 'x', at: '2026-11-02T10:00:00', from: '+79160000001', to: number }],
});

let lab: Lab;
let analytics: AnalyticsHandle;
let ui: UiServer;
let browser: Browser;
let page: Page;
let p: Provisioned;
let head: TestPerson;

beforeAll(async () => {
  await buildWebOnce();
  lab = await startLab({ config, pool, redis, clock, logger: testLogger(), stream, actors: { greetingSeconds: 1 } });
  p = await provisionScenario(pool, scenario, uniq('wallboard'));
  await lab.addAgents(p.accountId, [{ ext: '101', answerAfterSeconds: 2 }]);
  analytics = await startAnalytics({ config, pool, redis, logger: testLogger(), clock, stream, consumer: uniq('wb-analytics') });
  head = await createPerson(pool, p.accountId, 'sales_head', 'Ivan Head');
  ui = await startUiServer({
    pool,
    config,
    register: async (app) => {
      await app.register(wallboardRoutes, {
        source: new RedisLiveState(pool, redis, config.redis.prefix),
        subscriber: createRedis(config.redis.url),
        clock,
        logger: testLogger(),
      });
    },
  });
  browser = await launchBrowser();
  const ctx = await browser.newContext({ baseURL: ui.url });
  await ctx.addInitScript(() => localStorage.setItem('callpulse.lang', 'en'));
  page = await ctx.newPage();
  await signIn(page, head);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await analytics?.stop();
  await lab?.stop();
  await closeAll();
});

const kpi = (label: string) => page.locator('.kpi', { has: page.locator('.kpi-label', { hasText: label }) }).locator('.kpi-value');
const agentRow = () => page.locator('tr', { hasText: 'Anna Lab' });

/** The stream entry of a call's event: its id carries Redis's clock in milliseconds. */
async function entryOf(callId: string, type: string): Promise<{ ms: number } | null> {
  const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  for (const [id, f] of entries) {
    const e = parseCallEvent(JSON.parse(f[1]!));
    if (e.callId === callId && e.type === type) return { ms: Number(id.split('-')[0]) };
  }
  return null;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the live wallboard', () => {
  it('shows a caller waiting within 1 s of the router queueing them, the agent on a call, and the day’s figures', async () => {
    await page.goto('/#/wallboard');
    await page.locator('.live-open').waitFor({ timeout: 15_000 });
    await expect.poll(() => agentRow().locator('.badge').getAttribute('class')).toContain('badge-agent-free');
    expect(await kpi('Waiting').textContent()).toBe('0');

    // Call A is answered after 2 s of ringing and talks for 60 s: the agent is busy.
    const a = lab.actors.place(lab.sw, { id: 'a', patienceSeconds: 600, press: [], talkSeconds: 60 }, { caller: '+79161110001', destination: number });
    await expect.poll(() => agentRow().locator('.badge').getAttribute('class'), { timeout: 15_000 }).toContain('badge-agent-busy');

    // The page notes, in its own clock, the moment the waiting figure turns to 1.
    await page.evaluate(() => {
      const w = window as unknown as { __waitingAt?: number };
      const check = () => {
        const kpis = [...document.querySelectorAll('.kpi')];
        const v = kpis.find((k) => k.querySelector('.kpi-label')?.textContent === 'Waiting')?.querySelector('.kpi-value')?.textContent;
        if (v === '1' && w.__waitingAt === undefined) w.__waitingAt = Date.now();
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const b = lab.actors.place(lab.sw, { id: 'b', patienceSeconds: 600, press: [], talkSeconds: 10 }, { caller: '+79161110002', destination: number });
    const queued = await waitFor('call B queued', () => entryOf(b.call.uuid, 'call.queue_entered'));
    const shownAt = await waitFor('the page to show 1 waiting', () =>
      page.evaluate(() => (window as unknown as { __waitingAt?: number }).__waitingAt ?? null),
    );
    const latencyMs = shownAt - queued.ms;
    console.warn(`wallboard: caller waiting shown ${latencyMs} ms after call.queue_entered`);
    expect(latencyMs).toBeLessThan(1000);
    // The wait keeps counting on the page while B waits.
    await expect.poll(() => kpi('Longest wait').textContent(), { timeout: 10_000 }).not.toMatch(/^(—|0:00)$/);

    await a.finished;
    await b.finished;
    await analytics.idle();
    await expect.poll(() => kpi('Answered today').textContent(), { timeout: 15_000 }).toBe('2');
    await expect.poll(() => kpi('Waiting').textContent()).toBe('0');

    // The page and the snapshot API agree.
    const api = await page.evaluate(async () => (await fetch('/api/wallboard')).json());
    expect(api).toMatchObject({ waiting: 0, answeredToday: 2, missedToday: 0, totalToday: 2 });
    expect(api.agents).toEqual([expect.objectContaining({ name: 'Anna Lab', ext: '101', state: 'free' })]);
    expect(api.serviceLevel20s).toBeGreaterThanOrEqual(0.5);
  });

  it('refuses the wallboard, snapshot and live socket, to a manager and to a stranger', async () => {
    const manager = await createPerson(pool, p.accountId, 'manager', 'Olga M');
    const tryLive = (pg: Page) =>
      pg.evaluate(
        () =>
          new Promise<string>((done) => {
            const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/api/live/wallboard`);
            ws.onopen = () => done('open');
            ws.onclose = () => done('refused');
          }),
      );
    const managerCtx = await browser.newContext({ baseURL: ui.url });
    const mp = await managerCtx.newPage();
    await signIn(mp, manager);
    expect(await mp.evaluate(async () => (await fetch('/api/wallboard')).status)).toBe(403);
    expect(await tryLive(mp)).toBe('refused');
    const anonCtx = await browser.newContext({ baseURL: ui.url });
    const ap = await anonCtx.newPage();
    await ap.goto('/');
    expect(await ap.evaluate(async () => (await fetch('/api/wallboard')).status)).toBe(401);
    expect(await tryLive(ap)).toBe('refused');
    // The same socket opens for the sales head, so "refused" above is the role check.
    expect(await tryLive(page)).toBe('open');
    await managerCtx.close();
    await anonCtx.close();
  });
});
