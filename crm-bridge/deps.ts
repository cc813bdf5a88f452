/** What every part of the CRM bridge is started with. */
import type { Clock } from '../platform/clock';
import type { Config } from '../platform/config';
import type { Pool } from '../platform/db/pool';
import type { EventPublisher } from '../platform/events/stream';
import type { Logger } from '../platform/logger';
import type { Redis } from '../platform/redis';

export interface CrmServiceDeps {
  config: Config;
  pool: Pool;
  redis: Redis;
  /** The call-event stream the CRM publishes to (crm.linked, crm.work, crm.deal, …). */
  publisher: EventPublisher;
  logger: Logger;
  clock?: Clock;
}
