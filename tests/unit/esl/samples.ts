/**
 * The verbatim ESL captures in tests/fixtures/shared/esl-samples (SOURCES.txt says where each
 * comes from).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sharedDir } from '../../helpers';

export const samplesDir = resolve(sharedDir, 'esl-samples');

export const SAMPLE = {
  channelData: '01_outbound_connect_reply_CHANNEL_DATA.davec82.wire.txt',
  executeComplete: '02_cmdreply_plus_CHANNEL_EXECUTE_COMPLETE.davec82.wire.txt',
  channelState: '03_CHANNEL_STATE.davec82.wire.txt',
  disconnect: '04_disconnect_notice.davec82.wire.txt',
  backgroundJob: '05_BACKGROUND_JOB.davec82.wire.txt',
  apiDump: '06_api_response_uuid_dump.davec82.wire.txt',
  bgapiReply: '07_command_reply_bgapi.davec82.wire.txt',
  speech: '08_DETECTED_SPEECH_split.davec82.wire.txt',
  answer: '10_CHANNEL_ANSWER.cgrates.framed.txt',
  answerBody: '10_CHANNEL_ANSWER.cgrates.body.txt',
  hangupComplete: '11_CHANNEL_HANGUP_COMPLETE.cgrates.framed.txt',
  hangupCompleteB: '12_CHANNEL_HANGUP_COMPLETE_b.cgrates.framed.txt',
  dtmfBridgeDoc: '23_DTMF_CHANNEL_BRIDGE_UNBRIDGE.webitel-docs.rst',
} as const;

export function sampleBytes(name: string): Buffer {
  return readFileSync(resolve(samplesDir, name));
}

export function sampleText(name: string): string {
  return sampleBytes(name).toString('utf8');
}

/** Header names of one event in the documentation's display format (`Name: value`, indented). */
export function docHeaderNames(doc: string, eventName: string): string[] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === `Event-Name: ${eventName}`);
  if (start === -1) throw new Error(`no ${eventName} in document`);
  const names: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const m = /^\s+([A-Za-z][A-Za-z0-9_-]*): /.exec(lines[i]!);
    if (!m) {
      if (lines[i]!.trim() === '' && names.length && !/^\s/.test(lines[i + 1] ?? '')) break;
      continue;
    }
    if (i > start && m[1] === 'Event-Name') break;
    names.push(m[1]!);
  }
  return names;
}
