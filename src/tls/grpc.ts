import { experimental, type ChannelCredentials } from '@grpc/grpc-js';
import type { X509Source } from '../sources/index.ts';
import type { Authorizer } from './authorize.ts';
import { tlsClientOptions } from './client.ts';
import { tlsMaterial } from './material.ts';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** The source as grpc-js's certificate provider: the current SVID and bundles, and each update as it comes. */
class SourceCertificateProvider implements experimental.CertificateProvider {
  readonly #source: X509Source;
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();
  readonly #onUpdate = (): void => this.#tell();

  constructor(source: X509Source) {
    this.#source = source;
  }

  #tell(ca: Iterable<CaListener> = this.#ca, identity: Iterable<IdentityListener> = this.#identity): void {
    const { cert, key, ca: authorities } = tlsMaterial(this.#source);
    for (const listener of ca) listener({ caCertificate: Buffer.from(authorities.join('')) });
    for (const listener of identity) listener({ certificate: Buffer.from(cert), privateKey: Buffer.from(key) });
  }

  /** Follows the source only while grpc-js listens, so an unused channel holds nothing. */
  #follow(): void {
    const listening = this.#ca.size + this.#identity.size > 0;
    this.#source.off('update', this.#onUpdate);
    if (listening) this.#source.on('update', this.#onUpdate);
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
 * grpc-js channel credentials on an X509Source: the client presents the current SVID on every new
 * connection of the channel (after a rotation too) and accepts a server as tlsClientOptions does.
 * Built on grpc-js's certificate-provider credentials (exported by grpc-js as experimental).
 */
export function grpcCredentials(source: X509Source, authorizer: Authorizer): ChannelCredentials {
  const provider = new SourceCertificateProvider(source);
  return experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity: tlsClientOptions(source, authorizer).checkServerIdentity });
}
