import type { Program } from './daemon.ts';
import { freePort } from './ports.ts';

export const JAVA = '/usr/bin/java';
const SERVER = new URL('./fixtures/Server.java', import.meta.url).pathname;

/**
 * A Java 17 TLS server run from source (`java Server.java`): loads the PKCS#12 keystore and
 * truststore with the password in $PKCS12_PASSWORD, requires a client certificate, and answers
 * "hello <client SPIFFE ID>". Java reads keystores only at start, so the helper restarts it.
 */
export async function javaTlsServer(tls: { keystore: string; truststore: string }): Promise<Program> {
  const port = await freePort();
  return { command: JAVA, args: [SERVER, tls.keystore, tls.truststore, String(port)], port };
}
