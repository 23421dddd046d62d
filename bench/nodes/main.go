// Command nodes measures HTTP issuance on SQLite, on PostgreSQL with one
// node and with two nodes sharing the database, in one run, each as a
// ratio to the in-process signing rate measured in the same run. Every
// certificate is durably recorded before it is returned.
//
//	go run ./bench/nodes -duration 8s -concurrency 16
//
// PostgreSQL: a throwaway database is created through -postgres (default
// postgres://root@127.0.0.1:5432/postgres?sslmode=disable) and dropped.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/config"
)

const adminKey = "bench-admin-key-0123456789abcdefghij"

func main() {
	d := flag.Duration("duration", 8*time.Second, "length of each phase")
	c := flag.Int("concurrency", 16, "concurrent clients")
	pg := flag.String("postgres", "postgres://root@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL")
	flag.Parse()
	if err := run(*d, *c, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(d time.Duration, conc int, admin string) error {
	ctx := context.Background()
	csrs, err := makeCSRs(256)
	if err != nil {
		return err
	}
	dbURL, drop, err := throwawayDB(ctx, admin)
	if err != nil {
		return err
	}
	defer drop()
	base := baseline(d)
	type row struct {
		name string
		rate float64
	}
	var rows []row
	// SQLite, one node.
	s, err := start(ctx, "")
	if err != nil {
		return err
	}
	rows = append(rows, row{"SQLite, one node", load([]string{s.url}, csrs, conc, d)})
	s.stop()
	// PostgreSQL, one node, then two.
	a, err := start(ctx, dbURL)
	if err != nil {
		return err
	}
	rows = append(rows, row{"PostgreSQL, one node", load([]string{a.url}, csrs, conc, d)})
	b, err := start(ctx, dbURL)
	if err != nil {
		a.stop()
		return err
	}
	rows = append(rows, row{"PostgreSQL, two nodes (clients split)", load([]string{a.url, b.url}, csrs, conc, d)})
	b.stop()
	a.stop()
	fmt.Printf("Signet issuance across backends — %s, GOMAXPROCS=%d, %v per phase, %d clients, P-256 CSRs\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), d, conc)
	fmt.Println("| measurement | certificates/s | ratio to in-process signing |")
	fmt.Println("| --- | ---: | ---: |")
	fmt.Printf("| in-process signing (x509.CreateCertificate, P-256, all cores) | %.0f | 1.00 |\n", base)
	for _, r := range rows {
		fmt.Printf("| %s | %.0f | %.3f |\n", r.name, r.rate, r.rate/base)
	}
	fmt.Printf("\ntwo PostgreSQL nodes / one: %.2f\n", rows[2].rate/rows[1].rate)
	return nil
}

type node struct {
	url  string
	stop func()
}

func start(ctx context.Context, database string) (*node, error) {
	dir, err := os.MkdirTemp("", "signet-nodes-bench-")
	if err != nil {
		return nil, err
	}
	cfg := config.Defaults()
	cfg.DataDir, cfg.Listen, cfg.InsecureHTTP, cfg.Database = dir, "127.0.0.1:0", true, database
	cfg.KeyPassphrase, cfg.AdminAPIKey = "bench-passphrase-0123456789", adminKey
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
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ready) }()
	addr := <-ready
	return &node{url: "http://" + addr.String(), stop: func() {
		cancel()
		<-done
		_ = a.Close()
		_ = os.RemoveAll(dir)
	}}, nil
}

func throwawayDB(ctx context.Context, admin string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	name := fmt.Sprintf("signet_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	u := strings.Replace(admin, "/postgres?", "/"+name+"?", 1)
	return u, func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
		conn.Close(context.Background())
	}, nil
}

// baseline signs leaves with a P-256 CA key on every core.
func baseline(d time.Duration) float64 {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, key.Public(), key)
	ca, _ := x509.ParseCertificate(der)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var n atomic.Int64
	deadline := time.Now().Add(d / 2)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int64(2); time.Now().Before(deadline); i++ {
				t := &x509.Certificate{SerialNumber: big.NewInt(i), Subject: pkix.Name{CommonName: "x.example.com"},
					DNSNames: []string{"x.example.com"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
				if _, err := x509.CreateCertificate(rand.Reader, t, ca, leafKey.Public(), key); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func makeCSRs(n int) ([][]byte, error) {
	var out [][]byte
	for i := range n {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("host-%d.bench.example.com", i)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name},
			DNSNames: []string{name}}, key)
		if err != nil {
			return nil, err
		}
		csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		body := fmt.Sprintf(`{"profile":"tls-server","csr":%q}`, csr)
		out = append(out, []byte(body))
	}
	return out, nil
}

// load enrolls from conc clients spread over the nodes for d.
func load(urls []string, bodies [][]byte, conc int, d time.Duration) float64 {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			url := urls[w%len(urls)] + "/api/v1/certificates"
			for i := w; time.Now().Before(deadline); i += conc {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Authorization", "Bearer "+adminKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds()
}
