/**
 * The screen pop end to end, shared by its test and `npm run bench -- screenpop`: the switch
 * lab places calls through the real router over ESL, the screen-pop hub follows the real event
 * stream, and a manager is signed in to the built web UI in real headless Chromium.
 *
 * The page notes, in its own clock, when each call's card is drawn in each state and when it
 * goes away (a MutationObserver on the panel); the offer's time is the Redis stream entry id
 * of its `call.agent_offered` (Redis's clock, in ms). Both clocks are this machine's.
 */
import type { Browser, Page } from 'playwright-core';
import { registerScreenPop } from '../../../crm-bridge/screen-pop/routes';
import type { ScreenPopHub } from '../../../crm-bridge/screen-pop/hub';
import { hashPassword } from '../../../platform/auth/passwords';
import type { Clock } from '../../../platform/clock';
import type { Config } from '../../../platform/config';
import type { Pool } from '../../../platform/db/pool';
import { parseCallEvent } from '../../../platform/events/contract';
import type { Logger } from '../../../platform/logger';
import type { Redis } from '../../../platform/redis';
import { buildWebOnce, launchBrowser, signIn, startUiServer, type UiServer } from '../../helpers/browser';
import { uniq } from '../../helpers';
import { startLab, type Lab } from '../../lab/harness';
import { provisionScenario, type Provisioned } from '../../lab/provision';
import type { Scenario } from '../../lab/scenario';

/**
 * Installed in the page: notes the first time each call's card is seen in each state, and when
 * it leaves. Plain JS text, because tsx would wrap a function's inner arrows in a helper
 * (`__name`) that does not exist in the page.
 */
const OBSERVER = `(() => {
  const w = window;
  w.__pop = { drawn: {}, gone: {} };
  let shown = new Set();
  const check = () => {
    const now = Date.now();
    const seen = new Set();
    for (const el of document.querySelectorAll('[data-testid=screen-pop] .pop-card[data-call-id]')) {
      const id = el.dataset.callId;
      seen.add(id);
      const states = (w.__pop.drawn[id] ??= {});
      states[el.dataset.state] ??= now;
    }
    for (const id of shown) if (!seen.has(id)) w.__pop.gone[id] ??= now;
    shown = seen;
  };
  new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-call-id'] });
})()`;

export interface PopRig {
  lab: Lab;
  p: Provisioned;
  ui: UiServer;
  hub: ScreenPopHub;
  browser: Browser;
  /** The panel of the manager signed in as `ext`. */
  page: Page;
  /** Gives a provisioned agent a password, so a test can sign in as them. */
  login(ext: string): Promise<{ email: string; password: string; userId: string }>;
  /** When the router's offer of `callId` to `userId` entered the stream (ms), once it has. */
  offeredAt(callId: string, userId: string, sinceMs: number): Promise<number>;
  /** When the page first drew the card of `callId` in `state` (page ms), once it has. */
  drawnAt(callId: string, state: string, timeoutMs?: number): Promise<number>;
  /** When the page stopped showing `callId` (page ms), once it has. */
  goneAt(callId: string, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startPopRig(o: {
  config: Config;
  pool: Pool;
  redis: Redis;
  clock: Clock;
  logger: Logger;
  scenario: Scenario;
  /** The agent signed in to the page. */
  ext: string;
}): Promise<PopRig> {
  await buildWebOnce();
  const stream = uniq('pop-events');
  const lab = await startLab({ config: o.config, pool: o.pool, redis: o.redis, clock: o.clock, logger: o.logger, stream, actors: { greetingSeconds: 0 } });
  const p = await provisionScenario(o.pool, o.scenario, uniq('screen-pop'));
  await lab.addAgents(
    p.accountId,
    o.scenario.agents.map((a) => ({ ext: a.ext, answerAfterSeconds: a.answerAfterSeconds })),
  );
  let hub: ScreenPopHub | undefined;
  const ui = await startUiServer({
    pool: o.pool,
    config: o.config,
    register: async (app) => {
      hub = await registerScreenPop(app, { config: o.config, pool: o.pool, logger: o.logger, stream });
    },
  });
  const login = async (ext: string) => {
    const userId = p.users.get(ext)!;
    const email = `${uniq(`agent${ext}`)}@ui.test`;
    const password = `pw-${uniq('secret')}`;
    await o.pool.query(`UPDATE users SET email = $2, password_hash = $3 WHERE id = $1`, [userId, email, await hashPassword(password)]);
    return { email, password, userId };
  };
  const browser = await launchBrowser();
  const ctx = await browser.newContext({ baseURL: ui.url });
  await ctx.addInitScript(() => localStorage.setItem('callpulse.lang', 'en'));
  const page = await ctx.newPage();
  const me = await login(o.ext);
  await signIn(page, me);
  await page.goto('/#/panel');
  await page.locator('[data-testid=screen-pop] .pop-empty').waitFor({ timeout: 20_000 });
  await page.evaluate(OBSERVER);

  const poll = async <T>(what: string, fn: () => Promise<T | null | undefined>, timeoutMs: number): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== null && v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  // The panel opens its socket after the snapshot: offers before that would be seen late.
  await poll('the panel\'s socket', async () => (hub!.listeners(p.accountId, me.userId) > 0 ? true : null), 20_000);

  return {
    lab,
    p,
    ui,
    hub: hub!,
    browser,
    page,
    login,
    offeredAt: (callId, userId, sinceMs) =>
      poll(
        `the offer of ${callId}`,
        async () => {
          const entries = (await o.redis.xrange(stream, `${sinceMs}-0`, '+')) as Array<[string, string[]]>;
          for (const [id, f] of entries) {
            const e = parseCallEvent(JSON.parse(f[1]!));
            if (e.callId === callId && e.type === 'call.agent_offered' && e.userId === userId) return Number(id.split('-')[0]);
          }
          return null;
        },
        20_000,
      ),
    drawnAt: (callId, state, timeoutMs = 20_000) =>
      poll(
        `the card of ${callId} drawn ${state}`,
        () => page.evaluate(([id, st]) => (window as unknown as { __pop: { drawn: Record<string, Record<string, number>> } }).__pop.drawn[id!]?.[st!], [callId, state]),
        timeoutMs,
      ),
    goneAt: (callId, timeoutMs = 20_000) =>
      poll(`the card of ${callId} to go`, () => page.evaluate((id) => (window as unknown as { __pop: { gone: Record<string, number> } }).__pop.gone[id], callId), timeoutMs),
    async stop() {
      await browser.close();
      await ui.close();
      await lab.stop();
    },
  };
}
