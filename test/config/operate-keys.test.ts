import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, describeConfig, parseConfig } from '../../src/config/index.ts';

const X509 = 'svid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n';

function message(text: string): string {
  try {
    parseConfig(text, 'helper.conf');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail(`accepted:\n${text}`);
}

test('renew_splay: a duration, off by default, described by -check', () => {
  assert.equal(parseConfig(X509, 'helper.conf').renewSplayMs, 0);
  const config = parseConfig(`${X509}renew_signal = "SIGHUP"\npid_file_name = "/run/app.pid"\nrenew_splay = "2m"`, 'helper.conf');
  assert.equal(config.renewSplayMs, 120_000);
  assert.match(describeConfig(config).join('\n'), /then a random wait of up to 2m/);
});

test('renew_splay: bad values are refused with file, line and key', () => {
  assert.equal(message(`${X509}renew_signal = "HUP"\npid_file_name = "p"\nrenew_splay = "soon"`), 'helper.conf:6: renew_splay: expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got string "soon"');
  assert.equal(message(`${X509}renew_signal = "HUP"\npid_file_name = "p"\nrenew_splay = -5`), 'helper.conf:6: renew_splay: expected a duration such as "500ms", "30s", "2m", "1h" or "1m30s", or whole seconds, got number -5');
  assert.equal(message(`${X509}renew_splay = "30s"`), 'helper.conf:4: renew_splay: is set but renew_action is "none": there is no notification to delay');
});

test('a health path on /metrics is refused: the listener serves Prometheus metrics there', () => {
  assert.equal(message(`${X509}[health_checks]\nlistener_enabled = true\nliveness_path = "/metrics"`), 'helper.conf:6: health_checks.liveness_path: "/metrics" is where the listener serves Prometheus metrics');
  assert.equal(message(`${X509}[health_checks]\nreadiness_path = "/metrics"`), 'helper.conf:5: health_checks.readiness_path: "/metrics" is where the listener serves Prometheus metrics');
});
