import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../../platform/config';
import { repoRoot } from '../../helpers';

describe('README', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  it('documents every configuration variable', () => {
    expect(CONFIG_VARIABLES.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });
  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
  });
});
