import type { X509Certificate } from 'node:crypto';
import { SpiffeId, TrustDomain } from '../svid/index.ts';

/**
 * An authorizer's answer: `true` accepts; `false`, or a string saying why, refuses (go-spiffe's
 * authorizers return an error for the same purpose). Only `true` accepts, so an authorizer that
 * returns nothing refuses.
 */
export type AuthorizerVerdict = boolean | string;

/**
 * Decides whether a peer whose X.509-SVID verified may talk to us: its SPIFFE ID, and the verified
 * path (the peer's chain, then the bundle authority that signed it; only the leaf for a client whose
 * intermediates the server was not shown, see authorizePeer). Any such function will do; the
 * authorizers made here also say which trust domains they can ever accept (`trustDomains`), which
 * lets a server trust only those domains' authorities.
 */
export type Authorizer = ((peerId: SpiffeId, verifiedChain: readonly X509Certificate[]) => AuthorizerVerdict) & {
  readonly trustDomains?: readonly TrustDomain[];
};

const toId = (id: SpiffeId | string): SpiffeId => (typeof id === 'string' ? SpiffeId.parse(id) : id);

function limitedTo(trustDomains: readonly TrustDomain[], expected: string, accepts: (peerId: SpiffeId) => boolean): Authorizer {
  const unique = [...new Map(trustDomains.map((td) => [td.name, td])).values()];
  return Object.assign((peerId: SpiffeId) => accepts(peerId) || `expected ${expected}`, { trustDomains: unique });
}

/** Only this SPIFFE ID. */
export function authorizeId(id: SpiffeId | string): Authorizer {
  const expected = toId(id);
  return limitedTo([expected.trustDomain], `${expected}`, (peerId) => peerId.equals(expected));
}

/** Any one of these SPIFFE IDs. */
export function authorizeOneOf(...ids: readonly (SpiffeId | string)[]): Authorizer {
  if (ids.length === 0) throw new TypeError('authorizeOneOf needs at least one SPIFFE ID');
  const parsed = ids.map(toId);
  const expected = new Set(parsed.map(String));
  return limitedTo(
    parsed.map((id) => id.trustDomain),
    `one of ${[...expected].join(', ')}`,
    (peerId) => expected.has(peerId.toString()),
  );
}

/**
 * This SPIFFE ID and every ID below it, by whole path segments (go-spiffe's AuthorizeIDPrefix):
 * spiffe://example.org/ns accepts spiffe://example.org/ns/a but not spiffe://example.org/nsx.
 */
export function authorizeIdPrefix(prefix: SpiffeId | string): Authorizer {
  const expected = toId(prefix);
  return limitedTo([expected.trustDomain], `${expected} or an ID below it`, (peerId) => peerId.hasPrefix(expected));
}

/** Any workload of this trust domain (a name, spiffe://name, or TrustDomain). */
export function authorizeMemberOf(trustDomain: TrustDomain | string): Authorizer {
  const expected = typeof trustDomain === 'string' ? TrustDomain.parse(trustDomain) : trustDomain;
  return limitedTo([expected], `a member of ${expected}`, (peerId) => peerId.memberOf(expected));
}

/** Any peer whose SVID verifies against the bundle of its own trust domain. */
export function authorizeAny(): Authorizer {
  return () => true;
}
