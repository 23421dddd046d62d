package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/issuance"
)

// runSignet measures OCSP through a whole Signet server: the native router,
// middleware and the SQLite inventory as the status source. Phase (d) runs
// a second server on the same data directory with the OCSP cache off, so
// every answer costs a store lookup and a signature.
func runSignet(o options) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-ocsp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startSignet(ctx, dir, 0)
	if err != nil {
		return err
	}
	issuer, serials, err := enrollFleet(ctx, srv.app, o.serials)
	if err != nil {
		srv.stop()
		return err
	}
	fx := &fixture{ca: issuer.Cert, key: issuer.Signer, serials: serials}
	plain, nonced, err := requests(fx)
	if err != nil {
		srv.stop()
		return err
	}
	fmt.Printf("Signet OCSP benchmark, whole server — %s, GOMAXPROCS=%d, %s per phase (max %d requests), %d HTTP clients, %d certificates (10%% revoked), signed by the issuing CA key (%s)\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), o.duration, o.max, o.concurrency, len(serials), issuer.CA.KeyType)
	if res := load(srv.url, plain, 1, time.Minute, len(plain)); res.errs > 0 {
		srv.stop()
		return fmt.Errorf("warming the cache: %d errors", res.errs)
	}
	var base, cached, nonce sample
	for range o.rounds {
		d, m := o.duration/time.Duration(o.rounds), o.max/o.rounds
		base.add(baseline(fx, d, m))
		cached.add(load(srv.url, plain, o.concurrency, d, m))
		nonce.add(load(srv.url, nonced, o.concurrency, d, m))
	}
	srv.stop()
	uncachedSrv, err := startSignet(ctx, dir, -1)
	if err != nil {
		return err
	}
	var uncached sample
	for range o.rounds {
		d, m := o.duration/time.Duration(o.rounds), o.max/o.rounds
		base.add(baseline(fx, d, m))
		uncached.add(load(uncachedSrv.url, plain, o.concurrency, d, m))
	}
	uncachedSrv.stop()
	b := base.rate()
	fmt.Println("| measurement | responses/s | ratio to (a) | p50 | p99 | errors |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, row := range []struct {
		name string
		s    *sample
	}{
		{"(a) in-process ocsp.CreateResponse with the issuing CA key, all cores", &base},
		{"(b) Signet /ocsp, cached (pre-signed)", &cached},
		{"(c) Signet /ocsp with nonce (store lookup + signature per request)", &nonce},
		{"(d) Signet /ocsp, cache off (store lookup + signature per request)", &uncached},
	} {
		p50, p99 := row.s.percentiles()
		fmt.Printf("| %s | %.0f | %.2f | %s | %s | %d |\n", row.name, row.s.rate(), row.s.rate()/b, p50, p99, row.s.errs)
	}
	return nil
}

type signetServer struct {
	app    *app.App
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startSignet(ctx context.Context, dir string, cacheSize int) (*signetServer, error) {
	cfg := config.Defaults()
	cfg.DataDir, cfg.Listen, cfg.InsecureHTTP = dir, "127.0.0.1:0", true
	cfg.KeyPassphrase, cfg.AdminAPIKey = "bench-passphrase-0123456789", "bench-admin-key-0123456789abcdef"
	cfg.OCSPCacheSize = cacheSize
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		return nil, err
	}
	ready := make(chan net.Addr, 1)
	s := &signetServer{app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, ready) }()
	select {
	case addr := <-ready:
		s.url = "http://" + addr.String() + "/ocsp"
		return s, nil
	case err := <-s.done:
		cancel()
		return nil, err
	}
}

func (s *signetServer) stop() {
	s.cancel()
	<-s.done
	_ = s.app.Close()
}

// enrollFleet issues n certificates from the default profile and revokes
// every tenth, through the services (no HTTP).
func enrollFleet(ctx context.Context, a *app.App, n int) (*ca.Issuer, []*big.Int, error) {
	ctx = auth.WithPrincipal(ctx, auth.System())
	var serials []*big.Int
	var issuerID string
	for i := range n {
		res, err := a.Issuance.Enroll(ctx, issuance.EnrollInput{Profile: "tls-server", Keygen: &issuance.Keygen{Algorithm: "ecdsa", Bits: 256},
			SANs: []string{fmt.Sprintf("host-%d.bench.example", i)}})
		if err != nil {
			return nil, nil, fmt.Errorf("enroll: %w", err)
		}
		c := res.Certificate
		issuerID = c.CAID
		if i%10 == 0 {
			if _, err := a.Issuance.Revoke(ctx, c.Serial, ocsp.KeyCompromise, nil); err != nil {
				return nil, nil, fmt.Errorf("revoke: %w", err)
			}
		}
		s, _ := new(big.Int).SetString(c.Serial, 16)
		serials = append(serials, s)
	}
	iss, err := a.CAs.Issuer(ctx, issuerID)
	if err != nil {
		return nil, nil, err
	}
	return iss, serials, nil
}
