/**
 * The client card, the manager's task actions and the sales head's SLA notifications in real
 * headless Chromium, against the real CRM card routes and the call-back suite (tasks,
 * click-to-call, SLA checkpoints) over real Postgres and Redis, with the lab's inbound ESL
 * socket standing in for FreeSWITCH. The figures on screen are checked against what the API
 * answers for the same card.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsRoutes } from '../../analytics/http/routes';
import { PgCrmStore, type Actor } from '../../crm-bridge/adapters/crm-store';
import { crmCardRoutes } from '../../crm-bridge/http/cards';
import { hashPassword } from '../../platform/auth/passwords';
import { parseCallEvent } from '../../platform/events/contract';
import { makeFormatter } from '../../web/src/format';
import { buildWebOnce, launchBrowser, signIn, startUiServer, type UiServer } from '../helpers/browser';
import { testLogger, uniq } from '../helpers';
import { client, createStaff, missedCall, randomPhone, startEnv, until, type Env, type Staff } from '../integration/crm-recovery/harness';

const MIN = 60_000;
const TZ = 'Europe/Moscow';
const fmt = makeFormatter({ locale: 'ru-RU', currency: 'RUB', timeZone: TZ });

let env: Env;
let s: Staff;
let store: PgCrmStore;
let ui: UiServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const login: Record<'manager' | 'sales_head', { email: string; password: string; name: string }> = {} as never;
let manager: Actor;
let head: Actor;

beforeAll(async () => {
  await buildWebOnce();
  env = await startEnv({ startAt: Date.now() });
  s = await createStaff(env.pool);
  await env.pool.query(`UPDATE accounts SET policy = '{"leadUntouchedMinutes": 30, "callbackDueMinutes": 10}' WHERE id = $1`, [s.accountId]);
  for (const role of ['manager', 'sales_head'] as const) {
    const password = `pw-${uniq('secret')}`;
    const name = role === 'manager' ? 'Anna Manager' : 'Ivan Head';
    await env.pool.query(`UPDATE users SET name = $2, password_hash = $3 WHERE id = $1`, [s[role].id, name, await hashPassword(password)]);
    login[role] = { email: s[role].email, password, name };
  }
  manager = { accountId: s.accountId, userId: s.manager.id, role: 'manager' };
  head = { accountId: s.accountId, userId: s.sales_head.id, role: 'sales_head' };
  // The store as crm-bridge/core.ts wires it: its changes feed the call-back suite (SLA).
  store = new PgCrmStore({ pool: env.pool, events: env.publisher, clock: env.clock, logger: testLogger(), changes: env.suite.sink });
  ui = await startUiServer({
    pool: env.pool,
    config: env.config,
    register: async (app) => {
      await app.register(crmCardRoutes, { store });
      // The call journal, for its link from a known caller to the card.
      await app.register(analyticsRoutes, { pool: env.pool, publisher: env.publisher });
      await app.register(env.suite.routes);
    },
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await ui?.close();
  await env?.stop();
});

async function pageAs(who: 'manager' | 'sales_head', hash?: string): Promise<Page> {
  const ctx = await browser.newContext({ baseURL: ui.url, viewport: { width: 1360, height: 900 } });
  contexts.push(ctx);
  await ctx.addInitScript(() => localStorage.setItem('callpulse.lang', 'en'));
  const page = await ctx.newPage();
  await signIn(page, login[who]);
  if (hash) await page.goto(`/${hash}`);
  return page;
}

const api = (who: 'manager' | 'sales_head') => client(ui.app, s[who]);

/** A lead that came from a call (the router's source call), owned by the manager, not worked yet. */
async function leadFromCall(contactId: string | null, phone: string) {
  const callId = randomUUID();
  const name = `Call from ${phone}`;
  const { rows } = await env.pool.query<{ id: string }>(
    `INSERT INTO leads (account_id, name, phone, contact_id, owner_user_id, source_call_id, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'auto', $7, $7) RETURNING id`,
    [s.accountId, name, phone, contactId, s.manager.id, callId, new Date(env.clock.now())],
  );
  return { id: rows[0]!.id, callId, name };
}

async function streamEvents(type: string) {
  const entries = (await env.redis.xrange(env.stream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, f]) => parseCallEvent(JSON.parse(f[1]!))).filter((e) => e.type === type);
}

describe('the client card', () => {
  it('shows the contact as the API gives it; a note appears; a lead’s status changes and a refused move says why', async () => {
    const phone = randomPhone();
    const contact = await store.createContact(manager, { name: `Olga ${uniq('petrova')}`, company: 'Romashka LLC', phones: [fmt.phone(phone)] });
    const lead = await store.createLead(manager, { name: 'Chairs for the office', contactId: contact.id });
    const deal = await store.createDeal(manager, { title: 'Office chairs', contactId: contact.id, amount: 154_000 });
    const callId = randomUUID();
    const arrived = new Date(env.clock.now() - 30 * MIN);
    await env.pool.query(
      `INSERT INTO call_facts (account_id, call_id, arrived_at, day, caller, outcome, provisional, talk_seconds, classified_at)
       VALUES ($1, $2, $3::timestamptz, ($3::timestamptz AT TIME ZONE 'Europe/Moscow')::date, $4, 'worked', false, 95, $3::timestamptz)`,
      [s.accountId, callId, arrived, phone],
    );

    const card = (await api('manager')('GET', `/api/contacts/${contact.id}`)).body;
    expect(card.contact.phones.map((p: { phone: string }) => p.phone)).toEqual([phone]);
    expect(card.openDeals.map((d: { id: string; amount: number }) => [d.id, d.amount])).toEqual([[deal.id, 154_000]]);
    expect(card.lastCalls.map((c: { callId: string; talkSeconds: number }) => [c.callId, c.talkSeconds])).toEqual([[callId, 95]]);

    const page = await pageAs('manager', `#/crm/contact/${contact.id}`);
    await expect.poll(() => page.locator('.page-header h1').textContent(), { timeout: 15_000 }).toBe(contact.name);
    // Not in the top navigation: reached from links only.
    expect(await page.locator('.nav a[data-page=crm]').count()).toBe(0);
    const facts = page.locator('[data-testid=crm-contact]');
    expect(await facts.locator('.crm-company').textContent()).toBe('Romashka LLC');
    expect(await facts.locator('.crm-phones').textContent()).toBe(fmt.phone(phone));
    expect(await facts.locator('.crm-owner').textContent()).toBe('Anna Manager');
    const deals = page.locator(`[data-testid=crm-deals] [data-deal-id="${deal.id}"]`);
    expect(await deals.locator('.deal-amount').textContent()).toBe(fmt.money(154_000));
    const call = page.locator(`[data-testid=crm-calls] li[data-call-id="${callId}"]`);
    await expect.poll(() => call.textContent()).toContain(fmt.duration(95));
    await expect.poll(() => call.textContent()).toContain('Worked');

    // A note: on the page after the server stored it.
    const note = `Agreed on a demo ${uniq('n')}`;
    await page.locator('[data-testid=crm-notes] textarea').fill(note);
    await page.locator('[data-testid=crm-notes] button[type=submit]').click();
    await page.locator('[data-testid=crm-notes] li', { hasText: note }).waitFor({ timeout: 15_000 });
    const after = (await api('manager')('GET', `/api/contacts/${contact.id}`)).body;
    expect(after.activities.map((a: { title: string; kind: string }) => [a.kind, a.title])).toContainEqual(['note', note]);

    // The lead's status: new → in progress; then in progress → new, which the pipeline refuses.
    const row = page.locator(`[data-testid=crm-leads] li[data-lead-id="${lead.id}"]`);
    await row.locator('select').selectOption('in_progress');
    await expect.poll(async () => (await api('manager')('GET', `/api/leads/${lead.id}`)).body.lead.status, { timeout: 15_000 }).toBe('in_progress');
    await expect.poll(() => row.locator('select').inputValue()).toBe('in_progress');
    await row.locator('select').selectOption('new');
    await expect.poll(() => row.locator('[data-testid=crm-error]').textContent(), { timeout: 15_000 }).toBe('The lead cannot move to that status from its current one.');
    expect((await api('manager')('GET', `/api/leads/${lead.id}`)).body.lead.status).toBe('in_progress');

    // The deal: lost needs a reason (refused by code), then lost with one.
    await deals.locator('.deal-lost').click();
    await expect.poll(() => deals.locator('[data-testid=crm-error]').textContent(), { timeout: 15_000 }).toBe('A lost deal needs a reason.');
    await deals.locator('input[placeholder="Reason for the loss"]').fill('too expensive');
    await deals.locator('.deal-lost').click();
    await expect.poll(() => deals.getAttribute('data-status'), { timeout: 15_000 }).toBe('lost');
    const stored = (await env.pool.query(`SELECT status, lost_reason FROM deals WHERE id = $1`, [deal.id])).rows[0];
    expect(stored).toEqual({ status: 'lost', lost_reason: 'too expensive' });
  });

  it('a lead from a call goes from not worked to worked with a note (crm.work for its call)', async () => {
    const phone = randomPhone();
    const lead = await leadFromCall(null, phone);
    const page = await pageAs('manager', `#/crm/lead/${lead.id}`);
    const badge = page.locator('[data-testid=crm-lead] [data-testid=lead-worked]');
    await expect.poll(() => badge.getAttribute('data-worked'), { timeout: 15_000 }).toBe('false');
    expect(await page.locator('[data-testid=crm-lead] .crm-phones').textContent()).toBe(fmt.phone(phone));
    // The call it came from is listed with its play button.
    expect(await page.locator(`[data-testid=crm-calls] li[data-call-id="${lead.callId}"] .btn-play`).count()).toBe(1);

    await page.locator('[data-testid=crm-notes] textarea').fill('Called back, sending the offer');
    await page.locator('[data-testid=crm-notes] button[type=submit]').click();
    await expect.poll(() => badge.getAttribute('data-worked'), { timeout: 15_000 }).toBe('true');
    const firstWork = (await env.pool.query(`SELECT first_work_at FROM leads WHERE id = $1`, [lead.id])).rows[0].first_work_at as Date;
    expect(await badge.textContent()).toBe(`Worked since ${fmt.dateTime(firstWork)}`);
    const work = (await streamEvents('crm.work')).filter((e) => e.callId === lead.callId);
    expect(work).toHaveLength(1);
    expect(work[0]).toMatchObject({ leadId: lead.id, kind: 'note', userId: s.manager.id });
  });

  it('another manager’s card: 403 shown as not yours; a missing card: 404 shown as not found; a head sees any card with its owner', async () => {
    const theirs = await store.createContact(head, { name: 'Head’s client', ownerUserId: s.sales_head.id, phones: [randomPhone()] });
    const page = await pageAs('manager', `#/crm/contact/${theirs.id}`);
    const err = page.locator('[data-testid=crm-card-error]');
    await expect.poll(() => err.getAttribute('data-code'), { timeout: 15_000 }).toBe('FORBIDDEN');
    expect(await err.textContent()).toBe('This is not your card: it belongs to another manager.');
    expect((await api('manager')('GET', `/api/contacts/${theirs.id}`)).status).toBe(403);

    await page.goto(`/#/crm/lead/${randomUUID()}`);
    await expect.poll(() => err.getAttribute('data-code'), { timeout: 15_000 }).toBe('NOT_FOUND');
    expect(await err.textContent()).toBe('This card does not exist or was deleted.');

    // The head works every card: a manager's contact, its owner named.
    const annas = await store.createContact(manager, { name: `Anna’s client ${uniq('c')}`, phones: [randomPhone()] });
    const headPage = await pageAs('sales_head', `#/crm/contact/${annas.id}`);
    await expect.poll(() => headPage.locator('[data-testid=crm-contact] .crm-owner').textContent(), { timeout: 15_000 }).toBe('Anna Manager');
  });
});

describe('the call journal', () => {
  it('a known caller’s number opens their card', async () => {
    const phone = randomPhone();
    const contact = await store.createContact(manager, { name: `Pavel ${uniq('client')}`, phones: [phone] });
    const arrived = new Date(env.clock.now() - 5 * MIN);
    const { rows } = await env.pool.query<{ day: string }>(
      `INSERT INTO call_facts (account_id, call_id, arrived_at, day, caller, known_client, answered_by, outcome, provisional, talk_seconds, classified_at)
       VALUES ($1, $2, $3::timestamptz, ($3::timestamptz AT TIME ZONE 'Europe/Moscow')::date, $4, true, $5, 'worked', false, 40, $3::timestamptz)
       RETURNING to_char(day, 'YYYY-MM-DD') AS day`,
      [s.accountId, randomUUID(), arrived, phone, s.manager.id],
    );
    const page = await pageAs('manager', '#/calls');
    await page.locator('.period input[type=date]').first().fill(rows[0]!.day);
    await page.locator('.period input[type=date]').last().fill(rows[0]!.day);
    const link = page.locator('[data-testid=calls-table] tbody tr a.phone', { hasText: fmt.phone(phone) });
    await link.click({ timeout: 15_000 });
    await expect.poll(() => page.locator('.page-header h1').textContent(), { timeout: 15_000 }).toBe(contact.name);
    expect(page.url()).toContain(`#/crm/contact/${contact.id}`);
  });
});

describe('the manager’s panel', () => {
  it('Call back dials through the switch and shows connected; Done closes a task; a lead row opens its card', async () => {
    const T = env.clock.now();
    // Two missed calls 15 minutes ago: call-back tasks for the queue, overdue now.
    const [a, b] = [randomPhone(), randomPhone()];
    const callA = missedCall({ accountId: s.accountId, caller: a, queueId: s.queueId, hangupAt: T - 15 * MIN });
    const callB = missedCall({ accountId: s.accountId, caller: b, queueId: s.queueId, hangupAt: T - 15 * MIN });
    await env.publisher.publishMany([...callA, ...callB]);
    const taskOf = (callId: string) =>
      until(`the task of ${callId}`, async () => (await env.pool.query<{ id: string }>(`SELECT id FROM activities WHERE call_id = $1`, [callId])).rows[0]);
    const [ta, tb] = [await taskOf(callA[0]!.callId), await taskOf(callB[0]!.callId)];
    const lead = await leadFromCall(null, randomPhone());

    env.fate = { answer: true, afterMs: 300 };
    const page = await pageAs('manager', '#/panel');
    const tasks = page.locator('[data-testid=tasks] tbody tr');
    const rowA = tasks.filter({ hasText: fmt.phone(a) });
    const rowB = tasks.filter({ hasText: fmt.phone(b) });
    await rowA.waitFor({ timeout: 15_000 });

    await rowA.locator('.task-call').click();
    const result = rowA.locator('.task-result');
    await expect.poll(() => result.getAttribute('data-state'), { timeout: 30_000 }).toBe('connected');
    expect(await result.textContent()).toBe('Connected');
    const attempt = (await env.pool.query(`SELECT status, task_id, user_id, phone FROM callback_attempts WHERE task_id = $1`, [ta.id])).rows;
    expect(attempt).toEqual([{ status: 'connected', task_id: ta.id, user_id: s.manager.id, phone: a }]);
    expect(env.lab.originates.some((o) => o.endpoint === `sofia/gateway/carrier/${a.slice(1)}`)).toBe(true);

    await rowB.locator('.task-done').click();
    await expect.poll(() => rowB.count(), { timeout: 15_000 }).toBe(0);
    const done = (await env.pool.query(`SELECT done_by, result FROM activities WHERE id = $1`, [tb.id])).rows[0];
    expect(done).toEqual({ done_by: s.manager.id, result: 'done' });

    // My leads: the row opens the lead's card.
    await page.locator(`[data-testid=leads] a[href="#/crm/lead/${lead.id}"]`).click();
    await expect.poll(() => page.locator('.page-header h1').textContent(), { timeout: 15_000 }).toBe(lead.name);
  });
});

describe('the sales head', () => {
  it('sees an overdue checkpoint on the funnel page and marks it read', { timeout: 90_000 }, async () => {
    const lead = await store.createLead(head, { name: `Nobody touched ${uniq('lead')}`, phone: randomPhone() });
    env.clock.t = env.clock.now() + 31 * MIN;
    await until('the checkpoint of the new lead', async () => {
      await env.suite.sla.promoteDue();
      await env.suite.sla.idle();
      return (await env.pool.query(`SELECT id FROM notifications WHERE entity_id = $1`, [lead.id])).rows[0];
    });
    // The same clock jump made the earlier tests' tasks overdue at the same instant; the head
    // has read those, so the page's newest-first list of unread ones is this lead's alone
    // (ties on the lab clock's time would otherwise pick any 20).
    await env.pool.query(`UPDATE notifications SET read_at = now() WHERE account_id = $1 AND entity_id <> $2 AND read_at IS NULL`, [
      s.accountId,
      lead.id,
    ]);
    const page = await pageAs('sales_head', '#/funnel');
    const item = page.locator('[data-testid=sla-notifications] li', { hasText: lead.name });
    await item.waitFor({ timeout: 30_000 });
    expect(await item.getAttribute('data-kind')).toBe('lead_untouched');
    expect(await item.locator('a').getAttribute('href')).toBe(`#/crm/lead/${lead.id}`);
    expect(await item.locator('a').textContent()).toBe(`Lead not worked: ${lead.name}`);

    await item.locator('.sla-read').click();
    await expect.poll(() => item.count(), { timeout: 15_000 }).toBe(0);
    const { rows } = await env.pool.query(`SELECT read_at FROM notifications WHERE entity_id = $1`, [lead.id]);
    expect(rows[0].read_at).toBeInstanceOf(Date);
  });
});
