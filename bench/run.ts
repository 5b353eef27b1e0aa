// npm run bench: every benchmark, results as tables. Numbers compare the rows of one run on one
// machine; nothing here is a pass/fail threshold.
import { execFileSync } from 'node:child_process';
import { atomicWriteBench } from './atomic-write.ts';
import { helpersBench } from './helpers.ts';
import { mtlsBench } from './mtls.ts';

execFileSync('npm', ['run', 'build'], { cwd: new URL('..', import.meta.url).pathname, stdio: 'ignore' });
console.log(`spiffe-helper benchmarks (${process.version}, ${new Date().toISOString()})\n`);

console.log('1. Writing a 3-file set 400 times while another process reads it in a tight loop:');
console.table(await atomicWriteBench());
console.log('   torn = certificate and key from different updates or a partial file; empty = a zero-length read.\n');

console.log('2. The helpers side by side: 150 rotations pushed by a Workload API test server, a reader polling the files:');
const { rows, note } = await helpersBench();
console.table(rows);
console.log('   update = rotation pushed until the new certificate is on disk; key≠cert = a key that does not match');
console.log(`   the certificate read with it; partial = a file that does not parse. ${note}`);

console.log('\n3. The library: mTLS by SPIFFE ID (createHttpsServer + tlsClientOptions) beside plain Node TLS:');
console.table(await mtlsBench());
console.log('   a peer certificate first seen costs a full ASN.1 read of its extensions (some ms) once; later ones are cached.');
