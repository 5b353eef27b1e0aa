export { combinedPem } from './combined-pem.ts';
export { CREDENTIAL_BUNDLE, filesystemDeliveryFiles, trustBundleFileName, type CredentialFolder } from './filesystem-delivery.ts';
export { keystorePkcs12, truststorePkcs12, type KeystoreEntry, type TrustedCertificate } from './pkcs12.ts';
