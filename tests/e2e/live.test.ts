/**
 * web/src/live.ts, the helper the live pages (wallboard, screen pop) use, run in real
 * Chromium against a real fastify WebSocket and SSE server that drops the first connection:
 * messages arrive decoded, the helper reconnects by itself, sends, and stops for good on close().
 */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../web/src/live';
import { launchBrowser } from '../helpers/browser';
import { repoRoot } from '../helpers';

let app: FastifyInstance;
let url: string;
let browser: Browser;
const opened = { ws: 0, sse: 0 };

/** live.ts as the browser runs it, exposed on window for the test. */
const liveModule = () => {
  const src = readFileSync(resolve(repoRoot, 'web/src/live.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return `${js}\nwindow.__live = { connectLive };\n`;
};

async function livePage(): Promise<Page> {
  const page = await browser.newPage({ baseURL: url });
  await page.goto('/');
  await page.addScriptTag({ type: 'module', content: liveModule() });
  await page.waitForFunction(() => 'connectLive' in ((window as unknown as { __live?: object }).__live ?? {}));
  return page;
}

beforeAll(async () => {
  app = Fastify();
  await app.register(websocket);
  app.get('/', async (_req, reply) => reply.type('text/html').send('<!doctype html><title>live</title>'));
  app.get('/ws', { websocket: true }, (socket) => {
    const n = ++opened.ws;
    socket.send(JSON.stringify({ n }));
    socket.on('message', (m: Buffer) => socket.send(JSON.stringify({ echo: JSON.parse(m.toString()) })));
    // The first connection is dropped by the server, as a restart would.
    if (n === 1) setTimeout(() => socket.close(), 50);
  });
  app.get('/sse', (req, reply) => {
    const n = ++opened.sse;
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    reply.raw.write(`data: ${JSON.stringify({ n })}\n\n`);
    if (n === 1) setTimeout(() => reply.raw.end(), 50);
    req.raw.on('close', () => reply.raw.end());
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('connectLive', () => {
  it('WebSocket: decodes messages, reconnects after the server drops it, sends, and stops on close()', async () => {
    const page = await livePage();
    await page.evaluate(() => {
      const w = window as unknown as { __log: unknown[]; __h: { close(): void; send(m: unknown): boolean }; __live: { connectLive: (p: string, o: object) => unknown } };
      w.__log = [];
      w.__h = w.__live.connectLive('/ws', {
        onMessage: (m: unknown) => w.__log.push(m),
        onStatus: (s: string) => w.__log.push(`status:${s}`),
        minDelayMs: 100,
        maxDelayMs: 400,
      }) as typeof w.__h;
    });
    const log = () => page.evaluate(() => (window as unknown as { __log: unknown[] }).__log);
    await expect.poll(log).toContainEqual({ n: 2 });
    expect(await log()).toEqual(['status:connecting', 'status:open', { n: 1 }, 'status:reconnecting', 'status:open', { n: 2 }]);

    expect(await page.evaluate(() => (window as unknown as { __h: { send(m: unknown): boolean } }).__h.send({ hi: 1 }))).toBe(true);
    await expect.poll(log).toContainEqual({ echo: { hi: 1 } });

    await page.evaluate(() => (window as unknown as { __h: { close(): void } }).__h.close());
    await new Promise((r) => setTimeout(r, 600));
    expect(opened.ws).toBe(2);
    expect((await log()).at(-1)).toBe('status:closed');
    await page.close();
  });

  it('SSE: the same policy over EventSource', async () => {
    const page = await livePage();
    await page.evaluate(() => {
      const w = window as unknown as { __log: unknown[]; __h: { close(): void }; __live: { connectLive: (p: string, o: object) => unknown } };
      w.__log = [];
      w.__h = w.__live.connectLive('/sse', { transport: 'sse', onMessage: (m: unknown) => w.__log.push(m), minDelayMs: 100, maxDelayMs: 400 }) as typeof w.__h;
    });
    const log = () => page.evaluate(() => (window as unknown as { __log: unknown[] }).__log);
    await expect.poll(log).toEqual([{ n: 1 }, { n: 2 }]);
    await page.evaluate(() => (window as unknown as { __h: { close(): void } }).__h.close());
    await new Promise((r) => setTimeout(r, 600));
    expect(opened.sse).toBe(2);
    await page.close();
  });
});

describe('backoffDelay', () => {
  it('doubles from the minimum up to the cap, with at most 30% taken off', () => {
    const none = () => 1;
    expect([0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, 1000, 30_000, none))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffDelay(3, 1000, 30_000, () => 0)).toBe(5600);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 8, 1000, 30_000);
      expect(d).toBeGreaterThanOrEqual(700);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });
});
