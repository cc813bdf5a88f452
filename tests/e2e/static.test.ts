/**
 * platform/http/static.ts on its own, over a dist folder the test controls: the message when
 * the UI is not built, picking a build up without a restart, and the paths it never answers
 * with the app.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../platform/http/app';
import { WEB_NOT_BUILT, webStatic } from '../../platform/http/static';
import { closeAll, testConfig, testLogger, testPool } from '../helpers';

let app: App;
let dist: string;

beforeAll(async () => {
  dist = join(mkdtempSync(join(tmpdir(), 'cp-static-')), 'dist');
  app = await buildApp({ config: testConfig(), pool: testPool(1), logger: testLogger() });
  await app.register(webStatic, { distDir: dist });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  rmSync(join(dist, '..'), { recursive: true, force: true });
  await closeAll();
});

describe('webStatic', () => {
  it('without a build: 503 naming the command, API paths untouched', async () => {
    const r = await app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain(WEB_NOT_BUILT);
    expect(r.body).toContain('npm run build:web');
    expect(r.headers['cache-control']).toBe('no-store');
    const api = await app.inject({ method: 'GET', url: '/api/whatever' });
    expect(api.statusCode).toBe(404);
    expect(api.json().error.code).toBe('NOT_FOUND');
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ ok: true });
  });

  it('serves a build made after start-up, with the SPA fallback and no fallback for files or server paths', async () => {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="app"></div>');
    writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log(1)');

    for (const url of ['/', '/funnel', '/config/queues?x=1', '/index.html']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(200);
      expect(r.body, url).toBe('<!doctype html><div id="app"></div>');
      expect(r.headers['content-type'], url).toMatch(/^text\/html/);
    }
    expect((await app.inject({ method: 'GET', url: '/' })).headers['cache-control']).toBe('no-cache');

    const js = await app.inject({ method: 'GET', url: '/assets/index-abc.js' });
    expect(js.statusCode).toBe(200);
    expect(js.body).toBe('console.log(1)');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const head = await app.inject({ method: 'HEAD', url: '/assets/index-abc.js' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('14');

    for (const url of ['/assets/gone.js', '/favicon.ico', '/api', '/api/x', '/docs/nope', '/media/recordings']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error.code, url).toBe('NOT_FOUND');
    }
    // A malformed escape is the client's error (fastify's router answers it), never a 500.
    expect((await app.inject({ method: 'GET', url: '/%E0%A4%A' })).statusCode).toBe(400);
    // Outside the dist folder: refused, never read.
    writeFileSync(join(dist, '..', 'secret.txt'), 'TOP-SECRET-CONTENT');
    for (const url of ['/assets/..%2f..%2fsecret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt']) {
      const r = await app.inject({ method: 'GET', url });
      expect([403, 404], url).toContain(r.statusCode);
      expect(r.body, url).not.toContain('TOP-SECRET-CONTENT');
    }
    // POST is not the app's.
    expect((await app.inject({ method: 'POST', url: '/funnel' })).statusCode).toBe(404);
  });
});
