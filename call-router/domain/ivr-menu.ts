/**
 * IVR menus: the stored document (a tree) and the pure step machine that walks it.
 *
 * Semantics: a menu plays its prompt and waits `noInput.timeoutSeconds` for a key; keys
 * pressed during the prompt count. Silence is one try, and so is a key with no option. After
 * `maxTries` tries the caller goes to `fallback`. An option leads to a queue, a sub-menu, an
 * extension or voicemail; entering a sub-menu starts its own tries.
 */
import { z } from 'zod';

export type IvrTargetDoc =
  | { kind: 'queue'; queueId: string }
  | { kind: 'menu'; menu: IvrMenuDoc }
  | { kind: 'extension'; ext: string }
  | { kind: 'voicemail' };

export interface IvrMenuDoc {
  id: string;
  prompt: string;
  greetingSeconds?: number;
  options: Record<string, IvrTargetDoc>;
  noInput: { timeoutSeconds: number };
  invalidPrompt?: string;
  maxTries: number;
  fallback: IvrTargetDoc;
}

const Key = z.string().regex(/^[0-9*#]{1,3}$/, 'a key of 1-3 characters from 0-9, * and #');

export const IvrTargetSchema: z.ZodType<IvrTargetDoc> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('queue'), queueId: z.string().min(1) }),
    z.object({ kind: z.literal('menu'), menu: IvrMenuSchema }),
    z.object({ kind: z.literal('extension'), ext: z.string().regex(/^\d{2,8}$/, 'an extension of 2-8 digits') }),
    z.object({ kind: z.literal('voicemail') }),
  ]),
);

export const IvrMenuSchema: z.ZodType<IvrMenuDoc> = z.lazy(() =>
  z.object({
    id: z.string().min(1).max(64),
    prompt: z.string().min(1).max(500),
    greetingSeconds: z.number().nonnegative().max(600).optional(),
    options: z.record(Key, IvrTargetSchema).refine((o) => Object.keys(o).length > 0, 'at least one option'),
    noInput: z.object({ timeoutSeconds: z.number().positive().max(60) }),
    invalidPrompt: z.string().max(500).optional(),
    maxTries: z.number().int().min(1).max(10),
    fallback: IvrTargetSchema,
  }),
);

const MAX_DEPTH = 5;
function depth(m: IvrMenuDoc): number {
  const subs = [...Object.values(m.options), m.fallback].filter((t): t is { kind: 'menu'; menu: IvrMenuDoc } => t.kind === 'menu');
  return 1 + Math.max(0, ...subs.map((s) => depth(s.menu)));
}

/** The stored menu document, validated, with a depth limit (callers get lost in deep trees). */
export const IvrDocumentSchema = IvrMenuSchema.refine((m) => depth(m) <= MAX_DEPTH, `menus may nest at most ${MAX_DEPTH} deep`);

export interface IvrState {
  menu: IvrMenuDoc;
  tries: number;
  /** Keys chosen on the way down, e.g. ['2', '1']. */
  path: string[];
}

export type IvrInput = { kind: 'digit' | 'no_input' | 'invalid'; digits: string | null };
export type IvrLeaf = { kind: 'queue' | 'extension' | 'voicemail'; ref: string | null };

export type IvrStep =
  | { kind: 'continue'; state: IvrState; input: IvrInput }
  | { kind: 'done'; choice: string; target: IvrLeaf; input: IvrInput };

export function startMenu(menu: IvrMenuDoc): IvrState {
  return { menu, tries: 0, path: [] };
}

function leaf(t: Exclude<IvrTargetDoc, { kind: 'menu' }>): IvrLeaf {
  if (t.kind === 'queue') return { kind: 'queue', ref: t.queueId };
  if (t.kind === 'extension') return { kind: 'extension', ref: t.ext };
  return { kind: 'voicemail', ref: null };
}

/** Apply one collect result (null = silence) to the menu. */
export function stepMenu(state: IvrState, digits: string | null): IvrStep {
  const target = digits !== null ? state.menu.options[digits] : undefined;
  if (digits !== null && target) {
    const input: IvrInput = { kind: 'digit', digits };
    const path = [...state.path, digits];
    if (target.kind === 'menu') return { kind: 'continue', state: { menu: target.menu, tries: 0, path }, input };
    return { kind: 'done', choice: path.join(''), target: leaf(target), input };
  }
  const input: IvrInput = digits === null ? { kind: 'no_input', digits: null } : { kind: 'invalid', digits };
  const tries = state.tries + 1;
  if (tries < state.menu.maxTries) return { kind: 'continue', state: { ...state, tries }, input };
  const fb = state.menu.fallback;
  if (fb.kind === 'menu') return { kind: 'continue', state: { menu: fb.menu, tries: 0, path: [...state.path, 'fallback'] }, input };
  return { kind: 'done', choice: 'fallback', target: leaf(fb), input };
}

/** The longest key of the menu: how many digits to collect. */
export function maxKeyLength(menu: IvrMenuDoc): number {
  return Math.max(1, ...Object.keys(menu.options).map((k) => k.length));
}
