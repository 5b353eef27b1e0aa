import assert from 'node:assert/strict';
import { ConfigError, parseConfig, type ConfigInputs } from '../../src/helper/config/index.ts';

/** The three X.509 file names: the smallest complete config, lines 1-3. */
export const X509 = 'svid_file_name = "svid.pem"\nsvid_key_file_name = "svid_key.pem"\nsvid_bundle_file_name = "svid_bundle.pem"\n';

/** The error a config is refused with, checked to be a ConfigError of one line that starts with the file's place. */
export async function refuse(text: string, inputs: ConfigInputs | string = 'helper.conf'): Promise<ConfigError> {
  try {
    await parseConfig(text, inputs);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.ok(!/[\r\n]/.test(error.message), `more than one line: ${error.message}`);
    if (typeof inputs === 'string') assert.ok(error.message.startsWith(inputs), error.message);
    return error;
  }
  assert.fail(`accepted:\n${text}`);
}
