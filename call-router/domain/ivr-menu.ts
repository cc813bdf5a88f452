/**
 * @deprecated Old entry point of the IVR; new code uses `./ivr` (`stepIvr`, `playAndGetDigits`,
 * `readCollected`). Kept so the admin API, the seed and the session keep working while they
 * move over. Remove once nothing imports it.
 */
import { stepIvr, type IvrLeaf as Leaf, type IvrMenu, type IvrState } from './ivr';

export {
  IvrDocumentSchema,
  IvrMenuSchema,
  IvrTargetSchema,
  startIvr as startMenu,
  type IvrMenu as IvrMenuDoc,
  type IvrState,
  type IvrTarget as IvrTargetDoc,
} from './ivr';

export type IvrInput = { kind: 'digit' | 'no_input' | 'invalid'; digits: string | null };
export type IvrLeaf = { kind: 'queue' | 'extension' | 'voicemail'; ref: string | null };

export type IvrStep =
  | { kind: 'continue'; state: IvrState; input: IvrInput }
  | { kind: 'done'; choice: string; target: IvrLeaf; input: IvrInput };

const leafRef = (t: Leaf): IvrLeaf =>
  t.kind === 'queue' ? { kind: 'queue', ref: t.queueId } : t.kind === 'extension' ? { kind: 'extension', ref: t.ext } : { kind: 'voicemail', ref: null };

/** Apply one collect result (null = silence) to the menu. */
export function stepMenu(state: IvrState, digits: string | null): IvrStep {
  const s = stepIvr(state, digits === null ? { kind: 'no_input' } : { kind: 'digit', digits });
  const input: IvrInput = { kind: s.verdict.kind, digits: s.verdict.digits };
  if (s.state) return { kind: 'continue', state: s.state, input };
  return { kind: 'done', choice: s.action.choice, target: leafRef(s.action.target), input };
}

/** The longest key of the menu: how many digits to collect. */
export function maxKeyLength(menu: IvrMenu): number {
  return Math.max(1, ...Object.keys(menu.options).map((k) => k.length));
}
