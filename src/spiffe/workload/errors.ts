import type { StatusObject } from '@grpc/grpc-js';
import { formatEndpointAddress, type EndpointAddress } from './endpoint.ts';

/** gRPC status codes by their canonical names, as the SPIFFE specs write them. */
const CODE_NAMES = [
  'OK', 'Cancelled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented',
  'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
] as const;

export type WorkloadApiCode = (typeof CODE_NAMES)[number];

/** SPIFFE_Workload_Endpoint.md section 6: these mean a client bug or a missing profile; do not retry. */
const FATAL_CODES: ReadonlySet<WorkloadApiCode> = new Set(['InvalidArgument', 'Unimplemented']);

export class WorkloadApiError extends Error {
  override name = 'WorkloadApiError';
  readonly code: WorkloadApiCode;
  readonly fatal: boolean;
  /** What the server or transport said, unchanged. */
  readonly details: string;

  constructor(code: WorkloadApiCode, message: string, details: string) {
    super(message);
    this.code = code;
    this.details = details;
    this.fatal = FATAL_CODES.has(code);
  }
}

/** Turns a gRPC status into one line a user can act on. */
export function workloadApiError(status: Pick<StatusObject, 'code' | 'details'>, address: EndpointAddress, call: string): WorkloadApiError {
  const code: WorkloadApiCode = CODE_NAMES[status.code] ?? 'Unknown';
  // grpc-js appends an empty "Resolution note:" to connection failures.
  const details = status.details.replace(/\.?\s*Resolution note:\s*$/, '');
  const where = formatEndpointAddress(address);
  let message: string;
  switch (code) {
    case 'PermissionDenied':
      message = `the agent at ${where} has no identity for this workload (usually no registration entry matches it): ${details}`;
      break;
    case 'InvalidArgument':
      // ValidateJWTSVID answers a bad token this way; the details say why.
      if (call === 'ValidateJWTSVID') {
        message = `the agent at ${where} found the JWT-SVID invalid: ${details}`;
        break;
      }
      message = `the agent at ${where} rejected ${call} as invalid (is the workload.spiffe.io security header stripped by a proxy?): ${details}`;
      break;
    case 'Unimplemented':
      message = `the endpoint at ${where} does not implement ${call}: ${details}`;
      break;
    case 'Unavailable':
      message = unavailable(address, where, details);
      break;
    case 'DeadlineExceeded':
      message = `${call} to ${where} timed out: ${details}`;
      break;
    default:
      message = `${call} to ${where} failed with ${code}: ${details}`;
  }
  return new WorkloadApiError(code, message, details);
}

/** A failed connection says why in the socket error grpc-js quotes; name the path and the likely fix. */
function unavailable(address: EndpointAddress, where: string, details: string): string {
  if (address.kind === 'unix') {
    if (details.includes('ENOENT')) return `no Workload API socket at ${address.path} (is the SPIRE agent running, and is its socket mounted here?)`;
    if (details.includes('ECONNREFUSED')) return `nothing accepts connections on ${address.path} (a socket file left by a stopped agent?)`;
    if (details.includes('EACCES') || details.includes('EPERM')) {
      return `no permission to connect to ${address.path} (this user may not open the agent's socket or its directory)`;
    }
  }
  return `the Workload API at ${where} is unavailable: ${details}`;
}
