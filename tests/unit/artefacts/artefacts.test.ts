/**
 * docker/ and freeswitch-conf/ cannot run here (no Docker engine, no FreeSWITCH). These checks
 * keep them honest: every XML file is well formed, the compose file parses and names the
 * services we rely on, and every file either of them references exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../helpers';

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });

function xmlProblem(text: string): string | null {
  const r = XMLValidator.validate(text);
  return r === true ? null : `${r.err.code}: ${r.err.msg} (line ${r.err.line})`;
}

/** X-PRE-PROCESS include targets, resolved against the including file's folder (globs too). */
function includes(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/<X-PRE-PROCESS\s+cmd="include"\s+data="([^"]+)"/g)].map((m) => resolve(dirname(file), m[1]!));
}

function globExists(pattern: string): boolean {
  if (!pattern.includes('*')) return existsSync(pattern);
  const dir = dirname(pattern);
  const re = new RegExp(`^${pattern.slice(dir.length + 1).replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
  return existsSync(dir) && readdirSync(dir).some((f) => re.test(f));
}

const fsConf = join(repoRoot, 'freeswitch-conf');
const xmlFiles = [...walk(fsConf), ...walk(join(repoRoot, 'docker'))].filter((f) => f.endsWith('.xml'));

describe('freeswitch-conf and docker artefacts', () => {
  it('has XML files to check', () => {
    expect(xmlFiles.length).toBeGreaterThanOrEqual(10);
  });

  it.each(xmlFiles.map((f) => [relative(repoRoot, f), f]))('%s is well-formed XML', (_name, f) => {
    expect(xmlProblem(readFileSync(f, 'utf8'))).toBeNull();
  });

  it('the validator does reject malformed XML', () => {
    expect(xmlProblem('<configuration><settings></configuration>')).toMatch(/InvalidTag|mismatch|closed/i);
  });

  it('every X-PRE-PROCESS include resolves to an existing file', () => {
    const missing = xmlFiles.flatMap((f) => includes(f).filter((t) => !globExists(t)).map((t) => `${relative(repoRoot, f)} -> ${relative(repoRoot, t)}`));
    expect(missing).toEqual([]);
    expect(includes(join(fsConf, 'freeswitch.xml')).length).toBeGreaterThanOrEqual(3);
  });

  it('hands every inbound call to the router with `socket … async full`, falling back to a ring group', () => {
    const dp = readFileSync(join(fsConf, 'dialplan/public.xml'), 'utf8');
    const actions = [...dp.matchAll(/<action application="([^"]+)" data="([^"]*)"/g)].map((m) => [m[1], m[2]] as const);
    const socketAt = actions.findIndex(([app, data]) => app === 'socket' && /:\S+ async full$/.test(data));
    expect(socketAt).toBeGreaterThan(-1);
    expect(actions.slice(0, socketAt).some(([app, data]) => app === 'set' && data === 'continue_on_fail=true')).toBe(true);
    expect(actions.slice(socketAt + 1).some(([app]) => app === 'bridge')).toBe(true);
    expect(actions.some(([app, data]) => app === 'set' && data === 'RECORD_STEREO=true')).toBe(true);
  });

  it('posts CDRs to the analytics endpoint and keeps recordings on the shared volume', () => {
    const cdr = readFileSync(join(fsConf, 'autoload_configs/json_cdr.conf.xml'), 'utf8');
    expect(cdr).toMatch(/name="url" value="[^"]*\/cdr"/);
    const vars = readFileSync(join(fsConf, 'vars.xml'), 'utf8');
    expect(vars).toContain('recordings_dir=/var/lib/freeswitch/recordings');
    const modules = readFileSync(join(fsConf, 'autoload_configs/modules.conf.xml'), 'utf8');
    for (const m of ['mod_event_socket', 'mod_json_cdr', 'mod_sofia', 'mod_xml_curl', 'mod_voicemail']) expect(modules).toContain(`module="${m}"`);
  });

  it('compose parses, runs every service we rely on, and references only files that exist', () => {
    const composePath = join(repoRoot, 'docker/compose.yaml');
    const compose = parseYaml(readFileSync(composePath, 'utf8'), { merge: true }) as {
      services: Record<string, { build?: { context: string; dockerfile: string }; volumes?: string[]; env_file?: string | string[]; command?: string[] }>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'call-router', 'drachtio', 'freeswitch', 'minio', 'postgres', 'redis']);
    const base = dirname(composePath);
    const problems: string[] = [];
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) {
        const ctx = resolve(base, svc.build.context);
        if (!existsSync(ctx)) problems.push(`${name}: build context ${svc.build.context}`);
        if (!existsSync(resolve(ctx, svc.build.dockerfile))) problems.push(`${name}: dockerfile ${svc.build.dockerfile}`);
      }
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if ((src.startsWith('.') || src.startsWith('/')) && !existsSync(resolve(base, src))) problems.push(`${name}: volume ${src}`);
      }
      for (const e of [svc.env_file ?? []].flat()) if (!existsSync(resolve(base, e))) problems.push(`${name}: env_file ${e}`);
      // Commands that run one of our entry points must name a file that exists.
      for (const arg of svc.command ?? []) if (/\.ts$/.test(arg) && !existsSync(join(repoRoot, arg))) problems.push(`${name}: command ${arg}`);
    }
    expect(problems).toEqual([]);
  });
});
