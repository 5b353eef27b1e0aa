import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Authorizer } from './authorize.ts';
import { tlsClientOptions, type SpiffeTlsClientOptions } from './client.ts';
import { splitSources, type TlsSources } from './sources.ts';

class SpiffeHttpsAgent extends Agent {
  readonly #spiffe: SpiffeTlsClientOptions;

  constructor(spiffe: SpiffeTlsClientOptions, options?: AgentOptions) {
    super(options);
    this.#spiffe = spiffe;
  }

  override createConnection(options: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    // Spreading reads the getters: the SVID and bundles current now.
    return super.createConnection({ ...options, ...this.#spiffe }, callback);
  }
}

/**
 * An https.Agent for SPIFFE mTLS: every new connection presents the current SVID and trusts the
 * current bundles; connections kept alive keep the SVID they were made with.
 *
 * An Agent spreads the options it is made with once, so options given to its constructor stop
 * following rotation (the first SVID is presented until it expires, then every request fails).
 * Node's documented hook for how an https.Agent makes its TLS connections is `createConnection`:
 * it is given the request's options, and the SPIFFE options are read there, at each connection.
 * `agentOptions` are the Agent's own (keepAlive, maxSockets, …, and TLS settings such as
 * minVersion); the SPIFFE options override cert, key, ca, rejectUnauthorized and checkServerIdentity.
 */
export function httpsAgent(...args: [...TlsSources, authorizer: Authorizer, agentOptions?: AgentOptions]): Agent {
  const { svid, bundles, authorizer, rest } = splitSources<[AgentOptions?]>(args);
  return new SpiffeHttpsAgent(tlsClientOptions(svid, bundles, authorizer), rest[0]);
}
