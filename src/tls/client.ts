import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { X509Source } from '../sources/index.ts';
import type { Authorizer } from './authorize.ts';
import { tlsMaterial } from './material.ts';
import { PeerRefusedError, authorizePeer } from './peer.ts';

/** Options for tls.connect, https.request / https.Agent, undici's Agent `connect`, and grpc-js credentials. */
export interface SpiffeTlsClientOptions extends ConnectionOptions {
  /** The source's current SVID chain (PEM): read at each connection. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string[];
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity: (hostname: string, certificate: PeerCertificate) => Error | undefined;
}

/**
 * mTLS client options on an X509Source: present the current SVID; accept a server only if its chain
 * verifies as an X.509-SVID against the bundle of the server's own trust domain and `authorizer`
 * accepts its SPIFFE ID. No host name is checked: the SPIFFE ID is the server's identity.
 *
 * `cert`, `key` and `ca` are getters, read whenever a connection is made with these options (or a
 * copy of them), so new connections present the rotated SVID; a client that copies them once (an
 * undici Agent given them as an object, grpc-js `credentials.createSsl`) presents the SVID current
 * when it was made, and still verifies servers against the current bundles (grpcCredentials, and
 * undici's buildConnector called per connection, follow rotations).
 */
export function tlsClientOptions(source: X509Source, authorizer: Authorizer): SpiffeTlsClientOptions {
  const options = {
    rejectUnauthorized: true as const,
    checkServerIdentity: (_hostname: string, certificate: PeerCertificate): Error | undefined => {
      try {
        authorizePeer(certificate, source, authorizer);
        return undefined;
      } catch (error) {
        return error instanceof PeerRefusedError ? error : new PeerRefusedError(String(error));
      }
    },
    /*
     * No session resumption through tls.connect or an https.Agent (an own `session` property
     * overrides the one the agent adds): a resumed session skips checkServerIdentity, so the server
     * would not be checked against the current bundles.
     */
    session: undefined,
  };
  for (const name of ['cert', 'key', 'ca'] as const) {
    Object.defineProperty(options, name, { enumerable: true, get: () => (name === 'ca' ? [...tlsMaterial(source).ca] : tlsMaterial(source)[name]) });
  }
  return options as unknown as SpiffeTlsClientOptions;
}
