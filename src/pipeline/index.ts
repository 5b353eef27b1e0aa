export { Session, type SessionEvents, type SessionSeed } from './session.ts';
