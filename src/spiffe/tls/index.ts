export { authorizeAny, authorizeId, authorizeIdPrefix, authorizeMemberOf, authorizeOneOf, type Authorizer, type AuthorizerVerdict } from './authorize.ts';
export { PeerRefusedError, authorizePeer, peerSpiffeId } from './peer.ts';
export { tlsClientOptions, type SpiffeTlsClientOptions, type SpiffeTlsServerAuthOptions } from './client.ts';
export { httpsAgent } from './agent.ts';
export { createHttp2SecureServer, createHttpsServer, createTlsServer, serverTls, type SpiffeServerTls } from './server.ts';
export { grpcCredentials } from './grpc.ts';
export type { TlsSources, X509BundleSetSource, X509SvidSource } from './sources.ts';
