import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/log/index.ts';

function capture(level: string, format: 'json' | 'text') {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: createLogger({ level, format, destination: stream }), output: () => text };
}

const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly9leGFtcGxlLm9yZy94In0.c2lnbmF0dXJl';

test('JSON lines, filtered by level', () => {
  const { logger, output } = capture('warn', 'json');
  logger.info('hidden');
  logger.warn({ spiffeId: 'spiffe://example.org/x' }, 'shown');
  const lines = output().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.msg, 'shown');
  assert.equal(lines[0]!.spiffeId, 'spiffe://example.org/x');
  assert.equal(lines[0]!.level, 40);
});

test('text format is readable', () => {
  const { logger, output } = capture('info', 'text');
  logger.info({ dir: '/certs' }, 'files written');
  assert.match(output(), /INFO.*files written/);
  assert.match(output(), /dir: "\/certs"/);
});

test('key material and tokens never appear', () => {
  for (const format of ['json', 'text'] as const) {
    const { logger, output } = capture('info', format);
    logger.info({ privateKey: KEY, token: TOKEN, nested: { key: KEY, jwt: TOKEN } }, 'object fields');
    logger.info(`message carrying ${KEY} and ${TOKEN}`);
    const text = output();
    assert.ok(!text.includes('MIGHAgEA'), `${format}: ${text}`);
    assert.ok(!text.includes(TOKEN), `${format}: ${text}`);
    assert.match(text, /REDACTED/);
  }
});
