import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INVALID_FILE,
  IvrDocumentSchema,
  ivrTimeline,
  playAndGetDigits,
  readCollected,
  startIvr,
  stepIvr,
  walkIvr,
  type IvrInput,
  type IvrMenu,
} from '../../../call-router/domain/ivr';

const sub = {
  id: 'service',
  prompt: 'ivr/service.wav',
  options: { '1': { kind: 'extension', ext: '105' }, '2': { kind: 'queue', queueId: 'repairs' } },
  noInput: { timeoutSeconds: 3 },
  maxTries: 1,
  fallback: { kind: 'voicemail' },
} as const;

const main: IvrMenu = IvrDocumentSchema.parse({
  id: 'main',
  prompt: 'ivr/main.wav',
  greetingSeconds: 8,
  options: {
    '1': { kind: 'queue', queueId: 'sales' },
    '2': { kind: 'queue', queueId: 'service' },
    '3': { kind: 'menu', menu: sub },
    '9': { kind: 'voicemail' },
  },
  noInput: { timeoutSeconds: 5 },
  maxTries: 2,
  fallback: { kind: 'queue', queueId: 'sales' },
});

const d = (digits: string): IvrInput => ({ kind: 'digit', digits });
const silence: IvrInput = { kind: 'no_input' };

describe('IVR step machine: every branch', () => {
  it.each<[string, IvrInput[], string[], string[], object | null]>([
    ['a valid key goes to its queue', [d('1')], ['digit'], ['target'], { target: { kind: 'queue', queueId: 'sales' }, choice: '1' }],
    ['another option, another queue', [d('2')], ['digit'], ['target'], { target: { kind: 'queue', queueId: 'service' }, choice: '2' }],
    ['the voicemail option', [d('9')], ['digit'], ['target'], { target: { kind: 'voicemail' }, choice: '9' }],
    ['silence, then a key', [silence, d('2')], ['no_input', 'digit'], ['reprompt', 'target'], { choice: '2' }],
    ['an invalid key, then a valid one', [d('7'), d('2')], ['invalid', 'digit'], ['reprompt', 'target'], { choice: '2' }],
    ['silence max-tries times: fallback', [silence, silence], ['no_input', 'no_input'], ['reprompt', 'fallback'], { target: { kind: 'queue', queueId: 'sales' }, choice: 'fallback' }],
    ['invalid max-tries times: fallback', [d('0'), d('#')], ['invalid', 'invalid'], ['reprompt', 'fallback'], { choice: 'fallback' }],
    ['invalid and silence both count as tries', [d('7'), silence], ['invalid', 'no_input'], ['reprompt', 'fallback'], { choice: 'fallback' }],
    ['a sub-menu, then its option', [d('3'), d('1')], ['digit', 'digit'], ['submenu', 'target'], { target: { kind: 'extension', ext: '105' }, choice: '31', path: ['3', '1'] }],
    ['a sub-menu starts its own tries and has its own fallback', [d('3'), silence], ['digit', 'no_input'], ['submenu', 'fallback'], { target: { kind: 'voicemail' }, choice: 'fallback', path: ['3', 'fallback'] }],
    ['a used try in the parent does not count in the sub-menu', [d('7'), d('3'), d('2')], ['invalid', 'digit', 'digit'], ['reprompt', 'submenu', 'target'], { choice: '32' }],
    ['a key of the parent is invalid in the sub-menu', [d('3'), d('9')], ['digit', 'invalid'], ['submenu', 'fallback'], { choice: 'fallback' }],
    ['one silence leaves the caller in the menu', [silence], ['no_input'], ['reprompt'], null],
    ['nothing pressed yet', [], [], [], null],
  ])('%s', (_name, inputs, verdicts, actions, exit) => {
    const w = walkIvr(main, inputs);
    expect(w.steps.map((s) => s.verdict.kind)).toEqual(verdicts);
    expect(w.steps.map((s) => s.action.kind)).toEqual(actions);
    if (exit) {
      expect(w.exit?.action).toMatchObject(exit);
      expect(w.state).toBeNull();
    } else {
      expect(w.exit).toBeNull();
      expect(w.state?.menu.id).toBe('main');
    }
  });

  it('counts tries and tries left on each re-prompt', () => {
    const menu = { ...main, maxTries: 3 };
    const w = walkIvr(menu, [silence, d('5'), silence]);
    expect(w.steps.map((s) => s.action)).toEqual([
      { kind: 'reprompt', reason: 'no_input', tries: 1, triesLeft: 2 },
      { kind: 'reprompt', reason: 'invalid', tries: 2, triesLeft: 1 },
      expect.objectContaining({ kind: 'fallback' }),
    ]);
  });

  it('maxTries 1: the first silence is already the fallback', () => {
    expect(walkIvr({ ...main, maxTries: 1 }, [silence]).exit?.action.kind).toBe('fallback');
  });

  it('ignores inputs after the caller left the menu', () => {
    const w = walkIvr(main, [d('1'), d('2'), silence]);
    expect(w.steps).toHaveLength(1);
    expect(w.exit?.action).toMatchObject({ choice: '1' });
  });

  it('judges each input in the menu it was made in (for the per-menu confusion figures)', () => {
    const w = walkIvr(main, [d('7'), d('3'), d('8')]);
    expect(w.steps.map((s) => s.verdict)).toEqual([
      { menuId: 'main', kind: 'invalid', digits: '7' },
      { menuId: 'main', kind: 'digit', digits: '3' },
      { menuId: 'service', kind: 'invalid', digits: '8' },
    ]);
  });

  it('a fallback may be a sub-menu: the caller gets fresh tries there', () => {
    const menu: IvrMenu = { ...main, maxTries: 1, fallback: { kind: 'menu', menu: sub } };
    const w = walkIvr(menu, [silence, d('2')]);
    expect(w.steps[0]!.action).toEqual({ kind: 'submenu', menu: sub, via: 'fallback' });
    // The keys chosen name the choice; the path keeps the fallback hop.
    expect(w.exit?.action).toEqual({ kind: 'target', target: { kind: 'queue', queueId: 'repairs' }, choice: '2', path: ['fallback', '2'] });
  });

  it('multi-key options, * and #', () => {
    const menu: IvrMenu = { ...main, options: { '12': { kind: 'voicemail' }, '*': { kind: 'queue', queueId: 'q' }, '#9': { kind: 'extension', ext: '101' } } };
    expect(walkIvr(menu, [d('1')]).steps[0]!.verdict.kind).toBe('invalid');
    expect(walkIvr(menu, [d('12')]).exit?.action).toMatchObject({ choice: '12' });
    expect(walkIvr(menu, [d('*')]).exit?.action).toMatchObject({ target: { queueId: 'q' } });
    expect(walkIvr(menu, [d('#9')]).exit?.action).toMatchObject({ target: { ext: '101' } });
  });

  it('an object key that is not an option (e.g. "constructor") is invalid', () => {
    expect(stepIvr(startIvr(main), d('constructor')).verdict.kind).toBe('invalid');
  });

  it('every path ends in a target or the fallback within the tries (property)', () => {
    const input = fc.oneof(fc.constant(silence), fc.constantFrom('1', '2', '3', '9', '0', '7', '*').map(d));
    fc.assert(
      fc.property(fc.array(input, { minLength: 6, maxLength: 6 }), (inputs) => {
        const w = walkIvr(main, inputs);
        // main needs at most 2 inputs, the sub-menu 1 more: 3 always suffice.
        return w.exit !== null && w.steps.length <= 3 && w.steps.filter((s) => s.verdict.kind !== 'digit').length <= 2;
      }),
    );
  });
});

describe('IVR timing: the issue semantics', () => {
  // greeting 8 s, then 5 s of silence per try, 2 tries.
  it.each<[string, Array<[number, string]>, number | null, object]>([
    ['a key during the greeting is accepted at once', [[3, '1']], null, { kind: 'exit', atSeconds: 3, action: { choice: '1' } }],
    ['a key at the very start', [[0, '2']], null, { kind: 'exit', atSeconds: 0, action: { choice: '2' } }],
    ['a key at the last instant of the first try', [[13, '2']], null, { kind: 'exit', atSeconds: 13, action: { choice: '2' } }],
    ['silence through the greeting and 5 s: one try; a key in the second', [[14, '1']], null, { kind: 'exit', atSeconds: 14, action: { choice: '1' } }],
    ['silence for both tries: the fallback after greeting + 2 x 5 s', [], null, { kind: 'exit', atSeconds: 18, action: { kind: 'fallback' } }],
    ['a key too late for the second try is never heard', [[18.5, '1']], null, { kind: 'exit', atSeconds: 18, action: { kind: 'fallback' } }],
    ['an invalid key during the greeting counts as a try; 5 s of silence then ends the menu', [[2, '7']], null, { kind: 'exit', atSeconds: 7, action: { kind: 'fallback' } }],
    ['invalid, then valid', [[2, '7'], [4, '2']], null, { kind: 'exit', atSeconds: 4, action: { choice: '2' } }],
    ['keys pressed out of order are taken in time order', [[4, '2'], [2, '7']], null, { kind: 'exit', atSeconds: 4, action: { choice: '2' } }],
    ['two keys at the same moment: the second waits for the next try', [[2, '7'], [2, '1']], null, { kind: 'exit', atSeconds: 2, action: { choice: '1' } }],
    ['a sub-menu (no greeting, 3 s) falls back after its own silence', [[1, '3']], null, { kind: 'exit', atSeconds: 4, action: { kind: 'fallback', target: { kind: 'voicemail' } } }],
    ['a sub-menu choice', [[1, '3'], [2, '2']], null, { kind: 'exit', atSeconds: 2, action: { choice: '32' } }],
    ['hanging up in the greeting abandons the menu', [], 6, { kind: 'abandon', atSeconds: 6, menuId: 'main' }],
    ['hanging up after one silent try abandons it too', [], 15, { kind: 'abandon', atSeconds: 15, menuId: 'main' }],
    ['hanging up at the instant the fallback would fire: abandoned', [], 18, { kind: 'abandon', atSeconds: 18 }],
    ['hanging up before a planned key: abandoned', [[10, '1']], 9, { kind: 'abandon', atSeconds: 9 }],
    ['hanging up in a sub-menu names it', [[1, '3']], 2, { kind: 'abandon', atSeconds: 2, menuId: 'service' }],
    ['a key just before hanging up counts', [[5, '1']], 5.5, { kind: 'exit', atSeconds: 5, action: { choice: '1' } }],
  ])('%s', (_name, presses, hangup, outcome) => {
    const t = ivrTimeline(main, presses.map(([atSeconds, digits]) => ({ atSeconds, digits })), { hangupAtSeconds: hangup });
    expect(t.outcome).toMatchObject(outcome);
  });

  it('records when each input happened', () => {
    const t = ivrTimeline(main, [{ atSeconds: 16, digits: '7' }]);
    expect(t.steps.map((s) => [s.atSeconds, s.verdict.kind])).toEqual([
      [13, 'no_input'],
      [16, 'invalid'],
    ]);
    expect(t.outcome).toMatchObject({ kind: 'exit', atSeconds: 16, action: { kind: 'fallback' } });
  });

  it('a key at the instant the first try times out belongs to that try: no silence is recorded', () => {
    const t = ivrTimeline(main, [{ atSeconds: 13, digits: '2' }]);
    expect(t.steps.map((s) => [s.atSeconds, s.verdict.kind])).toEqual([[13, 'digit']]);
  });

  it('a re-prompt that takes time lengthens the later tries', () => {
    const t = ivrTimeline({ ...main, maxTries: 3 }, [], { repromptSeconds: 2 });
    expect(t.steps.map((s) => s.atSeconds)).toEqual([13, 20, 27]);
  });

  it('a menu without a greeting length starts its silence at once', () => {
    const { greetingSeconds: _g, ...noGreeting } = main;
    expect(ivrTimeline(noGreeting, []).outcome).toMatchObject({ atSeconds: 10 });
  });

  it('refuses to run forever on a fallback cycle built in code', () => {
    const loop = { ...main, maxTries: 1 } as IvrMenu;
    loop.fallback = { kind: 'menu', menu: loop };
    expect(() => ivrTimeline(loop, [])).toThrowError(/never ends/);
  });
});

describe('play_and_get_digits arguments', () => {
  const vars = { varName: 'cp_digits_7' };

  it('the first try plays the greeting, collects one key matching exactly the options, one FreeSWITCH try', () => {
    const a = playAndGetDigits(startIvr(main), vars);
    expect(a).toMatchObject({ min: 1, max: 1, tries: 1, timeoutMs: 5000, terminators: '#', file: 'ivr/main.wav', invalidFile: DEFAULT_INVALID_FILE, varName: 'cp_digits_7', regexp: '^(?:1|2|3|9)$', digitTimeoutMs: 3000 });
    expect(a.data).toBe(`1 1 1 5000 # ivr/main.wav ${DEFAULT_INVALID_FILE} cp_digits_7 ^(?:1|2|3|9)$ 3000`);
    // The argument splits on spaces into FreeSWITCH's ten positional fields.
    expect(a.data.split(' ')).toHaveLength(10);
  });

  it('later tries play silence (the greeting plays once), or the menu re-prompt when set', () => {
    const after = walkIvr(main, [silence]).state!;
    expect(playAndGetDigits(after, vars).file).toBe('silence');
    expect(playAndGetDigits({ ...after, menu: { ...main, repromptFile: 'ivr/again.wav' } }, vars).file).toBe('ivr/again.wav');
  });

  it("a sub-menu's own prompt, timeout and invalid prompt", () => {
    const s = walkIvr(main, [d('3')]).state!;
    const a = playAndGetDigits({ ...s, menu: { ...s.menu, invalidPrompt: 'ivr/oops.wav' } }, { ...vars, invalidFile: 'ivr/default-invalid.wav' });
    expect(a).toMatchObject({ file: 'ivr/service.wav', timeoutMs: 3000, invalidFile: 'ivr/oops.wav', regexp: '^(?:1|2)$' });
    expect(playAndGetDigits(s, { ...vars, invalidFile: 'ivr/default-invalid.wav' }).invalidFile).toBe('ivr/default-invalid.wav');
  });

  it.each<[string, string[], object]>([
    ['keys of different lengths', ['1', '12', '345'], { min: 1, max: 3, terminators: '#' }],
    ['# is a key: * terminates', ['1', '#'], { terminators: '*', regexp: '^(?:#|1)$' }],
    ['* and # are keys: no terminator', ['*', '#'], { terminators: 'none', regexp: '^(?:#|\\*)$' }],
    ['* is escaped in the regexp', ['*1', '2'], { regexp: '^(?:\\*1|2)$', terminators: '#' }],
  ])('%s', (_name, keys, expected) => {
    const menu: IvrMenu = { ...main, options: Object.fromEntries(keys.map((k) => [k, { kind: 'voicemail' } as const])) };
    expect(playAndGetDigits(startIvr(menu), vars)).toMatchObject(expected);
  });

  it('the regexp accepts exactly the menu keys (property)', () => {
    const key = fc.stringMatching(/^[0-9*#]{1,3}$/);
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 8 }), key, (keys, probe) => {
        const menu: IvrMenu = { ...main, options: Object.fromEntries(keys.map((k) => [k, { kind: 'voicemail' } as const])) };
        const re = new RegExp(playAndGetDigits(startIvr(menu), vars).regexp);
        return keys.every((k) => re.test(k)) && re.test(probe) === keys.includes(probe);
      }),
    );
  });

  it('refuses a variable name FreeSWITCH would not take', () => {
    expect(() => playAndGetDigits(startIvr(main), { varName: 'bad name' })).toThrowError(/channel variable/);
  });

  it.each<[string, Record<string, string | undefined>, IvrInput, string]>([
    ['a valid key lands in the variable', { d: '2' }, { kind: 'digit', digits: '2' }, 'digit'],
    ['an invalid key lands in <var>_invalid', { d_invalid: '7' }, { kind: 'digit', digits: '7' }, 'invalid'],
    ['neither: silence', {}, { kind: 'no_input' }, 'no_input'],
    ['empty values: silence', { d: '', d_invalid: '' }, { kind: 'no_input' }, 'no_input'],
  ])('reading the result: %s', (_name, channelVars, input, verdict) => {
    const got = readCollected('d', channelVars);
    expect(got).toEqual(input);
    expect(stepIvr(startIvr(main), got).verdict.kind).toBe(verdict);
  });
});

describe('IVR documents: validated recursively, with a depth limit', () => {
  const menu = (over: Record<string, unknown> = {}) => ({ id: 'm', prompt: 'ivr/m.wav', options: { '1': { kind: 'voicemail' } }, noInput: { timeoutSeconds: 5 }, maxTries: 2, fallback: { kind: 'voicemail' }, ...over });
  const nest = (levels: number): Record<string, unknown> => {
    let m = menu({ id: 'm1' });
    for (let i = 2; i <= levels; i++) m = menu({ id: `m${i}`, options: { '1': { kind: 'menu', menu: m } } });
    return m;
  };
  const issues = (doc: unknown) => {
    const r = IvrDocumentSchema.safeParse(doc);
    expect(r.success).toBe(false);
    return r.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };

  it('accepts the seed-style document and a tree 5 deep', () => {
    expect(IvrDocumentSchema.safeParse(main).success).toBe(true);
    expect(IvrDocumentSchema.safeParse(nest(5)).success).toBe(true);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a zero timeout', menu({ noInput: { timeoutSeconds: 0 } }), 'noInput.timeoutSeconds', /too small|>0/i],
    ['zero tries', menu({ maxTries: 0 }), 'maxTries', /too small|>=1/i],
    ['a key too long', menu({ options: { '1234': { kind: 'voicemail' } } }), 'options.1234', /"1234" is not a key: 1-3 characters/],
    ['a letter as a key', menu({ options: { a: { kind: 'voicemail' } } }), 'options.a', /"a" is not a key/],
    ['no options', menu({ options: {} }), 'options', /at least one option/],
    ['an unknown target kind', menu({ fallback: { kind: 'nowhere' } }), 'fallback.kind', /target \{kind/],
    ['a queue target without its queue', menu({ options: { '1': { kind: 'queue' } } }), 'options.1.queueId', /string/],
    ['a bad extension', menu({ options: { '1': { kind: 'extension', ext: 'abc' } } }), 'options.1.ext', /extension of 2-8 digits/],
    ['a prompt with a space', menu({ prompt: 'my prompt.wav' }), 'prompt', /without spaces/],
    ['an error deep in a sub-menu names its path', menu({ options: { '2': { kind: 'menu', menu: menu({ id: 's', maxTries: 99 }) } } }), 'options.2.menu.maxTries', /too big|<=10/i],
    ['the same menu id twice', menu({ options: { '2': { kind: 'menu', menu: menu() } } }), 'options.2.menu.id', /"m" is used twice/],
    ['a tree 6 deep', nest(6), 'options.1.menu.options.1.menu.options.1.menu.options.1.menu.options.1.menu', /at most 5 deep/],
  ])('rejects %s', (_name, doc, path, message) => {
    expect(issues(doc)).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringMatching(message) })]));
  });
});
