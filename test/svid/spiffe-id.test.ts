import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeId, SpiffeIdError, TrustDomain } from '../../src/spiffe/svid/index.ts';

test('valid SPIFFE IDs parse into trust domain and path', () => {
  for (const [value, td, path] of [
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://example.org/workload', 'example.org', '/workload'],
    ['spiffe://a-b_c.0/x.y/A-Z_09', 'a-b_c.0', '/x.y/A-Z_09'],
    ['spiffe://192.168.0.1/ns/default', '192.168.0.1', '/ns/default'],
    ['spiffe://example.org/...a/.b', 'example.org', '/...a/.b'],
  ] as const) {
    const id = SpiffeId.parse(value);
    assert.equal(id.trustDomain.name, td);
    assert.equal(id.path, path);
    assert.equal(id.toString(), value);
  }
});

test('each SPIFFE-ID.md rule refuses what it forbids, quoting the value', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['http://example.org/a', /starts with "spiffe:\/\/"/],
    ['SPIFFE://example.org/a', /lowercase/],
    ['spiffe:/example.org/a', /starts with/],
    ['spiffe://', /trust domain is empty/],
    ['spiffe:///path', /trust domain is empty/],
    ['spiffe://Example.org/a', /trust domain may hold only lowercase/],
    ['spiffe://exa mple.org', /trust domain may hold only/],
    ['spiffe://user@example.org/a', /no userinfo/],
    ['spiffe://example.org:8080/a', /no port/],
    ['spiffe://ex%41mple.org/a', /percent-encoded/],
    ['spiffe://[::1]/a', /no port|trust domain may hold only/],
    ['spiffe://example.org/a?x=1', /no query/],
    ['spiffe://example.org/a#frag', /no fragment/],
    ['spiffe://example.org/', /trailing/],
    ['spiffe://example.org/a/', /trailing/],
    ['spiffe://example.org//a', /empty path segment/],
    ['spiffe://example.org/a/./b', /"\." segment/],
    ['spiffe://example.org/a/../b', /"\.\." segment/],
    ['spiffe://example.org/a%20b', /percent-encoded/],
    ['spiffe://example.org/a b', /path segment/],
    ['spiffe://example.org/caf\u00e9', /path segment/],
    [`spiffe://${'a'.repeat(256)}/x`, /longer than 255/],
    [`spiffe://example.org/${'a'.repeat(2048)}`, /at most 2048 bytes/],
  ];
  for (const [value, reason] of cases) {
    assert.throws(() => SpiffeId.parse(value), (error: unknown) => {
      assert.ok(error instanceof SpiffeIdError, `${value}: ${String(error)}`);
      assert.match(error.message, reason, value);
      if (value !== '' && value.length < 100) assert.ok(error.message.includes(JSON.stringify(value)), error.message);
      return true;
    });
  }
});

test('a 2048-byte SPIFFE ID is accepted', () => {
  const prefix = 'spiffe://example.org/';
  const id = SpiffeId.parse(prefix + 'a'.repeat(2048 - prefix.length));
  assert.equal(id.toString().length, 2048);
});

test('trust domains parse from names and from their SPIFFE ID form', () => {
  assert.equal(TrustDomain.parse('example.org').name, 'example.org');
  assert.equal(TrustDomain.parse('spiffe://example.org').name, 'example.org');
  assert.equal(TrustDomain.parse('example.org').idString(), 'spiffe://example.org');
  assert.throws(() => TrustDomain.parse('spiffe://example.org/a'), /has no path/);
  assert.throws(() => TrustDomain.parse('Example.org'), SpiffeIdError);
  assert.throws(() => TrustDomain.parse(''), SpiffeIdError);
});

test('equality, membership and construction from parts', () => {
  const td = TrustDomain.parse('example.org');
  const id = SpiffeId.fromParts(td, '/web');
  assert.ok(id.equals(SpiffeId.parse('spiffe://example.org/web')));
  assert.ok(!id.equals(SpiffeId.parse('spiffe://example.org/db')));
  assert.ok(id.memberOf(td));
  assert.ok(!id.memberOf(TrustDomain.parse('other.org')));
  assert.throws(() => SpiffeId.fromParts(td, 'web'), /starts with "\/"/);
});

test('a prefix matches by whole path segments, within its trust domain (go-spiffe MatchIDPrefix)', () => {
  const prefix = SpiffeId.parse('spiffe://example.org/spire/agent');
  const has = (id: string) => SpiffeId.parse(id).hasPrefix(prefix);
  assert.ok(has('spiffe://example.org/spire/agent'), 'the prefix itself');
  assert.ok(has('spiffe://example.org/spire/agent/node-a'));
  assert.ok(has('spiffe://example.org/spire/agent/k8s/node/b'));
  assert.ok(!has('spiffe://example.org/spire/agentish'), 'not within a segment');
  assert.ok(!has('spiffe://example.org/spire'), 'not a parent');
  assert.ok(!has('spiffe://other.org/spire/agent/node-a'), 'not another trust domain');
  assert.ok(!has('spiffe://example.org/Spire/agent/x'), 'case-sensitive, as the path is');
  const root = SpiffeId.parse('spiffe://example.org');
  assert.ok(SpiffeId.parse('spiffe://example.org/any/thing').hasPrefix(root), "a trust domain's own ID is the prefix of its members");
  assert.ok(!SpiffeId.parse('spiffe://example.org.evil/x').hasPrefix(root));
});

test('the path is case-sensitive; the trust domain is lowercase; lengths at the limits are accepted', () => {
  const upper = SpiffeId.parse('spiffe://example.org/Web/API');
  assert.equal(upper.path, '/Web/API');
  assert.ok(!upper.equals(SpiffeId.parse('spiffe://example.org/web/api')));
  const longest = 'a'.repeat(255);
  assert.equal(SpiffeId.parse(`spiffe://${longest}/x`).trustDomain.name, longest);
  assert.equal(TrustDomain.parse(longest).name, longest);
  assert.throws(() => TrustDomain.parse(`${longest}a`), /longer than 255/);
  assert.equal(SpiffeId.parse('spiffe://under_score.example-1/0').trustDomain.name, 'under_score.example-1');
  assert.throws(() => SpiffeId.parse('spiffe://example.org/a\u00e9'.normalize('NFD')), /path segment/);
  assert.throws(() => SpiffeId.parse(`spiffe://example.org/${'\u00e9'.repeat(1020)}`), /at most 2048 bytes/, 'the limit counts bytes, not characters');
});

test('trust domain names refuse what SPIFFE-ID.md 2.1 forbids and print as their name', () => {
  const td = TrustDomain.parse('spiffe://example.org');
  assert.equal(String(td), 'example.org');
  assert.equal(`${SpiffeId.parse('spiffe://example.org/a')}`, 'spiffe://example.org/a');
  assert.ok(td.equals(TrustDomain.parse('example.org')));
  assert.ok(!td.equals(TrustDomain.parse('example.com')));
  for (const [value, reason] of [
    ['example.org:443', /no port/],
    ['user@example.org', /no userinfo/],
    ['exa%2emple.org', /percent-encoded/],
    ['example.org/path', /may hold only/],
    ['spiffe://example.org/', /trailing/],
    ['https://example.org', /starts with "spiffe:\/\/"/],
    ['spiffe:/example.org', /starts with "spiffe:\/\/"/],
    ['EXAMPLE.ORG', /lowercase/],
  ] as const) {
    assert.throws(() => TrustDomain.parse(value), (error: unknown) => error instanceof SpiffeIdError && reason.test(error.message) && error.message.includes(JSON.stringify(value)), value);
  }
});

test('fromParts applies every path rule', () => {
  const td = TrustDomain.parse('example.org');
  assert.equal(SpiffeId.fromParts(td, '').toString(), 'spiffe://example.org');
  assert.equal(SpiffeId.fromParts(td, '/a/b').path, '/a/b');
  for (const path of ['/', '/a/', '//a', '/./a', '/a/..', '/a b', '/a%41', '/a?b', '/a#b']) {
    assert.throws(() => SpiffeId.fromParts(td, path), SpiffeIdError, path);
  }
});
