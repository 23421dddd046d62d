package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net"
	"net/url"
	"reflect"
	"slices"
	"testing"
)

func TestKeyUsage(t *testing.T) {
	all := []string{"digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "cert_sign", "crl_sign"}
	const allBits = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment |
		x509.KeyUsageDataEncipherment | x509.KeyUsageKeyAgreement | x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	const encipher = x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	tests := []struct {
		name   string
		usages []string
		key    any
		want   x509.KeyUsage
	}{
		{"rsa keeps everything", all, rsaKey(2048), allBits},
		{"ecdsa drops encipherment", all, &ecdsa.PublicKey{Curve: elliptic.P256()}, allBits &^ encipher},
		{"ed25519 drops key agreement too", all, make(ed25519.PublicKey, 32), allBits &^ encipher &^ x509.KeyUsageKeyAgreement},
		{"tls server with ecdsa", []string{"digital_signature", "key_encipherment"}, &ecdsa.PublicKey{Curve: elliptic.P384()}, x509.KeyUsageDigitalSignature},
		{"tls server with rsa", []string{"digital_signature", "key_encipherment"}, rsaKey(2048), x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{"encipherment only, ecdsa", []string{"key_encipherment"}, &ecdsa.PublicKey{Curve: elliptic.P256()}, 0},
		{"unknown names are ignored", []string{"digital_signature", "teleport"}, rsaKey(2048), x509.KeyUsageDigitalSignature},
		{"none", nil, rsaKey(2048), 0},
	}
	for _, tt := range tests {
		tp := Template{KeyUsages: tt.usages}
		if got := tp.KeyUsageFor(tt.key); got != tt.want {
			t.Errorf("%s: KeyUsageFor = %b, want %b", tt.name, got, tt.want)
		}
		// For RSA nothing is dropped, so KeyUsage must agree.
		if _, isRSA := tt.key.(*rsa.PublicKey); isRSA && tp.KeyUsage() != tt.want {
			t.Errorf("%s: KeyUsage = %b, want %b", tt.name, tp.KeyUsage(), tt.want)
		}
	}
	if got := (&Template{KeyUsages: all}).KeyUsage(); got != allBits {
		t.Errorf("KeyUsage = %b, want %b", got, allBits)
	}
}

func TestExtendedKeyUsages(t *testing.T) {
	tp := Template{ExtKeyUsages: []string{"server_auth", "client_auth", "code_signing", "email_protection", "time_stamping", "ocsp_signing", "teleport"}}
	want := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageCodeSigning,
		x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageOCSPSigning}
	if got := tp.ExtendedKeyUsages(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := (&Template{}).ExtendedKeyUsages(); got == nil || len(got) != 0 {
		t.Errorf("empty template: got %#v, want an empty slice", got)
	}
}

func TestDefaults(t *testing.T) {
	ec := &ecdsa.PublicKey{Curve: elliptic.P256()}
	tests := []struct {
		name     string
		template Template
		request  Request
		want     []string
	}{
		{"server: host and ip", DefaultTLSServer(), Request{PublicKey: ec, Subject: pkix.Name{CommonName: "web.internal"},
			DNSNames: []string{"web.internal", "*.web.internal"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("fd00::5")},
			ValidityDays: 397, ServerKeyGen: true}, nil},
		{"server: ed25519 and rsa 2048 are fine", DefaultTLSServer(), Request{PublicKey: make(ed25519.PublicKey, 32), DNSNames: []string{"db"}}, nil},
		{"server: limits", DefaultTLSServer(), Request{PublicKey: rsaKey(1024), Subject: pkix.Name{CommonName: "web", SerialNumber: "1"},
			ValidityDays: 398, EmailAddresses: []string{"a@b.example"}},
			[]string{"key key_too_small", "sans.email[0] san_not_allowed", "subject.common_name common_name_not_in_sans",
				"subject.serial_number subject_field_not_allowed", "validity_days validity_too_long"}},
		{"client: user with email and spiffe id", DefaultTLSClient(), Request{PublicKey: ec, Subject: pkix.Name{CommonName: "alice"},
			EmailAddresses: []string{"alice@acme.example"}, URIs: []*url.URL{{Scheme: "spiffe", Host: "acme.example", Path: "/alice"}},
			ValidityDays: 30, ServerKeyGen: true}, nil},
		{"client: limits", DefaultTLSClient(), Request{PublicKey: ec, DNSNames: []string{"*.acme.example"},
			IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}},
			[]string{"sans.dns[0] wildcard_not_allowed", "sans.ip[0] san_not_allowed", "subject.common_name subject_field_required"}},
	}
	for _, tt := range tests {
		if err := tt.template.Validate(); err != nil {
			t.Fatalf("%s: default template invalid: %v", tt.name, err)
		}
		if g, w := got(tt.template.Evaluate(tt.request)), wantSet(tt.want...); !slices.Equal(g, w) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, g, w)
		}
	}
	server := DefaultTLSServer()
	if server.MaxValidityDays != 397 || !server.AllowWildcard || !server.AllowKeyGeneration || !server.CommonNameInSANs ||
		!slices.Equal(server.ExtKeyUsages, []string{"server_auth"}) || !slices.Equal(server.KeyUsages, []string{"digital_signature", "key_encipherment"}) {
		t.Errorf("server defaults changed: %+v", server)
	}
	client := DefaultTLSClient()
	if !slices.Equal(client.ExtKeyUsages, []string{"client_auth"}) || client.AllowWildcard {
		t.Errorf("client defaults changed: %+v", client)
	}
	// Each call returns fresh slices: a caller editing one must not change the next.
	server.KeyTypes[0].MinBits = 4096
	if DefaultTLSServer().KeyTypes[0].MinBits != 2048 {
		t.Error("DefaultTLSServer shares its slices")
	}
}

func TestTemplateJSON(t *testing.T) {
	tests := []struct {
		name string
		tp   Template
	}{
		{"server", DefaultTLSServer()},
		{"client", DefaultTLSClient()},
		{"acme", acme()},
		{"zero", Template{}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.tp)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var back Template
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(back, tt.tp) {
			t.Errorf("%s: round trip changed the template\n got %+v\nwant %+v", tt.name, back, tt.tp)
		}
	}

	// The stored form is snake_case; the store and the API depend on these names.
	doc := `{
		"key_types": [{"algorithm": "rsa", "min_bits": 3072}],
		"subject": [{"field": "organization", "required": true, "fixed_value": "Acme", "pattern": "A.*"}],
		"sans": {"dns": ["*.acme.com"], "ip": ["10.0.0.0/8"], "email": ["*@acme.com"], "uri": ["spiffe://acme.com/*"], "required": true, "max": 5},
		"common_name_in_sans": true,
		"key_usages": ["digital_signature"],
		"ext_key_usages": ["server_auth"],
		"max_validity_days": 90,
		"allow_wildcard": true,
		"allow_key_generation": true
	}`
	want := Template{
		KeyTypes: []KeyRule{{Algorithm: "rsa", MinBits: 3072}},
		Subject:  []SubjectRule{{Field: "organization", Required: true, FixedValue: "Acme", Pattern: "A.*"}},
		SANs: SANRules{DNS: []string{"*.acme.com"}, IP: []string{"10.0.0.0/8"}, Email: []string{"*@acme.com"},
			URI: []string{"spiffe://acme.com/*"}, Required: true, Max: 5},
		CommonNameInSANs: true, KeyUsages: []string{"digital_signature"}, ExtKeyUsages: []string{"server_auth"},
		MaxValidityDays: 90, AllowWildcard: true, AllowKeyGeneration: true,
	}
	var tp Template
	if err := json.Unmarshal([]byte(doc), &tp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tp, want) {
		t.Errorf("decoded\n got %+v\nwant %+v", tp, want)
	}
	if err := tp.Validate(); err != nil {
		t.Errorf("decoded template invalid: %v", err)
	}
}
