/**
 * API paths of the pages that belong to services a server may run without (crm-bridge: screen
 * pop, tasks, leads; analytics: the wallboard). A server without one answers 404 and the page
 * says "not available yet" instead of showing empty figures.
 */
export const LIVE_API = {
  /** GET: the call being offered to me now, if any (snapshot; then live below). */
  screenPop: '/api/screen-pop',
  /** WebSocket: screen-pop updates for the signed-in manager. */
  screenPopLive: '/api/live/screen-pop',
  /** POST: create a lead from this call in one click (the CRM core). */
  callLead: (callId: string) => `/api/calls/${encodeURIComponent(callId)}/lead`,
  /** GET: my tasks due today and overdue (call-backs, checkpoints). */
  myTasks: '/api/tasks',
  /** GET: my open leads. */
  myLeads: '/api/leads',
  /** GET: the wallboard snapshot (waiting callers, agents' states, today's funnel). */
  wallboard: '/api/wallboard',
  /** WebSocket: wallboard snapshots as they change. */
  wallboardLive: '/api/live/wallboard',
} as const;
