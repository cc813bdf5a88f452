import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../../../crm-bridge/connectors/http';
import { fixtureText } from '../../crm-fakes/common';

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  it('reads delta seconds and HTTP dates from the header', () => {
    expect(retryAfterSeconds('7', '', now)).toBe(7);
    expect(retryAfterSeconds('Mon, 23 Nov 2026 10:00:30 GMT', '', now)).toBe(30);
    expect(retryAfterSeconds('Mon, 23 Nov 2026 09:00:00 GMT', '', now)).toBe(0);
  });
  it('falls back to retry_after in the recorded amoCRM 429 body, and to nothing', () => {
    expect(retryAfterSeconds(null, fixtureText('amocrm', 'error_429_rate_limit.response.json'), now)).toBe(300);
    expect(retryAfterSeconds(null, 'Too Many Requests', now)).toBeUndefined();
    expect(retryAfterSeconds('soon', '{"retry_after":"x"}', now)).toBeUndefined();
  });
});
