/**
 * The whole real path on a scenario with one call per outcome and per missed reason:
 * lab -> ESL over TCP -> router -> event stream -> analytics -> Postgres, read back from the
 * product's facts and reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../lab/scenario';
import { runSimulation, type SimulationResult } from '../lab/simulate';
import { closeAll, repoRoot, testConfig, testLogger, testPool, testRedis } from '../helpers';

afterAll(closeAll);

describe('simulate: every outcome through the real pipeline', () => {
  let result: SimulationResult;

  it('runs the scenario', async () => {
    // Tracking numbers are unique across accounts and other test files use the scenario's
    // numbers too: give this run numbers of its own.
    const base = String(Math.floor(Math.random() * 90_000) + 10_000);
    const text = readFileSync(join(repoRoot, 'tests/scenarios/every-outcome.json'), 'utf8').replace(/\+7495111000(\d)/g, `+7495${base}0$1`);
    const scenario = parseScenario(JSON.parse(text));
    result = await runSimulation(scenario, { config: testConfig(), pool: testPool(), redis: testRedis(), logger: testLogger() });
    expect(result.calls).toHaveLength(12);
  }, 180_000);

  it('classifies each call exactly as designed', () => {
    const got = Object.fromEntries(result.calls.map((c) => [c.id, [c.outcome, c.reason, c.provisional]]));
    expect(got).toEqual({
      'after-hours': ['after_hours', null, false],
      'ivr-abandon': ['ivr_abandon', null, false],
      'sticky-worked': ['worked', null, false],
      unlogged: ['unlogged', null, false],
      'short-call': ['short_call', null, false],
      'not-worked': ['not_worked', null, false],
      'worked-deal': ['worked', null, false],
      'no-agents': ['missed', 'no_agents', false],
      'short-abandon': ['missed', 'short_abandon', false],
      'queue-abandon': ['missed', 'queue_abandon', false],
      voicemail: ['missed', 'voicemail', false],
      fallback: ['worked', null, false],
    });
  });

  it('reports the routing fields', () => {
    const by = Object.fromEntries(result.calls.map((c) => [c.id, c]));
    expect(by['sticky-worked']).toMatchObject({ answeredBy: '101', stickyHit: true, ivrChoice: null });
    expect(by.unlogged).toMatchObject({ answeredBy: '102', stickyHit: false, ivrChoice: '1' });
    expect(by.fallback).toMatchObject({ ivrChoice: 'fallback' });
    expect(by['ivr-abandon']).toMatchObject({ answeredBy: null, ivrChoice: null });
    expect(by['after-hours']).toMatchObject({ answeredBy: null, ivrChoice: null, waitSeconds: null });
    expect(by['worked-deal']!.talkSeconds).toBeCloseTo(120, -0.5);
    expect(by['short-call']!.talkSeconds).toBeLessThan(10);
    expect(by['short-abandon']!.waitSeconds).toBeLessThanOrEqual(5);
    expect(by['queue-abandon']!.waitSeconds).toBeGreaterThan(5);
  });

  it('sums the funnel to the total and prices the channels', () => {
    expect(result.funnel).toEqual({ total: 12, after_hours: 1, ivr_abandon: 1, missed: 4, short_call: 1, unlogged: 1, not_worked: 1, worked: 3 });
    const byName = Object.fromEntries(result.channels.map((c) => [c.channel, c]));
    expect(byName.billboard).toMatchObject({ calls: 9, uniqueCallers: 9, answered: 3, leads: 1, deals: 0, revenue: 0, averageCheck: null });
    expect(byName.yandex).toMatchObject({ calls: 3, uniqueCallers: 3, answered: 3, leads: 2, deals: 1, revenue: 50000, averageCheck: 50000 });
  });
});
