/**
 * The one message protocol between the UI thread and the engine worker. GPU objects never
 * cross it: only plain data (numbers, strings, typed arrays as transferables).
 */
import type { AdapterSummary } from '../gpu/device';

export type EngineRequest = { type: 'init' };

export type EngineReply =
  | { type: 'ready'; adapter: AdapterSummary }
  | { type: 'error'; message: string; kind: string };

/** Every request carries an id; the reply to it echoes the id. Unsolicited events use id 0. */
export type RequestEnvelope = { id: number; request: EngineRequest };
export type ReplyEnvelope = { id: number; reply: EngineReply } | { id: 0; event: EngineEvent };

export type EngineEvent = { type: 'device-lost'; message: string };
