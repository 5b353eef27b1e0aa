/** SPIFFE IDs and trust domain names, exactly as SPIFFE-ID.md defines them. */

export class SpiffeIdError extends Error {
  override name = 'SpiffeIdError';
}

const SCHEME = 'spiffe://';
/** SPIFFE-ID.md 2.3: implementations must support 2048 bytes; the host part is at most 255. */
const MAX_ID_LENGTH = 2048;
const MAX_TRUST_DOMAIN_LENGTH = 255;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;

function quote(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 117)}...` : value);
}

function checkTrustDomainName(name: string, value: string): void {
  if (name === '') throw new SpiffeIdError(`${quote(value)}: the trust domain is empty`);
  if (name.length > MAX_TRUST_DOMAIN_LENGTH) {
    throw new SpiffeIdError(`${quote(value)}: the trust domain is longer than ${MAX_TRUST_DOMAIN_LENGTH} bytes`);
  }
  if (name.includes('@')) throw new SpiffeIdError(`${quote(value)}: a SPIFFE ID has no userinfo`);
  if (name.includes(':')) throw new SpiffeIdError(`${quote(value)}: a SPIFFE ID has no port`);
  if (name.includes('%')) throw new SpiffeIdError(`${quote(value)}: the trust domain must not be percent-encoded`);
  if (!TRUST_DOMAIN_CHARS.test(name)) {
    throw new SpiffeIdError(
      `${quote(value)}: the trust domain may hold only lowercase letters, digits, dots, dashes and underscores`,
    );
  }
}

function checkPath(path: string, value: string): void {
  if (path === '') return;
  if (path.includes('%')) throw new SpiffeIdError(`${quote(value)}: the path must not be percent-encoded`);
  const segments = path.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '') {
      const where = index === segments.length - 1 ? 'a trailing "/"' : 'an empty path segment';
      throw new SpiffeIdError(`${quote(value)}: the path has ${where}`);
    }
    if (segment === '.' || segment === '..') {
      throw new SpiffeIdError(`${quote(value)}: the path has a "${segment}" segment`);
    }
    if (!SEGMENT_CHARS.test(segment)) {
      throw new SpiffeIdError(
        `${quote(value)}: path segment ${quote(segment)} may hold only letters, digits, dots, dashes and underscores`,
      );
    }
  }
}

export class TrustDomain {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Accepts a bare name ("example.org") or its SPIFFE ID form ("spiffe://example.org"). */
  static parse(value: string): TrustDomain {
    if (value.includes(':/')) {
      const id = SpiffeId.parse(value);
      if (id.path !== '') throw new SpiffeIdError(`${quote(value)}: a trust domain's SPIFFE ID has no path`);
      return id.trustDomain;
    }
    checkTrustDomainName(value, value);
    return new TrustDomain(value);
  }

  idString(): string {
    return `${SCHEME}${this.name}`;
  }

  equals(other: TrustDomain): boolean {
    return this.name === other.name;
  }

  toString(): string {
    return this.name;
  }
}

export class SpiffeId {
  readonly trustDomain: TrustDomain;
  /** "" for a trust domain's own ID, else "/segment/segment". */
  readonly path: string;

  private constructor(trustDomain: TrustDomain, path: string) {
    this.trustDomain = trustDomain;
    this.path = path;
  }

  static parse(value: string): SpiffeId {
    if (value === '') throw new SpiffeIdError('"": a SPIFFE ID cannot be empty');
    if (Buffer.byteLength(value) > MAX_ID_LENGTH) {
      throw new SpiffeIdError(`${quote(value)}: a SPIFFE ID is at most ${MAX_ID_LENGTH} bytes`);
    }
    if (!value.startsWith(SCHEME)) {
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1];
      throw new SpiffeIdError(
        scheme !== undefined && scheme !== 'spiffe' && scheme.toLowerCase() === 'spiffe'
          ? `${quote(value)}: the scheme must be "spiffe://" in lowercase`
          : `${quote(value)}: a SPIFFE ID starts with "spiffe://"`,
      );
    }
    const rest = value.slice(SCHEME.length);
    if (rest.includes('?')) throw new SpiffeIdError(`${quote(value)}: a SPIFFE ID has no query`);
    if (rest.includes('#')) throw new SpiffeIdError(`${quote(value)}: a SPIFFE ID has no fragment`);
    const slash = rest.indexOf('/');
    const name = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash);
    checkTrustDomainName(name, value);
    checkPath(path, value);
    return new SpiffeId(TrustDomain.parse(name), path);
  }

  static fromParts(trustDomain: TrustDomain, path: string): SpiffeId {
    if (path !== '' && !path.startsWith('/')) {
      throw new SpiffeIdError(`${quote(path)}: a SPIFFE ID path starts with "/"`);
    }
    return SpiffeId.parse(`${trustDomain.idString()}${path}`);
  }

  equals(other: SpiffeId): boolean {
    return this.trustDomain.equals(other.trustDomain) && this.path === other.path;
  }

  memberOf(trustDomain: TrustDomain): boolean {
    return this.trustDomain.equals(trustDomain);
  }

  /**
   * This ID is `prefix` or below it, by whole path segments (go-spiffe's MatchIDPrefix): /ns has
   * the prefix /ns and /ns/a, never /nsx. A trust domain's own ID is the prefix of all its members.
   */
  hasPrefix(prefix: SpiffeId): boolean {
    return this.memberOf(prefix.trustDomain) && (this.path === prefix.path || this.path.startsWith(`${prefix.path}/`));
  }

  toString(): string {
    return `${this.trustDomain.idString()}${this.path}`;
  }
}
