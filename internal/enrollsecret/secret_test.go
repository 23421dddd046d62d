package enrollsecret_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/enrollsecret"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/testutil"
)

// fixture is a real server's store and profiles (SQLite) with a secrets
// service whose clock the test moves.
type fixture struct {
	svc     *enrollsecret.Service
	now     atomic.Pointer[time.Time]
	admin   context.Context
	profile string // the default tls-server profile's id
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := testutil.StartServer(t)
	f := &fixture{admin: auth.WithPrincipal(context.Background(), auth.System())}
	start := time.Now().UTC()
	f.now.Store(&start)
	f.svc = enrollsecret.New(srv.App.Store, srv.App.Profiles, srv.App.Directory, func() time.Time { return *f.now.Load() })
	prof, err := srv.App.Profiles.Resolve(f.admin, "tls-server")
	if err != nil {
		t.Fatal(err)
	}
	f.profile = prof.Profile.ID
	return f
}

func (f *fixture) advance(d time.Duration) {
	n := f.now.Load().Add(d)
	f.now.Store(&n)
}

func (f *fixture) create(t *testing.T, in enrollsecret.Input) *enrollsecret.Secret {
	t.Helper()
	s, err := f.svc.Create(f.admin, in)
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}
	if _, ok := enrollsecret.SecretID(s.Value); !ok {
		t.Fatalf("secret %q does not have the secret shape", s.Value)
	}
	return s
}

func wantKind(t *testing.T, what string, err error, kind problem.Kind) {
	t.Helper()
	if err == nil || problem.KindOf(err) != kind {
		t.Fatalf("%s: got %v, want a %v problem", what, err, kind)
	}
}

func TestConsumeOnceAndBindings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	est := enrollsecret.Use{ProfileID: f.profile, Protocol: "est", CommonName: "dev1", For: "tx1"}
	for _, tc := range []struct {
		name string
		in   enrollsecret.Input
		use  enrollsecret.Use
		kind problem.Kind // 0 (internal) never expected: 255 means success
	}{
		{"any protocol", enrollsecret.Input{Profile: "tls-server"}, est, 255},
		{"its protocol", enrollsecret.Input{Profile: "tls-server", Protocol: "est"}, est, 255},
		{"another protocol", enrollsecret.Input{Profile: "tls-server", Protocol: "scep"}, est, problem.KindUnauthorized},
		{"its subject", enrollsecret.Input{Profile: "tls-server", Subject: "DEV1"}, est, 255},
		{"another subject", enrollsecret.Input{Profile: "tls-server", Subject: "dev2"}, est, problem.KindForbidden},
		{"another profile", enrollsecret.Input{Profile: "tls-client"}, est, problem.KindUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.create(t, tc.in)
			used, err := f.svc.Consume(ctx, s.Value, tc.use)
			if tc.kind != 255 {
				wantKind(t, "consume", err, tc.kind)
				return
			}
			if err != nil || used.ID != s.ID || used.Principal("").ID != s.ID || !used.Principal("").Allows(auth.PermEnroll) {
				t.Fatalf("consume: %v %+v", err, used)
			}
			_, err = f.svc.Consume(ctx, s.Value, tc.use)
			wantKind(t, "replay", err, problem.KindUnauthorized)
			// The use that consumed it may present it again (a poll); another may not.
			if _, err := f.svc.Verify(ctx, s.Value, tc.use); err != nil {
				t.Fatalf("verify for the same use: %v", err)
			}
			other := tc.use
			other.For = "tx2"
			_, err = f.svc.Verify(ctx, s.Value, other)
			wantKind(t, "verify for another use", err, problem.KindUnauthorized)
		})
	}
}

func TestWrongAndExpiredSecrets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	use := enrollsecret.Use{ProfileID: f.profile, Protocol: "scep", For: "tx"}
	s := f.create(t, enrollsecret.Input{Profile: "tls-server", ExpiresIn: 3600})
	tampered := []byte(s.Value)
	tampered[len(tampered)-1] ^= 1
	for _, bad := range []string{"", "nope", string(tampered), s.Value + "x", "sgt_abc.def"} {
		_, err := f.svc.Consume(ctx, bad, use)
		wantKind(t, "consume "+bad, err, problem.KindUnauthorized)
	}
	f.advance(2 * time.Hour)
	_, err := f.svc.Consume(ctx, s.Value, use)
	wantKind(t, "expired", err, problem.KindUnauthorized)
	if got, err := f.svc.Get(f.admin, s.ID); err != nil || got.Status != "expired" || got.Value != "" {
		t.Fatalf("expired secret view: %v %+v", err, got)
	}
	// A month after expiry, making a new secret sweeps the old one away.
	f.advance(31 * 24 * time.Hour)
	f.create(t, enrollsecret.Input{Profile: "tls-server"})
	_, err = f.svc.Get(f.admin, s.ID)
	wantKind(t, "swept secret", err, problem.KindNotFound)
}

func TestConcurrentUseHasOneWinner(t *testing.T) {
	f := newFixture(t)
	s := f.create(t, enrollsecret.Input{Profile: "tls-server"})
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			use := enrollsecret.Use{ProfileID: f.profile, Protocol: "est", For: "tx" + string(rune('a'+i))}
			if _, err := f.svc.Consume(context.Background(), s.Value, use); err == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses succeeded, want exactly 1", wins.Load())
	}
}

func TestReleaseGivesTheSecretBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := f.create(t, enrollsecret.Input{Profile: "tls-server"})
	use := enrollsecret.Use{ProfileID: f.profile, Protocol: "est", For: "tx1"}
	if _, err := f.svc.Consume(ctx, s.Value, use); err != nil {
		t.Fatal(err)
	}
	// Only the use that consumed it releases it.
	if err := f.svc.Release(ctx, s.ID, "someone-else"); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Consume(ctx, s.Value, use)
	wantKind(t, "still used", err, problem.KindUnauthorized)
	if err := f.svc.Release(ctx, s.ID, "tx1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Consume(ctx, s.Value, use); err != nil {
		t.Fatalf("released secret: %v", err)
	}
}

func TestAdministrationNeedsAManager(t *testing.T) {
	f := newFixture(t)
	requester := auth.WithPrincipal(context.Background(), &auth.Principal{ID: "prn_r", Kind: "user", OrgID: "", Roles: []string{auth.RoleRequester}})
	_, err := f.svc.Create(requester, enrollsecret.Input{Profile: "tls-server"})
	wantKind(t, "requester creates", err, problem.KindForbidden)
	_, _, err = f.svc.List(requester, "", 10, "")
	wantKind(t, "requester lists", err, problem.KindForbidden)
	_, err = f.svc.Create(context.Background(), enrollsecret.Input{Profile: "tls-server"})
	wantKind(t, "anonymous creates", err, problem.KindUnauthorized)
	for _, in := range []enrollsecret.Input{{}, {Profile: "tls-server", Protocol: "ftp"},
		{Profile: "tls-server", Protocol: "cmp"}, {Profile: "tls-server", ExpiresIn: 5}} {
		_, err := f.svc.Create(f.admin, in)
		wantKind(t, "invalid input", err, problem.KindInvalid)
	}
	s := f.create(t, enrollsecret.Input{Profile: "tls-server", Name: "router-7"})
	items, _, err := f.svc.List(f.admin, "", 10, "")
	if err != nil || len(items) != 1 || items[0].ID != s.ID || items[0].Value != "" || items[0].Name != "router-7" {
		t.Fatalf("list: %v %+v", err, items)
	}
	if err := f.svc.Delete(f.admin, s.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Consume(context.Background(), s.Value, enrollsecret.Use{ProfileID: f.profile, Protocol: "est"})
	wantKind(t, "deleted secret", err, problem.KindUnauthorized)
}

func TestStaticChallenge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if ok, err := f.svc.CheckStatic(ctx, f.profile, "scep", "anything-at-all-123"); ok || err != nil {
		t.Fatalf("no static challenge set: %v %v", ok, err)
	}
	_, err := f.svc.SetStatic(f.admin, "tls-server", "scep", "short")
	wantKind(t, "short challenge", err, problem.KindInvalid)
	st, err := f.svc.SetStatic(f.admin, "tls-server", "scep", "")
	if err != nil || len(st.Value) < 16 {
		t.Fatalf("generated challenge: %v %+v", err, st)
	}
	for _, tc := range []struct {
		protocol, value string
		want            bool
	}{{"scep", st.Value, true}, {"scep", st.Value + "x", false}, {"est", st.Value, false}} {
		if ok, err := f.svc.CheckStatic(ctx, f.profile, tc.protocol, tc.value); ok != tc.want || err != nil {
			t.Errorf("CheckStatic(%s, %q) = %v, %v; want %v", tc.protocol, tc.value, ok, err, tc.want)
		}
	}
	if err := f.svc.DeleteStatic(f.admin, "tls-server", "scep"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.svc.CheckStatic(ctx, f.profile, "scep", st.Value); ok {
		t.Fatal("deleted static challenge still accepted")
	}
}

// plainCSR is the CertificationRequestInfo of a CSR without attributes.
func plainCSR(t testing.TB) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificateRequest(der)
	return c.RawTBSCertificateRequest
}

func TestChallengePassword(t *testing.T) {
	// A CSR without attributes has no challenge.
	if cp, err := enrollsecret.ChallengePassword(plainCSR(t)); cp != "" || err != nil {
		t.Fatalf("no challenge: %q %v", cp, err)
	}
	// Hand-built CertificationRequestInfo with a UTF8String challengePassword.
	pw, _ := asn1.MarshalWithParams("s3cret", "utf8")
	type attr struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	a, _ := asn1.Marshal(attr{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, Values: []asn1.RawValue{{FullBytes: pw}}})
	info, _ := asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}{0, asn1.RawValue{FullBytes: []byte{0x30, 0}}, asn1.RawValue{FullBytes: []byte{0x30, 0}}, []asn1.RawValue{{FullBytes: a}}})
	if cp, err := enrollsecret.ChallengePassword(info); cp != "s3cret" || err != nil {
		t.Fatalf("challenge: %q %v", cp, err)
	}
	if _, err := enrollsecret.ChallengePassword([]byte{0x30, 0x03, 0x02}); err == nil {
		t.Fatal("truncated input accepted")
	}
}

func FuzzChallengePassword(f *testing.F) {
	f.Add(plainCSR(f))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = enrollsecret.ChallengePassword(b) // must not panic
	})
}
