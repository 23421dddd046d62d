// Command acme measures full ACME orders per second through Signet's ACME
// server — new-order, http-01 challenge validated over the network,
// finalize, certificate download — with Go ACME clients
// (golang.org/x/crypto/acme), next to the native API's issuance rate
// measured in the same run on the same server.
//
//	go run ./bench/acme -duration 10s -concurrency 8
//
// The load is bounded (each phase stops after -duration or -max
// operations) and stays on 127.0.0.1: the server, its http-01 challenge
// server and every client run in this process.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/signet-pki/signet/bench/internal/loadgen"
	"github.com/signet-pki/signet/internal/config"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	maxOps := flag.Int("max", 100000, "upper bound on operations per phase")
	conc := flag.Int("concurrency", 8, "concurrent clients")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the ACME phase here")
	flag.Parse()
	if err := run(*duration, *maxOps, *conc, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// challenges is the http-01 responder every client publishes its key
// authorizations through.
type challenges struct{ m sync.Map }

func (c *challenges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v, ok := c.m.Load(strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/")); ok {
		_, _ = io.WriteString(w, v.(string))
		return
	}
	http.NotFound(w, r)
}

func run(duration time.Duration, maxOps, conc int, cpuProfile string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chal := &challenges{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	chalSrv := &http.Server{Handler: chal, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = chalSrv.Serve(ln) }()
	defer chalSrv.Close()

	s, err := loadgen.StartSignet(ctx, "acme", conc, func(cfg *config.Config) {
		cfg.ACME = config.ACME{HTTP01Port: ln.Addr().(*net.TCPAddr).Port, Resolve: []string{"*.bench.test=127.0.0.1"}}
	})
	if err != nil {
		return err
	}
	defer s.Close()

	fmt.Printf("Signet ACME benchmark — %s, GOMAXPROCS=%d, %s per phase, concurrency %d, P-256 keys, SQLite synchronous=FULL\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), duration, conc)
	native, err := s.NativePhase(ctx, conc, duration, maxOps)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	orders, err := acmePhase(ctx, s.Base, s.Client, chal, conc, duration, maxOps)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	fmt.Println(loadgen.TableHeader)
	fmt.Println(native.Row("native API: POST /api/v1/certificates with a CSR", native))
	fmt.Println(orders.Row("ACME: new-order → http-01 → finalize → download", native))
	if orders.FirstErr != nil {
		fmt.Println("\nfirst ACME error:", orders.FirstErr)
	}
	return nil
}

// acmePhase runs full orders, one registered account per worker.
func acmePhase(ctx context.Context, base string, hc *http.Client, chal *challenges, conc int, duration time.Duration, maxOps int) (loadgen.Result, error) {
	clients := make([]*acme.Client, conc)
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return loadgen.Result{}, err
	}
	for i := range clients {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return loadgen.Result{}, err
		}
		clients[i] = &acme.Client{Key: key, DirectoryURL: base + "/acme/tls-server/directory", HTTPClient: hc}
		if _, err := clients[i].Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
			return loadgen.Result{}, fmt.Errorf("register: %w", err)
		}
	}
	return loadgen.Phase(ctx, conc, duration, maxOps, func(ctx context.Context, w int, n int64) error {
		return order(ctx, clients[w], chal, certKey, fmt.Sprintf("o%d.bench.test", n))
	}), nil
}

// order is one full ACME order for name.
func order(ctx context.Context, c *acme.Client, chal *challenges, key *ecdsa.PrivateKey, name string) error {
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
	if err != nil {
		return fmt.Errorf("new order: %w", err)
	}
	z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	var http01 *acme.Challenge
	for _, ch := range z.Challenges {
		if ch.Type == "http-01" {
			http01 = ch
		}
	}
	if http01 == nil {
		return errors.New("no http-01 challenge")
	}
	ka, err := c.HTTP01ChallengeResponse(http01.Token)
	if err != nil {
		return err
	}
	chal.m.Store(http01.Token, ka)
	defer chal.m.Delete(http01.Token)
	if _, err := c.Accept(ctx, http01); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	if _, err := c.WaitAuthorization(ctx, o.AuthzURLs[0]); err != nil {
		return fmt.Errorf("wait authorization: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return err
	}
	chain, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if len(chain) < 2 {
		return fmt.Errorf("chain of %d certificates", len(chain))
	}
	return nil
}
