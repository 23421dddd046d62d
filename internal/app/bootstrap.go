package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/certutil"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/policy"
	"github.com/signet-pki/signet/internal/problem"
	"github.com/signet-pki/signet/internal/profile"
	"github.com/signet-pki/signet/internal/store"
)

// Names of the objects created on first start.
const (
	RootCAName        = "signet-root"
	IssuingCAName     = "signet-issuing"
	DefaultProfile    = "tls-server"
	ClientProfile     = "tls-client"
	serverCertFile    = "server.crt"
	serverKeyFile     = "server.key"
	rootCAFile        = "ca-root.pem"
	serverRenewWindow = 30 * 24 * time.Hour
)

// Bootstrap is what a first start created.
type Bootstrap struct {
	RootCA      *store.CA
	IssuingCA   *store.CA
	AdminAPIKey string // empty when SIGNET_ADMIN_API_KEY supplied it
	// AdminPassword is the admin user's initial web UI password, printed
	// once; empty when SIGNET_ADMIN_PASSWORD supplied it.
	AdminPassword string
	RootCAPath    string
}

// bootstrap creates the default hierarchy, templates, profiles and admin key
// when the database has none. Each step is skipped if its object exists, so a
// first start interrupted half-way completes on the next one.
func (a *App) bootstrap(ctx context.Context) (*Bootstrap, error) {
	ctx = auth.WithPrincipal(ctx, auth.System())
	cas, _, err := a.CAs.List(ctx, store.ListQuery{Limit: 1})
	if err != nil {
		return nil, err
	}
	keys, err := a.APIKeys.CountKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(cas) > 0 && keys > 0 {
		return nil, nil
	}
	b := &Bootstrap{RootCAPath: filepath.Join(a.Config.DataDir, rootCAFile)}
	if b.RootCA, err = a.ensureCA(ctx, ca.CreateInput{Name: RootCAName, Kind: store.CARoot,
		Key:     ca.KeySpec{Algorithm: "ecdsa", Bits: 384},
		Subject: ca.Subject{CommonName: "Signet Root CA", Organization: []string{"Signet"}}, ValidityDays: 3652}); err != nil {
		return nil, err
	}
	pathLen := 0
	if b.IssuingCA, err = a.ensureCA(ctx, ca.CreateInput{Name: IssuingCAName, Kind: store.CAIntermediate, Parent: b.RootCA.ID,
		Key:     ca.KeySpec{Algorithm: "ecdsa", Bits: 256},
		Subject: ca.Subject{CommonName: "Signet Issuing CA", Organization: []string{"Signet"}}, ValidityDays: 1826, PathLen: &pathLen}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(b.RootCAPath, certutil.EncodeCertsPEM(b.RootCA.CertDER), 0o644); err != nil {
		return nil, fmt.Errorf("write root CA certificate: %w", err)
	}
	for _, d := range []struct {
		name, desc string
		spec       policy.Template
	}{
		{DefaultProfile, "TLS server certificates", policy.DefaultTLSServer()},
		{ClientProfile, "TLS client certificates", policy.DefaultTLSClient()},
	} {
		if err := a.ensureProfile(ctx, d.name, d.desc, d.spec, b.IssuingCA.ID); err != nil {
			return nil, err
		}
	}
	if keys == 0 {
		password := a.Config.AdminPassword
		if password == "" {
			if password, err = randomPassword(); err != nil {
				return nil, err
			}
			b.AdminPassword = password
		}
		admin, err := a.Directory.EnsurePrincipal(ctx, auth.NewPrincipal{Kind: store.PrincipalUser, Global: true,
			Name: "admin", DisplayName: "Signet administrator", Roles: []string{auth.RoleAdmin}, Password: password})
		if err != nil {
			return nil, fmt.Errorf("create admin principal: %w", err)
		}
		_, token, err := a.APIKeys.Create(ctx, auth.NewKey{Name: "admin", PrincipalID: admin.ID,
			Roles: []string{auth.RoleAdmin}, Secret: a.Config.AdminAPIKey})
		if err != nil {
			return nil, fmt.Errorf("create admin API key: %w", err)
		}
		if a.Config.AdminAPIKey == "" {
			b.AdminAPIKey = token
		}
	}
	return b, nil
}

// randomPassword is the admin user's first web UI password: 20 characters
// of base32 (100 bits), easy to type from the banner.
func randomPassword() (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("admin password: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:])), nil
}

func (a *App) ensureCA(ctx context.Context, in ca.CreateInput) (*store.CA, error) {
	rec, err := a.CAs.Get(ctx, in.Name)
	if err == nil {
		return rec, nil
	}
	if !isNotFound(err) {
		return nil, err
	}
	return a.CAs.Create(ctx, in)
}

func (a *App) ensureProfile(ctx context.Context, name, desc string, spec policy.Template, caID string) error {
	if _, err := a.Profiles.GetProfile(ctx, name); err == nil {
		return nil
	} else if !isNotFound(err) {
		return err
	}
	if _, err := a.Profiles.GetTemplate(ctx, name); isNotFound(err) {
		if _, err := a.Profiles.CreateTemplate(ctx, profile.TemplateInput{Name: name, Description: desc, Spec: spec}); err != nil {
			return fmt.Errorf("create template %s: %w", name, err)
		}
	}
	_, err := a.Profiles.CreateProfile(ctx, profile.ProfileInput{Name: name, Description: desc, Template: name, CA: caID,
		Approval: profile.ApprovalAuto, EnrollmentMethods: []string{"api", "acme", "est", "scep", "cmp", "sectigo"}, DeliveryFormat: "pem"})
	if err != nil {
		return fmt.Errorf("create profile %s: %w", name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	return problem.KindOf(err) == problem.KindNotFound
}

// serverTLS returns the HTTPS configuration with a server certificate from
// Signet's own CA, issued on first start and renewed when it nears expiry.
// Its key is a web server key, kept 0600 in the data directory like any.
func (a *App) serverTLS(ctx context.Context) (*tls.Config, error) {
	certPath := filepath.Join(a.Config.DataDir, serverCertFile)
	keyPath := filepath.Join(a.Config.DataDir, serverKeyFile)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil && pair.Leaf != nil && a.now().Add(serverRenewWindow).Before(pair.Leaf.NotAfter) {
		return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
	}
	host, _, _ := net.SplitHostPort(a.Config.Listen)
	sans := []string{"localhost", "127.0.0.1", "::1"}
	if host != "" && host != "0.0.0.0" && host != "::" && host != "localhost" && host != "127.0.0.1" {
		sans = append(sans, host)
	}
	if hn, err := os.Hostname(); err == nil && hn != "" && hn != "localhost" {
		sans = append(sans, hn)
	}
	ctx = auth.WithPrincipal(ctx, auth.System())
	res, err := a.Issuance.Enroll(ctx, issuance.EnrollInput{Profile: DefaultProfile, Keygen: &issuance.Keygen{Algorithm: "ecdsa", Bits: 256},
		Subject: ca.Subject{CommonName: "localhost"}, SANs: sans, ValidityDays: 90, Owner: "system"})
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	chain := append([]byte{}, certutil.EncodeCertsPEM(append([][]byte{res.Certificate.DER}, res.Chain...)...)...)
	if err := writeFileAtomic(keyPath, res.PrivateKeyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, chain, 0o644); err != nil {
		return nil, err
	}
	pair, err = tls.X509KeyPair(chain, res.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	if pair.Leaf == nil {
		pair.Leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
