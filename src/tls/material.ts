import { certificatesToPem, pkcs8ToPem, type X509Svid } from '../svid/index.ts';
import type { X509Source, X509SourceUpdate } from '../sources/index.ts';

/** What Node's TLS takes from a source: the SVID's chain and key, and every bundle's authorities. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /**
   * All trust domains' authorities, so that OpenSSL's own check (which Node cannot turn off while
   * still calling back) passes any peer of a known trust domain. It is only a first filter: the
   * decision is authorizePeer's, against the peer's own trust domain's bundle.
   */
  readonly ca: readonly string[];
}

/** By update: a context and the SVID picked from it (a source may pick another SVID of the same context). */
const cache = new WeakMap<X509SourceUpdate['context'], WeakMap<X509Svid, TlsMaterial>>();

/** The PEM material of the source's current SVID and bundles, computed once per update. */
export function tlsMaterial(source: X509Source): TlsMaterial {
  const { context, svid } = source;
  let bySvid = cache.get(context);
  if (bySvid === undefined) {
    bySvid = new WeakMap();
    cache.set(context, bySvid);
  }
  let material = bySvid.get(svid);
  if (material === undefined) {
    material = {
      cert: certificatesToPem(svid.certificates),
      key: pkcs8ToPem(svid.privateKeyDer),
      ca: [...context.bundles.values()].flatMap((bundle) => bundle.authorities.map((authority) => authority.toString())),
    };
    bySvid.set(svid, material);
  }
  return material;
}
