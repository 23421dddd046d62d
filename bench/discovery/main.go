// Command discovery measures how fast endpoints are scanned and graded:
// n local TLS servers on 127.0.0.1, probed with a fixed concurrency, next
// to the plain TLS handshake rate measured in the same run (one endpoint's
// probe is several dozen handshakes: one per version and cipher suite).
//
//	go run ./bench/discovery -servers 40 -concurrency 8
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/discovery"
)

func main() {
	servers := flag.Int("servers", 40, "local TLS servers")
	concurrency := flag.Int("concurrency", 8, "endpoints probed at once")
	flag.Parse()
	if err := run(*servers, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, concurrency int) error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var eps []discovery.Endpoint
	for range n {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			return err
		}
		defer ln.Close()
		go serve(ln)
		eps = append(eps, discovery.Endpoint{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
	}
	// Baseline: plain TLS 1.3 handshakes against the same servers, same concurrency.
	var hs atomic.Int64
	deadline := time.Now().Add(3 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i += concurrency {
				c, err := tls.Dial("tcp", eps[i%len(eps)].String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // benchmark
				if err == nil {
					c.Close()
					hs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	handshakes := float64(hs.Load()) / time.Since(start).Seconds()

	p := &discovery.Prober{Timeout: 5 * time.Second, Parallelism: 1}
	start = time.Now()
	sem := make(chan struct{}, concurrency)
	var graded atomic.Int64
	for _, e := range eps {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := p.Probe(context.Background(), e)
			if discovery.Rate(o, time.Now()).Grade != "" {
				graded.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	rate := float64(graded.Load()) / el.Seconds()
	fmt.Printf("Signet discovery benchmark — %s, GOMAXPROCS=%d, %d local TLS servers, concurrency %d\n\n", runtime.Version(),
		runtime.GOMAXPROCS(0), n, concurrency)
	fmt.Println("| measurement | per second | ratio |")
	fmt.Println("| --- | ---: | ---: |")
	fmt.Printf("| baseline: plain TLS handshakes | %.0f | 1.00 |\n", handshakes)
	fmt.Printf("| endpoints fully probed and graded (%d in %v) | %.1f | %.3f (%.0f handshakes each at parity) |\n",
		graded.Load(), el.Round(time.Millisecond), rate, rate/handshakes, handshakes/rate)
	return nil
}

func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_ = c.(*tls.Conn).Handshake()
		}()
	}
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
