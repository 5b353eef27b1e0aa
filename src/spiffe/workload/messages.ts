import {
  SpiffeId,
  TrustDomain,
  parseJwtBundle,
  parseJwtSvidInsecure,
  parseX509Bundle,
  parseX509Svid,
  verifyX509Svid,
  type JwtBundle,
  type JwtBundleSet,
  type JwtSvid,
  type X509Bundle,
  type X509BundleSet,
  type X509Svid,
} from '../svid/index.ts';
import type { JwtBundlesResponse, JwtSvidResponse, StructValue, ValidateJwtSvidResponse, X509BundlesResponse, X509SvidResponse } from './proto.ts';

/** Everything one FetchX509SVID message says: the whole current state, validated. */
export interface X509Context {
  /** In the order sent; the first is the default identity. */
  readonly svids: readonly X509Svid[];
  /** The SVIDs' own trust domain bundles plus the federated ones. */
  readonly bundles: X509BundleSet;
  /** Which keys of `bundles` came from `federated_bundles`. */
  readonly federatedTrustDomains: ReadonlySet<string>;
  readonly crls: readonly Uint8Array[];
}

/** A message that breaks the spec; the client reports and discards it (SPIFFE_Workload_API.md 4.5). */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
}

function required(value: { length: number }, field: string): void {
  if (value.length === 0) throw new InvalidMessageError(`mandatory field ${field} is empty`);
}

function withContext<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidMessageError) throw error;
    throw new InvalidMessageError(`${what}: ${(error as Error).message}`);
  }
}

/**
 * SPIFFE_Workload_API.md 5.2.1 and 6.2.1: a hint is unique within a response, and when a server
 * repeats one the first entry wins; entries without a hint are all kept.
 */
function firstPerHint<E extends { hint: string }>(entries: readonly E[]): { entry: E; index: number }[] {
  const seen = new Set<string>();
  const kept: { entry: E; index: number }[] = [];
  entries.forEach((entry, index) => {
    if (entry.hint !== '' && seen.has(entry.hint)) return;
    seen.add(entry.hint);
    kept.push({ entry, index });
  });
  return kept;
}

export function toX509Context(message: X509SvidResponse, now: Date = new Date()): X509Context {
  required(message.svids, 'svids');
  const bundles = new Map<string, X509Bundle>();
  const svids = firstPerHint(message.svids).map(({ entry, index }) =>
    withContext(`svids[${index}]`, () => {
      required(entry.spiffe_id, `svids[${index}].spiffe_id`);
      required(entry.x509_svid, `svids[${index}].x509_svid`);
      required(entry.x509_svid_key, `svids[${index}].x509_svid_key`);
      required(entry.bundle, `svids[${index}].bundle`);
      const declared = SpiffeId.parse(entry.spiffe_id);
      const svid = parseX509Svid(entry.x509_svid, entry.x509_svid_key, entry.hint);
      if (!svid.id.equals(declared)) {
        throw new InvalidMessageError(`svids[${index}]: spiffe_id ${declared} does not match the certificate's ${svid.id}`);
      }
      const bundle = parseX509Bundle(svid.id.trustDomain, entry.bundle);
      verifyX509Svid(svid, bundle, now);
      bundles.set(svid.id.trustDomain.name, bundle);
      return svid;
    }),
  );
  const federatedTrustDomains = new Set<string>();
  for (const [key, der] of Object.entries(message.federated_bundles)) {
    const trustDomain = withContext(`federated_bundles key ${JSON.stringify(key)}`, () => TrustDomain.parse(key));
    // The bundle sent beside an SVID is authoritative for its own trust domain.
    if (bundles.has(trustDomain.name)) continue;
    bundles.set(trustDomain.name, withContext(`federated bundle ${key}`, () => parseX509Bundle(trustDomain, der)));
    federatedTrustDomains.add(trustDomain.name);
  }
  return { svids, bundles, federatedTrustDomains, crls: message.crl };
}

function bundleMap<B>(entries: Record<string, Buffer>, field: string, parse: (td: TrustDomain, bytes: Buffer) => B): Map<string, B> {
  const result = new Map<string, B>();
  for (const [key, bytes] of Object.entries(entries)) {
    const trustDomain = withContext(`${field} key ${JSON.stringify(key)}`, () => TrustDomain.parse(key));
    result.set(trustDomain.name, withContext(`${field} ${key}`, () => parse(trustDomain, bytes)));
  }
  if (result.size === 0) throw new InvalidMessageError(`mandatory field ${field} is empty`);
  return result;
}

export function toX509Bundles(message: X509BundlesResponse): X509BundleSet {
  return bundleMap(message.bundles, 'bundles', parseX509Bundle);
}

export function toJwtBundles(message: JwtBundlesResponse): JwtBundleSet {
  return bundleMap<JwtBundle>(message.bundles, 'bundles', parseJwtBundle);
}

export function toJwtSvids(message: JwtSvidResponse): JwtSvid[] {
  required(message.svids, 'svids');
  return firstPerHint(message.svids).map(({ entry, index }) =>
    withContext(`svids[${index}]`, () => {
      required(entry.spiffe_id, `svids[${index}].spiffe_id`);
      required(entry.svid, `svids[${index}].svid`);
      const declared = SpiffeId.parse(entry.spiffe_id);
      const svid = parseJwtSvidInsecure(entry.svid, entry.hint);
      if (!svid.id.equals(declared)) {
        throw new InvalidMessageError(`svids[${index}]: spiffe_id ${declared} does not match the token's subject ${svid.id}`);
      }
      return svid;
    }),
  );
}

export function toValidation(message: ValidateJwtSvidResponse): { id: SpiffeId; claims: Record<string, unknown> } {
  required(message.spiffe_id, 'spiffe_id');
  const id = withContext('spiffe_id', () => SpiffeId.parse(message.spiffe_id));
  return { id, claims: structToJson(message.claims?.fields ?? {}) };
}

/** google.protobuf.Struct as proto-loader decodes it, back to plain JSON. */
function structToJson(fields: Record<string, StructValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, valueToJson(value)]));
}

function valueToJson(value: StructValue): unknown {
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return structToJson(value.structValue?.fields ?? {});
    case 'listValue':
      return (value.listValue?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}
