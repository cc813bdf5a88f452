/**
 * A randomised but seeded working day of calls for the demo: Poisson arrivals that peak late
 * morning and mid-afternoon, a few calls before and after hours, callers with limited
 * patience, IVR choices, talk times, and what managers do in the CRM afterwards.
 */
import { DateTime } from 'luxon';

/** mulberry32: a small, well-known seeded PRNG, so a demo day is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exp = (r: () => number, mean: number) => -Math.log(1 - r()) * mean;

export interface DemoCall {
  atMs: number;
  from: string;
  to: string;
  patienceSeconds: number;
  press: Array<{ afterSeconds: number; digits: string }>;
  talkSeconds: number;
  crm: { leadAfterMinutes: number | null; workAfterMinutes: number | null; dealAmount: number | null };
}

/** Calls per hour, by local hour: quiet early, a late-morning peak, a dip at lunch. */
const HOURLY = [0, 0, 0, 0, 0, 0, 0, 1, 3, 14, 22, 26, 18, 16, 22, 24, 20, 15, 10, 3, 2, 1, 0, 0];

export function demoDay(o: {
  seed: number;
  day: string;
  timezone: string;
  numbers: Array<{ number: string; weight: number; averageDeal: number }>;
  knownCallers: string[];
  scale?: number;
}): DemoCall[] {
  const r = rng(o.seed);
  const start = DateTime.fromISO(o.day, { zone: o.timezone }).startOf('day');
  const totalWeight = o.numbers.reduce((a, n) => a + n.weight, 0);
  const pick = () => {
    let x = r() * totalWeight;
    for (const n of o.numbers) if ((x -= n.weight) <= 0) return n;
    return o.numbers[0]!;
  };
  const calls: DemoCall[] = [];
  let serial = 0;
  for (let h = 0; h < 24; h++) {
    const rate = HOURLY[h]! * (o.scale ?? 1);
    let t = 0;
    for (;;) {
      t += exp(r, 3600 / Math.max(rate, 1e-9));
      if (t >= 3600 || rate === 0) break;
      const n = pick();
      const known = r() < 0.15 && o.knownCallers.length > 0;
      const from = known ? o.knownCallers[Math.floor(r() * o.knownCallers.length)]! : `+7916${String(1_000_000 + ++serial * 37 + Math.floor(r() * 30)).slice(-7)}`;
      const roll = r();
      // About one caller in six gives up inside the IVR (seed 002: menus lose callers).
      const leavesIvr = roll >= 0.82;
      const press =
        roll < 0.56 ? [{ afterSeconds: 2 + r() * 8, digits: '1' }] : roll < 0.76 ? [{ afterSeconds: 2 + r() * 8, digits: '2' }] : roll < 0.79 ? [{ afterSeconds: 3, digits: '7' }] : [];
      const isLead = r() < 0.6;
      const logged = isLead && r() < 0.8;
      calls.push({
        atMs: start.plus({ hours: h, seconds: t }).toMillis(),
        from,
        to: n.number,
        // Some hang up at once, most wait about a minute.
        patienceSeconds: leavesIvr ? 4 + r() * 7 : r() < 0.07 ? 3 + r() * 12 : 26 + exp(r, 75),
        press,
        talkSeconds: r() < 0.12 ? 3 + r() * 6 : 40 + exp(r, 150),
        crm: {
          leadAfterMinutes: logged ? exp(r, 20) : null,
          workAfterMinutes: logged && r() < 0.8 ? 30 + exp(r, 240) : null,
          dealAmount: logged && r() < 0.35 ? Math.round((n.averageDeal * (0.4 + r() * 1.2)) / 100) * 100 : null,
        },
      });
    }
  }
  return calls.sort((a, b) => a.atMs - b.atMs);
}
