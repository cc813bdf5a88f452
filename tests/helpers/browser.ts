/**
 * Real-browser tests: Debian's Chromium driven by playwright-core, the web UI built by Vite
 * once per test run, and a real fastify app serving it.
 *
 *   await buildWebOnce();
 *   const ui = await startUiServer({ pool, config, register: (app) => app.register(myRoutes, …) });
 *   const browser = await launchBrowser();
 *   const page = await browser.newPage({ baseURL: ui.url });
 *   await signIn(page, person);
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../../platform/auth/passwords';
import type { Role } from '../../platform/auth/principals';
import type { Config } from '../../platform/config';
import type { Pool } from '../../platform/db/pool';
import { buildApp, type App } from '../../platform/http/app';
import { authRoutes } from '../../platform/http/auth-routes';
import { webStatic } from '../../platform/http/static';
import { repoRoot, testLogger, uniq } from './index';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A headless Chromium. Playwright gives every plain launch a fresh temporary profile (and
 * removes it on close), so no cookie or localStorage leaks between test files.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

// ---------------------------------------------------------------------------------------
// The web build

export const WEB_DIR = resolve(repoRoot, 'web');
export const WEB_DIST = resolve(WEB_DIR, 'dist');
const BUILD_LOCK = join(tmpdir(), `callpulse-web-build-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}.lock`);
const STALE_LOCK_MS = 5 * 60_000;

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** web/dist is fresh when its index.html is newer than every source file of the UI. */
export function webBuildIsFresh(): boolean {
  const built = statSync(join(WEB_DIST, 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (!built) return false;
  const sources = Math.max(newestMtime(join(WEB_DIR, 'src')), newestMtime(join(WEB_DIR, 'index.html')), newestMtime(join(WEB_DIR, 'vite.config.ts')));
  return built >= sources;
}

function lockIsStale(): boolean {
  try {
    const st = statSync(BUILD_LOCK);
    if (Date.now() - st.mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(readFileSync(BUILD_LOCK, 'utf8'));
    if (!pid) return false;
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // ESRCH: the process that took the lock is gone. ENOENT: the lock was just released.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function runViteBuild(): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [resolve(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) ok();
      else fail(new Error(`vite build failed (exit ${code}):\n${out}`));
    });
  });
}

/**
 * Builds web/dist if it is missing or older than its sources, at most once across the test
 * files running in parallel: the first takes an exclusive lock file and builds; the others
 * wait for the lock to go and then find the build fresh.
 */
export async function buildWebOnce(): Promise<{ built: boolean; ms: number }> {
  const t0 = Date.now();
  if (webBuildIsFresh()) return { built: false, ms: 0 };
  for (;;) {
    let fd: number;
    try {
      fd = openSync(BUILD_LOCK, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lockIsStale()) {
        try {
          unlinkSync(BUILD_LOCK);
        } catch {
          // Another waiter removed it first.
        }
        continue;
      }
      await new Promise((r) => setTimeout(r, 200));
      if (webBuildIsFresh()) return { built: false, ms: Date.now() - t0 };
      continue;
    }
    try {
      writeSync(fd, String(process.pid));
      closeSync(fd);
      if (webBuildIsFresh()) return { built: false, ms: Date.now() - t0 };
      await runViteBuild();
      return { built: true, ms: Date.now() - t0 };
    } finally {
      unlinkSync(BUILD_LOCK);
    }
  }
}

// ---------------------------------------------------------------------------------------
// A server and people to sign in as

export interface UiServer {
  app: App;
  url: string;
  close(): Promise<void>;
}

/**
 * The kernel app with the real auth routes and the web UI, listening on a free loopback
 * port. `register` adds the routes the pages under test call.
 */
export async function startUiServer(opts: { pool: Pool; config: Config; register?(app: App): Promise<unknown> }): Promise<UiServer> {
  const app = await buildApp({ config: opts.config, pool: opts.pool, logger: testLogger() });
  await app.register(authRoutes, { pool: opts.pool, config: opts.config });
  if (opts.register) await opts.register(app);
  await app.register(webStatic);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export interface TestPerson {
  id: string;
  email: string;
  password: string;
  name: string;
  role: Role;
}

/** A user who can sign in with a password. */
export async function createPerson(pool: Pool, accountId: string, role: Role, name: string): Promise<TestPerson> {
  const email = `${uniq(role)}@ui.test`;
  const password = `pw-${uniq('secret')}`;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (account_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [accountId, email, name, role, await hashPassword(password)],
  );
  return { id: rows[0]!.id, email, password, name, role };
}

/** Signs in through the login form and waits for the app's top bar. */
export async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/');
  await page.locator('[data-testid=login-form] input[name=email]').fill(who.email);
  await page.locator('[data-testid=login-form] input[name=password]').fill(who.password);
  await page.locator('[data-testid=login-form] button[type=submit]').click();
  await page.locator('.topbar').waitFor({ timeout: 15_000 });
}
