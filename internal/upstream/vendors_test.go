package upstream

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"
)

// testChain makes root -> intermediate -> leaf.
func testChain(t *testing.T) (root, inter, leaf []byte) {
	t.Helper()
	mk := func(cn string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	r, rk := mk("root", true, nil, nil)
	i, ik := mk("intermediate", true, r, rk)
	l, _ := mk("leaf", false, i, ik)
	return r.Raw, i.Raw, l.Raw
}

func TestOrderChain(t *testing.T) {
	root, inter, leaf := testChain(t)
	want := [][]byte{leaf, inter, root}
	cases := []struct {
		name string
		in   [][]byte
		leaf []byte
		want [][]byte
	}{
		{"leaf first", [][]byte{leaf, inter, root}, nil, want},
		{"root first (Sectigo x509)", [][]byte{root, inter, leaf}, nil, want},
		{"shuffled, duplicates", [][]byte{inter, root, leaf, inter}, nil, want},
		{"leaf given apart", [][]byte{inter, root}, leaf, want},
		{"leaf given, listed too", [][]byte{leaf, inter, root}, leaf, want},
		{"no root", [][]byte{inter, leaf}, nil, [][]byte{leaf, inter}},
		{"leaf alone", nil, leaf, [][]byte{leaf}},
		{"unrelated certificate dropped", [][]byte{leaf, root}, leaf, [][]byte{leaf}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := orderChain(c.in, c.leaf)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(c.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], c.want[i]) {
					t.Errorf("position %d differs", i)
				}
			}
		})
	}
	if _, err := orderChain(nil, nil); err == nil {
		t.Error("an empty answer must be an error")
	}
	if _, err := orderChain([][]byte{[]byte("junk")}, nil); err == nil {
		t.Error("junk must be an error")
	}
}

func TestPEMCertificates(t *testing.T) {
	root, inter, _ := testChain(t)
	text := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}))
	// JSON-escaped newlines, as some answers carry them.
	escaped := string(bytes.ReplaceAll(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inter}), []byte("\n"), []byte(`\n`)))
	got := pemCertificates(text, escaped)
	if len(got) != 2 || !bytes.Equal(got[0], root) || !bytes.Equal(got[1], inter) {
		t.Fatalf("got %d certificates", len(got))
	}
}

func TestVendorErrorVerdict(t *testing.T) {
	cases := []struct {
		status   int
		rejected bool
	}{
		{http.StatusBadRequest, true}, {http.StatusNotFound, true}, {http.StatusConflict, true},
		{http.StatusUnauthorized, false}, {http.StatusForbidden, false}, {http.StatusTooManyRequests, false},
		{http.StatusRequestTimeout, false}, {http.StatusInternalServerError, false}, {http.StatusServiceUnavailable, false},
	}
	for _, c := range cases {
		err := vendorError("v", "op", c.status, "msg")
		if IsRejected(err) != c.rejected {
			t.Errorf("HTTP %d: rejected %v, want %v (%v)", c.status, IsRejected(err), c.rejected, err)
		}
	}
}

func TestConfigInt(t *testing.T) {
	cases := []struct {
		v      any
		n      int64
		set    bool
		hasErr bool
	}{
		{nil, 0, false, false}, {"", 0, false, false}, {float64(42), 42, true, false}, {" 7 ", 7, true, false},
		{1.5, 0, true, true}, {"x", 0, true, true}, {true, 0, true, true},
	}
	for _, c := range cases {
		n, set, err := configInt(map[string]any{"k": c.v}, "k")
		if n != c.n || set != c.set || (err != nil) != c.hasErr {
			t.Errorf("%#v: got %d %v %v", c.v, n, set, err)
		}
	}
}

func TestVendorBase(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://one.digicert.com", "https://one.digicert.com"},
		{"https://one.digicert.com/mpki/api/v1/", "https://one.digicert.com"},
		{"https://h:8443/compat/digicert/", "https://h:8443/compat/digicert"},
		{"http://h", ""}, {"https://", ""}, {"https://h/?q=1", ""},
	}
	for _, c := range cases {
		got, ok := vendorBase(c.in, digicertAPI)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: got %q %v, want %q", c.in, got, ok, c.want)
		}
	}
}
