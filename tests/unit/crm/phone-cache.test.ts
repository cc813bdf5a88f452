/** The routers' in-process cache of CRM client lookups: hits, invalidation, and the races. */
import { describe, expect, it } from 'vitest';
import { ClientLookupCache, parseContactsChanged } from '../../../crm-bridge/adapters/phone-cache';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('ClientLookupCache', () => {
  it('caches answers, including "unknown caller", and loads once for concurrent callers', async () => {
    const c = new ClientLookupCache<string | null>();
    let loads = 0;
    const load = async () => (loads++, null);
    expect(await Promise.all([c.get(A, '+1', load), c.get(A, '+1', load)])).toEqual([null, null]);
    expect(await c.get(A, '+1', load)).toBeNull();
    expect(loads).toBe(1);
    expect([c.hits, c.misses]).toEqual([2, 1]);
  });

  it('drops one phone, one account, or everything', async () => {
    const c = new ClientLookupCache<string>();
    let n = 0;
    const load = async () => `v${++n}`;
    await c.get(A, '+1', load); // v1
    await c.get(A, '+2', load); // v2
    await c.get(B, '+1', load); // v3
    c.invalidate(A, ['+1']);
    expect([await c.get(A, '+1', load), await c.get(A, '+2', load), await c.get(B, '+1', load)]).toEqual(['v4', 'v2', 'v3']);
    c.invalidate(A);
    expect([await c.get(A, '+1', load), await c.get(A, '+2', load), await c.get(B, '+1', load)]).toEqual(['v5', 'v6', 'v3']);
    c.invalidate();
    expect(await c.get(B, '+1', load)).toBe('v7');
  });

  it('does not keep a load that was in flight when its phone changed', async () => {
    const c = new ClientLookupCache<string>();
    const slow = deferred<string>();
    const first = c.get(A, '+1', () => slow.promise);
    c.invalidate(A, ['+1']);
    slow.resolve('old');
    expect(await first).toBe('old');
    expect(await c.get(A, '+1', async () => 'new')).toBe('new');
  });

  it('does not keep a failed load, and expires entries after the TTL', async () => {
    let now = 0;
    const c = new ClientLookupCache<string>(1000, 10, () => now);
    await expect(c.get(A, '+1', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await c.get(A, '+1', async () => 'ok')).toBe('ok');
    now = 999;
    expect(await c.get(A, '+1', async () => 'later')).toBe('ok');
    now = 1000;
    expect(await c.get(A, '+1', async () => 'later')).toBe('later');
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const c = new ClientLookupCache<string>(60_000, 2);
    await c.get(A, '+1', async () => 'a');
    await c.get(A, '+2', async () => 'b');
    await c.get(A, '+3', async () => 'c');
    expect(await c.get(A, '+1', async () => 'a2')).toBe('a2');
    expect(await c.get(A, '+3', async () => 'c2')).toBe('c');
  });

  it('parses the pub/sub message and refuses junk', () => {
    expect(parseContactsChanged(JSON.stringify({ accountId: A, phones: ['+1', 2] }))).toEqual({ accountId: A, phones: ['+1'] });
    expect(parseContactsChanged(JSON.stringify({ accountId: A }))).toEqual({ accountId: A, phones: [] });
    expect(parseContactsChanged('not json')).toBeNull();
    expect(parseContactsChanged('{}')).toBeNull();
  });
});
