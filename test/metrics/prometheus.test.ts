// A real Prometheus (Debian's package) scrapes the running helper's /metrics, and answers a query for
// the expiry gauge through its HTTP API: what an operator's alert would evaluate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnDaemon } from '../support/daemon.ts';
import { startHelper } from '../support/helper-process.ts';
import { freePort } from '../support/ports.ts';
import { tempDir } from '../support/tmp.ts';
import { waitFor } from '../support/wait.ts';
import { server, toml, x509Config } from '../helper/support.ts';
import { noPrometheus, promtoolCheck, sample } from './support.ts';

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('a real Prometheus scrapes the helper and answers for the SVID expiry', { skip: noPrometheus }, async (t) => {
  const s = await server(t, { ttlSeconds: 600 });
  const dir = await tempDir(t);
  const certs = join(dir, 'certs');
  const helper = await startHelper(
    t,
    dir,
    x509Config(s.address, certs, `[[jwt_svids]]\njwt_audience = "db"\njwt_svid_file_name = "db.jwt"\n\n[health_checks]\nlistener_enabled = true\nbind_port = 0\n`),
  );
  const port = (await helper.waitForLog((l) => l.msg === 'health listener started')).port as number;
  const target = `127.0.0.1:${port}`;

  // The helper's own scrape first: promtool finds nothing to complain about in what it really serves.
  const scrape = await waitFor(
    async () => {
      const text = await (await fetch(`http://${target}/metrics`)).text();
      return sample(text, 'spiffe_helper_file_sets_written_total')! >= 1 ? text : undefined;
    },
    { what: 'a scrape after the first write', timeoutMs: 30_000 },
  );
  assert.equal(await promtoolCheck(scrape, dir), '');
  assert.equal(sample(scrape, 'spiffe_helper_workload_api_connected'), 1);

  const webPort = await freePort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: spiffe-helper\n    static_configs:\n      - targets: [${toml(target)}]\n`);
  const prometheus = spawnDaemon(t, {
    command: 'prometheus',
    args: [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn'],
    logFile: join(dir, 'prometheus.log'),
  });
  const query = async (promql: string): Promise<QueryResult['data']['result']> => {
    const response = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as QueryResult;
    assert.equal(body.status, 'success');
    return body.data.result;
  };
  await prometheus.waitReady(async () => (await query('spiffe_helper_svid_expires_in_seconds')).length === 2, {
    what: 'Prometheus to have scraped both expiry series',
    timeoutMs: 60_000,
    intervalMs: 250,
  });

  const [x509] = await query('spiffe_helper_svid_expires_in_seconds{job="spiffe-helper",output="x509"}');
  const left = Number(x509!.value[1]);
  assert.ok(left > 0 && left <= 600, `the X.509-SVID expires in ${left} s (TTL 600 s)`);
  const [jwt] = await query('spiffe_helper_svid_expires_in_seconds{output="jwt_svid:db.jwt"}');
  assert.ok(Number(jwt!.value[1]) > 0);
  // The alert an operator would write: nothing expires within the next minute.
  assert.deepEqual(await query('spiffe_helper_svid_expires_in_seconds < 60'), []);
  assert.equal((await query(`up{instance=${toml(target)}}`))[0]!.value[1], '1');
  assert.equal((await query('spiffe_helper_workload_api_connected'))[0]!.value[1], '1');
});
