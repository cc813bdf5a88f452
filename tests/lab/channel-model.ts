/**
 * The switch lab's model of one FreeSWITCH channel, and the renderer that turns it into the
 * events FreeSWITCH would send for it.
 *
 * Every channel event is built the way switch_channel_event_set_data builds it (read in
 * signalwire/freeswitch @ cc93a683, switch_channel.c and switch_caller.c):
 *
 *   core headers (Event-Name … Event-Sequence)
 *   event-specific headers added first   (Hangup-Cause, Bridge-A/B-Unique-ID)
 *   [CHANNEL_DATA only: the caller profile again, prefixed `Channel-`]
 *   basic data    (Channel-State … Answer-State, Hangup-Cause, codecs)
 *   caller profile, prefixed `Caller-`   (empty fields are left out)
 *   Other-Type + other leg's profile, prefixed `Other-Leg-`, while bridged
 *   channel variables, prefixed `variable_`, for the "verbose" event types only
 *   event-specific headers added last    (Application-*, DTMF-*, Content-Type/Reply-Text …)
 *
 * The blocks are kept as ordered name/value lists, so a channel can also be loaded from a
 * real capture (`splitEvent`) and rendered back: the contract tests do exactly that and get
 * FreeSWITCH's bytes. Encoded lines are cached per block, because a 9 KB event is mostly
 * variables that did not change since the last one.
 */
import {
  finishEvent,
  type HeaderPair,
  headerLine,
  serializeEventJson,
} from '../../call-router/adapters/esl/codec';

/** An ordered header list with per-name replace, insert-after, and a cached encoding. */
export class HeaderBlock {
  private names: string[] = [];
  private values: string[] = [];
  private index = new Map<string, number>();
  private cache = new Map<string, string>();

  constructor(pairs: Iterable<HeaderPair> = []) {
    for (const [k, v] of pairs) this.set(k, v);
  }

  get size(): number {
    return this.names.length;
  }

  get(name: string): string | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.values[i];
  }

  /** Replaces in place, or appends (or inserts right after `after` when that exists). */
  set(name: string, value: string, after?: string): this {
    const i = this.index.get(name);
    this.cache.clear();
    if (i !== undefined) {
      this.values[i] = value;
      return this;
    }
    const at = after === undefined ? undefined : this.index.get(after);
    if (at === undefined) {
      this.index.set(name, this.names.length);
      this.names.push(name);
      this.values.push(value);
      return this;
    }
    this.names.splice(at + 1, 0, name);
    this.values.splice(at + 1, 0, value);
    this.reindex();
    return this;
  }

  delete(name: string): this {
    const i = this.index.get(name);
    if (i === undefined) return this;
    this.names.splice(i, 1);
    this.values.splice(i, 1);
    this.reindex();
    this.cache.clear();
    return this;
  }

  *entries(prefix = '', skipEmpty = false): Iterable<HeaderPair> {
    for (let i = 0; i < this.names.length; i++) {
      if (skipEmpty && this.values[i] === '') continue;
      yield [prefix + this.names[i], this.values[i]!];
    }
  }

  /** The url-encoded lines for this block under `prefix`, cached until the block changes. */
  encoded(prefix = '', skipEmpty = false): string {
    const key = prefix + (skipEmpty ? '\u0000' : '');
    let s = this.cache.get(key);
    if (s === undefined) {
      s = '';
      for (const [k, v] of this.entries(prefix, skipEmpty)) s += headerLine(k, v);
      this.cache.set(key, s);
    }
    return s;
  }

  clone(): HeaderBlock {
    return new HeaderBlock(this.entries());
  }

  private reindex(): void {
    this.index.clear();
    this.names.forEach((n, i) => this.index.set(n, i));
  }
}

/** The switch itself, as the core headers name it. */
export interface SwitchIdentity {
  coreUuid: string;
  hostname: string;
  switchname: string;
  ipv4: string;
  ipv6: string;
  /** The switch's local time offset: Event-Date-Local is written in it. */
  utcOffsetMinutes: number;
}

/** When an event fired and its place in the switch-wide sequence. */
export interface EventStamp {
  timestampUs: number;
  sequence: number;
}

/** Event-Calling-File / -Function / -Line-Number, cosmetic but part of the shape. */
export type CallingSite = readonly [file: string, func: string, line: number];

/** Event types whose headers carry the channel variables (switch_channel_event_set_extended_data). */
export const VERBOSE_EVENTS = new Set([
  'CHANNEL_CREATE',
  'CHANNEL_ORIGINATE',
  'CHANNEL_UUID',
  'CHANNEL_ANSWER',
  'CHANNEL_PARK',
  'CHANNEL_UNPARK',
  'CHANNEL_BRIDGE',
  'CHANNEL_UNBRIDGE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'REQUEST_PARAMS',
  'CHANNEL_DATA',
  'CHANNEL_EXECUTE',
  'CHANNEL_EXECUTE_COMPLETE',
  'CHANNEL_DESTROY',
  'SESSION_HEARTBEAT',
  'API',
  'RECORD_START',
  'RECORD_STOP',
  'PLAYBACK_START',
  'PLAYBACK_STOP',
  'CALL_UPDATE',
  'MEDIA_BUG_START',
  'MEDIA_BUG_STOP',
  'CHANNEL_HOLD',
  'CHANNEL_UNHOLD',
  'TEXT',
  'CUSTOM',
]);

/** The channel's state, in the blocks FreeSWITCH renders it from. */
export class ChannelModel {
  constructor(
    /** Channel-State … codecs. */
    readonly basic: HeaderBlock,
    /** Caller profile fields without prefix (`Caller-ID-Number`, `Destination-Number`…). */
    readonly profile: HeaderBlock,
    /** Channel variables without `variable_`. */
    readonly variables: HeaderBlock,
    /** The bridged peer: Other-Type and its profile, or null. */
    public other: { type: string; profile: HeaderBlock } | null = null,
  ) {}
}

export interface RenderSpec {
  name: string;
  stamp: EventStamp;
  calling: CallingSite;
  /** Headers FreeSWITCH adds before the channel data. */
  pre?: readonly HeaderPair[];
  /** Headers added after it. */
  post?: readonly HeaderPair[];
  body?: string;
  /** CHANNEL_DATA (connect reply, uuid_dump): repeats the profile as `Channel-` first. */
  profileAsChannel?: boolean;
  /** Defaults to VERBOSE_EVENTS membership. */
  verbose?: boolean;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `YYYY-MM-DD HH:MM:SS` in the switch's local time (Event-Date-Local, *_stamp variables). */
export function localStamp(timestampUs: number, utcOffsetMinutes: number): string {
  const d = new Date(Math.floor(timestampUs / 1_000_000) * 1000 + utcOffsetMinutes * 60_000);
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`
  );
}

export function coreHeaders(id: SwitchIdentity, name: string, stamp: EventStamp, calling: CallingSite): HeaderPair[] {
  const seconds = Math.floor(stamp.timestampUs / 1_000_000);
  return [
    ['Event-Name', name],
    ['Core-UUID', id.coreUuid],
    ['FreeSWITCH-Hostname', id.hostname],
    ['FreeSWITCH-Switchname', id.switchname],
    ['FreeSWITCH-IPv4', id.ipv4],
    ['FreeSWITCH-IPv6', id.ipv6],
    ['Event-Date-Local', localStamp(stamp.timestampUs, id.utcOffsetMinutes)],
    ['Event-Date-GMT', new Date(seconds * 1000).toUTCString()],
    ['Event-Date-Timestamp', String(stamp.timestampUs)],
    ['Event-Calling-File', calling[0]],
    ['Event-Calling-Function', calling[1]],
    ['Event-Calling-Line-Number', String(calling[2])],
    ['Event-Sequence', String(stamp.sequence)],
  ];
}

/** Every header of the event, in FreeSWITCH's order, values raw. */
export function eventPairs(id: SwitchIdentity, ch: ChannelModel, spec: RenderSpec): HeaderPair[] {
  const verbose = spec.verbose ?? VERBOSE_EVENTS.has(spec.name);
  const out = coreHeaders(id, spec.name, spec.stamp, spec.calling);
  out.push(...(spec.pre ?? []));
  if (spec.profileAsChannel) out.push(...ch.profile.entries('Channel-', true));
  out.push(...ch.basic.entries());
  out.push(...ch.profile.entries('Caller-', true));
  if (ch.other) {
    out.push(['Other-Type', ch.other.type]);
    out.push(...ch.other.profile.entries('Other-Leg-', true));
  }
  if (verbose) out.push(...ch.variables.entries('variable_'));
  out.push(...(spec.post ?? []));
  return out;
}

/** The serialized event (what follows the outer framing), as switch_event_serialize writes it. */
export function renderEventPlain(id: SwitchIdentity, ch: ChannelModel, spec: RenderSpec): string {
  const verbose = spec.verbose ?? VERBOSE_EVENTS.has(spec.name);
  let s = '';
  for (const [k, v] of coreHeaders(id, spec.name, spec.stamp, spec.calling)) s += headerLine(k, v);
  for (const [k, v] of spec.pre ?? []) s += headerLine(k, v);
  if (spec.profileAsChannel) s += ch.profile.encoded('Channel-', true);
  s += ch.basic.encoded();
  s += ch.profile.encoded('Caller-', true);
  if (ch.other) s += headerLine('Other-Type', ch.other.type) + ch.other.profile.encoded('Other-Leg-', true);
  if (verbose) s += ch.variables.encoded('variable_');
  for (const [k, v] of spec.post ?? []) s += headerLine(k, v);
  return finishEvent(s, spec.body ?? '');
}

export function renderEventJson(id: SwitchIdentity, ch: ChannelModel, spec: RenderSpec): string {
  return serializeEventJson(eventPairs(id, ch, spec), spec.body ?? '');
}

// ---------------------------------------------------------------------------------------------
// Loading a channel back from a real capture

export interface SplitEvent {
  identity: Omit<SwitchIdentity, 'utcOffsetMinutes'>;
  spec: RenderSpec;
  channel: ChannelModel;
}

/**
 * Splits a real event's headers into the blocks above. Works for any channel event that
 * FreeSWITCH built with switch_channel_event_set_data (the samples' CHANNEL_DATA,
 * CHANNEL_EXECUTE_COMPLETE, CHANNEL_ANSWER, CHANNEL_HANGUP_COMPLETE).
 */
export function splitEvent(pairs: readonly HeaderPair[]): SplitEvent {
  const get = (n: string) => pairs.find(([k]) => k === n)?.[1] ?? '';
  if (pairs[12]?.[0] !== 'Event-Sequence') throw new Error('not a current FreeSWITCH event: core headers differ');
  let i = 13;
  const name = get('Event-Name');
  const pre: HeaderPair[] = [];
  const channelProfile: HeaderPair[] = [];
  while (i < pairs.length && pairs[i]![0] !== 'Channel-State') {
    const [k, v] = pairs[i]!;
    if (name === 'CHANNEL_DATA' && k.startsWith('Channel-')) channelProfile.push([k.slice(8), v]);
    else pre.push([k, v]);
    i++;
  }
  const basic = new HeaderBlock();
  while (i < pairs.length && !pairs[i]![0].startsWith('Caller-')) basic.set(...pairs[i++]!);
  const profile = new HeaderBlock();
  while (i < pairs.length && pairs[i]![0].startsWith('Caller-')) {
    const [k, v] = pairs[i++]!;
    profile.set(k.slice(7), v);
  }
  let other: ChannelModel['other'] = null;
  if (pairs[i]?.[0] === 'Other-Type') {
    const type = pairs[i++]![1];
    const op = new HeaderBlock();
    while (i < pairs.length && pairs[i]![0].startsWith('Other-Leg-')) {
      const [k, v] = pairs[i++]!;
      op.set(k.slice(10), v);
    }
    other = { type, profile: op };
  }
  const variables = new HeaderBlock();
  while (i < pairs.length && pairs[i]![0].startsWith('variable_')) {
    const [k, v] = pairs[i++]!;
    variables.set(k.slice(9), v);
  }
  const post = pairs.slice(i);
  return {
    identity: {
      coreUuid: get('Core-UUID'),
      hostname: get('FreeSWITCH-Hostname'),
      switchname: get('FreeSWITCH-Switchname'),
      ipv4: get('FreeSWITCH-IPv4'),
      ipv6: get('FreeSWITCH-IPv6'),
    },
    spec: {
      name,
      stamp: { timestampUs: Number(get('Event-Date-Timestamp')), sequence: Number(get('Event-Sequence')) },
      calling: [get('Event-Calling-File'), get('Event-Calling-Function'), Number(get('Event-Calling-Line-Number'))],
      pre,
      post,
      profileAsChannel: channelProfile.length > 0,
      verbose: variables.size > 0,
    },
    channel: new ChannelModel(basic, profile, variables, other),
  };
}

/** The offset that turns Event-Date-GMT into Event-Date-Local in a capture, in minutes. */
export function offsetOf(pairs: readonly HeaderPair[]): number {
  const local = pairs.find(([k]) => k === 'Event-Date-Local')?.[1] ?? '';
  const gmt = pairs.find(([k]) => k === 'Event-Date-GMT')?.[1] ?? '';
  const l = Date.parse(local.replace(' ', 'T') + 'Z');
  const g = Date.parse(gmt);
  return Math.round((l - g) / 60_000);
}
