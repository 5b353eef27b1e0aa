import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { parseX509SvidChain, verifyX509SvidPath, type SpiffeId, type TrustDomain, type X509BundleSource } from '../svid/index.ts';
import type { Authorizer, AuthorizerVerdict } from './authorize.ts';

/** A TLS peer was refused: its certificate is not a valid SVID of a known trust domain, or the authorizer said no. */
export class PeerRefusedError extends Error {
  override name = 'PeerRefusedError';
  readonly code = 'ERR_SPIFFE_PEER_REFUSED';
  /** The peer's SPIFFE ID, when its SVID verified but the authorizer refused it. */
  readonly peerId: SpiffeId | undefined;
  /** Why the authorizer refused the peer, when it said. */
  readonly reason: string | undefined;

  constructor(message: string, peerId?: SpiffeId, reason?: string) {
    super(message);
    this.peerId = peerId;
    this.reason = reason;
  }
}

/**
 * The peer's chain as the TLS layer holds it, leaf first. Node appends the issuers it found in the
 * context's CA store, ending with a self-signed root; such a root is dropped, so that the chain is
 * verified against the bundle of the peer's own trust domain alone, whatever root OpenSSL picked.
 */
function peerChain(peer: PeerCertificate | DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<PeerCertificate>();
  let current: PeerCertificate | undefined = peer;
  while (current !== undefined && current.raw !== undefined && !seen.has(current)) {
    seen.add(current);
    chain.push(new X509Certificate(current.raw));
    current = (current as DetailedPeerCertificate).issuerCertificate;
  }
  while (chain.length > 1) {
    const last = chain[chain.length - 1]!;
    if (!(last.checkIssued(last) && last.verify(last.publicKey))) break;
    chain.pop();
  }
  return chain;
}

/**
 * Verifies a TLS peer's certificate chain as an X.509-SVID against the bundle of the peer's own trust
 * domain (a federated authority never vouches for another domain's IDs), then asks the authorizer.
 * Returns the peer's SPIFFE ID; throws PeerRefusedError saying why not.
 *
 * `verifiedByTls` says that the TLS layer has already verified the chain against the authorities of
 * that one trust domain and no other. Node hands a server only the client's leaf certificate, never
 * the intermediates the client sent, so a client whose SVID chains through intermediates can only be
 * accepted on that proof (with the leaf's own rules and the authorizer checked here).
 */
export function authorizePeer(
  peer: PeerCertificate | DetailedPeerCertificate | undefined,
  bundles: X509BundleSource,
  authorizer: Authorizer,
  verifiedByTls?: TrustDomain,
): SpiffeId {
  if (peer === undefined || peer.raw === undefined) throw new PeerRefusedError('the peer presented no certificate');
  const chain = peerChain(peer);
  let verified: { id: SpiffeId; path: readonly X509Certificate[] };
  try {
    verified = verifyX509SvidPath(chain, bundles);
  } catch (error) {
    const why = `the peer's certificate is not a valid SVID: ${(error as Error).message}`;
    if (chain.length !== 1 || !/does not verify to any authority/.test(why)) throw new PeerRefusedError(why);
    if (verifiedByTls === undefined) {
      throw new PeerRefusedError(
        `${why} (if it chains through intermediate certificates: a server is not shown a client's intermediates, so authorize by ID or trust domain, and the server trusts only that trust domain's authorities)`,
      );
    }
    const leaf = parseX509SvidChain(chain);
    if (!leaf.id.trustDomain.equals(verifiedByTls)) throw new PeerRefusedError(why);
    verified = { id: leaf.id, path: chain };
  }
  let verdict: AuthorizerVerdict;
  try {
    verdict = authorizer(verified.id, verified.path);
  } catch (error) {
    throw new PeerRefusedError(`the authorizer failed on peer ${verified.id}: ${(error as Error).message}`, verified.id);
  }
  if (verdict !== true) {
    const reason = typeof verdict === 'string' && verdict !== '' ? verdict : undefined;
    throw new PeerRefusedError(`peer ${verified.id} is not authorized${reason === undefined ? '' : `: ${reason}`}`, verified.id, reason);
  }
  return verified.id;
}

/**
 * The SPIFFE ID of the peer of a connection made or accepted through this module (whose SVID was
 * verified before any data flowed); undefined for a connection without TLS or a peer certificate.
 * Takes `request.socket` of an HTTPS or HTTP/2 request as it is.
 */
export function peerSpiffeId(socket: Socket | TLSSocket): SpiffeId | undefined {
  if (!('getPeerX509Certificate' in socket)) return undefined;
  const leaf = socket.getPeerX509Certificate();
  return leaf === undefined ? undefined : parseX509SvidChain([leaf]).id;
}
