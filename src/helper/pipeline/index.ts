export { Session, type SessionEvents, type SessionSeed } from './session.ts';
export { lockName } from './cert-dir-lock.ts';
