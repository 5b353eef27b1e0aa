// A huge trust bundle and back: resident memory of a daemon at rest, then after one update whose
// bundle holds 5,000 CA certificates has been written and replaced by a normal one. What a daemon
// keeps of a one-off large input stays resident for the rest of its life.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TestCa } from '../test/support/test-ca.ts';
import { waitFor } from '../test/support/wait.ts';
import type { Contender } from './contenders.ts';
import { Harness } from './harness.ts';
import { residentMb } from './measure.ts';

export interface BigBundleRow {
  readonly name: string;
  readonly cas: number;
  readonly beforeMb: number;
  readonly withBigMb: number;
  readonly afterMb: number;
}

/** `cas` CA certificates, concatenated DER: the trust domain's own first, then other roots repeated. */
async function bigBundle(own: Buffer, cas: number): Promise<Buffer> {
  const others = await Promise.all(Array.from({ length: 20 }, (_, i) => TestCa.create(`other-${i}.example`)));
  const ders = others.map((ca) => ca.bundleDer());
  return Buffer.concat([own, ...Array.from({ length: cas - 1 }, (_, i) => ders[i % ders.length]!)]);
}

export async function bigBundleBench(contender: Contender, options: { cas: number; settleMs: number }): Promise<BigBundleRow> {
  const harness = await Harness.start();
  try {
    await harness.startHelper(contender);
    const pid = harness.pid;
    const bundleFile = join(harness.certDir, 'svid_bundle.pem');
    const size = async () => (await stat(bundleFile).catch(() => ({ size: -1 }))).size;
    const sizeIs = (check: (size: number) => boolean, what: string) => waitFor(async () => check(await size()), { what, timeoutMs: 120_000, intervalMs: 50 });
    // The first write makes the visible names one after the other.
    await sizeIs((bytes) => bytes > 0, 'the bundle file');
    const normalSize = await size();
    await delay(options.settleMs);
    const beforeMb = await residentMb(pid);
    const svid = harness.server.currentSvids[0]!;
    const bundle = await bigBundle(harness.server.ca.bundleDer(), options.cas);
    harness.server.pushRaw({
      svids: [{ spiffe_id: svid.spiffeId, x509_svid: svid.chainDer, x509_svid_key: svid.keyDer, bundle, hint: svid.hint }],
      crl: [],
      federated_bundles: {},
    });
    await sizeIs((size) => size > normalSize * (options.cas / 2), `the ${options.cas}-CA bundle on disk`);
    await delay(options.settleMs);
    const withBigMb = await residentMb(pid);
    harness.server.pushCurrent();
    await sizeIs((size) => size === normalSize, 'the normal bundle on disk again');
    await delay(options.settleMs);
    return { name: contender.name, cas: options.cas, beforeMb, withBigMb, afterMb: await residentMb(pid) };
  } finally {
    await harness.stop();
  }
}
