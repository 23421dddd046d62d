package revocation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// x509Template is the crypto/x509 equivalent of a CreateCRL input.
func x509Template(tmpl *CRLTemplate, entries []Entry) *x509.RevocationList {
	rl := &x509.RevocationList{
		Number:             tmpl.Number,
		ThisUpdate:         tmpl.ThisUpdate,
		NextUpdate:         tmpl.NextUpdate,
		SignatureAlgorithm: tmpl.SignatureAlgorithm,
	}
	if tmpl.BaseNumber != nil {
		v, _ := asn1.Marshal(tmpl.BaseNumber)
		rl.ExtraExtensions = append(rl.ExtraExtensions, pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: v})
	}
	rl.ExtraExtensions = append(rl.ExtraExtensions, tmpl.ExtraExtensions...)
	for _, e := range entries {
		re := x509.RevocationListEntry{SerialNumber: e.Serial, RevocationTime: e.RevokedAt, ReasonCode: e.Reason}
		if !e.InvalidityDate.IsZero() {
			v, _ := asn1.MarshalWithParams(e.InvalidityDate.UTC(), "generalized")
			re.ExtraExtensions = []pkix.Extension{{Id: oidInvalidityDate, Value: v}}
		}
		rl.RevokedCertificateEntries = append(rl.RevokedCertificateEntries, re)
	}
	return rl
}

var oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}

func TestCreateCRLMatchesX509(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 30, 15, 123456789, time.UTC)
	cas := map[string]*testCA{}
	for _, k := range []string{"p256", "p384", "p521", "rsa2048", "ed25519"} {
		cas[k] = newTestCA(t, k, "CRL Test CA "+k, now.Add(-time.Hour), 10*365*24*time.Hour)
	}
	serial := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 0)
		if !ok {
			t.Fatalf("bad serial %q", s)
		}
		return n
	}
	several := []Entry{
		{Serial: serial("0"), RevokedAt: now.Add(-48 * time.Hour)},
		{Serial: serial("1"), RevokedAt: now.Add(-47 * time.Hour), Reason: 1},
		{Serial: serial("0x7f"), RevokedAt: now.Add(-46 * time.Hour), Reason: 4, InvalidityDate: now.Add(-100 * time.Hour)},
		{Serial: serial("0x80"), RevokedAt: now.Add(-45 * time.Hour), InvalidityDate: now.Add(-99 * time.Hour)},
		{Serial: serial("0xff00"), RevokedAt: now.Add(-44 * time.Hour), Reason: 6},
		{Serial: serial("0x7fffffffffffffffffffffffffffffff"), RevokedAt: now.Add(-time.Minute), Reason: 10},
		{Serial: serial("0x8000000000000000000000000000000000000000"), RevokedAt: now, Reason: 9},
		{Serial: serial("0x123456789abcdef0"), RevokedAt: time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC), Reason: 5},
		{Serial: serial("0x123456789abcdef1"), RevokedAt: time.Date(2051, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), Reason: 3},
	}
	tests := []struct {
		name    string
		ca      string
		entries []Entry
		tmpl    CRLTemplate
	}{
		{name: "empty p256", ca: "p256"},
		{name: "one entry p256", ca: "p256", entries: several[1:2]},
		{name: "one entry no reason rsa", ca: "rsa2048", entries: several[:1]},
		{name: "several p256", ca: "p256", entries: several},
		{name: "several p384", ca: "p384", entries: several},
		{name: "several p521", ca: "p521", entries: several},
		{name: "several rsa", ca: "rsa2048", entries: several},
		{name: "several rsa sha384", ca: "rsa2048", entries: several, tmpl: CRLTemplate{SignatureAlgorithm: x509.SHA384WithRSA}},
		{name: "several ed25519", ca: "ed25519", entries: several},
		{name: "empty ed25519", ca: "ed25519"},
		{name: "delta p256", ca: "p256", entries: append([]Entry{{Serial: big.NewInt(99), RevokedAt: now, Reason: 8}}, several[2:5]...),
			tmpl: CRLTemplate{BaseNumber: big.NewInt(41)}},
		{name: "empty delta rsa", ca: "rsa2048", tmpl: CRLTemplate{BaseNumber: big.NewInt(0)}},
		{name: "nextUpdate after 2049", ca: "p256", entries: several[:2],
			tmpl: CRLTemplate{NextUpdate: time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "big number and extra extension", ca: "p256", entries: several[:3],
			tmpl: CRLTemplate{Number: serial("0x7fffffffffffffffffffffffffffffffffffffff"),
				ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: []byte{0x30, 0x03, 0x81, 0x01, 0xff}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca := cas[tc.ca]
			tmpl := tc.tmpl
			if tmpl.Number == nil {
				tmpl.Number = big.NewInt(42)
			}
			tmpl.ThisUpdate = now
			if tmpl.NextUpdate.IsZero() {
				tmpl.NextUpdate = now.Add(24 * time.Hour)
			}
			der, err := CreateCRL(context.Background(), &tmpl, ca.cert, ca.key, EntryList(tc.entries))
			if err != nil {
				t.Fatalf("CreateCRL: %v", err)
			}
			got, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatalf("ParseRevocationList: %v", err)
			}
			if err := got.CheckSignatureFrom(ca.cert); err != nil {
				t.Fatalf("CheckSignatureFrom: %v", err)
			}
			wantDER, err := x509.CreateRevocationList(rand.Reader, x509Template(&tmpl, tc.entries), ca.cert, ca.key)
			if err != nil {
				t.Fatalf("x509.CreateRevocationList: %v", err)
			}
			want, err := x509.ParseRevocationList(wantDER)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.RawTBSRevocationList, want.RawTBSRevocationList) {
				t.Fatalf("TBS differs from crypto/x509\n got %x\nwant %x", got.RawTBSRevocationList, want.RawTBSRevocationList)
			}
			if tc.ca == "rsa2048" || tc.ca == "ed25519" { // deterministic signatures: the whole CRL matches
				if !bytes.Equal(der, wantDER) {
					t.Fatalf("CRL differs from crypto/x509\n got %x\nwant %x", der, wantDER)
				}
			}
			if len(got.RevokedCertificateEntries) != len(tc.entries) {
				t.Fatalf("%d entries, want %d", len(got.RevokedCertificateEntries), len(tc.entries))
			}
			for i, e := range got.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(tc.entries[i].Serial) != 0 || e.ReasonCode != tc.entries[i].Reason {
					t.Errorf("entry %d = %v reason %d, want %v reason %d", i, e.SerialNumber, e.ReasonCode, tc.entries[i].Serial, tc.entries[i].Reason)
				}
			}
		})
	}
}

// changingSource yields first on the first pass and second afterwards.
type changingSource struct {
	first, second []Entry
	calls         int
}

func (s *changingSource) Entries(ctx context.Context, yield func(Entry) error) error {
	s.calls++
	l := s.first
	if s.calls > 1 {
		l = s.second
	}
	return EntryList(l).Entries(ctx, yield)
}

func TestCreateCRLRejects(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	ca := newTestCA(t, "p256", "Reject CA", now.Add(-time.Hour), 24*time.Hour)
	other := newTestCA(t, "p256", "Other CA", now.Add(-time.Hour), 24*time.Hour)
	noSKI := *ca.cert
	noSKI.SubjectKeyId = nil
	noCRLSign := *ca.cert
	noCRLSign.KeyUsage = x509.KeyUsageCertSign
	ok := Entry{Serial: big.NewInt(5), RevokedAt: now}
	good := func() *CRLTemplate {
		return &CRLTemplate{Number: big.NewInt(3), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	}
	with := func(f func(*CRLTemplate)) *CRLTemplate { tm := good(); f(tm); return tm }
	tests := []struct {
		name    string
		tmpl    *CRLTemplate
		issuer  *x509.Certificate
		src     EntrySource
		wantErr string
		is      error
	}{
		{name: "nil serial", src: EntryList{{RevokedAt: now}}, wantErr: "missing serial"},
		{name: "negative serial", src: EntryList{{Serial: big.NewInt(-1), RevokedAt: now}}, wantErr: "negative serial"},
		{name: "no revocation date", src: EntryList{{Serial: big.NewInt(1)}}, wantErr: "missing revocation date"},
		{name: "reason 7", src: EntryList{{Serial: big.NewInt(1), RevokedAt: now, Reason: 7}}, wantErr: "invalid reason code 7"},
		{name: "reason 11", src: EntryList{{Serial: big.NewInt(1), RevokedAt: now, Reason: 11}}, wantErr: "invalid reason code 11"},
		{name: "removeFromCRL in full CRL", src: EntryList{{Serial: big.NewInt(1), RevokedAt: now, Reason: 8}}, wantErr: "only allowed in a delta"},
		{name: "year 10000", src: EntryList{{Serial: big.NewInt(1), RevokedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, wantErr: "outside the years"},
		{name: "no number", tmpl: with(func(tm *CRLTemplate) { tm.Number = nil }), wantErr: "CRL number: missing"},
		{name: "number too long", tmpl: with(func(tm *CRLTemplate) { tm.Number = new(big.Int).Lsh(big.NewInt(1), 159) }), wantErr: "exceeds 20 octets"},
		{name: "base not below number", tmpl: with(func(tm *CRLTemplate) { tm.BaseNumber = big.NewInt(3) }), wantErr: "must exceed its base"},
		{name: "next before this", tmpl: with(func(tm *CRLTemplate) { tm.NextUpdate = now.Add(-time.Second) }), wantErr: "precedes"},
		{name: "no next update", tmpl: with(func(tm *CRLTemplate) { tm.NextUpdate = time.Time{} }), wantErr: "needs thisUpdate and nextUpdate"},
		{name: "duplicate extension", tmpl: with(func(tm *CRLTemplate) {
			tm.ExtraExtensions = []pkix.Extension{{Id: oidCRLNumber, Value: []byte{2, 1, 1}}}
		}), wantErr: "written by the encoder"},
		{name: "wrong algorithm", tmpl: with(func(tm *CRLTemplate) { tm.SignatureAlgorithm = x509.SHA256WithRSA }), wantErr: "does not fit"},
		{name: "issuer without SKI", issuer: &noSKI, wantErr: "no subject key identifier"},
		{name: "issuer without cRLSign", issuer: &noCRLSign, wantErr: "cRLSign"},
		{name: "signer of another CA", issuer: other.cert, wantErr: "does not hold"},
		{name: "source grows", src: &changingSource{first: []Entry{ok}, second: []Entry{ok, ok}}, is: ErrSourceChanged},
		{name: "source shrinks", src: &changingSource{first: []Entry{ok, ok}, second: []Entry{ok}}, is: ErrSourceChanged},
		{name: "entry grows", src: &changingSource{first: []Entry{ok}, second: []Entry{{Serial: big.NewInt(5), RevokedAt: now, Reason: 1}}}, is: ErrSourceChanged},
		{name: "source error", src: EntrySourceFunc(func(context.Context, func(Entry) error) error { return errors.New("disk on fire") }), wantErr: "disk on fire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, issuer, src := tc.tmpl, tc.issuer, tc.src
			if tmpl == nil {
				tmpl = good()
			}
			if issuer == nil {
				issuer = ca.cert
			}
			if src == nil {
				src = EntryList{ok}
			}
			_, err := CreateCRL(context.Background(), tmpl, issuer, ca.key, src)
			switch {
			case err == nil:
				t.Fatal("CreateCRL succeeded")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("err = %v, want %v", err, tc.is)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestCreateCRLCancelled(t *testing.T) {
	now := time.Now()
	ca := newTestCA(t, "p256", "Cancel CA", now.Add(-time.Hour), 24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := newGeneratedSource(10000, now, 1)
	_, err := CreateCRL(ctx, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, ca.cert, ca.key, src)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestCRLPEM(t *testing.T) {
	now := time.Now()
	ca := newTestCA(t, "p256", "PEM CA", now.Add(-time.Hour), 24*time.Hour)
	der, err := CreateCRL(context.Background(), &CRLTemplate{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour)},
		ca.cert, ca.key, EntryList{{Serial: big.NewInt(7), RevokedAt: now, Reason: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCRLPEM(&buf, der); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), EncodeCRLPEM(der)) {
		t.Fatal("WriteCRLPEM and EncodeCRLPEM differ")
	}
	block, rest := pem.Decode(buf.Bytes())
	if block == nil || block.Type != "X509 CRL" || len(rest) != 0 || !bytes.Equal(block.Bytes, der) {
		t.Fatalf("PEM does not round-trip: %q", buf.String())
	}
}
