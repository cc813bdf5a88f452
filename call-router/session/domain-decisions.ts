/** The Decisions the session uses, backed by the pure domain. */
import { pickAgents } from '../domain/agent-choice';
import { IvrDocumentSchema, maxKeyLength, startMenu, stepMenu, type IvrState } from '../domain/ivr-menu';
import { ownManagerVerdict } from '../domain/own-manager';
import { WeeklySchema, isOnShift, openAt } from '../domain/timetable';
import type { Decisions } from './decisions';

const INVALID_PROMPT = 'ivr/ivr-that_was_an_invalid_entry.wav';

export const domainDecisions: Decisions<IvrState> = {
  scheduleOpen(routing, atMs) {
    const s = routing.schedule;
    return openAt(
      s ? { timezone: s.timezone, weekly: s.weekly as never, holidays: s.holidays as never, overrides: s.overrides as never } : null,
      atMs,
    );
  },
  onShift(shift, timezone, atMs) {
    // A shift that does not parse is treated as "no shift set": an admin's typo must not
    // silently take a manager off every call. The admin API validates shifts on write.
    const parsed = shift == null ? null : WeeklySchema.safeParse(shift);
    return isOnShift(parsed?.success ? parsed.data : null, timezone, atMs);
  },
  sticky: ownManagerVerdict,
  ivrStart(document) {
    return startMenu(IvrDocumentSchema.parse(document));
  },
  ivrCollectSpec(state) {
    return {
      minDigits: 1,
      maxDigits: maxKeyLength(state.menu),
      timeoutMs: state.menu.noInput.timeoutSeconds * 1000,
      prompt: state.menu.prompt,
      invalidPrompt: state.menu.invalidPrompt ?? INVALID_PROMPT,
      // Accept any keys: the menu decides what is invalid, so invalid input is counted.
      regex: '^[0-9*#]+$',
    };
  },
  ivrStep(state, digits) {
    const step = stepMenu(state, digits);
    if (step.kind === 'continue') return { kind: 'continue', menu: step.state, input: step.input };
    return { kind: 'done', choice: step.choice, target: step.target, input: step.input };
  },
  pickAgents(queue, agents, tried, pointer, nth) {
    return pickAgents(queue.strategy, agents, tried, pointer, nth);
  },
};
