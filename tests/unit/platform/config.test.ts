import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../platform/config';

describe('config', () => {
  it('has defaults that work on a fresh machine', () => {
    const c = loadConfig({});
    expect(c.db.url).toBe('postgres://postgres@127.0.0.1:5432/test');
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.http.port).toBe(3000);
    expect(c.s3.endpoint).toBeNull();
    expect(c.auth.bootstrapAdminToken).toBeNull();
  });

  it('is frozen, deeply', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('names every bad variable and what was expected', () => {
    let err: unknown;
    try {
      loadConfig({ HTTP_PORT: 'eighty', DATABASE_URL: 'mysql://x', BOOTSTRAP_ADMIN_TOKEN: 'short' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg).toMatch(/HTTP_PORT: .*"eighty"/);
    expect(msg).toMatch(/DATABASE_URL: a postgres:\/\/ URL/);
    expect(msg).toMatch(/BOOTSTRAP_ADMIN_TOKEN: at least 16 characters/);
    expect((err as ConfigError).problems).toHaveLength(3);
  });

  it('treats an empty S3_ENDPOINT as unset and validates a set one', () => {
    expect(loadConfig({ S3_ENDPOINT: '' }).s3.endpoint).toBeNull();
    expect(loadConfig({ S3_ENDPOINT: 'http://minio:9000' }).s3.endpoint).toBe('http://minio:9000');
    expect(() => loadConfig({ S3_ENDPOINT: 'not a url' })).toThrow(/S3_ENDPOINT/);
  });
});
