import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { Authorizer } from './authorize.ts';
import { authoritiesPem, svidPem } from './material.ts';
import { PeerRefusedError, authorizePeer } from './peer.ts';
import { splitSources, type X509BundleSetSource, type X509SvidSource } from './sources.ts';

/** Options for tls.connect, https.request, undici's `connect`, and grpc-js credentials. */
export interface SpiffeTlsClientOptions extends ConnectionOptions {
  /** The source's current SVID chain (PEM): read at each connection. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string[];
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity: (hostname: string, certificate: PeerCertificate) => Error | undefined;
}

/** The options of a client that presents no SVID (it verifies the server only). */
export type SpiffeTlsServerAuthOptions = Omit<SpiffeTlsClientOptions, 'cert' | 'key'>;

/**
 * mTLS client options: present the current SVID; accept a server only if its chain verifies as an
 * X.509-SVID against the bundle of the server's own trust domain and `authorizer` accepts its SPIFFE
 * ID. No host name is checked: the SPIFFE ID is the server's identity. Given a bundle source alone
 * (a BundleSource), the client presents no certificate and only verifies the server.
 *
 * `cert`, `key` and `ca` are getters, read whenever a connection is made with these options (or a
 * copy of them), so new connections present the rotated SVID; a client that copies them once (an
 * https.Agent or undici Agent given them as an object, grpc-js `credentials.createSsl`) keeps the
 * SVID current when it was made: use httpsAgent, undici's buildConnector called per connection, or
 * grpcCredentials.
 */
export function tlsClientOptions(source: X509SvidSource & X509BundleSetSource, authorizer: Authorizer): SpiffeTlsClientOptions;
export function tlsClientOptions(svid: X509SvidSource, bundles: X509BundleSetSource, authorizer: Authorizer): SpiffeTlsClientOptions;
export function tlsClientOptions(bundles: X509BundleSetSource, authorizer: Authorizer): SpiffeTlsServerAuthOptions;
export function tlsClientOptions(...args: unknown[]): SpiffeTlsServerAuthOptions {
  const { svid, bundles, authorizer } = splitSources(args);
  const options = {
    rejectUnauthorized: true as const,
    checkServerIdentity: (_hostname: string, certificate: PeerCertificate): Error | undefined => {
      try {
        authorizePeer(certificate, bundles, authorizer);
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
  Object.defineProperty(options, 'ca', { enumerable: true, get: () => [...authoritiesPem(bundles)] });
  if ('svid' in svid) {
    for (const name of ['cert', 'key'] as const) Object.defineProperty(options, name, { enumerable: true, get: () => svidPem(svid)[name] });
  }
  return options as unknown as SpiffeTlsServerAuthOptions;
}
