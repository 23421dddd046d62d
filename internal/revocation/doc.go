// Package revocation publishes certificate status: CRLs (RFC 5280, full and
// delta) and an OCSP responder (RFC 6960 with the RFC 5019 profile).
//
// It knows nothing of storage or of Signet's HTTP server. It consumes small
// interfaces declared here, which the store and the CA service implement:
//
//   - EntrySource streams the revoked certificates of one CRL (CreateCRL);
//   - StatusSource answers one certificate's status (Responder);
//   - CADirectory lists the CAs with their certificates and signers (Responder).
//
// CRLs are encoded by hand, entry by entry, into one exactly-sized buffer
// while the signature digest consumes them: a million revoked certificates
// take about 45 MiB and a few hundred milliseconds, where
// x509.CreateRevocationList needs the whole list as structs and about twenty
// times the memory. The bytes are those crypto/x509 would produce.
//
// The Responder pre-signs responses per (CA, serial, CertID hash) into a
// bounded cache, re-signs them when half their validity is gone or at once
// after Invalidate, signs nonce requests fresh, and optionally signs with a
// short-lived delegated responder key instead of the CA key. OCSPHandler
// serves it over HTTP GET and POST.
package revocation
