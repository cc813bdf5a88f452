import { loadConfig } from '../config';
import { createPool } from './pool';
import { migrate } from './migrate';

const config = loadConfig();
const pool = createPool(config.db.url, 1);
try {
  const applied = await migrate(pool);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'up to date');
} finally {
  await pool.end();
}
