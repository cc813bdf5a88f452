import { loadConfig } from './config';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { DEMO_PASSWORD, DEMO_USERS, seedDemo } from './seed';

const config = loadConfig();
const pool = createPool(config.db.url, 2);
try {
  await migrate(pool);
  const s = await seedDemo(pool);
  console.log(`${s.created ? 'created' : 'already there'}: demo account ${s.accountId}`);
  console.log(`log in as ${Object.values(DEMO_USERS).map((u) => u.email).join(', ')} with password "${DEMO_PASSWORD}"`);
} finally {
  await pool.end();
}
