/**
 * npm run simulate -- --scenario FILE [--json] [--speed N]
 * With --json, stdout carries exactly one JSON document; logs go to stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config';
import { migrate } from '../../platform/db/migrate';
import { createPool } from '../../platform/db/pool';
import { createLogger } from '../../platform/logger';
import { createRedis } from '../../platform/redis';
import { parseScenario, ScenarioError } from './scenario';
import { runSimulation } from './simulate';

const { values } = parseArgs({
  options: { scenario: { type: 'string' }, json: { type: 'boolean', default: false }, speed: { type: 'string', default: '20' } },
});
if (!values.scenario) {
  console.error('usage: npm run simulate -- --scenario FILE [--json] [--speed N]');
  process.exit(2);
}
let scenario;
try {
  scenario = parseScenario(JSON.parse(readFileSync(values.scenario, 'utf8')));
} catch (err) {
  console.error(err instanceof ScenarioError || err instanceof SyntaxError ? err.message : err);
  process.exit(2);
}
const config = loadConfig();
const logger = createLogger({ level: values.json ? 'warn' : config.logLevel, destination: 2 });
const pool = createPool(config.db.url);
const redis = createRedis(config.redis.url);
try {
  await migrate(pool);
  const result = await runSimulation(scenario, { config, pool, redis, logger, speed: Number(values.speed) });
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    console.log(`account ${result.accountId}`);
    console.table(result.calls);
    console.table([result.funnel]);
    console.table(result.channels);
  }
} finally {
  await pool.end();
  redis.disconnect();
}
// BullMQ and ioredis keep timers alive after close; the run is over.
process.exit(0);
