/** Writes a synthetic stereo recording where FreeSWITCH's record_session would (see recordings/domain/wav.ts). */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { synthesizeWavChunks, type SynthOptions } from '../../recordings/domain/wav';

export async function writeTestWav(path: string, seconds: number, opts: Omit<SynthOptions, 'seconds'> = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await pipeline(Readable.from(synthesizeWavChunks({ ...opts, seconds })), createWriteStream(path));
}
