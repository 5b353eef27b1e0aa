import type { X509Certificate } from 'node:crypto';
import { SpiffeId, TrustDomain } from '../svid/index.ts';

/**
 * Decides whether a peer whose X.509-SVID verified may talk to us: its SPIFFE ID, and the verified
 * path (the peer's chain, then the bundle authority that signed it).
 */
export type Authorizer = (peerId: SpiffeId, verifiedChain: readonly X509Certificate[]) => boolean;

const toId = (id: SpiffeId | string): SpiffeId => (typeof id === 'string' ? SpiffeId.parse(id) : id);

/** Only this SPIFFE ID. */
export function authorizeId(id: SpiffeId | string): Authorizer {
  const expected = toId(id);
  return (peerId) => peerId.equals(expected);
}

/** Any one of these SPIFFE IDs. */
export function authorizeOneOf(...ids: readonly (SpiffeId | string)[]): Authorizer {
  if (ids.length === 0) throw new TypeError('authorizeOneOf needs at least one SPIFFE ID');
  const expected = new Set(ids.map((id) => toId(id).toString()));
  return (peerId) => expected.has(peerId.toString());
}

/** Any workload of this trust domain (a name, spiffe://name, or TrustDomain). */
export function authorizeMemberOf(trustDomain: TrustDomain | string): Authorizer {
  const expected = typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain) : trustDomain;
  return (peerId) => peerId.memberOf(expected);
}

/** Any peer whose SVID verifies against the bundle of its own trust domain. */
export function authorizeAny(): Authorizer {
  return () => true;
}
