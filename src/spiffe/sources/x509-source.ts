import type { X509Bundle, X509BundleSet, X509BundleSource, X509Svid } from '../svid/index.ts';
import type { X509Context } from '../workload/index.ts';
import { LiveSource, stream, toTrustDomain, type SourceOptions, type TrustDomainLike } from './live-source.ts';
import { NoMatchingSvidError, requireSvid, type SvidSelection } from './svid-selection.ts';

/**
 * Chooses the SVID to use among those the Workload API sent (in its order); undefined (or a thrown
 * error, which says why) refuses the update.
 */
export type X509SvidPicker = (svids: readonly X509Svid[]) => X509Svid | undefined;

/** The picker for a selection (see selectSvid); refuses with a NoMatchingSvidError naming what the agent sent. */
export function pickSvid(selection: SvidSelection): X509SvidPicker {
  return (svids) => requireSvid(svids, selection, 'X.509-SVID');
}

/** The first SVID: the Workload API's default identity. */
export const pickFirst: X509SvidPicker = pickSvid({ hint: '' });

/** The SVID with this hint (a registration entry's `hint`), e.g. to pick one of several identities. */
export function pickHint(hint: string): X509SvidPicker {
  return pickSvid({ hint });
}

export interface X509SourceOptions extends SourceOptions {
  /** Default: the first SVID. An update in which the picker finds none is refused (an 'error'). */
  readonly picker?: X509SvidPicker;
}

/** What 'update' listeners of an X509Source get. */
export interface X509SourceUpdate {
  readonly svid: X509Svid;
  readonly context: X509Context;
}

/**
 * The current X.509-SVID and bundles of this workload, kept current from the Workload API's
 * FetchX509SVID stream: `await X509Source.create()` resolves once the first X.509 context has
 * arrived, and every rotation replaces `svid` and `bundles` at once (an 'update' event).
 */
export class X509Source extends LiveSource<X509SourceUpdate> implements X509BundleSource {
  protected readonly awaited = 'X.509 context';
  readonly #picker: X509SvidPicker;
  #current: X509SourceUpdate | undefined;

  private constructor(options: X509SourceOptions) {
    super(options);
    this.#picker = options.picker ?? pickFirst;
  }

  static async create(options: X509SourceOptions = {}): Promise<X509Source> {
    const source = new X509Source(options);
    await source.start(
      [
        stream<X509Context>({
          open: (client, handler) => client.watchX509Context(handler),
          accept: (context) => {
            const svid = source.#picker(context.svids);
            if (svid === undefined) {
              const offered = context.svids.map((candidate) => (candidate.hint === '' ? `${candidate.id}` : `${candidate.id} (hint ${JSON.stringify(candidate.hint)})`));
              throw new NoMatchingSvidError(`the picker chose none of the X.509-SVIDs the Workload API sent: ${offered.join(', ')}`);
            }
            source.#current = { svid, context };
          },
        }),
      ],
      options.timeoutMs,
    );
    return source;
  }

  protected snapshot(): X509SourceUpdate {
    return this.#value;
  }

  get #value(): X509SourceUpdate {
    if (this.#current === undefined) throw new Error('the X509Source has no X.509 context yet');
    return this.#current;
  }

  /** The picked X.509-SVID, current. */
  get svid(): X509Svid {
    return this.#value.svid;
  }

  /** Every SVID of the last X.509 context, in the Workload API's order. */
  get svids(): readonly X509Svid[] {
    return this.#value.context.svids;
  }

  /** Trust domain name → its X.509 bundle: this workload's own and the federated ones. */
  get bundles(): X509BundleSet {
    return this.#value.context.bundles;
  }

  /** The same as `bundles`, by BundleSource's name: either is a bundle source for the TLS functions. */
  get x509Bundles(): X509BundleSet {
    return this.bundles;
  }

  get context(): X509Context {
    return this.#value.context;
  }

  /** The current X.509 bundle of a trust domain (name, spiffe://name, or TrustDomain), if known. */
  bundleFor(trustDomain: TrustDomainLike): X509Bundle | undefined {
    return this.bundles.get(toTrustDomain(trustDomain).name);
  }
}
