/**
 * Every CRM connector against the same contract (conformance.ts). The built-in CRM joins
 * with its own `runConnectorConformance('builtin', …)`.
 */
import { afterAll } from 'vitest';
import { closeAll, testPool } from '../../helpers';
import { runConnectorConformance } from './conformance';
import { amoWorld, bitrixWorld } from './worlds';

const pool = testPool();
afterAll(closeAll);

runConnectorConformance('amoCRM (fake amoCRM over HTTP, OAuth)', () => amoWorld(pool));
runConnectorConformance('Bitrix24 (fake portal over HTTP, application auth)', () => bitrixWorld(pool, 'app'));
