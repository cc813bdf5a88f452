/**
 * The web UI shell in real headless Chromium against a real fastify app (kernel, auth, admin
 * API, analytics reports, the static plugin): sign-in per role, each role's navigation,
 * server-side refusal of other roles' data, Russian and English, national formats of phones
 * and money, and honest "not available yet" states for APIs this server does not have.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsRoutes } from '../../analytics/http/routes';
import { adminApi } from '../../platform/admin';
import type { Role } from '../../platform/auth/principals';
import type { Pool } from '../../platform/db/pool';
import { EventPublisher } from '../../platform/events/stream';
import { makeFormatter } from '../../web/src/format';
import { buildWebOnce, createPerson, launchBrowser, signIn, startUiServer, type TestPerson, type UiServer } from '../helpers/browser';
import { closeAll, createTestAccount, testConfig, testPool, testRedis, uniq } from '../helpers';

const NAV: Record<Role, string[]> = {
  manager: ['panel', 'calls'],
  sales_head: ['funnel', 'managers', 'calls', 'wallboard'],
  marketer: ['channels'],
  admin: ['config'],
};
/** The first page's title, as the navigation shows it in each language. */
const HOME_TITLE: Record<Role, { ru: string; en: string }> = {
  manager: { ru: 'Моя панель', en: 'My panel' },
  sales_head: { ru: 'Воронка', en: 'Funnel' },
  marketer: { ru: 'Каналы', en: 'Channels' },
  admin: { ru: 'Настройка', en: 'Configuration' },
};

/** Intl puts no-break spaces in money and digit groups; compare text with plain spaces. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const fmt = makeFormatter({ locale: 'ru-RU', currency: 'RUB', timeZone: 'Europe/Moscow' });

let pool: Pool;
let ui: UiServer;
let browser: Browser;
let accountId: string;
const people = {} as Record<Role, TestPerson>;
const contexts: BrowserContext[] = [];

async function pageAs(role: Role | null, opts: { lang?: 'ru' | 'en' } = {}): Promise<Page> {
  // Reduced motion: charts draw without animation, so screenshots show the final bars.
  const ctx = await browser.newContext({ baseURL: ui.url, locale: 'ru-RU', viewport: { width: 1360, height: 860 }, reducedMotion: 'reduce' });
  contexts.push(ctx);
  if (opts.lang) await ctx.addInitScript((l) => localStorage.setItem('callpulse.lang', l), opts.lang);
  const page = await ctx.newPage();
  if (role) await signIn(page, people[role]);
  return page;
}

function rawGet(url: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: url.slice(u.origin.length), method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

async function navIds(page: Page): Promise<string[]> {
  return page.locator('.topbar nav a[data-page]').evaluateAll((as) => as.map((a) => a.getAttribute('data-page') ?? ''));
}

beforeAll(async () => {
  const build = await buildWebOnce();
  if (build.built) console.warn(`web UI built in ${build.ms} ms`);
  pool = testPool();
  const config = testConfig({ REDIS_PREFIX: uniq('ui') });
  const publisher = new EventPublisher(testRedis(), uniq('ui-events'), config.redis.prefix);
  accountId = await createTestAccount(pool);
  const names: Record<Role, string> = { manager: 'Ольга Смирнова', sales_head: 'Иван Петров', marketer: 'Анна Кузнецова', admin: 'Сергей Волков' };
  for (const role of Object.keys(NAV) as Role[]) people[role] = await createPerson(pool, accountId, role, names[role]);

  // Configuration the admin's tables show, and call figures the sales head's and manager's pages show.
  const { rows: ch } = await pool.query<{ id: string }>(
    `INSERT INTO channels (account_id, name, kind, monthly_cost) VALUES ($1, 'Билборд на МКАД', 'offline', 15000) RETURNING id`,
    [accountId],
  );
  const channelId = ch[0]!.id;
  await pool.query(`INSERT INTO tracking_numbers (account_id, number, channel_id, label) VALUES ($1, '+74951110001', $2, 'Билборд')`, [accountId, channelId]);
  const today = `(now() AT TIME ZONE 'Europe/Moscow')::date`;
  await pool.query(
    `INSERT INTO call_rollup_daily (account_id, day, channel_id, tracking_number, known_client, outcome, reason, calls, leads, deals, revenue)
     VALUES ($1, ${today}, $2, '+74951110001', false, 'worked', NULL, 4, 4, 2, 100000),
            ($1, ${today}, $2, '+74951110001', false, 'missed', 'queue_abandon', 3, 0, 0, 0),
            ($1, ${today}, $2, '+74951110001', false, 'after_hours', NULL, 2, 0, 0, 0)`,
    [accountId, channelId],
  );
  await pool.query(
    `INSERT INTO call_facts (account_id, call_id, arrived_at, day, tracking_number, caller, channel_id, answered_by, answered_at,
                             talk_seconds, wait_seconds, outcome, provisional, classified_at)
     VALUES ($1, $2, now() - interval '5 minutes', ${today}, '+74951110001', '+79161234567', $3, $4, now() - interval '4 minutes',
             125, 8, 'worked', false, now())`,
    [accountId, `ui-${randomUUID()}`, channelId, people.manager.id],
  );

  ui = await startUiServer({
    pool,
    config,
    register: async (app) => {
      await app.register(adminApi, { pool, config });
      await app.register(analyticsRoutes, { pool, publisher });
    },
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await ui?.close();
  await closeAll();
});

describe('static serving', () => {
  it('serves the app at / and at deep links, assets with long caching, and keeps unknown API paths JSON 404s', async () => {
    const root = await fetch(`${ui.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/text\/html/);
    expect(root.headers.get('cache-control')).toBe('no-cache');
    const html = await root.text();
    expect(html).toContain('<div id="app">');

    const deep = await fetch(`${ui.url}/funnel/today`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);

    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${ui.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    await js.arrayBuffer();

    for (const path of ['/api/no-such-thing', '/docs/no-such-thing', '/media/no-such-thing']) {
      const r = await fetch(`${ui.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code, path).toBe('NOT_FOUND');
    }
    const missing = await fetch(`${ui.url}/assets/missing-abc123.js`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    // Sent raw: fetch would normalise the dots away before they reach the server.
    const escape = await rawGet(`${ui.url}/assets/..%2f..%2f..%2fpackage.json`);
    expect([403, 404]).toContain(escape.status);
    expect(escape.body).not.toContain('"name": "callpulse"');
  });
});

describe('sign-in and roles', () => {
  it('shows the login page to a visitor, in Russian, and refuses a wrong password', async () => {
    const page = await pageAs(null);
    await page.goto('/');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Вход');
    expect(await page.locator('html').getAttribute('lang')).toBe('ru');
    await page.locator('input[name=email]').fill(people.admin.email);
    await page.locator('input[name=password]').fill('not-the-password');
    await page.locator('button[type=submit]').click();
    await expect.poll(() => page.locator('.form-error').textContent()).toBe('Неверная почта или пароль');
    expect(await page.locator('.topbar').count()).toBe(0);
    await page.screenshot({ path: '/tmp/callpulse-ui-login.png' });
  });

  it.each(Object.keys(NAV) as Role[])('%s sees exactly their own pages and lands on the first', async (role) => {
    const page = await pageAs(role);
    expect(await navIds(page)).toEqual(NAV[role]);
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe(`#/${NAV[role][0]}`);
    expect(await page.locator('.main h1').first().textContent()).toBe(HOME_TITLE[role].ru);
    expect(await page.locator('[data-testid=user] .user-name').textContent()).toBe(people[role].name);
  });

  it("another role's page sends a manager home, and the server refuses its data", async () => {
    const page = await pageAs('manager');
    await page.evaluate(() => (window.location.hash = '#/funnel'));
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe('#/panel');
    const res = await page.request.get('/api/reports/funnel');
    expect(res.status()).toBe(403);
    expect((await res.json()).error.code).toBe('FORBIDDEN');
  });

  it('an ended session sends the next request to the login page, saying why', async () => {
    // An account of their own, so the other tests' tables keep their four people.
    const head = await createPerson(pool, await createTestAccount(pool), 'sales_head', 'Пётр Временный');
    const page = await browser.newContext({ baseURL: ui.url, reducedMotion: 'reduce' }).then((c) => (contexts.push(c), c.newPage()));
    await signIn(page, head);
    // The home page has had its answer (an empty funnel: a new account), so the next request is the click's.
    await page.locator('[data-testid=funnel-empty]').waitFor();
    await pool.query(`DELETE FROM sessions WHERE user_id = $1`, [head.id]);
    await page.locator('.topbar nav a[data-page=managers]').click();
    await page.locator('[data-testid=login-form]').waitFor();
    expect(await page.locator('.notice').textContent()).toBe('Сеанс истёк, войдите снова');
    await signIn(page, head);
    expect(await navIds(page)).toEqual(NAV.sales_head);
  });

  it('signing out returns to the login page and ends the session on the server', async () => {
    const page = await pageAs('marketer');
    expect((await page.request.get('/api/auth/me')).status()).toBe(200);
    await page.locator('[data-testid=logout]').click();
    await page.locator('[data-testid=login-form]').waitFor();
    expect((await page.request.get('/api/auth/me')).status()).toBe(401);
  });
});

describe('tables', () => {
  it('sort by a header click, and export to CSV the rows as shown, with raw values', async () => {
    const page = await pageAs('admin');
    await page.locator('.tabs button', { hasText: 'Пользователи' }).click();
    const names = page.locator('[data-testid=config-users] td[data-col=name]');
    await expect.poll(() => names.count()).toBe(4);
    await page.locator('[data-testid=config-users] th', { hasText: 'Название' }).click();
    expect(await names.allTextContents()).toEqual(['Сергей Волков', 'Ольга Смирнова', 'Иван Петров', 'Анна Кузнецова']);
    await page.locator('[data-testid=config-users] th', { hasText: 'Название' }).click();
    expect(await names.allTextContents()).toEqual(['Анна Кузнецова', 'Иван Петров', 'Ольга Смирнова', 'Сергей Волков']);

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=config-users] button', { hasText: 'Скачать CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('users.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')).toEqual([
      '\ufeffНазвание,Эл. почта,Роль,Внутр.,Активен',
      `Анна Кузнецова,${people.marketer.email},marketer,,true`,
      `Иван Петров,${people.sales_head.email},sales_head,,true`,
      `Ольга Смирнова,${people.manager.email},manager,,true`,
      `Сергей Волков,${people.admin.email},admin,,true`,
      '',
    ]);
  });
});

describe('language', () => {
  it('switches between Russian and English, and keeps the choice after a reload', async () => {
    const page = await pageAs('sales_head');
    const navText = () => page.locator('.topbar nav').innerText();
    expect(await navText()).toContain('Журнал звонков');
    await page.locator('.topbar [data-lang=en]').click();
    await expect.poll(navText).toContain('Call journal');
    expect(await navText()).not.toContain('Журнал');
    expect(await page.locator('[data-testid=logout]').textContent()).toBe('Sign out');
    await expect.poll(() => page.locator('[data-testid=funnel-table] thead').textContent()).toContain('Lost');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.screenshot({ path: '/tmp/callpulse-ui-funnel-en.png' });

    await page.reload();
    await page.locator('.topbar').waitFor();
    expect(await navText()).toContain('Call journal');

    await page.locator('.topbar [data-lang=ru]').click();
    await expect.poll(navText).toContain('Журнал звонков');
    await expect.poll(() => page.locator('[data-testid=funnel-table] thead').textContent()).toContain('Потеряно');
  });

  it('the login page follows a stored English choice', async () => {
    const page = await pageAs(null, { lang: 'en' });
    await page.goto('/');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
  });
});

describe('figures as the API gives them, in national formats', () => {
  it("the sales head's funnel shows the report's counts and money in roubles", async () => {
    const page = await pageAs('sales_head');
    const api = (await (await page.request.get('/api/reports/funnel')).json()) as {
      slices: Array<{ stages: Array<{ stage: string; count: number; lost: number; lostMoney: number | null }> }>;
    };
    const stages = api.slices[0]!.stages;
    expect(stages.find((s) => s.stage === 'total')!.count).toBe(9);
    const rows = page.locator('[data-testid=funnel-table] tbody tr');
    await expect.poll(() => rows.count()).toBe(stages.length);
    for (const [i, s] of stages.entries()) {
      const cells = await rows.nth(i).locator('td').allInnerTexts();
      expect(plain(cells[1]!)).toBe(plain(fmt.int(s.count)));
      if (s.stage === 'answered') {
        // 3 missed calls × conversion 2/4 × average check 50 000 ₽ = 75 000 ₽.
        expect(s.lostMoney).toBe(75_000);
        expect(plain(cells[4]!)).toBe('75 000 ₽');
      }
    }
    const kpis = plain(await page.locator('.kpis').innerText());
    expect(kpis).toContain('50 000 ₽');
    await page.screenshot({ path: '/tmp/callpulse-ui-funnel.png' });
  });

  it("the call journal and the manager's own calls show phones as 8 (XXX) XXX-XX-XX", async () => {
    const head = await pageAs('sales_head');
    await head.locator('.topbar nav a[data-page=calls]').click();
    const callerCell = head.locator('[data-testid=calls-table] td[data-col=caller]').first();
    await expect.poll(() => callerCell.textContent()).toBe('8 (916) 123-45-67');
    expect(await head.locator('[data-testid=calls-table] td[data-col=trackingNumber]').first().textContent()).toBe('8 (495) 111-00-01');
    expect(await head.locator('[data-testid=calls-table] td[data-col=talkSeconds]').first().textContent()).toBe('2:05');

    const manager = await pageAs('manager');
    const mine = manager.locator('[data-testid=my-calls] td[data-col=caller]');
    await expect.poll(() => mine.allTextContents()).toEqual(['8 (916) 123-45-67']);
  });

  it("the admin's configuration shows tracking numbers nationally and channel costs in roubles", async () => {
    const page = await pageAs('admin');
    const number = page.locator('[data-testid=config-tracking-numbers] td[data-col=number]');
    await expect.poll(() => number.allTextContents()).toEqual(['8 (495) 111-00-01']);
    await expect.poll(() => page.locator('[data-testid=config-tracking-numbers] td[data-col=channelId]').textContent()).toBe('Билборд на МКАД');
    await page.locator('.tabs button', { hasText: 'Каналы' }).click();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe('#/config/channels');
    const cost = page.locator('[data-testid=config-channels] td[data-col=monthlyCost]');
    await expect.poll(async () => plain((await cost.textContent()) ?? '')).toBe('15 000 ₽');
    await page.screenshot({ path: '/tmp/callpulse-ui-admin.png' });
  });

  it("the marketer's channels table shows the report's figures", async () => {
    const page = await pageAs('marketer');
    const api = (await (await page.request.get('/api/reports/channels', { params: { from: '2000-01-01', to: '2100-01-01' } })).json()) as {
      channels: Array<{ channel: string }>;
    };
    expect(api.channels.map((c) => c.channel)).toEqual(['Билборд на МКАД']);
    const row = page.locator('[data-testid=channels-table] tbody tr').first();
    await expect.poll(() => row.locator('td[data-col=channel]').textContent()).toBe('Билборд на МКАД');
    // 9 calls, 2 deals for 100 000 ₽: an average check of 50 000 ₽.
    expect(await row.locator('td[data-col=calls]').textContent()).toBe('9');
    expect(plain((await row.locator('td[data-col=averageCheck]').textContent()) ?? '')).toBe('50 000 ₽');
    expect(await page.locator('canvas[role=img]').count()).toBe(2);
    await page.screenshot({ path: '/tmp/callpulse-ui-channels.png' });
  });
});

describe('APIs this server does not have', () => {
  it("the manager's panel says 'not available yet' exactly where the server answers 404", async () => {
    const page = await pageAs('manager');
    for (const [testId, path] of [
      ['tasks', '/api/tasks'],
      ['leads', '/api/leads'],
      ['screen-pop', '/api/screen-pop'],
    ] as const) {
      const status = (await page.request.get(path)).status();
      const unavailable = page.locator(`[data-testid=${testId}] [data-state=unavailable]`);
      if (status === 404) {
        await expect.poll(() => unavailable.count(), { message: testId }).toBe(1);
        // No placeholder figures where there is no data.
        expect(await page.locator(`[data-testid=${testId}]`).innerText(), testId).not.toMatch(/\d/);
      }
      else await expect.poll(() => page.locator(`[data-testid=${testId}] .state-loading`).count(), { message: testId }).toBe(0);
      if (status !== 404) expect(await unavailable.count(), testId).toBe(0);
    }
    await page.screenshot({ path: '/tmp/callpulse-ui-manager.png' });
  });

  it('the wallboard does the same for its snapshot', async () => {
    const page = await pageAs('sales_head');
    await page.locator('.topbar nav a[data-page=wallboard]').click();
    const status = (await page.request.get('/api/wallboard')).status();
    if (status === 404) {
      await expect.poll(() => page.locator('.main [data-state=unavailable]').count()).toBe(1);
      expect(await page.locator('.main .kpis').count()).toBe(0);
    } else {
      await expect.poll(() => page.locator('.main .kpis').count()).toBe(1);
    }
  });
});
