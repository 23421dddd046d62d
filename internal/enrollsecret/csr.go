package enrollsecret

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

var oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}

// csrInfo is the part of a PKCS#10 CertificationRequestInfo needed to reach
// its attributes (RFC 2986 section 4.1).
type csrInfo struct {
	Version    int
	Subject    asn1.RawValue
	PublicKey  asn1.RawValue
	Attributes []csrAttribute `asn1:"tag:0"`
}

type csrAttribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// ChallengePassword returns the challengePassword attribute of a CSR
// (rawTBS is x509.CertificateRequest.RawTBSCertificateRequest), "" if it has
// none. Go's x509 package does not expose it: SCEP and EST carry secrets in it.
func ChallengePassword(rawTBS []byte) (string, error) {
	var info csrInfo
	rest, err := asn1.Unmarshal(rawTBS, &info)
	if err != nil {
		return "", fmt.Errorf("parse CSR attributes: %w", err)
	}
	if len(rest) != 0 {
		return "", errors.New("parse CSR attributes: trailing data")
	}
	for _, a := range info.Attributes {
		if !a.Type.Equal(oidChallengePassword) {
			continue
		}
		if len(a.Values) != 1 {
			return "", errors.New("challengePassword must have exactly one value")
		}
		var pw string
		// DirectoryString: PrintableString, UTF8String, ... all decode to string.
		if _, err := asn1.Unmarshal(a.Values[0].FullBytes, &pw); err != nil {
			return "", fmt.Errorf("parse challengePassword: %w", err)
		}
		return pw, nil
	}
	return "", nil
}
