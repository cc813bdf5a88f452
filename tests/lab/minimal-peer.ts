/**
 * The framing baseline for the router benchmark: a FreeSWITCH stand-in that does the least
 * a switch can do on an outbound-ESL connection, with frames of the same size and shape as
 * the lab's. It answers `connect` with CHANNEL_DATA, every session command with `+OK`, each
 * execute with `+OK` and at once its CHANNEL_EXECUTE_COMPLETE, a hangup (app or sendmsg)
 * with CHANNEL_HANGUP_COMPLETE, and `exit` with `+OK bye`, the disconnect notice and close.
 * No clock, no hooks, no app queue, no subscriptions beyond the event format: the frames are
 * rendered once and only the UUIDs and app name are spliced in, so the cost measured is the
 * router's and the wire's.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { apiResponse, bgapiReply, commandReply, disconnectNotice, EslFrameParser, frameEvent } from '../../call-router/adapters/esl/codec';
import { renderEventJson, renderEventPlain, type RenderSpec, type SwitchIdentity } from './channel-model';
import { buildChannel } from './fake-switch';

/** Same length as a real UUID, so Content-Length does not move when one is spliced in. */
const CALL = '00000000-0000-4000-8000-00000000c411';
const APP_UUID = '00000000-0000-4000-8000-0000000a9900';
/** Letters only: url-encoding leaves it alone in every format. */
const APP = 'ZQXMINIMALPEERAPPZQX';

interface Template {
  parts: string[];
}

const fill = (t: Template, app: string, appUuid: string, uuid: string) => {
  let s = '';
  for (let i = 0; i < t.parts.length; i++) {
    const p = t.parts[i]!;
    s += p === CALL ? uuid : p === APP_UUID ? appUuid : p === APP ? app : p;
  }
  return s;
};

function template(text: string): Template {
  return { parts: text.split(new RegExp(`(${CALL}|${APP_UUID}|${APP})`)) };
}

export interface MinimalCallResult {
  uuid: string;
  commands: number;
  executes: number;
  /** Real milliseconds from TCP connect to close. */
  ms: number;
}

export class MinimalPeer {
  private readonly channelData: Template;
  private readonly complete: Record<'plain' | 'json', Template>;
  private readonly hangupComplete: Record<'plain' | 'json', Template>;

  constructor(private readonly opts: { router: { host: string; port: number } }) {
    const identity: SwitchIdentity = {
      coreUuid: randomUUID(),
      hostname: 'lab-fs1',
      switchname: 'lab-fs1',
      ipv4: '192.0.2.10',
      ipv6: '::1',
      utcOffsetMinutes: 0,
    };
    const origin = { identity, gatewayIp: '192.0.2.20', opts };
    const now = Date.now() * 1000;
    const ch = buildChannel(origin, { caller: '+79160000001', destination: '+74951110001' }, CALL, now, 1);
    const stamp = { timestampUs: now, sequence: 1 };
    this.channelData = template(
      renderEventPlain(identity, ch, {
        name: 'CHANNEL_DATA',
        stamp,
        calling: ['mod_event_socket.c', 'parse_command', 2029],
        profileAsChannel: true,
        post: [
          ['Content-Type', 'command/reply'],
          ['Reply-Text', '+OK\n'],
          ['Socket-Mode', 'async'],
          ['Control', 'full'],
        ],
      }),
    );
    ch.variables.delete('current_application').set('current_application', APP);
    ch.basic.set('Channel-Call-State', 'ACTIVE').set('Answer-State', 'answered');
    const execSpec: RenderSpec = {
      name: 'CHANNEL_EXECUTE_COMPLETE',
      stamp,
      calling: ['switch_core_session.c', 'switch_core_session_exec', 2972],
      post: [
        ['Application', APP],
        ['Application-Response', '_none_'],
        ['Application-UUID', APP_UUID],
      ],
    };
    this.complete = {
      plain: template(renderEventPlain(identity, ch, execSpec)),
      json: template(renderEventJson(identity, ch, execSpec)),
    };
    ch.basic.set('Channel-State', 'CS_REPORTING').set('Channel-State-Number', '11').set('Answer-State', 'hangup');
    ch.basic.set('Hangup-Cause', 'NORMAL_CLEARING', 'Answer-State');
    const hangupSpec: RenderSpec = {
      name: 'CHANNEL_HANGUP_COMPLETE',
      stamp,
      calling: ['switch_core_state_machine.c', 'switch_core_session_reporting_state', 943],
      pre: [['Hangup-Cause', 'NORMAL_CLEARING']],
    };
    this.hangupComplete = {
      plain: template(renderEventPlain(identity, ch, hangupSpec)),
      json: template(renderEventJson(identity, ch, hangupSpec)),
    };
  }

  /** One call: resolves when the connection closes (or fails to open, with commands: 0). */
  call(uuid: string = randomUUID()): Promise<MinimalCallResult> {
    const started = performance.now();
    const socket = net.connect({ host: this.opts.router.host, port: this.opts.router.port, noDelay: true });
    const parser = new EslFrameParser({ commands: true });
    let format: 'plain' | 'json' = 'plain';
    let commands = 0;
    let executes = 0;
    let open = true;
    const send = (s: string) => {
      if (open) socket.write(s);
    };
    const event = (t: Record<'plain' | 'json', Template>, app: string, appUuid: string) =>
      send(frameEvent(fill(t[format], app, appUuid, uuid), format));

    socket.on('data', (chunk) => {
      try {
        parser.pushEach(chunk, (f) => {
          commands++;
          const cmd = f.command.trim();
          const lower = cmd.toLowerCase();
          if (lower.startsWith('connect')) return send(fill(this.channelData, '', '', uuid));
          if (lower.startsWith('exit')) {
            send(commandReply('+OK bye') + disconnectNotice(uuid));
            open = false;
            socket.end();
            return;
          }
          if (lower.startsWith('event ')) {
            const w = lower.split(/\s+/)[1];
            if (w === 'json' || w === 'plain') format = w;
            return send(commandReply(`+OK event listener enabled ${format}`));
          }
          if (lower.startsWith('api ')) return send(apiResponse('+OK\n'));
          if (lower.startsWith('bgapi ')) return send(bgapiReply(f.headers.getIgnoreCase('Job-UUID') ?? randomUUID()));
          if (lower.startsWith('sendmsg')) {
            const what = (f.headers.getIgnoreCase('call-command') ?? '').toLowerCase();
            send(commandReply('+OK'));
            if (what === 'execute') {
              executes++;
              const app = f.headers.getIgnoreCase('execute-app-name') ?? '';
              event(this.complete, app, f.headers.getIgnoreCase('Event-UUID') ?? randomUUID());
              if (app === 'hangup') event(this.hangupComplete, app, '');
            } else if (what === 'hangup') event(this.hangupComplete, 'hangup', '');
            return;
          }
          send(commandReply('+OK'));
        });
      } catch {
        socket.destroy();
      }
    });
    return new Promise((resolve) => {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open = false;
        resolve({ uuid, commands, executes, ms: performance.now() - started });
      });
    });
  }
}
