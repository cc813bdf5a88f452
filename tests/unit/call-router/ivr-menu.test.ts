import { describe, expect, it } from 'vitest';
import { IvrDocumentSchema, startMenu, stepMenu, type IvrMenuDoc, type IvrState } from '../../../call-router/domain/ivr-menu';

const menu: IvrMenuDoc = IvrDocumentSchema.parse({
  id: 'main',
  prompt: 'main.wav',
  options: {
    '1': { kind: 'queue', queueId: 'sales' },
    '2': { kind: 'queue', queueId: 'service' },
    '3': { kind: 'menu', menu: { id: 'sub', prompt: 'sub.wav', options: { '1': { kind: 'extension', ext: '105' } }, noInput: { timeoutSeconds: 3 }, maxTries: 1, fallback: { kind: 'voicemail' } } },
    '9': { kind: 'voicemail' },
  },
  noInput: { timeoutSeconds: 5 },
  maxTries: 2,
  fallback: { kind: 'queue', queueId: 'sales' },
});

function run(inputs: Array<string | null>) {
  let s: IvrState = startMenu(menu);
  const seen: string[] = [];
  for (const d of inputs) {
    const r = stepMenu(s, d);
    seen.push(r.input.kind);
    if (r.kind === 'done') return { ...r, seen };
    s = r.state;
  }
  return { kind: 'pending' as const, state: s, seen };
}

describe('IVR step machine', () => {
  it.each([
    ['a valid key goes to its queue', ['1'], { choice: '1', target: { kind: 'queue', ref: 'sales' } }, ['digit']],
    ['another option', ['2'], { choice: '2', target: { kind: 'queue', ref: 'service' } }, ['digit']],
    ['voicemail option', ['9'], { choice: '9', target: { kind: 'voicemail', ref: null } }, ['digit']],
    ['no input twice -> fallback', [null, null], { choice: 'fallback', target: { kind: 'queue', ref: 'sales' } }, ['no_input', 'no_input']],
    ['invalid then valid', ['7', '2'], { choice: '2', target: { kind: 'queue', ref: 'service' } }, ['invalid', 'digit']],
    ['invalid and no input both count as tries', ['7', null], { choice: 'fallback' }, ['invalid', 'no_input']],
    ['a sub-menu, then its option', ['3', '1'], { choice: '31', target: { kind: 'extension', ref: '105' } }, ['digit', 'digit']],
    ['a sub-menu has its own tries and fallback', ['3', null], { choice: 'fallback', target: { kind: 'voicemail', ref: null } }, ['digit', 'no_input']],
  ] as const)('%s', (_n, inputs, expected, seen) => {
    const r = run([...inputs]);
    expect(r).toMatchObject({ kind: 'done', ...expected });
    expect(r.seen).toEqual(seen);
  });

  it('one try left after one silence', () => {
    const r = run([null]);
    expect(r.kind).toBe('pending');
    expect((r as { state: IvrState }).state.tries).toBe(1);
  });

  it('rejects bad documents naming the field, and trees that are too deep', () => {
    const bad = IvrDocumentSchema.safeParse({ id: 'm', prompt: 'p', options: { '12345': { kind: 'queue' } }, noInput: { timeoutSeconds: 0 }, maxTries: 0, fallback: { kind: 'nowhere' } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['noInput.timeoutSeconds', 'maxTries']));
    let deep: unknown = { kind: 'voicemail' };
    for (let i = 0; i < 6; i++) {
      deep = { kind: 'menu', menu: { id: `m${i}`, prompt: 'p', options: { '1': deep }, noInput: { timeoutSeconds: 3 }, maxTries: 1, fallback: { kind: 'voicemail' } } };
    }
    const tooDeep = IvrDocumentSchema.safeParse((deep as { menu: unknown }).menu);
    expect(tooDeep.success).toBe(false);
    expect(tooDeep.error!.issues[0]!.message).toMatch(/at most 5 deep/);
  });
});
