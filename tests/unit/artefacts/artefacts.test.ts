/**
 * docker/ and freeswitch-conf/ cannot run here (no Docker engine, no FreeSWITCH, no
 * drachtio-server). These checks keep them honest:
 * - every XML file is well formed;
 * - FreeSWITCH's configuration is assembled the way FreeSWITCH's own preprocessor does it
 *   (line by line: set, env-set, include with globs, $${var} expansion), with the container
 *   environment compose gives it, and the result must be well formed, reach every file,
 *   and leave no variable undefined;
 * - the assembled configuration says what the product relies on (socket to the router with
 *   a fallback, CDRs to /cdr, recordings on the shared volume, ACLs, RTP range);
 * - the compose file parses, references only files that exist, and agrees with the
 *   FreeSWITCH configuration and with our own config schema.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../../platform/config';
import { repoRoot } from '../../helpers';

const fsConf = join(repoRoot, 'freeswitch-conf');
const dockerDir = join(repoRoot, 'docker');
const composePath = join(dockerDir, 'compose.yaml');

const scratch: string[] = [];
const scratchDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
};
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });

// ---------------------------------------------------------------------------------------
// XML well-formedness

function xmlProblem(text: string): string | null {
  const r = XMLValidator.validate(text);
  return r === true ? null : `${r.err.code}: ${r.err.msg} (line ${r.err.line})`;
}

const xmlFileProblem = (file: string) => xmlProblem(readFileSync(file, 'utf8'));

// ---------------------------------------------------------------------------------------
// FreeSWITCH's preprocessor (src/switch_xml.c: preprocess, preprocess_glob, expand_vars,
// preprocess_env_set), reproduced for what our files use.

interface Preprocessed {
  text: string;
  /** Every file read, in order. */
  files: string[];
  vars: Map<string, string>;
  /** $${name} with no value: FreeSWITCH silently expands these to nothing. */
  undefinedVars: string[];
  /** include patterns that matched no file: FreeSWITCH only logs these. */
  missingIncludes: string[];
  /** Lines whose content FreeSWITCH would drop, and directives we do not model. */
  problems: string[];
}

/** Values FreeSWITCH computes before reading vars.xml (Debian layout of the image). */
const FS_BUILTINS: Record<string, string> = {
  hostname: 'freeswitch',
  local_ip_v4: '172.28.0.20',
  local_mask_v4: '255.255.255.0',
  base_dir: '/usr',
  conf_dir: '/etc/freeswitch',
  log_dir: '/var/log/freeswitch',
  run_dir: '/var/run/freeswitch',
  db_dir: '/var/lib/freeswitch/db',
  sounds_dir: '/usr/share/freeswitch/sounds',
  recordings_dir: '/var/lib/freeswitch/recordings',
  storage_dir: '/var/lib/freeswitch/storage',
  certs_dir: '/etc/freeswitch/tls',
};

/** Only the last path segment may hold `*`, as in every include we write. */
function expandGlob(pattern: string): string[] | 'unsupported' {
  const dir = dirname(pattern);
  if (dir.includes('*')) return 'unsupported';
  if (!pattern.includes('*')) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^${basename(pattern).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return readdirSync(dir)
    .filter((f) => re.test(f) && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => join(dir, f));
}

function preprocess(entry: string, env: Record<string, string>): Preprocessed {
  const out: string[] = [];
  const r: Preprocessed = { text: '', files: [], vars: new Map(Object.entries(FS_BUILTINS)), undefinedVars: [], missingIncludes: [], problems: [] };

  const run = (file: string, depth: number) => {
    if (depth > 100) {
      r.problems.push(`${file}: include recursion`);
      return;
    }
    r.files.push(file);
    const where = (n: number) => `${relative(repoRoot, file)}:${n}`;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((raw, i) => {
        const line = raw.replace(/\$\$\{([^}]*)\}/g, (_m, name: string) => {
          const v = r.vars.get(name);
          if (v === undefined) r.undefinedVars.push(`${where(i + 1)} $\${${name}}`);
          return v ?? '';
        });
        if (line.includes('<include>') || line.includes('</include>') || line.includes('<?')) {
          if (line.replace(/<\/?include>|<\?.*?\?>/g, '').trim() !== '') r.problems.push(`${where(i + 1)}: content beside an include tag is dropped`);
          return;
        }
        const tags = [...line.matchAll(/<X-PRE-PROCESS\s+cmd="([^"]*)"\s+data="([^"]*)"\s*\/>/gi)];
        if (tags.length === 0) {
          if (/<X-PRE-PROCESS/i.test(line)) r.problems.push(`${where(i + 1)}: X-PRE-PROCESS not in the form cmd="…" data="…"/>`);
          out.push(line);
          return;
        }
        if (tags.length > 1 || line.replace(tags[0]![0], '').trim() !== '') {
          r.problems.push(`${where(i + 1)}: an X-PRE-PROCESS line is consumed whole; put it on its own line`);
        }
        const [, cmd, data] = tags[0]!;
        const eq = data!.indexOf('=');
        switch (cmd!.toLowerCase()) {
          case 'set':
            if (eq > 0) r.vars.set(data!.slice(0, eq).trim(), data!.slice(eq + 1).trim());
            break;
          case 'env-set': {
            // FreeSWITCH assigns only when the value starts with $ and the variable exists.
            const value = eq > 0 ? data!.slice(eq + 1) : '';
            if (!value.startsWith('$')) r.problems.push(`${where(i + 1)}: env-set needs name=$ENV_NAME`);
            else if (env[value.slice(1)] !== undefined) r.vars.set(data!.slice(0, eq), env[value.slice(1)]!);
            break;
          }
          case 'include': {
            const pattern = isAbsolute(data!) ? data! : join(dirname(file), data!);
            const matches = expandGlob(pattern);
            if (matches === 'unsupported') r.problems.push(`${where(i + 1)}: glob in a folder name`);
            else if (matches.length === 0) r.missingIncludes.push(`${where(i + 1)} -> ${relative(repoRoot, pattern)}`);
            else for (const m of matches) run(m, depth + 1);
            break;
          }
          default:
            r.problems.push(`${where(i + 1)}: X-PRE-PROCESS cmd="${cmd}" is not modelled by this check`);
        }
      });
  };
  run(entry, 0);
  r.text = out.join('\n');
  return r;
}

// ---------------------------------------------------------------------------------------
// Reading parsed XML: every element is an array, attributes are `@_name`.

type XNode = { [k: string]: XNode[] | string | undefined };

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (_name, _jpath, _leaf, isAttribute) => !isAttribute,
});

const kids = (n: XNode | undefined, tag: string): XNode[] => (n?.[tag] as XNode[] | undefined) ?? [];
const attr = (n: XNode | undefined, a: string): string | undefined => n?.[`@_${a}`] as string | undefined;
const named = (nodes: XNode[], name: string) => nodes.find((n) => attr(n, 'name') === name);
const params = (n: XNode | undefined): Record<string, string> =>
  Object.fromEntries(kids(n, 'param').map((p) => [attr(p, 'name')!, attr(p, 'value') ?? '']));

// ---------------------------------------------------------------------------------------
// Compose: parsed as YAML, then interpolated the way `docker compose` does, with
// docker/.env.example standing in for docker/.env.

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | Array<string | { path: string; required?: boolean }>;
  volumes?: string[];
  ports?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, { condition: string }>;
  user?: string;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: Array<{ subnet: string }> } }>;
}

function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.trim();
  }
  return env;
}

interface VarUse {
  name: string;
  required: boolean;
  /** Required but unset: `docker compose` would stop with this variable's message. */
  missing: boolean;
}

/** ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; $$ is a literal $. */
function interpolate(s: string, env: Record<string, string>, uses: VarUse[]): string {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$';
    const value = env[name!];
    const unsetOrEmpty = value === undefined || (op?.startsWith(':') && value === '');
    const required = op === undefined || op.endsWith('?');
    uses.push({ name: name!, required, missing: required && !!unsetOrEmpty });
    if (op?.endsWith('-')) return unsetOrEmpty ? arg! : value!;
    return value ?? '';
  });
}

function interpolateDeep<T>(v: T, env: Record<string, string>, uses: VarUse[]): T {
  if (typeof v === 'string') return interpolate(v, env, uses) as T;
  if (Array.isArray(v)) return v.map((x) => interpolateDeep(x, env, uses)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateDeep(x, env, uses)])) as T;
  return v;
}

const rawCompose = parseYaml(readFileSync(composePath, 'utf8'), { merge: true }) as Compose;
const dotEnvExample = parseDotEnv(readFileSync(join(dockerDir, '.env.example'), 'utf8'));
const varUses: VarUse[] = [];
const compose = interpolateDeep(rawCompose, dotEnvExample, varUses);
const svc = (name: string) => {
  const s = compose.services[name];
  if (!s) throw new Error(`compose has no service ${name}`);
  return s;
};

/** The FreeSWITCH configuration as the freeswitch container would assemble it. */
const fsEnv = svc('freeswitch').environment ?? {};
const assembled = preprocess(join(fsConf, 'freeswitch.xml'), fsEnv);
const doc = (xmlParser.parse(assembled.text) as XNode).document?.[0] as XNode | undefined;
const section = (name: string) => named(kids(doc, 'section'), name);
const configuration = (name: string) => named(kids(section('configuration'), 'configuration'), name);

const xmlFiles = [...walk(fsConf), ...walk(dockerDir)].filter((f) => f.endsWith('.xml'));

/** "16384-16783:16384-16783/udp" and the like -> container port range and protocol. */
function containerPorts(spec: string): { from: number; to: number; proto: string } {
  const [ports, proto = 'tcp'] = spec.split('/');
  const container = ports!.split(':').at(-1)!;
  const [from, to = from] = container.split('-');
  return { from: Number(from), to: Number(to), proto: proto! };
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(net!) / size);
}

/** Paths a compose file names that do not exist (relative to the compose file's folder). */
function composeFileProblems(c: Compose): string[] {
  const base = dirname(composePath);
  const problems: string[] = [];
  const declaredVolumes = Object.keys(c.volumes ?? {});
  for (const [name, s] of Object.entries(c.services)) {
    if (s.build) {
      const ctx = resolve(base, s.build.context);
      if (!existsSync(ctx)) problems.push(`${name}: build context ${s.build.context}`);
      else if (!existsSync(resolve(ctx, s.build.dockerfile ?? 'Dockerfile'))) problems.push(`${name}: dockerfile ${s.build.dockerfile}`);
    }
    for (const v of s.volumes ?? []) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.') || src.startsWith('/')) {
        if (!existsSync(resolve(base, src))) problems.push(`${name}: bind mount ${src}`);
      } else if (!declaredVolumes.includes(src)) problems.push(`${name}: volume ${src} is not declared`);
    }
    for (const e of [s.env_file ?? []].flat()) {
      const entry = typeof e === 'string' ? { path: e, required: true } : e;
      if (entry.required !== false && !existsSync(resolve(base, entry.path))) problems.push(`${name}: env_file ${entry.path}`);
    }
    for (const arg of s.command ?? []) {
      if (/\.(ts|js|mjs)$/.test(arg) && !existsSync(join(repoRoot, arg))) problems.push(`${name}: entry point ${arg}`);
    }
    for (const dep of Object.keys(s.depends_on ?? {})) if (!c.services[dep]) problems.push(`${name}: depends on unknown ${dep}`);
  }
  return problems;
}

// =======================================================================================

describe('XML files', () => {
  it('finds the files to check', () => {
    expect(xmlFiles.length).toBeGreaterThanOrEqual(15);
  });

  it.each(xmlFiles.map((f) => [relative(repoRoot, f), f]))('%s is well formed', (_name, f) => {
    expect(xmlFileProblem(f)).toBeNull();
  });

  it('the same check rejects a malformed file', () => {
    const dir = scratchDir('cp-artefacts-');
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, '<configuration name="x">\n  <settings>\n</configuration>\n');
    expect(xmlFileProblem(bad)).toMatch(/InvalidTag/);
    writeFileSync(bad, '<include>\n  <X-PRE-PROCESS cmd="set" data="a=b"/>\n</include>\n');
    expect(xmlFileProblem(bad)).toBeNull();
  });
});

describe('FreeSWITCH configuration, assembled as FreeSWITCH assembles it', () => {
  it('every include resolves and every file in freeswitch-conf is reached from freeswitch.xml', () => {
    expect(assembled.missingIncludes).toEqual([]);
    const reached = new Set(assembled.files.map((f) => relative(fsConf, f)));
    const present = walk(fsConf).map((f) => relative(fsConf, f));
    expect(present.filter((f) => !reached.has(f))).toEqual([]);
    expect(assembled.files.length).toBe(present.length);
  });

  it('every X-PRE-PROCESS include in any XML file names an existing file (globs resolved)', () => {
    const missing = xmlFiles.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/<X-PRE-PROCESS\s+cmd="include"\s+data="([^"]+)"/gi)]
        .map((m) => resolve(dirname(f), m[1]!))
        .filter((p) => {
          const g = expandGlob(p);
          return g === 'unsupported' || g.length === 0;
        })
        .map((p) => `${relative(repoRoot, f)} -> ${relative(repoRoot, p)}`),
    );
    expect(missing).toEqual([]);
  });

  it('leaves no preprocessor variable undefined and nothing for the preprocessor to drop', () => {
    expect(assembled.undefinedVars).toEqual([]);
    expect(assembled.problems).toEqual([]);
  });

  it('the assembled document is well formed, with the sections FreeSWITCH loads', () => {
    expect(xmlProblem(assembled.text)).toBeNull();
    expect(kids(doc, 'section').map((s) => attr(s, 'name'))).toEqual(['configuration', 'dialplan', 'directory']);
  });

  it('the preprocessor check catches a missing include, an undefined variable and a dropped line', () => {
    const dir = scratchDir('cp-fsconf-');
    mkdirSync(join(dir, 'parts'));
    writeFileSync(join(dir, 'parts', 'a.xml'), '<include>\n  <x v="$${defined}"/>\n</include>\n');
    writeFileSync(
      join(dir, 'root.xml'),
      [
        '<document type="freeswitch/xml">',
        '  <X-PRE-PROCESS cmd="set" data="defined=1"/>',
        '  <X-PRE-PROCESS cmd="env-set" data="fromenv=$SOME_ENV"/>',
        '  <X-PRE-PROCESS cmd="include" data="parts/*.xml"/>',
        '  <X-PRE-PROCESS cmd="include" data="nowhere/*.xml"/>',
        '  <y v="$${nope}" w="$${fromenv}"/> <include></include>',
        '</document>',
      ].join('\n'),
    );
    const r = preprocess(join(dir, 'root.xml'), { SOME_ENV: 'e' });
    expect(r.files.map((f) => relative(dir, f))).toEqual(['root.xml', join('parts', 'a.xml')]);
    expect(r.missingIncludes).toEqual([expect.stringContaining('nowhere')]);
    expect(r.undefinedVars).toEqual([expect.stringContaining('$${nope}')]);
    expect(r.problems).toEqual([expect.stringContaining('include tag is dropped')]);
    expect(r.vars.get('fromenv')).toBe('e');
    expect(preprocess(join(dir, 'root.xml'), {}).vars.has('fromenv')).toBe(false);
  });

  it('loads the modules the product needs, each with its configuration', () => {
    const loaded = kids(kids(configuration('modules.conf'), 'modules')[0], 'load').map((l) => attr(l, 'module'));
    for (const m of ['mod_event_socket', 'mod_json_cdr', 'mod_xml_curl', 'mod_sofia', 'mod_commands', 'mod_dptools', 'mod_dialplan_xml', 'mod_sndfile', 'mod_local_stream', 'mod_tone_stream']) {
      expect(loaded).toContain(m);
    }
    // The XML gateway must be up before the modules that look things up.
    expect(loaded.indexOf('mod_xml_curl')).toBeLessThan(loaded.indexOf('mod_sofia'));
    const configs = kids(section('configuration'), 'configuration').map((c) => attr(c, 'name')!);
    const core = ['modules.conf', 'switch.conf', 'acl.conf'];
    for (const c of configs.filter((c) => !core.includes(c))) expect(loaded, `${c} belongs to no loaded module`).toContain(`mod_${c.replace(/\.conf$/, '')}`);
    for (const m of ['mod_event_socket', 'mod_json_cdr', 'mod_xml_curl', 'mod_sofia', 'mod_local_stream']) expect(configs).toContain(`${m.slice(4)}.conf`);
  });

  describe('the inbound dialplan', () => {
    const ctx = named(kids(section('dialplan'), 'context'), 'public');
    const extensions = kids(ctx, 'extension');
    const routerExt = extensions.find((e) => kids(e, 'condition').some((c) => kids(c, 'action').some((a) => attr(a, 'application') === 'socket')));
    const actions = kids(routerExt, 'condition').flatMap((c) => kids(c, 'action').map((a) => ({ app: attr(a, 'application')!, data: attr(a, 'data') ?? '' })));
    const at = (app: string, data?: string | RegExp) =>
      actions.findIndex((a) => a.app === app && (data === undefined || (typeof data === 'string' ? a.data === data : data.test(a.data))));
    const socketAt = at('socket');

    it('hands every inbound call to the router with `socket <host:port> async full`', () => {
      expect(socketAt).toBeGreaterThan(-1);
      expect(actions[socketAt]!.data).toMatch(/^\S+:\d+(\|\S+:\d+)* async full$/);
      // It is the catch-all for numbers, after the outbound and internal extensions.
      expect(extensions.indexOf(routerExt!)).toBe(extensions.length - 1);
    });

    it('every socket target is a compose service listening for outbound ESL on that port', () => {
      const targets = actions[socketAt]!.data.split(' ')[0]!.split('|');
      expect(targets.length).toBeGreaterThanOrEqual(2);
      for (const t of targets) {
        const [host, port] = t.split(':');
        expect(Object.keys(compose.services), t).toContain(host);
        expect(svc(host!).environment?.ESL_PORT, t).toBe(port);
        expect(svc(host!).environment?.ESL_HOST, t).toBe('0.0.0.0');
      }
    });

    it('falls back to the static ring group after the socket, with continue_on_fail set', () => {
      const fallback = actions.findIndex((a, i) => i > socketAt && a.app === 'bridge');
      expect(fallback).toBeGreaterThan(socketAt);
      expect(actions[fallback]!.data).toBe(fsEnv.FS_FALLBACK_GROUP);
      const cof = at('set', 'continue_on_fail=true');
      expect(cof).toBeGreaterThan(-1);
      expect(cof).toBeLessThan(fallback);
      expect(at('set', 'hangup_after_bridge=true')).toBeLessThan(fallback);
      // A connected router must not hand the call back to the fallback.
      expect(actions.some((a) => a.app === 'set' && a.data.startsWith('socket_resume=true'))).toBe(false);
    });

    it('records in stereo to the shared volume, one file per call under its day', () => {
      expect(at('set', 'RECORD_STEREO=true')).toBeLessThan(socketAt);
      const rec = actions.findIndex((a, i) => i > socketAt && a.app === 'record_session');
      expect(actions[rec]!.data).toBe('/var/lib/freeswitch/recordings/${strftime(%Y-%m-%d)}/${uuid}.wav');
      const spool = '/var/lib/freeswitch/recordings';
      expect(svc('app').environment?.RECORDINGS_SPOOL_DIR).toBe(spool);
      const volumeAt = (s: string) => (svc(s).volumes ?? []).find((v) => v.split(':')[1] === spool)?.split(':')[0];
      expect(volumeAt('freeswitch')).toBe('recordings');
      expect(volumeAt('app')).toBe('recordings');
    });

    it('sends outbound calls to the carrier gateway, recorded, never to the router', () => {
      const outbound = named(extensions, 'outbound');
      const conds = kids(outbound, 'condition');
      expect(conds.map((c) => [attr(c, 'field'), attr(c, 'expression')])).toContainEqual(['${sip_h_X-CP-Direction}', '^outbound$']);
      const apps = conds.flatMap((c) => kids(c, 'action').map((a) => [attr(a, 'application'), attr(a, 'data')]));
      expect(apps).toContainEqual(['bridge', 'sofia/gateway/carrier/$1']);
      expect(apps.map((a) => a[0])).toContain('record_session');
      expect(apps.map((a) => a[0])).not.toContain('socket');
      expect(extensions.indexOf(outbound!)).toBeLessThan(extensions.indexOf(routerExt!));
    });

    it('music on hold: local_stream://moh exists', () => {
      expect(assembled.vars.get('hold_music')).toBe('local_stream://moh');
      const dirs = kids(configuration('local_stream.conf'), 'directory').map((d) => attr(d, 'name'));
      expect(dirs).toContain('moh');
    });
  });

  it('mod_json_cdr posts plain JSON to the analytics /cdr endpoint, with retries', () => {
    const p = params(kids(configuration('json_cdr.conf'), 'settings')[0]);
    expect(p.url).toBe('http://app:3000/cdr');
    const url = new URL(p.url!);
    expect(svc(url.hostname).environment?.HTTP_PORT).toBe(url.port);
    // analytics serves that path (its fastify route).
    expect(readFileSync(join(repoRoot, 'analytics/http/routes.ts'), 'utf8')).toMatch(/'\/cdr'/);
    expect(Number(p.retries)).toBeGreaterThan(0);
    expect(p.encode).toBe('false');
    expect(p['encode-values']).toBe('false');
    expect(p['err-log-dir']).toBe('/var/log/freeswitch/json_cdr');
    expect((svc('freeswitch').volumes ?? []).map((v) => v.split(':')[1])).toContain('/var/log/freeswitch/json_cdr');
  });

  it('directory lookups go to the app through mod_xml_curl', () => {
    const binding = named(kids(kids(configuration('xml_curl.conf'), 'bindings')[0], 'binding'), 'directory');
    const url = kids(binding, 'param').find((p) => attr(p, 'name') === 'gateway-url');
    expect(attr(url, 'bindings')).toBe('directory');
    expect(attr(url, 'value')).toBe('http://app:3000/freeswitch/directory');
  });

  it('the inbound event socket takes its password from the environment and admits only the ACL', () => {
    const p = params(kids(configuration('event_socket.conf'), 'settings')[0]);
    expect(p.password).toBe(dotEnvExample.ESL_PASSWORD);
    expect(p['apply-inbound-acl']).toBe('esl_clients');
    const lists = kids(kids(configuration('acl.conf'), 'network-lists')[0], 'list');
    const esl = named(lists, 'esl_clients');
    expect(attr(esl, 'default')).toBe('deny');
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet;
    expect(kids(esl, 'node').map((n) => attr(n, 'cidr'))).toContain(subnet);
  });

  describe('SIP profiles and compose agree', () => {
    const profiles = kids(kids(configuration('sofia.conf'), 'profiles')[0], 'profile');
    const internal = params(kids(named(profiles, 'internal'), 'settings')[0]);
    const external = params(kids(named(profiles, 'external'), 'settings')[0]);
    const drachtioIp = svc('drachtio').networks?.default?.ipv4_address;
    const freeswitchIp = svc('freeswitch').networks?.default?.ipv4_address;

    it('the internal profile admits new calls from drachtio-server only, into the public context', () => {
      expect(internal.context).toBe('public');
      expect(internal['auth-calls']).toBe('false');
      const acl = named(kids(kids(configuration('acl.conf'), 'network-lists')[0], 'list'), internal['apply-inbound-acl']!);
      expect(attr(acl, 'default')).toBe('deny');
      const allowed = kids(acl, 'node').filter((n) => attr(n, 'type') === 'allow').map((n) => attr(n, 'cidr')!);
      expect(allowed.length).toBeGreaterThan(0);
      expect(allowed.every((c) => inCidr(drachtioIp!, c) && c.endsWith('/32'))).toBe(true);
    });

    it('the sip-gateway relays to the internal profile, and the addresses sit in the compose subnet', () => {
      expect(svc('app').environment?.SIP_FREESWITCH_URI).toBe(`sip:${freeswitchIp}:${internal['sip-port']}`);
      expect(internal['sip-ip']).toBe(FS_BUILTINS.local_ip_v4);
      expect(freeswitchIp).toBe(FS_BUILTINS.local_ip_v4);
      const subnet = compose.networks!.default!.ipam!.config![0]!.subnet;
      expect(inCidr(drachtioIp!, subnet) && inCidr(freeswitchIp!, subnet)).toBe(true);
    });

    it('SDP carries the public address, and the carrier leg and RTP ports are published', () => {
      expect(internal['ext-rtp-ip']).toBe(dotEnvExample.PUBLIC_IP);
      expect(external['ext-rtp-ip']).toBe(dotEnvExample.PUBLIC_IP);
      const published = (svc('freeswitch').ports ?? []).map(containerPorts);
      expect(published).toContainEqual({ from: Number(external['sip-port']), to: Number(external['sip-port']), proto: 'udp' });
      const sw = params(kids(configuration('switch.conf'), 'settings')[0]);
      expect(published).toContainEqual({ from: Number(sw['rtp-start-port']), to: Number(sw['rtp-end-port']), proto: 'udp' });
      // The internal profile and the event socket stay inside.
      expect(published.some((p) => p.from <= Number(internal['sip-port']) && Number(internal['sip-port']) <= p.to)).toBe(false);
      expect(published.some((p) => p.from <= 8021 && 8021 <= p.to)).toBe(false);
    });

    it('the carrier gateway exists on the external profile', () => {
      const gw = named(kids(kids(named(profiles, 'external'), 'gateways')[0], 'gateway'), 'carrier');
      expect(params(gw).proxy).toBe(dotEnvExample.CARRIER_PROXY);
    });
  });

  it('every FS_* variable vars.xml reads is set by compose, and compose sets no other', () => {
    const read = [...readFileSync(join(fsConf, 'vars.xml'), 'utf8').matchAll(/cmd="env-set" data="[^=]+=\$([A-Z0-9_]+)"/g)].map((m) => m[1]!);
    const given = Object.keys(fsEnv).filter((k) => k.startsWith('FS_'));
    expect(read.sort()).toEqual(given.sort());
  });
});

describe('docker/compose.yaml', () => {
  it('parses and runs the whole stack', () => {
    expect(Object.keys(rawCompose.services).sort()).toEqual(['app', 'call-router', 'drachtio', 'freeswitch', 'minio', 'minio-init', 'postgres', 'redis']);
    expect(svc('freeswitch').image).toMatch(/freeswitch/);
    expect(svc('drachtio').image).toMatch(/^drachtio\/drachtio-server:/);
    expect(svc('postgres').image).toBe('postgres:15');
    expect(svc('redis').image).toBe('redis:7');
    expect(svc('minio').image).toMatch(/^minio\/minio:/);
    expect(svc('app').command).toEqual(['npm', 'start']);
  });

  it('references only files that exist: build contexts, Dockerfiles, bind mounts, env files, entry points', () => {
    expect(composeFileProblems(compose)).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBeTruthy();
  });

  it('the same file check reports what is missing', () => {
    const broken: Compose = {
      volumes: compose.volumes,
      services: {
        extra: {
          build: { context: '..', dockerfile: 'docker/Nope.Dockerfile' },
          volumes: ['../no-such-folder:/x', 'undeclared:/y'],
          env_file: ['missing.env', { path: 'optional.env', required: false }],
          command: ['tsx', 'no-such-service/main.ts'],
          depends_on: { ghost: { condition: 'service_started' } },
        },
      },
    };
    expect(composeFileProblems(broken)).toEqual([
      'extra: dockerfile docker/Nope.Dockerfile',
      'extra: bind mount ../no-such-folder',
      'extra: volume undeclared is not declared',
      'extra: env_file missing.env',
      'extra: entry point no-such-service/main.ts',
      'extra: depends on unknown ghost',
    ]);
  });

  it('every variable compose needs is in .env.example, and .env.example holds nothing stale', () => {
    const required = [...new Set(varUses.filter((u) => u.required).map((u) => u.name))];
    expect(required.filter((n) => !(n in dotEnvExample))).toEqual([]);
    expect(varUses.filter((u) => u.missing)).toEqual([]);
    const used = new Set(varUses.map((u) => u.name));
    expect(Object.keys(dotEnvExample).filter((k) => !used.has(k))).toEqual([]);
    // Without a .env, compose would refuse to start, naming the secrets.
    const bare: VarUse[] = [];
    interpolateDeep(rawCompose, {}, bare);
    expect(new Set(bare.filter((u) => u.missing).map((u) => u.name))).toEqual(new Set(required));
    expect(required).toEqual(expect.arrayContaining(['PUBLIC_IP', 'POSTGRES_PASSWORD', 'DRACHTIO_SECRET', 'ESL_PASSWORD']));
  });

  it("the app services' environment is valid for our config schema", () => {
    for (const name of ['app', 'call-router']) {
      const env = svc(name).environment ?? {};
      const config = loadConfig(env);
      expect(config.esl.port, name).toBe(8084);
      expect(config.http.host, name).toBe('0.0.0.0');
      expect(config.s3.endpoint, name).toBe('http://minio:9000');
      expect(config.db.url, name).toMatch(/@postgres:5432\/callpulse$/);
      expect(config.sip.drachtio.host, name).toBe('drachtio');
      expect(config.sip.drachtio.secret, name).toBe(svc('drachtio').environment?.DRACHTIO_SECRET);
      expect(config.recordings.spoolDir, name).toBe('/var/lib/freeswitch/recordings');
    }
  });

  it('drachtio-server: SIP on its fixed address with the public IP, admin port as the gateway expects', () => {
    const d = svc('drachtio');
    const cmd = d.command ?? [];
    expect(cmd[0]).toBe('drachtio');
    expect(cmd[cmd.indexOf('--contact') + 1]).toBe(`sip:${d.networks?.default?.ipv4_address}:5060;transport=udp,tcp`);
    expect(cmd[cmd.indexOf('--external-ip') + 1]).toBe(dotEnvExample.PUBLIC_IP);
    // drachtio-server wants --external-ip right after the --contact it belongs to.
    expect(cmd.indexOf('--external-ip')).toBe(cmd.indexOf('--contact') + 2);
    expect(d.volumes).toContain('./drachtio.conf.xml:/etc/drachtio.conf.xml:ro');
    const conf = xmlParser.parse(readFileSync(join(dockerDir, 'drachtio.conf.xml'), 'utf8')) as XNode;
    const admin = kids(conf.drachtio?.[0] as XNode, 'admin')[0];
    expect(attr(admin, 'port')).toBe(svc('app').environment?.SIP_DRACHTIO_PORT);
    expect((d.ports ?? []).map(containerPorts)).toContainEqual({ from: 5060, to: 5060, proto: 'udp' });
    expect((d.ports ?? []).some((p) => containerPorts(p).from === 9022)).toBe(false);
  });

  it('FreeSWITCH reads freeswitch-conf as its configuration folder, and its health check logs in', () => {
    expect(svc('freeswitch').volumes).toContain('../freeswitch-conf:/etc/freeswitch:ro');
    // fs_cli must use the password vars.xml takes from FS_ESL_PASSWORD, not the default.
    const rawFs = rawCompose.services.freeswitch as ComposeService & { healthcheck?: { test: string[] } };
    expect(rawFs.healthcheck?.test.join(' ')).toContain('fs_cli -p "$$FS_ESL_PASSWORD" -x status');
  });

  it('the Dockerfile builds the app image the services run', () => {
    const df = readFileSync(join(dockerDir, 'Dockerfile'), 'utf8');
    expect(df).toMatch(/^FROM node:20-bookworm-slim$/m);
    expect(df).toMatch(/apt-get install[^\n]*\bffmpeg\b/);
    expect(df).toMatch(/^RUN npm ci\b/m);
    expect(df).toMatch(/^CMD \["npm", "start"\]$/m);
    // Secrets in docker/.env stay out of the build context.
    expect(readFileSync(join(dockerDir, 'Dockerfile.dockerignore'), 'utf8')).toMatch(/^docker\/\.env$/m);
  });
});
