/**
 * The scenario file of `npm run simulate` (README, "Scenarios"): a company's configuration
 * plus scripted callers, agents and CRM actions. Times are local to `timezone`.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { normalizePhone } from '../../platform/phone';

const Day = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const Range = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'a range HH:MM-HH:MM');
const Weekly = z.partialRecord(Day, z.array(Range));
const Phone = z.string().transform((v, ctx) => {
  const e164 = normalizePhone(v);
  if (!e164) {
    ctx.addIssue({ code: 'custom', message: `not a phone number: ${v}` });
    return z.NEVER;
  }
  return e164;
});
const LocalTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'a local time YYYY-MM-DDTHH:MM[:SS]');
const Ext = z.string().regex(/^\d{2,8}$/, 'an extension of 2-8 digits');

export const ScenarioSchema = z
  .object({
    timezone: z.string().refine((tz) => DateTime.local().setZone(tz).isValid, 'an IANA timezone'),
    schedule: z.object({ weekly: Weekly, holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).default([]) }),
    afterHours: z.enum(['voicemail', 'callback', 'hangup']).default('voicemail'),
    channels: z
      .array(z.object({ name: z.string().min(1), numbers: z.array(Phone).min(1), monthlyCost: z.number().nonnegative().default(0) }))
      .min(1),
    ivr: z
      .object({
        greetingSeconds: z.number().nonnegative().default(0),
        options: z.record(z.string().regex(/^[0-9*#]$/, 'one key'), z.string()),
        noInputSeconds: z.number().positive().default(5),
        maxTries: z.number().int().positive().default(2),
        fallback: z.string(),
      })
      .nullable()
      .default(null),
    queues: z
      .array(
        z.object({
          name: z.string().min(1),
          strategy: z.enum(['ring-all', 'longest-idle', 'round-robin', 'least-talk-time', 'top-down']).default('longest-idle'),
          agents: z.array(Ext).min(1),
          ringSeconds: z.number().int().min(3).default(20),
          maxWaitSeconds: z.number().int().min(5).default(180),
        }),
      )
      .min(1),
    agents: z
      .array(
        z.object({
          ext: Ext,
          name: z.string().min(1),
          shift: Weekly.optional(),
          answerAfterSeconds: z.number().nonnegative().nullable().default(3),
        }),
      )
      .min(1),
    sticky: z.object({ ringSeconds: z.number().int().min(3).default(15), lastManagerDays: z.number().int().min(0).default(30) }).default({
      ringSeconds: 15,
      lastManagerDays: 30,
    }),
    contacts: z.array(z.object({ phone: Phone, name: z.string().min(1), owner: Ext.nullable().default(null) })).default([]),
    policy: z
      .object({
        minTalkSeconds: z.number().nonnegative().default(10),
        shortAbandonSeconds: z.number().nonnegative().default(5),
        leadWindowMinutes: z.number().positive().default(60),
        workWindowMinutes: z.number().positive().default(1440),
        autoLead: z.boolean().default(false),
      })
      .default({ minTalkSeconds: 10, shortAbandonSeconds: 5, leadWindowMinutes: 60, workWindowMinutes: 1440, autoLead: false }),
    calls: z
      .array(
        z.object({
          id: z.string().min(1),
          at: LocalTime,
          from: Phone,
          to: Phone,
          patienceSeconds: z.number().positive().default(60),
          press: z.array(z.object({ afterSeconds: z.number().nonnegative(), digits: z.string().regex(/^[0-9*#]+$/) })).default([]),
          talkSeconds: z.number().positive().default(60),
          crm: z
            .object({
              leadAfterMinutes: z.number().nonnegative().nullable().default(null),
              workAfterMinutes: z.number().nonnegative().nullable().default(null),
              dealAmount: z.number().nonnegative().nullable().default(null),
            })
            .default({ leadAfterMinutes: null, workAfterMinutes: null, dealAmount: null }),
        }),
      )
      .min(1),
  })
  .superRefine((s, ctx) => {
    const exts = new Set(s.agents.map((a) => a.ext));
    const queues = new Set(s.queues.map((q) => q.name));
    s.queues.forEach((q, i) =>
      q.agents.forEach((a, j) => {
        if (!exts.has(a)) ctx.addIssue({ code: 'custom', path: ['queues', i, 'agents', j], message: `unknown agent ${a}` });
      }),
    );
    if (s.ivr) {
      for (const [k, v] of Object.entries(s.ivr.options)) {
        if (!queues.has(v)) ctx.addIssue({ code: 'custom', path: ['ivr', 'options', k], message: `unknown queue ${v}` });
      }
      if (!queues.has(s.ivr.fallback)) ctx.addIssue({ code: 'custom', path: ['ivr', 'fallback'], message: `unknown queue ${s.ivr.fallback}` });
    }
    s.contacts.forEach((c, i) => {
      if (c.owner && !exts.has(c.owner)) ctx.addIssue({ code: 'custom', path: ['contacts', i, 'owner'], message: `unknown agent ${c.owner}` });
    });
    const ids = new Set<string>();
    s.calls.forEach((c, i) => {
      if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: ['calls', i, 'id'], message: `duplicate call id ${c.id}` });
      ids.add(c.id);
    });
  });

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioCall = Scenario['calls'][number];

export class ScenarioError extends Error {
  readonly code = 'SCENARIO_INVALID';
}

/** Parse a scenario; the error lists every problem with its JSON path. */
export function parseScenario(input: unknown): Scenario {
  const r = ScenarioSchema.safeParse(input);
  if (!r.success) {
    throw new ScenarioError(
      `invalid scenario:\n  ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('\n  ')}`,
    );
  }
  return r.data;
}

/** A scenario-local time as epoch ms. */
export function localToMs(local: string, timezone: string): number {
  const dt = DateTime.fromISO(local, { zone: timezone });
  if (!dt.isValid) throw new ScenarioError(`invalid local time ${local}`);
  return dt.toMillis();
}
