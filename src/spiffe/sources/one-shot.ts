import type { JwtSvid, X509Svid } from '../svid/index.ts';
import { WorkloadApiClient } from '../workload/index.ts';
import type { JwtSvidParams } from './jwt-source.ts';
import type { SourceOptions } from './live-source.ts';
import { X509Source, type X509SvidPicker } from './x509-source.ts';

export type OneShotOptions = Pick<SourceOptions, 'endpoint' | 'signal' | 'timeoutMs'>;

/**
 * This workload's X.509-SVID (the first, or the picker's), for a program that needs it once. Waits,
 * retrying, until the Workload API serves one, up to `timeoutMs` (default 30 s).
 */
export async function fetchX509Svid(options: OneShotOptions & { picker?: X509SvidPicker } = {}): Promise<X509Svid> {
  const source = await X509Source.create(options);
  try {
    return source.svid;
  } finally {
    await source.close();
  }
}

/** This workload's JWT-SVID for `audience` (the first identity's, or `spiffeId`'s): one FetchJWTSVID call. */
export async function fetchJwtSvid(params: JwtSvidParams, options: OneShotOptions = {}): Promise<JwtSvid> {
  const client = new WorkloadApiClient(options.endpoint === undefined ? {} : { address: options.endpoint });
  try {
    const call = { ...(options.signal === undefined ? {} : { signal: options.signal }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
    return (await client.fetchJwtSvid(params, call))[0]!;
  } finally {
    client.close();
  }
}
