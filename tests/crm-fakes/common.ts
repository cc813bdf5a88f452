/**
 * What the fake CRM vendors share: the recorded payloads (tests/fixtures/crm, copied from the
 * steering repo's shared/crm-fixtures with their provenance) and fault injection, so a test
 * can make the next matching request answer 429, 401 or garbage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { repoRoot } from '../helpers';

const fixturesDir = resolve(repoRoot, 'tests/fixtures/crm');

export function fixtureText(vendor: 'amocrm' | 'bitrix24', name: string): string {
  return readFileSync(resolve(fixturesDir, vendor, name), 'utf8');
}

/** A recorded JSON payload, parsed fresh each time so callers may change their copy. */
export function fixtureJson<T = Record<string, unknown>>(vendor: 'amocrm' | 'bitrix24', name: string): T {
  return JSON.parse(fixtureText(vendor, name)) as T;
}

export interface Injected {
  method?: 'GET' | 'POST';
  /** Matches when the request path contains this. */
  path: string;
  status: number;
  body: string;
  headers?: Record<string, string>;
  /** How many matching requests get this answer (default 1). */
  times?: number;
  /** Answer this late (to exercise client timeouts). */
  delayMs?: number;
}

export class Faults {
  private readonly queue: Array<Injected & { left: number }> = [];
  /** How many requests got an injected answer. */
  served = 0;

  add(f: Injected): void {
    this.queue.push({ ...f, left: f.times ?? 1 });
  }

  /** Install as the first hook: an injected answer replaces the route's. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const f = this.queue.find((x) => x.left > 0 && (!x.method || x.method === req.method) && req.url.includes(x.path));
      if (!f) return;
      f.left--;
      this.served++;
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      reply.code(f.status).headers({ 'content-type': 'application/json', ...f.headers });
      return reply.send(f.body);
    });
  }
}

export const digits = (s: string) => s.replace(/\D/g, '');
