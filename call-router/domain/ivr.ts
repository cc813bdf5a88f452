/**
 * IVR menus: the stored document (a tree of menus), the pure step machine that walks it, and
 * the FreeSWITCH `play_and_get_digits` arguments that collect one try.
 *
 * Semantics (issue 3, "Scenario semantics"):
 * - a menu plays its prompt (the greeting, `greetingSeconds` long); a key pressed while it
 *   plays is accepted;
 * - after the greeting, `noInput.timeoutSeconds` of silence counts as one try, and so does a
 *   key with no option;
 * - after `maxTries` tries the caller goes to `fallback`;
 * - an option leads to a queue, a sub-menu, an extension or voicemail; a sub-menu (reached by
 *   a key or as a fallback) starts its own count of tries.
 * We count tries ourselves (one `play_and_get_digits` try per step) so every no-input and every
 * invalid key becomes an event: the funnel's "IVR confusion" figure needs them.
 */
import { z } from 'zod';

// ---- the document ----------------------------------------------------------------------

export type IvrTarget =
  | { kind: 'queue'; queueId: string }
  | { kind: 'menu'; menu: IvrMenu }
  | { kind: 'extension'; ext: string }
  | { kind: 'voicemail' };

/** Where a caller can leave the IVR to: any target but a sub-menu. */
export type IvrLeaf = Exclude<IvrTarget, { kind: 'menu' }>;

export interface IvrMenu {
  /** Names the menu in events and reports; unique within the tree. */
  id: string;
  /** Sound file of the greeting that lists the options. */
  prompt: string;
  /** How long the greeting plays (the lab and simulations use it; FreeSWITCH just plays it). */
  greetingSeconds?: number;
  /** Key (1-3 of 0-9, *, #) -> target. */
  options: Record<string, IvrTarget>;
  noInput: { timeoutSeconds: number };
  /** Played after a key with no option; FreeSWITCH's stock "invalid entry" when absent. */
  invalidPrompt?: string;
  /** Played instead of the greeting on later tries; silence when absent (the greeting plays once). */
  repromptFile?: string;
  maxTries: number;
  fallback: IvrTarget;
}

/** Menus may nest this deep: callers get lost in deeper trees. */
export const IVR_MAX_DEPTH = 5;
const IVR_MAX_MENUS = 50;
const KEY_RE = /^[0-9*#]{1,3}$/;

// FreeSWITCH splits application arguments on spaces, so a file name must not contain any.
const SoundFile = z.string().min(1).max(500).regex(/^\S+$/, { error: 'a sound file path without spaces' });

export const IvrTargetSchema: z.ZodType<IvrTarget> = z.lazy(() =>
  z.discriminatedUnion(
    'kind',
    [
      z.object({ kind: z.literal('queue'), queueId: z.string().min(1) }),
      z.object({ kind: z.literal('menu'), menu: IvrMenuSchema }),
      z.object({ kind: z.literal('extension'), ext: z.string().regex(/^\d{2,8}$/, { error: 'an extension of 2-8 digits' }) }),
      z.object({ kind: z.literal('voicemail') }),
    ],
    { error: 'a target {kind: "queue" | "menu" | "extension" | "voicemail", ...}' },
  ),
);

/** One menu, validated recursively (no depth limit here: see IvrDocumentSchema). */
export const IvrMenuSchema: z.ZodType<IvrMenu> = z.lazy(() =>
  z.object({
    id: z.string().min(1).max(64),
    prompt: SoundFile,
    greetingSeconds: z.number().nonnegative().max(600).optional(),
    options: z
      .record(z.string().regex(KEY_RE), IvrTargetSchema, {
        error: (iss) => (iss.code === 'invalid_key' ? `"${String(iss.input)}" is not a key: 1-3 characters from 0-9, * and #` : undefined),
      })
      .refine((o) => Object.keys(o).length > 0, { error: 'a menu needs at least one option' }),
    noInput: z.object({ timeoutSeconds: z.number().positive().max(60) }),
    invalidPrompt: SoundFile.optional(),
    repromptFile: SoundFile.optional(),
    maxTries: z.number().int().min(1).max(10),
    fallback: IvrTargetSchema,
  }),
);

function* subMenus(m: IvrMenu): Generator<{ path: PropertyKey[]; menu: IvrMenu }> {
  for (const [key, t] of Object.entries(m.options)) if (t.kind === 'menu') yield { path: ['options', key, 'menu'], menu: t.menu };
  if (m.fallback.kind === 'menu') yield { path: ['fallback', 'menu'], menu: m.fallback.menu };
}

/** The stored IVR document: a menu tree, at most IVR_MAX_DEPTH deep, menu ids unique. */
export const IvrDocumentSchema = IvrMenuSchema.superRefine((root, ctx) => {
  const ids = new Set<string>();
  const walk = (m: IvrMenu, path: PropertyKey[], depth: number) => {
    if (depth > IVR_MAX_DEPTH) {
      ctx.addIssue({ code: 'custom', path, message: `menus may nest at most ${IVR_MAX_DEPTH} deep` });
      return;
    }
    if (ids.size >= IVR_MAX_MENUS) {
      ctx.addIssue({ code: 'custom', path, message: `a tree may hold at most ${IVR_MAX_MENUS} menus` });
      return;
    }
    if (ids.has(m.id)) ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `menu id "${m.id}" is used twice` });
    ids.add(m.id);
    for (const s of subMenus(m)) walk(s.menu, [...path, ...s.path], depth + 1);
  };
  walk(root, [], 1);
});

// ---- the step machine ------------------------------------------------------------------

/** What one collect produced: the keys pressed, or silence until the timeout. */
export type IvrInput = { kind: 'digit'; digits: string } | { kind: 'no_input' };

export interface IvrState {
  menu: IvrMenu;
  /** Tries used in this menu. */
  tries: number;
  /** Keys chosen on the way down ('fallback' for a fallback hop), e.g. ['2', '1']. */
  path: readonly string[];
}

/** The input as the menu judged it: the `call.ivr_input` event's fields. */
export interface IvrVerdict {
  menuId: string;
  kind: 'digit' | 'invalid' | 'no_input';
  digits: string | null;
}

export type IvrAction =
  /** Collect again on the same menu; `tries` used so far, `triesLeft` before the fallback. */
  | { kind: 'reprompt'; reason: 'no_input' | 'invalid'; tries: number; triesLeft: number }
  /** Entered a sub-menu, by a key or as a fallback; collect on it with fresh tries. */
  | { kind: 'submenu'; menu: IvrMenu; via: 'option' | 'fallback' }
  /** The caller chose: leave the IVR to `target`. `choice` is the keys chosen, e.g. '1' or '31'. */
  | { kind: 'target'; target: IvrLeaf; choice: string; path: readonly string[] }
  /** Tries ran out: leave the IVR to the menu's fallback. */
  | { kind: 'fallback'; target: IvrLeaf; choice: 'fallback'; path: readonly string[] };

/** The actions that leave the IVR. */
export type IvrExitAction = Extract<IvrAction, { kind: 'target' | 'fallback' }>;

/** One judged input: where to collect next, or (state null) the way out of the IVR. */
export type IvrStep =
  | { verdict: IvrVerdict; action: Exclude<IvrAction, IvrExitAction>; state: IvrState }
  | { verdict: IvrVerdict; action: IvrExitAction; state: null };
export type IvrExit = Extract<IvrStep, { state: null }>;

export function startIvr(menu: IvrMenu): IvrState {
  return { menu, tries: 0, path: [] };
}

const chosenKeys = (path: readonly string[]) => path.filter((p) => p !== 'fallback').join('');

/** Apply one collect result to the menu the caller is in. */
export function stepIvr(state: IvrState, input: IvrInput): IvrStep {
  const { menu } = state;
  const target = input.kind === 'digit' && Object.hasOwn(menu.options, input.digits) ? menu.options[input.digits] : undefined;
  if (input.kind === 'digit' && target) {
    const verdict: IvrVerdict = { menuId: menu.id, kind: 'digit', digits: input.digits };
    const path = [...state.path, input.digits];
    if (target.kind === 'menu') {
      return { verdict, action: { kind: 'submenu', menu: target.menu, via: 'option' }, state: { menu: target.menu, tries: 0, path } };
    }
    return { verdict, action: { kind: 'target', target, choice: chosenKeys(path), path }, state: null };
  }

  const verdict: IvrVerdict =
    input.kind === 'digit' ? { menuId: menu.id, kind: 'invalid', digits: input.digits } : { menuId: menu.id, kind: 'no_input', digits: null };
  const tries = state.tries + 1;
  if (tries < menu.maxTries) {
    return {
      verdict,
      action: { kind: 'reprompt', reason: verdict.kind === 'invalid' ? 'invalid' : 'no_input', tries, triesLeft: menu.maxTries - tries },
      state: { ...state, tries },
    };
  }
  const path = [...state.path, 'fallback'];
  const fb = menu.fallback;
  if (fb.kind === 'menu') return { verdict, action: { kind: 'submenu', menu: fb.menu, via: 'fallback' }, state: { menu: fb.menu, tries: 0, path } };
  return { verdict, action: { kind: 'fallback', target: fb, choice: 'fallback', path }, state: null };
}

export interface IvrWalk {
  steps: IvrStep[];
  /** The step that left the IVR, or null when the inputs ran out first. */
  exit: IvrExit | null;
  /** Where the caller is when the inputs ran out; null after an exit. */
  state: IvrState | null;
}

/** Feed a sequence of inputs from the start of a menu; inputs after an exit are ignored. */
export function walkIvr(menu: IvrMenu, inputs: readonly IvrInput[]): IvrWalk {
  let state = startIvr(menu);
  const steps: IvrStep[] = [];
  for (const input of inputs) {
    const step = stepIvr(state, input);
    steps.push(step);
    if (step.state === null) return { steps, exit: step, state: null };
    state = step.state;
  }
  return { steps, exit: null, state };
}

// ---- timing ----------------------------------------------------------------------------

export interface TimedPress {
  /** Seconds from the moment the IVR menu starts. */
  atSeconds: number;
  digits: string;
}

export interface IvrTimeline {
  steps: Array<IvrStep & { atSeconds: number }>;
  outcome:
    | { kind: 'exit'; atSeconds: number; action: IvrExitAction }
    /** The caller hung up inside the menu before a choice. */
    | { kind: 'abandon'; atSeconds: number; menuId: string };
}

/**
 * When each input happens for a caller who presses keys at given times, per the semantics
 * above: a try's window runs from its start through the greeting (the first try of each
 * menu) or the re-prompt (`repromptSeconds`, later tries), then `timeoutSeconds` of silence.
 * A key pressed at any time up to the end of the window, the greeting included, is that
 * try's input (a key pressed while an earlier try was being judged waits for this one);
 * silence to the end is a no-input. A caller who hangs up at `hangupAtSeconds` abandons
 * the menu unless a choice came strictly before.
 */
export function ivrTimeline(
  menu: IvrMenu,
  presses: readonly TimedPress[],
  opts: { hangupAtSeconds?: number | null; repromptSeconds?: number } = {},
): IvrTimeline {
  const queue = [...presses].sort((a, b) => a.atSeconds - b.atSeconds);
  const hangup = opts.hangupAtSeconds ?? Infinity;
  const steps: IvrTimeline['steps'] = [];
  let state = startIvr(menu);
  let start = 0;
  // A tree built in code (not parsed) could loop through fallbacks forever without a caller.
  for (let guard = 0; guard < 1000 + presses.length; guard++) {
    const lead = state.tries === 0 ? (state.menu.greetingSeconds ?? 0) : (opts.repromptSeconds ?? 0);
    const end = start + lead + state.menu.noInput.timeoutSeconds;
    const press = queue[0] && queue[0].atSeconds <= end ? queue.shift()! : null;
    const at = press ? Math.max(press.atSeconds, start) : end;
    if (hangup <= at) return { steps, outcome: { kind: 'abandon', atSeconds: hangup, menuId: state.menu.id } };
    const step = stepIvr(state, press ? { kind: 'digit', digits: press.digits } : { kind: 'no_input' });
    steps.push({ ...step, atSeconds: at });
    if (step.state === null) return { steps, outcome: { kind: 'exit', atSeconds: at, action: step.action } };
    state = step.state;
    start = at;
  }
  throw new Error(`IVR menu ${menu.id} never ends: a fallback cycle`);
}

// ---- FreeSWITCH play_and_get_digits ----------------------------------------------------

export interface PlayAndGetDigits {
  min: number;
  max: number;
  /** Always 1: the step machine counts tries, so each invalid key and silence is an event. */
  tries: 1;
  timeoutMs: number;
  terminators: string;
  file: string;
  invalidFile: string;
  varName: string;
  /** Matches exactly the menu's keys; anything else lands in `<varName>_invalid`. */
  regexp: string;
  digitTimeoutMs: number;
  /** The application argument, in FreeSWITCH's order, space-separated. */
  data: string;
}

export const DEFAULT_INVALID_FILE = 'ivr/ivr-that_was_an_invalid_entry.wav';
const escapeKey = (k: string) => k.replace(/[*]/g, '\\*');

/**
 * The `play_and_get_digits` call for one try on `state`'s menu:
 * `<min> <max> <tries> <timeout> <terminators> <file> <invalid_file> <var_name> <regexp> <digit_timeout>`.
 * The first try plays the greeting; later ones the menu's re-prompt, or `silence` (FreeSWITCH's
 * word for no file), so the issue's "after the greeting, N seconds of silence is a try" holds.
 */
export function playAndGetDigits(
  state: IvrState,
  opts: { varName: string; invalidFile?: string; digitTimeoutMs?: number },
): PlayAndGetDigits {
  if (!/^[A-Za-z0-9_]+$/.test(opts.varName)) throw new Error(`not a channel variable name: ${opts.varName}`);
  const { menu } = state;
  const keys = Object.keys(menu.options).sort();
  const lengths = keys.map((k) => k.length);
  // A terminator must not be a key; with both # and * in use, no DTMF terminates early.
  const terminators = ['#', '*'].find((t) => !keys.some((k) => k.includes(t))) ?? 'none';
  const args = {
    min: Math.min(...lengths),
    max: Math.max(...lengths),
    tries: 1 as const,
    timeoutMs: Math.round(menu.noInput.timeoutSeconds * 1000),
    terminators,
    file: state.tries === 0 ? menu.prompt : (menu.repromptFile ?? 'silence'),
    invalidFile: menu.invalidPrompt ?? opts.invalidFile ?? DEFAULT_INVALID_FILE,
    varName: opts.varName,
    regexp: `^(?:${keys.map(escapeKey).join('|')})$`,
    digitTimeoutMs: opts.digitTimeoutMs ?? 3000,
  };
  const data = [args.min, args.max, args.tries, args.timeoutMs, args.terminators, args.file, args.invalidFile, args.varName, args.regexp, args.digitTimeoutMs].join(' ');
  return { ...args, data };
}

/**
 * Read one try's result from the channel variables after `play_and_get_digits`: a key that
 * matched the regexp is in `<varName>`, one that did not is in `<varName>_invalid` (FreeSWITCH
 * sets it on a regexp mismatch), and neither means silence.
 */
export function readCollected(varName: string, vars: Readonly<Record<string, string | undefined>>): IvrInput {
  const valid = vars[varName];
  if (valid) return { kind: 'digit', digits: valid };
  const invalid = vars[`${varName}_invalid`];
  if (invalid) return { kind: 'digit', digits: invalid };
  return { kind: 'no_input' };
}
