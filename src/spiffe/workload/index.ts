export { Backoff, DEFAULT_BACKOFF, PROMPT_BACKOFF, type BackoffPolicy } from '../backoff.ts';
export { WorkloadApiClient, type CallOptions, type ConnectionState, type ConnectionStatus, type Watch, type WatchHandler, type WorkloadApiClientOptions } from './client.ts';
export { ENDPOINT_ENV, EndpointAddressError, formatEndpointAddress, parseEndpointAddress, resolveEndpointAddress, type EndpointAddress } from './endpoint.ts';
export { WorkloadApiError, type WorkloadApiCode } from './errors.ts';
export { InvalidMessageError, type X509Context } from './messages.ts';
