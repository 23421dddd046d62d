package storetest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// t0 is the suite's reference instant. Fixture times are whole microseconds,
// the precision every backend must keep.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

func newCA(n int) *store.CA {
	return &store.CA{
		ID: fmt.Sprintf("ca_test%d", n), OrgID: "org_a", Name: fmt.Sprintf("Test CA %d", n), Kind: store.CAIntermediate,
		Status: store.CAActive, ParentID: "ca_root", CertDER: []byte{0x30, 0x82, byte(n)},
		KeyBlob: []byte("sealed-key"), Subject: fmt.Sprintf("CN=Test CA %d,O=Signet", n), SerialHex: "1f2e",
		SKIHex: "abcdef", NotBefore: at(-24 * time.Hour), NotAfter: at(5 * 365 * 24 * time.Hour), KeyType: "ECDSA-P384",
		CRLURL: "http://crl.example/ca.crl", OCSPURL: "http://ocsp.example", CreatedAt: at(0), UpdatedAt: at(time.Second),
	}
}

func newTemplate(n int) *store.Template {
	return &store.Template{ID: fmt.Sprintf("tpl_test%d", n), OrgID: "org_a", Name: fmt.Sprintf("template-%d", n),
		Description: "web servers", Spec: []byte(`{"max_validity_days":90}`), CreatedAt: at(0), UpdatedAt: at(0)}
}

func newProfile(n int, tplID, caID string) *store.Profile {
	return &store.Profile{ID: fmt.Sprintf("prof_test%d", n), OrgID: "org_a", Name: fmt.Sprintf("profile-%d", n), Description: "tls",
		TemplateID: tplID, CAID: caID, IssuerType: store.IssuerInternal, Approval: "auto", DefaultValidityDays: 30,
		EnrollmentMethods: []string{"api", "acme"}, DeliveryFormat: "pem", Status: "active",
		CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute)}
}

func newRequest(n int, profileID string) *store.Request {
	return &store.Request{ID: fmt.Sprintf("req_test%d", n), OrgID: "org_a", Labels: map[string]string{"env": "prod"}, ProfileID: profileID, RequesterID: "usr_alice",
		Status: store.RequestPending, Kind: "enroll", CSRPEM: "-----BEGIN CERTIFICATE REQUEST-----\n...",
		Keygen: []byte(`{"algorithm":"ecdsa"}`), ValidityDays: 30, Owner: "team-a", Method: "scep", CreatedAt: at(time.Hour),
		UpdatedAt: at(time.Hour)}
}

// newCert returns a certificate whose serial and thumbprints derive from n.
func newCert(n int) *store.Certificate {
	der := []byte(fmt.Sprintf("DER of certificate %d", n))
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	return &store.Certificate{
		Serial: fmt.Sprintf("%x", 0x1000+n), OrgID: "org_a", CAID: "ca_test1", ProfileID: "prof_test1", RequestID: fmt.Sprintf("req_%d", n),
		Issuer: "CN=Test CA 1,O=Signet", Subject: fmt.Sprintf("CN=host-%d.example.com", n),
		CommonName: fmt.Sprintf("host-%d.example.com", n), SANs: []string{fmt.Sprintf("host-%d.example.com", n), "10.0.0.1"},
		KeyType: "ECDSA-P256", NotBefore: at(-time.Hour), NotAfter: at(90 * 24 * time.Hour),
		SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:]), DER: der, Status: store.CertActive,
		Source: store.SourceIssued, Method: "est", Owner: "team-a", CreatedAt: at(time.Duration(n) * time.Second),
		UpdatedAt: at(time.Duration(n) * time.Second),
	}
}

func newAPIKey(n int) *store.APIKey {
	sum := sha256.Sum256([]byte(fmt.Sprintf("secret %d", n)))
	return &store.APIKey{ID: fmt.Sprintf("key_test%d", n), OrgID: "org_a", Name: fmt.Sprintf("ci-%d", n), PrincipalID: "svc_ci",
		Roles: []string{"requester", "auditor"}, SecretHash: sum[:], ExpiresAt: ptr(at(365 * 24 * time.Hour)),
		CreatedAt: at(0)}
}
