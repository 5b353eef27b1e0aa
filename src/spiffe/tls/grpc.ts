import { experimental, type ChannelCredentials } from '@grpc/grpc-js';
import type { Authorizer } from './authorize.ts';
import { tlsClientOptions } from './client.ts';
import { authoritiesPem, svidPem } from './material.ts';
import { splitSources, type TlsSources, type X509BundleSetSource, type X509SvidSource } from './sources.ts';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** A source that says when it changed (X509Source, BundleSource): grpc-js is handed certificates, it does not ask. */
type Updating = Partial<Record<'on' | 'off', (event: 'update', listener: () => void) => unknown>>;

/** The sources as grpc-js's certificate provider: the current SVID and bundles, and each update as it comes. */
class SourceCertificateProvider implements experimental.CertificateProvider {
  readonly #svid: X509SvidSource & Updating;
  readonly #bundles: X509BundleSetSource & Updating;
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();
  readonly #onUpdate = (): void => this.#tell();

  constructor(svid: X509SvidSource, bundles: X509BundleSetSource) {
    this.#svid = svid;
    this.#bundles = bundles;
  }

  #tell(ca: Iterable<CaListener> = this.#ca, identity: Iterable<IdentityListener> = this.#identity): void {
    const { cert, key } = svidPem(this.#svid);
    const authorities = authoritiesPem(this.#bundles);
    for (const listener of ca) listener({ caCertificate: Buffer.from(authorities.join('')) });
    for (const listener of identity) listener({ certificate: Buffer.from(cert), privateKey: Buffer.from(key) });
  }

  /** Follows the sources only while grpc-js listens, so an unused channel holds nothing. */
  #follow(): void {
    const listening = this.#ca.size + this.#identity.size > 0;
    for (const source of new Set([this.#svid, this.#bundles])) {
      source.off?.('update', this.#onUpdate);
      if (listening) source.on?.('update', this.#onUpdate);
    }
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    this.#follow();
    this.#tell([listener], []);
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
    this.#follow();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    this.#follow();
    this.#tell([], [listener]);
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
    this.#follow();
  }
}

/**
 * grpc-js channel credentials: the client presents the current SVID on every new connection of the
 * channel (after a rotation too, for sources that emit 'update') and accepts a server as
 * tlsClientOptions does. Built on grpc-js's certificate-provider credentials (exported by grpc-js
 * as experimental).
 */
export function grpcCredentials(...args: [...TlsSources, authorizer: Authorizer]): ChannelCredentials {
  const { svid, bundles, authorizer } = splitSources(args);
  const provider = new SourceCertificateProvider(svid, bundles);
  return experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity: tlsClientOptions(svid, bundles, authorizer).checkServerIdentity });
}
