package webui

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/store"
)

// requested is what a request asks for, as a manager needs to see it
// before deciding: the subject, the names and the key.
type requested struct {
	Subject string
	Names   []string
	Key     string
}

// describeRequest reads a request's CSR or its server-side key generation
// parameters. What cannot be read is said so rather than hidden: the
// service re-checks everything when the request is approved.
func describeRequest(r *store.Request) requested {
	if r.CSRPEM != "" {
		der := []byte(r.CSRPEM)
		if b, _ := pem.Decode(der); b != nil {
			der = b.Bytes
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return requested{Subject: "(the CSR cannot be read)"}
		}
		d := requested{Subject: csr.Subject.String(), Names: csr.DNSNames, Key: keyDescription(csr.PublicKey, csr.PublicKeyAlgorithm)}
		for _, ip := range csr.IPAddresses {
			d.Names = append(d.Names, ip.String())
		}
		d.Names = append(d.Names, csr.EmailAddresses...)
		for _, u := range csr.URIs {
			d.Names = append(d.Names, u.String())
		}
		return d
	}
	var rec struct {
		Keygen struct {
			Algorithm string `json:"algorithm"`
			Bits      int    `json:"bits"`
		} `json:"keygen"`
		Subject   ca.Subject `json:"subject"`
		SANs      []string   `json:"sans"`
		PublicKey []byte     `json:"public_key"`
	}
	if len(r.Keygen) == 0 || json.Unmarshal(r.Keygen, &rec) != nil {
		return requested{Subject: "(no CSR or key parameters recorded)"}
	}
	d := requested{Subject: rec.Subject.PKIX().String(), Names: rec.SANs}
	switch {
	case len(rec.PublicKey) > 0:
		if pub, err := x509.ParsePKIXPublicKey(rec.PublicKey); err == nil {
			d.Key = keyDescription(pub, x509.UnknownPublicKeyAlgorithm)
		}
	case rec.Keygen.Algorithm != "":
		d.Key = "server-generated " + rec.Keygen.Algorithm
		if rec.Keygen.Bits > 0 {
			d.Key += fmt.Sprintf(" %d", rec.Keygen.Bits)
		}
	}
	return d
}

// keyDescription names a public key the way the certificate page does.
func keyDescription(pub any, alg x509.PublicKeyAlgorithm) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return alg.String()
}
