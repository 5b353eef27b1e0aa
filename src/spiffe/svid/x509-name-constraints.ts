import type { GeneralName, SvidExtensions } from './x509-extensions.ts';

/**
 * RFC 5280 4.2.1.10 name constraints for the name types an SVID path carries: URI (the SPIFFE ID,
 * constrained by its host, the trust domain) and DNS. Returns why `names` break `constraints`, or
 * undefined. Constraints on other name types cannot be honoured here, so they refuse the path, as
 * X509-SVID.md 4.2 expects of libraries that do not support them.
 */
export function nameConstraintViolation(
  constraints: NonNullable<SvidExtensions['nameConstraints']>,
  names: Pick<SvidExtensions, 'uriSans' | 'dnsSans'>,
): string | undefined {
  const all = [...constraints.permitted, ...constraints.excluded];
  const unsupported = all.find((name) => name.type !== 'uniformResourceIdentifier' && name.type !== 'dNSName');
  if (unsupported !== undefined) return `it has name constraints on ${unsupported.type} names, which are not supported`;
  const kinds = [
    { kind: 'URI', names: names.uriSans.map(uriHost), pick: (name: GeneralName) => (name.type === 'uniformResourceIdentifier' ? name.text : undefined), match: hostMatchesUriConstraint },
    { kind: 'DNS', names: names.dnsSans, pick: (name: GeneralName) => (name.type === 'dNSName' ? name.text : undefined), match: dnsMatchesConstraint },
  ];
  for (const { kind, names: values, pick, match } of kinds) {
    const permitted = constraints.permitted.map(pick).filter((value) => value !== undefined);
    const excluded = constraints.excluded.map(pick).filter((value) => value !== undefined);
    for (const value of values) {
      if (permitted.length > 0 && !permitted.some((constraint) => match(value, constraint))) {
        return `${kind} name ${JSON.stringify(value)} is outside its permitted subtrees`;
      }
      const hit = excluded.find((constraint) => match(value, constraint));
      if (hit !== undefined) return `${kind} name ${JSON.stringify(value)} is in its excluded subtree ${JSON.stringify(hit)}`;
    }
  }
  return undefined;
}

function uriHost(uri: string): string {
  try {
    return new URL(uri).hostname;
  } catch {
    return uri;
  }
}

/** RFC 5280: a URI constraint is a host; one starting with "." matches any host below it. */
function hostMatchesUriConstraint(host: string, constraint: string): boolean {
  const h = host.toLowerCase();
  const c = constraint.toLowerCase();
  return c.startsWith('.') ? h.endsWith(c) : h === c;
}

/** RFC 5280: a DNS constraint matches the name itself and every name below it. */
function dnsMatchesConstraint(name: string, constraint: string): boolean {
  const n = name.toLowerCase();
  const c = constraint.toLowerCase().replace(/^\./, '');
  return c === '' || n === c || n.endsWith(`.${c}`);
}
