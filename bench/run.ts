// npm run bench: every benchmark, results as a table. Numbers compare the rows of one run on one
// machine; nothing here is a pass/fail threshold.
import { atomicWriteBench } from './atomic-write.ts';

console.log(`spiffe-helper benchmarks (${process.version}, ${new Date().toISOString()})\n`);
console.log('Updating a 3-file set 400 times while another process reads it in a tight loop:');
console.table(await atomicWriteBench());
console.log('torn = certificate and key from different updates or a partial file; empty = a zero-length read;');
console.log('missing = a file absent at the moment of reading.');
