export { combinedPem } from './combined-pem.ts';
export { filesystemDeliveryFiles, type CredentialFolder } from './filesystem-delivery.ts';
export { keystorePkcs12, truststorePkcs12, type KeystoreEntry, type TrustedCertificate } from './pkcs12.ts';
