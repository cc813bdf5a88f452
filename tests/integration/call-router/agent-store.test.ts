import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisAgentStore } from '../../../call-router/adapters/agent-store';
import { closeAll, testRedis, uniq } from '../../helpers';

afterAll(closeAll);

const T0 = Date.UTC(2026, 10, 2, 7, 0, 0);

async function withAgents(n: number) {
  const prefix = uniq('as');
  const accountId = randomUUID();
  const stores = [new RedisAgentStore(testRedis(), prefix), new RedisAgentStore(testRedis(), prefix), new RedisAgentStore(testRedis(), prefix)];
  const agents = Array.from({ length: n }, (_, i) => ({ userId: randomUUID(), ext: String(100 + i) }));
  for (const a of agents) await stores[0]!.ensureAgent(accountId, a.userId, a.ext);
  return { stores, agents, accountId };
}

describe('RedisAgentStore', () => {
  it('never gives one agent to two calls, across connections racing for the same agents', async () => {
    const { stores, agents, accountId } = await withAgents(20);
    const calls = Array.from({ length: 300 }, () => randomUUID());
    const wins = new Map<string, string[]>();
    await Promise.all(
      calls.map(async (callId, i) => {
        const store = stores[i % 3]!;
        for (const a of agents) {
          if (await store.reserve(accountId, a.userId, callId, T0, 30_000)) {
            wins.set(a.userId, [...(wins.get(a.userId) ?? []), callId]);
            return;
          }
        }
      }),
    );
    expect(wins.size).toBe(20);
    for (const [, callIds] of wins) expect(callIds).toHaveLength(1);
    const states = await stores[1]!.get(accountId, agents.map((a) => a.userId));
    expect(states.every((s) => s.status === 'reserved')).toBe(true);
  });

  it('expires a reservation whose router died, so the agent is not stuck reserved', async () => {
    const { stores, agents, accountId } = await withAgents(1);
    const [s] = stores;
    const a = agents[0]!;
    expect(await s!.reserve(accountId, a.userId, 'dead-call', T0, 25_000)).toBe(true);
    expect(await s!.reserve(accountId, a.userId, 'next-call', T0 + 24_000, 25_000)).toBe(false);
    expect(await s!.reserve(accountId, a.userId, 'next-call', T0 + 25_001, 25_000)).toBe(true);
    const [st] = await s!.get(accountId, [a.userId]);
    expect(st).toMatchObject({ status: 'reserved', callId: 'next-call' });
  });

  it('ignores a release or finish from a call that does not hold the agent', async () => {
    const { stores, agents, accountId } = await withAgents(1);
    const s = stores[0]!;
    const a = agents[0]!;
    await s.reserve(accountId, a.userId, 'c1', T0, 30_000);
    expect(await s.confirm(accountId, a.userId, 'c1')).toBe(true);
    expect(await s.release(accountId, a.userId, 'c0-late', T0 + 1000)).toBe(false);
    expect(await s.finish(accountId, a.userId, 'c0-late', T0 + 1000, 10)).toBe(false);
    expect((await s.get(accountId, [a.userId]))[0]!.status).toBe('busy');
    expect(await s.finish(accountId, a.userId, 'c1', T0 + 90_000, 90)).toBe(true);
    expect((await s.get(accountId, [a.userId]))[0]).toMatchObject({ status: 'free', lastCallEndedAt: T0 + 90_000, talkSecondsToday: 90 });
  });

  it('applies a status change requested mid-offer only when the offer ends, and never re-offers', async () => {
    const { stores, agents, accountId } = await withAgents(1);
    const s = stores[0]!;
    const a = agents[0]!;
    await s.reserve(accountId, a.userId, 'c1', T0, 30_000);
    expect(await s.setStatus(accountId, a.userId, 'away')).toBe('reserved');
    expect(await s.release(accountId, a.userId, 'c1', T0 + 20_000)).toBe(true);
    expect((await s.get(accountId, [a.userId]))[0]!.status).toBe('away');
    expect(await s.reserve(accountId, a.userId, 'c2', T0 + 21_000, 30_000)).toBe(false);
    expect(await s.setStatus(accountId, a.userId, 'free')).toBe('free');
    expect(await s.reserve(accountId, a.userId, 'c2', T0 + 22_000, 30_000)).toBe(true);
  });

  it('keeps waiting callers first come, first served', async () => {
    const { stores, accountId } = await withAgents(0);
    const s = stores[0]!;
    const q = randomUUID();
    await s.enqueue(accountId, q, 'b', T0 + 10);
    await s.enqueue(accountId, q, 'a', T0);
    await s.enqueue(accountId, q, 'c', T0 + 20);
    await s.enqueue(accountId, q, 'a', T0 + 99); // re-entering keeps the original arrival
    expect(await s.rank(accountId, q, 'a')).toBe(0);
    expect(await s.rank(accountId, q, 'c')).toBe(2);
    await s.dequeue(accountId, q, 'a');
    expect(await s.rank(accountId, q, 'b')).toBe(0);
    expect(await s.rank(accountId, q, 'a')).toBeNull();
    expect(await s.waiting(accountId, q)).toEqual([
      { callId: 'b', since: T0 + 10 },
      { callId: 'c', since: T0 + 20 },
    ]);
  });
});
