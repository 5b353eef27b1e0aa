import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointAddressError, parseEndpointAddress, resolveEndpointAddress } from '../../src/spiffe/workload/index.ts';

test('the spec forms and a bare absolute path are accepted', () => {
  assert.deepEqual(parseEndpointAddress('unix:///run/spire/agent.sock'), { kind: 'unix', path: '/run/spire/agent.sock' });
  assert.deepEqual(parseEndpointAddress('/tmp/spire-agent/public/api.sock'), { kind: 'unix', path: '/tmp/spire-agent/public/api.sock' });
  assert.deepEqual(parseEndpointAddress('tcp://127.0.0.1:8000'), { kind: 'tcp', host: '127.0.0.1', port: 8000 });
  assert.deepEqual(parseEndpointAddress('tcp://[::1]:8000'), { kind: 'tcp', host: '::1', port: 8000 });
  // RFC 3986: no authority and an absolute path is the same address; percent-escapes decode.
  assert.deepEqual(parseEndpointAddress('unix:/run/spire/agent.sock'), { kind: 'unix', path: '/run/spire/agent.sock' });
  assert.deepEqual(parseEndpointAddress('unix:///run/my%20agent.sock'), { kind: 'unix', path: '/run/my agent.sock' });
});

test('every other form is refused with a message that quotes the value', () => {
  for (const value of [
    'unix://host/path.sock',
    'unix:relative.sock',
    'unix:///',
    'unix:///a.sock?x=1',
    'unix:///a.sock#frag',
    'tcp://localhost:8000',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:8000/foo',
    'tcp://user@127.0.0.1:8000',
    'http://127.0.0.1:8000',
    'relative/path.sock',
    'unix://',
    'unix:///a%zz.sock',
    'tcp://127.0.0.1:0',
    'tcp://127.0.0.1:65536',
    'tcp://[::1]',
    'tcp:127.0.0.1:8000',
    '',
  ]) {
    assert.throws(() => parseEndpointAddress(value), (error: unknown) => {
      assert.ok(error instanceof EndpointAddressError, value);
      assert.ok(error.message.includes(JSON.stringify(value)), error.message);
      assert.ok(error.message.includes('expected unix:///absolute/path, tcp://IP:port, or an absolute socket path'), error.message);
      return true;
    });
  }
});

test('the configured address wins over SPIFFE_ENDPOINT_SOCKET, which is the fallback', () => {
  const env = { SPIFFE_ENDPOINT_SOCKET: 'unix:///env.sock' };
  assert.deepEqual(resolveEndpointAddress('/configured.sock', env), { kind: 'unix', path: '/configured.sock' });
  assert.deepEqual(resolveEndpointAddress(undefined, env), { kind: 'unix', path: '/env.sock' });
  assert.throws(() => resolveEndpointAddress(undefined, {}), /agent_address.*SPIFFE_ENDPOINT_SOCKET/);
  assert.throws(() => resolveEndpointAddress(undefined, { SPIFFE_ENDPOINT_SOCKET: 'tcp://x:1' }), /"tcp:\/\/x:1"/);
});
