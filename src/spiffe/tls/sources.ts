import type { X509BundleSet, X509BundleSource, X509Svid } from '../svid/index.ts';
import type { Authorizer } from './authorize.ts';

/**
 * The SVID a TLS endpoint presents, read at each new connection (go-spiffe's x509svid.Source): an
 * X509Source, or `{ svid }` for a fixed one.
 */
export interface X509SvidSource {
  readonly svid: X509Svid;
}

/**
 * The bundles a TLS endpoint trusts, read at each new connection (go-spiffe's x509bundle.Source): an
 * X509Source, a BundleSource, or a fixed set. Node loads its CA store before it has seen the peer,
 * so besides `bundleFor` the TLS layer needs them all (`x509Bundles`).
 */
export interface X509BundleSetSource extends X509BundleSource {
  readonly x509Bundles: X509BundleSet;
}

/**
 * The first arguments of every TLS function: one source that is both (an X509Source), or an SVID
 * source and a bundle source.
 */
export type TlsSources = [source: X509SvidSource & X509BundleSetSource] | [svid: X509SvidSource, bundles: X509BundleSetSource];

export interface SplitArguments<Rest extends unknown[]> {
  readonly svid: X509SvidSource;
  readonly bundles: X509BundleSetSource;
  readonly authorizer: Authorizer;
  readonly rest: Rest;
}

/** Tells the two forms apart by the authorizer, the first function among the arguments. */
export function splitSources<Rest extends unknown[]>(args: readonly unknown[]): SplitArguments<Rest> {
  const [svid, bundles, ...others] = typeof args[1] === 'function' ? [args[0], args[0], ...args.slice(1)] : args;
  const [authorizer, ...rest] = others;
  if (typeof authorizer !== 'function') throw new TypeError('expected (source, authorizer, …) or (svidSource, bundleSource, authorizer, …): no authorizer function');
  return { svid: svid as X509SvidSource, bundles: bundles as X509BundleSetSource, authorizer: authorizer as Authorizer, rest: rest as Rest };
}
