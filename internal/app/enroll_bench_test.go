package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/issuance"
)

func BenchmarkEnrollDirect(b *testing.B) {
	cfg := config.Defaults()
	cfg.DataDir, cfg.Listen, cfg.InsecureHTTP = b.TempDir(), "127.0.0.1:0", true
	cfg.AdminAPIKey, cfg.KeyPassphrase = "bench-admin-key-0123456789abcdefghij", "bench-passphrase-123456"
	_ = cfg.Validate()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x.example.com"}, DNSNames: []string{"x.example.com"}}, key)
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	ctx := auth.WithPrincipal(context.Background(), auth.System())
	var n atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n.Add(1) <= int64(b.N) {
				if _, err := a.Issuance.Enroll(ctx, issuance.EnrollInput{Profile: "tls-server", CSR: csr}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "certs/s")
}
