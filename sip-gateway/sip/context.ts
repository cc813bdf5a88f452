/**
 * What the SIP handlers need, as ports: every handler gets one `GatewayContext`, built in
 * main.ts from real adapters (and the same in the integration tests).
 */
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock';
import type { Config } from '../../platform/config';
import type { CallLimits } from '../adapters/call-limits';
import type { GatewayCrypto } from '../adapters/crypto';
import type { Directory } from '../adapters/pg-directory';
import type { LockoutStore } from '../adapters/lockout-store';
import type { RegistrationStore } from '../adapters/registration-store';
import type { SecurityLog } from '../adapters/security-log';
import type { Metrics } from '../metrics';

export type SipSettings = Config['sip'];

export interface GatewayContext {
  sip: SipSettings;
  directory: Directory;
  registrations: RegistrationStore;
  lockouts: LockoutStore;
  limits: CallLimits;
  securityLog: SecurityLog;
  metrics: Metrics;
  crypto: GatewayCrypto;
  clock: Clock;
  logger: Logger;
  /** Lease ids of the calls this process has connected and not yet seen end. */
  activeCalls: Set<string>;
}

/** The header that tells a phone (and an admin reading a trace) why a call was refused. */
export const BLOCK_REASON_HEADER = 'X-CP-Block-Reason';

/** Headers the gateway adds to INVITEs it relays to FreeSWITCH (read by the call-router). */
export const CP_HEADERS = {
  account: 'X-CP-Account',
  trackingNumber: 'X-CP-Tracking-Number',
  trackingNumberId: 'X-CP-Tracking-Number-Id',
  channel: 'X-CP-Channel',
  campaign: 'X-CP-Campaign',
  direction: 'X-CP-Direction',
  trunk: 'X-CP-Trunk',
  user: 'X-CP-User',
  extension: 'X-CP-Extension',
  destination: 'X-CP-Destination',
  clickToCall: 'X-CP-Click-To-Call',
} as const;
