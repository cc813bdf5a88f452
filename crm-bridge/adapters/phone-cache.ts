/**
 * The own-manager lookup runs on every inbound call (call-router: caller -> CRM contact ->
 * owner), so each router keeps the answers in process and the CRM tells every router when
 * a contact or one of its phones changes.
 *
 * Contract (ClientLookupCache):
 * - `get(accountId, phone, load)` returns the cached answer (a contact or "unknown caller",
 *   both cached: most callers are unknown) or loads it once, however many calls ask at once;
 * - `invalidate(accountId, phones?)` drops the given phones of an account, or all of its
 *   entries; a load that was in flight when its key was invalidated is not cached, so a
 *   change made during a lookup is never hidden until the TTL;
 * - entries expire after `ttlMs` (a lost pub/sub message delays a change by that much at
 *   most), and the cache holds at most `maxEntries` (oldest dropped first).
 *
 * The pub/sub channel is `<prefix>:contacts-changed`; a message is JSON
 * `{ accountId, phones }` (`phones` empty: every phone of the account). The CRM store
 * publishes it after its transaction commits.
 */
import type { Redis } from 'ioredis';

export const contactsChangedChannel = (redisPrefix: string) => `${redisPrefix}:contacts-changed`;

export interface ContactsChanged {
  accountId: string;
  phones: string[];
}

export function parseContactsChanged(message: string): ContactsChanged | null {
  try {
    const m = JSON.parse(message) as Partial<ContactsChanged>;
    if (typeof m.accountId !== 'string') return null;
    return { accountId: m.accountId, phones: Array.isArray(m.phones) ? m.phones.filter((p): p is string => typeof p === 'string') : [] };
  } catch {
    return null;
  }
}

export function publishContactsChanged(redis: Redis, redisPrefix: string, change: ContactsChanged): Promise<number> {
  return redis.publish(contactsChangedChannel(redisPrefix), JSON.stringify(change));
}

export class ClientLookupCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();
  /** Bumped by every invalidation of the key (phone) or of its whole account. */
  private readonly phoneGen = new Map<string, number>();
  private readonly accountGen = new Map<string, number>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs = 300_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(accountId: string, phone: string, load: () => Promise<T>): Promise<T> {
    const key = `${accountId} ${phone}`;
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) {
      this.hits++;
      return hit.value;
    }
    this.misses++;
    const gen = this.gen(accountId, key);
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { at: this.now(), value });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    // A failed load is not cached; an invalidated one neither (it may have read old rows).
    value.then(
      () => {
        if (this.gen(accountId, key) !== gen && this.entries.get(key)?.value === value) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key)?.value === value) this.entries.delete(key);
      },
    );
    return value;
  }

  invalidate(accountId?: string, phones: readonly string[] = []): void {
    if (!accountId) {
      this.entries.clear();
      for (const k of this.accountGen.keys()) this.accountGen.set(k, (this.accountGen.get(k) ?? 0) + 1);
      this.phoneGen.clear();
      this.allGen++;
      return;
    }
    if (phones.length === 0) {
      this.accountGen.set(accountId, (this.accountGen.get(accountId) ?? 0) + 1);
      for (const k of this.entries.keys()) if (k.startsWith(`${accountId} `)) this.entries.delete(k);
      return;
    }
    for (const p of phones) {
      const key = `${accountId} ${p}`;
      this.phoneGen.set(key, (this.phoneGen.get(key) ?? 0) + 1);
      this.entries.delete(key);
    }
  }

  private allGen = 0;
  private gen(accountId: string, key: string): string {
    return `${this.allGen}.${this.accountGen.get(accountId) ?? 0}.${this.phoneGen.get(key) ?? 0}`;
  }
}
