import { startDevWorkloadApi, type DevWorkloadApi } from '../../spiffe/dev/index.ts';

/**
 * -dev: the development Workload API, started in this process before the config is read. Its one
 * line on stderr says, before anything else, that nothing here is attested, and gives the endpoint
 * the user's own SPIFFE-aware programs can use beside the helper.
 */
export async function startDev(spiffeId: string | undefined): Promise<DevWorkloadApi> {
  const api = await startDevWorkloadApi(spiffeId === undefined ? {} : { spiffeId });
  const id = api.x509Svids[0]!.spiffeId;
  process.stderr.write(
    `spiffe-helper: -dev: DEVELOPMENT ONLY, NOT FOR PRODUCTION: ${id} comes from an in-memory CA, unattested, for any local caller; other local programs can use SPIFFE_ENDPOINT_SOCKET=${api.endpoint}\n`,
  );
  return api;
}
