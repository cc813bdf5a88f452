/**
 * The switch lab's entry point. See README.md in this folder for the model and the hooks.
 */
export {
  type ApiContext,
  type ApiHook,
  buildChannel,
  DEFAULT_KNOWN_APPS,
  type ExecuteContext,
  type ExecuteHook,
  FakeSwitch,
  type FakeSwitchOptions,
  LabCall,
  type LabCallEvents,
} from './fake-switch';
export { MinimalPeer, type MinimalCallResult } from './minimal-peer';
export { bridgeAnswered, bridgeFailed, dialStatus, digitsCollected, playAndGetDigitsVar, playbackFinished } from './outcomes';
export {
  type AppOutcome,
  type AppStep,
  type Cause,
  type ExecuteRecord,
  type LabCallRecord,
  type LabCallSpec,
  LabInterrupt,
  type OtherLeg,
} from './switch-types';
