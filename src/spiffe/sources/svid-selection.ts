/**
 * Which of a workload's SVIDs to use: the one rule, for X.509 and JWT alike. The Workload API sends
 * a workload's identities in its order, the first being the default (SPIFFE_Workload_API.md 5.2.1);
 * a registration entry's `hint` or the SPIFFE ID tells the others apart.
 */
export type SvidSelection = { readonly hint: string } | { readonly spiffeId: string };

/** What selection looks at in an X.509-SVID or a JWT-SVID. */
interface Candidate {
  readonly id: { toString(): string };
  readonly hint: string;
}

/** Refused: no SVID the Workload API sent fits the selection; the message names what it sent. */
export class NoMatchingSvidError extends Error {
  override name = 'NoMatchingSvidError';
}

/** The selected SVID: by SPIFFE ID, by hint, or (hint '') the first; undefined when none fits. */
export function selectSvid<T extends Candidate>(svids: readonly T[], selection: SvidSelection): T | undefined {
  if ('spiffeId' in selection) return svids.find((svid) => svid.id.toString() === selection.spiffeId);
  return selection.hint === '' ? svids[0] : svids.find((svid) => svid.hint === selection.hint);
}

/** The selected SVID, or a NoMatchingSvidError naming `what` was asked for and what the agent sent. */
export function requireSvid<T extends Candidate>(svids: readonly T[], selection: SvidSelection, what: string): T {
  const svid = selectSvid(svids, selection);
  if (svid === undefined) throw new NoMatchingSvidError(noMatch(svids, selection, what));
  return svid;
}

function noMatch(svids: readonly Candidate[], selection: SvidSelection, what: string): string {
  if ('spiffeId' in selection) {
    const ids = svids.map((svid) => svid.id.toString()).join(', ');
    return `no ${what} for ${selection.spiffeId} (the agent sent: ${ids || 'none'})`;
  }
  if (selection.hint === '') return `the Workload API sent no ${what}`;
  const hints = svids.map((svid) => JSON.stringify(svid.hint)).join(', ');
  return `no ${what} has hint ${JSON.stringify(selection.hint)} (the agent sent hints: ${hints || 'none'})`;
}
