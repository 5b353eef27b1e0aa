import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createLogger, nullLogger } from '../../src/helper/log/index.ts';

async function capture(level: string, format: 'json' | 'text') {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: await createLogger({ level, format, destination: stream }), output: () => text };
}

const KEY_BODY = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg';
const KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly9leGFtcGxlLm9yZy94In0.c2lnbmF0dXJl';
const TOKEN_PAYLOAD = 'eyJzdWIiOiJzcGlmZmU6Ly9leGFtcGxlLm9yZy94In0';

function assertClean(text: string, label: string): void {
  assert.ok(!text.includes(KEY_BODY), `${label}: key material leaked: ${text}`);
  assert.ok(!text.includes(TOKEN_PAYLOAD), `${label}: token leaked: ${text}`);
  assert.match(text, /REDACTED/, label);
}

test('JSON lines, filtered by level', async () => {
  const { logger, output } = await capture('warn', 'json');
  logger.info('hidden');
  logger.warn({ spiffeId: 'spiffe://example.org/x' }, 'shown');
  logger.error('also shown');
  const lines = output().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines.map((line) => [line.level, line.msg]), [[40, 'shown'], [50, 'also shown']]);
  assert.equal(lines[0]!.spiffeId, 'spiffe://example.org/x');
  assert.equal(lines[0]!.name, 'spiffe-helper');
  assert.ok(!Number.isNaN(Date.parse(String(lines[0]!.time))), 'ISO time');
});

test('level silent writes nothing; an unknown level is refused by name', async () => {
  const { logger, output } = await capture('silent', 'json');
  logger.fatal('nothing');
  assert.equal(output(), '');
  assert.equal(nullLogger.isLevelEnabled('fatal'), false);
  await assert.rejects(createLogger({ level: 'verbose', format: 'json' }), /unknown log level "verbose": expected one of trace, debug, info, warn, error, fatal, silent/);
});

test('text format is readable', async () => {
  const { logger, output } = await capture('debug', 'text');
  logger.debug({ dir: '/certs' }, 'files written');
  assert.match(output(), /DEBUG.*files written/);
  assert.match(output(), /dir: "\/certs"/);
  assert.doesNotMatch(output(), /^\{/, 'not JSON');
  assert.doesNotMatch(output(), /\u001b\[/, 'no colours on a stream that is not a terminal');
});

test('key material and tokens never appear, wherever they are logged', async () => {
  for (const format of ['json', 'text'] as const) {
    const { logger, output } = await capture('info', format);
    logger.info({ privateKey: KEY, token: TOKEN, nested: { key: KEY, jwt: TOKEN, deeper: { svid: 'raw' } } }, 'secret fields');
    logger.info({ a: { b: { c: { pem: KEY, header: `Bearer ${TOKEN}` } } } }, 'deep, under innocent names');
    logger.info(`message carrying ${KEY} and ${TOKEN}`);
    logger.info('formatted %s %o', KEY, { t: TOKEN });
    logger.info({ truncated: KEY.slice(0, 60) }, 'a key cut short');
    logger.error(new Error(`agent said: ${TOKEN}`));
    logger.error({ err: new Error(`bad key ${KEY}`) }, 'with err');
    logger.child({ token: TOKEN, session: { jwt: TOKEN } }).info('child bindings');
    const text = output();
    assertClean(text, format);
    assert.ok(!text.includes('"raw"') && !text.includes('svid: "raw"'), `${format}: svid field leaked`);
    assert.match(text, /secret fields/);
    assert.match(text, /agent said: \[REDACTED JWT\]/);
  }
});

test('logging does not change the caller\'s object', async () => {
  const { logger } = await capture('info', 'json');
  const material = { privateKey: KEY, nested: { token: TOKEN } };
  logger.info(material, 'material');
  assert.deepEqual(material, { privateKey: KEY, nested: { token: TOKEN } });
});

test('stderr by default, nothing lost at exit, and nothing keeps the process alive', { timeout: 30_000 }, async (t) => {
  const logger = new URL('../../src/helper/log/index.ts', import.meta.url).href;
  for (const format of ['json', 'text'] as const) {
    // The child logs and exits at once; it must end by itself, with the line on stderr.
    const script = `import { createLogger } from ${JSON.stringify(logger)};
      const log = await createLogger({ level: 'info', format: ${JSON.stringify(format)} });
      for (let i = 0; i < 200; i++) log.info({ i }, 'line');
      log.warn('last line');
      process.exitCode = 3;`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 3, `${format}: ${stderr}`);
    assert.equal(stdout, '', `${format}: stdout stays the program's`);
    assert.match(stderr, /last line/, format);
    assert.equal(stderr.match(/line/g)?.length, 201, `${format}: every line arrives`);
  }
});
