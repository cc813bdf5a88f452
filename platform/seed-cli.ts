/** `npm run seed`: migrate, load the demo company, print how to sign in and what to dial. */
import { loadConfig } from './config';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { formatNational } from './phone';
import { seedDemo } from './seed';

const config = loadConfig();
const pool = createPool(config.db.url, 2);
try {
  await migrate(pool);
  const s = await seedDemo(pool);
  const people = Object.entries(s.users).map(([role, u]) => `  ${role.padEnd(10)} ${u.email.padEnd(34)} ${u.password}   ${u.name}`);
  const managers = s.managers.map((m) => `  ext ${m.ext}  ${m.email.padEnd(34)} ${m.password}   SIP secret ${m.sipSecret ?? '(changed since seeding)'}   ${m.name} (${m.department})`);
  const numbers = Object.values(s.channels).map((c) => `  ${c.number.padEnd(13)} ${formatNational(c.number).padEnd(18)} ${c.name}`);
  console.log(
    [
      `${s.created ? 'Created' : 'Already there, nothing duplicated'}: ${s.accountName} (account ${s.accountId})`,
      '',
      'Sign in (POST /api/auth/login):',
      ...people,
      '',
      `Managers (SIP domain ${s.sipRealm}):`,
      ...managers,
      '',
      'Tracking numbers:',
      ...numbers,
    ].join('\n'),
  );
} finally {
  await pool.end();
}
