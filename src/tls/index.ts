export { authorizeAny, authorizeId, authorizeMemberOf, authorizeOneOf, type Authorizer } from './authorize.ts';
export { PeerRefusedError, authorizePeer, peerSpiffeId } from './peer.ts';
export { tlsClientOptions, type SpiffeTlsClientOptions } from './client.ts';
export { createHttp2SecureServer, createHttpsServer, createTlsServer } from './server.ts';
export { grpcCredentials } from './grpc.ts';
