import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnDaemon } from './daemon.ts';
import { waitFor } from './wait.ts';

const RECEIVER = new URL('./fixtures/notify-receiver.py', import.meta.url).pathname;

/** A message systemd would get on $NOTIFY_SOCKET, as its assignments. */
export type Notification = Readonly<Record<string, string | boolean>>;

/**
 * A real unix datagram socket standing in for systemd's, in `dir`; stopped by pid after the test.
 * With `watched`, each message records whether that path existed when it arrived.
 */
export async function notifySocket(t: { after(fn: () => unknown): void }, dir: string, watched?: string) {
  const path = join(dir, 'notify.sock');
  const file = join(dir, 'notifications.jsonl');
  const receiver = spawnDaemon(t, { command: 'python3', args: [RECEIVER, path, file, ...(watched === undefined ? [] : [watched])], logFile: join(dir, 'notify-receiver.log') });
  const read = async (): Promise<Notification[]> =>
    (await readFile(file, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Notification);
  await receiver.waitReady(async () => (await read()).length > 0, { what: 'the notify socket to listen' });
  return {
    path,
    /** Every message received so far, in order. */
    messages: async () => (await read()).slice(1),
    /** Waits for a message with `key`, returning the messages up to and including it. */
    waitFor: (key: string, value?: string) =>
      waitFor(
        async () => {
          const messages = (await read()).slice(1);
          const index = messages.findIndex((m) => m[key] !== undefined && (value === undefined || m[key] === value));
          return index < 0 ? undefined : messages.slice(0, index + 1);
        },
        { what: `${key}${value === undefined ? '' : `=${value}`} on the notify socket`, timeoutMs: 20_000 },
      ),
  };
}
