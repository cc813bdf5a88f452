/**
 * FreeSWITCH's inbound event socket (mod_event_socket on port 8021), as the lab plays it: what
 * click-to-call talks to. Real TCP, FreeSWITCH's own framing (codec.ts serializers, the core
 * headers of channel-model.ts):
 *
 *   → Content-Type: auth/request
 *   ← auth <password>           → command/reply `+OK accepted` (or `-ERR invalid`, then a
 *                                  disconnect notice and the socket closes)
 *   ← event json|plain <names>  → `+OK event listener enabled <format>`
 *   ← bgapi originate <args>    → command/reply `+OK Job-UUID: <uuid>` + `Job-UUID` header, and
 *     (Job-UUID: <uuid>)          later a BACKGROUND_JOB event, body `+OK <uuid>\n` when the
 *                                  callee answered, `-ERR <CAUSE>\n` when not
 *   ← api <cmd>                 → api/response `-ERR <cmd> Command not found!`
 *   ← exit                      → `+OK bye`, disconnect notice, close
 *
 * The test decides each originate's fate with `onOriginate` (answer or not, after how long).
 * Not modelled: filters, `nixevent`, `sendevent`, `log`; the channels an originate creates
 * fire no CHANNEL_* events here.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  apiResponse,
  bgapiReply,
  commandReply,
  disconnectNotice,
  EslFrameParser,
  frameEvent,
  type HeaderPair,
  serializeEventJson,
  serializeEventPlain,
} from '../../call-router/adapters/esl/codec';
import { coreHeaders, type SwitchIdentity } from './channel-model';

export interface OriginateCall {
  /** Everything after `originate `. */
  args: string;
  /** The `{k=v,…}` variables. */
  vars: Record<string, string>;
  /** The endpoint dialled, e.g. `sofia/gateway/carrier/74951234567`. */
  endpoint: string;
  /** The application or extension after the endpoint, e.g. `&bridge(user/101@…)`. */
  then: string;
  jobUuid: string;
}

export interface OriginateFate {
  answer: boolean;
  /** Real ms the callee rings before answering or failing. */
  afterMs?: number;
  /** The failure cause (default NO_ANSWER). */
  cause?: string;
}

export interface InboundEslOptions {
  password?: string;
  onOriginate?: (call: OriginateCall) => OriginateFate | Promise<OriginateFate>;
}

export class InboundEslServer {
  readonly identity: SwitchIdentity = {
    coreUuid: randomUUID(),
    hostname: 'lab-fs1',
    switchname: 'lab-fs1',
    ipv4: '192.0.2.10',
    ipv6: '::1',
    utcOffsetMinutes: 0,
  };
  /** Every originate received, in order. */
  readonly originates: OriginateCall[] = [];
  /** Every command line received, in order (the password is masked). */
  readonly commands: string[] = [];
  private readonly server = net.createServer((s) => this.session(s));
  private readonly sockets = new Set<net.Socket>();
  private sequence = 5000;

  constructor(private readonly opts: InboundEslOptions = {}) {}

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const a = this.server.address() as net.AddressInfo;
    return { host: '127.0.0.1', port: a.port };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The BACKGROUND_JOB event of a finished bgapi, serialized as FreeSWITCH does (without the outer framing). */
  backgroundJob(jobUuid: string, command: string, args: string, body: string, format: 'plain' | 'json'): string {
    const pairs: HeaderPair[] = [
      ...coreHeaders(this.identity, 'BACKGROUND_JOB', { timestampUs: Date.now() * 1000, sequence: ++this.sequence }, ['mod_event_socket.c', 'api_exec', 1580]),
      ['Job-UUID', jobUuid],
      ['Job-Command', command],
      ...(args ? [['Job-Command-Arg', args] as const] : []),
    ];
    return format === 'json' ? serializeEventJson(pairs, body) : serializeEventPlain(pairs, body);
  }

  private session(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    const parser = new EslFrameParser({ commands: true });
    let authed = false;
    let format: 'plain' | 'json' | null = null;
    const write = (s: string) => {
      if (!socket.destroyed) socket.write(s);
    };
    write('Content-Type: auth/request\n\n');

    socket.on('data', (chunk) => {
      for (const f of parser.push(chunk)) {
        const line = f.command.trim();
        const sp = line.indexOf(' ');
        const verb = (sp === -1 ? line : line.slice(0, sp)).toLowerCase();
        const rest = sp === -1 ? '' : line.slice(sp + 1).trim();
        this.commands.push(verb === 'auth' ? 'auth ***' : line);
        if (!authed) {
          if (verb === 'auth' && rest === (this.opts.password ?? 'ClueCon')) {
            authed = true;
            write(commandReply('+OK accepted'));
          } else if (verb === 'auth') {
            write(commandReply('-ERR invalid'));
            write(disconnectNotice(null));
            socket.end();
          } else {
            write(commandReply('-ERR command not found'));
          }
          continue;
        }
        if (verb === 'event') {
          const [fmt] = rest.split(/\s+/);
          format = fmt === 'json' ? 'json' : 'plain';
          write(commandReply(`+OK event listener enabled ${format}`));
        } else if (verb === 'bgapi') {
          const jobUuid = f.headers.getIgnoreCase('Job-UUID') || randomUUID();
          const csp = rest.indexOf(' ');
          const command = csp === -1 ? rest : rest.slice(0, csp);
          const args = csp === -1 ? '' : rest.slice(csp + 1);
          write(bgapiReply(jobUuid));
          void this.runBackground(command, args, jobUuid).then((body) => {
            if (format) write(frameEvent(this.backgroundJob(jobUuid, command, args, body, format), format));
          });
        } else if (verb === 'api') {
          write(apiResponse(`-ERR ${rest.split(' ')[0]} Command not found!\n`));
        } else if (verb === 'exit') {
          write(commandReply('+OK bye'));
          write(disconnectNotice(null));
          socket.end();
        } else {
          write(commandReply('-ERR command not found'));
        }
      }
    });
  }

  private async runBackground(command: string, args: string, jobUuid: string): Promise<string> {
    if (command !== 'originate') return `-ERR ${command} Command not found!\n`;
    const call = parseOriginate(args, jobUuid);
    this.originates.push(call);
    const fate = (await this.opts.onOriginate?.(call)) ?? { answer: true };
    if (fate.afterMs) await new Promise((r) => setTimeout(r, fate.afterMs));
    return fate.answer ? `+OK ${call.vars.origination_uuid ?? randomUUID()}\n` : `-ERR ${fate.cause ?? 'NO_ANSWER'}\n`;
  }
}

export function parseOriginate(args: string, jobUuid: string): OriginateCall {
  const m = /^(?:\{([^}]*)\})?(\S+)\s*(.*)$/.exec(args.trim());
  const vars: Record<string, string> = {};
  for (const kv of (m?.[1] ?? '').split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) vars[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { args, vars, endpoint: m?.[2] ?? '', then: m?.[3] ?? '', jobUuid };
}
