/**
 * The session's decision points, as one small interface over the pure domain
 * (call-router/domain). The session asks; the domain answers; nothing here does I/O.
 */
import type { QueueConfig, RoutingSnapshot } from '../adapters/config-repo';
import type { Candidate } from '../domain/agent-choice';
import type { CollectSpec } from './media';

export interface IvrTarget {
  kind: 'queue' | 'menu' | 'extension' | 'voicemail';
  ref: string | null;
}

/** What the ACD sees of an agent: the domain's candidate. */
export type AgentView = Candidate;

export type IvrStepResult<M> =
  | { kind: 'continue'; menu: M; input: { kind: 'digit' | 'no_input' | 'invalid'; digits: string | null } | null }
  | {
      kind: 'done';
      choice: string;
      target: IvrTarget;
      input: { kind: 'digit' | 'no_input' | 'invalid'; digits: string | null } | null;
    };

export type Pick =
  | { kind: 'none'; reason: 'no_agents' | 'all_busy' | 'all_tried' }
  | { kind: 'offer'; agents: Array<{ userId: string; ext: string; position: number }> };

export interface Decisions<M = unknown> {
  scheduleOpen(routing: RoutingSnapshot, atMs: number): { open: boolean; rule: 'weekly' | 'holiday' | 'override' | 'always_open' };
  onShift(shift: unknown, timezone: string, atMs: number): boolean;
  sticky(s: { onShift: boolean; registered: boolean; free: boolean }): 'ring' | 'off_shift' | 'busy' | 'not_registered';
  ivrStart(document: unknown): M;
  ivrCollectSpec(menu: M): CollectSpec;
  ivrStep(menu: M, digits: string | null): IvrStepResult<M>;
  pickAgents(queue: QueueConfig, agents: AgentView[], tried: ReadonlySet<string>, pointer: number, nth: number): Pick;
}

export interface RegistrationView {
  isRegistered(accountId: string, ext: string): Promise<boolean>;
  /** Which of these extensions are registered, in one round trip. */
  registered(accountId: string, exts: readonly string[]): Promise<Set<string>>;
}
