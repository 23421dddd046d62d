// Command crl measures publishing a full CRL for a CA with many revoked
// certificates through the whole path Signet uses — the SQLite inventory
// read once into a compact arena, the two-pass encoder, the signature and
// the CRL row —
// next to x509.CreateRevocationList on the same entries in the same run.
//
//	go run ./bench/crl -n 1000000
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/ca"
	"github.com/signet-pki/signet/internal/revocation"
	"github.com/signet-pki/signet/internal/store"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

func main() {
	n := flag.Int("n", 1_000_000, "revoked certificates")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the publication here")
	flag.Parse()
	if err := run(*n, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int, profile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-crl-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	now := time.Now().UTC().Truncate(time.Second)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "signet.db"), sqlite.Options{Clock: func() time.Time { return now }})
	if err != nil {
		return err
	}
	defer st.Close()
	iss, err := newCA(now)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := load(ctx, st, iss.CA.ID, n, now); err != nil {
		return err
	}
	fmt.Printf("Signet CRL benchmark — %s, GOMAXPROCS=%d, %d revoked certificates (loaded in %v)\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), n, time.Since(start).Round(time.Second))

	svc, err := revocation.New(st, issuers{iss}, revocation.Config{Now: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	t0 := time.Now()
	rows := 0
	_ = st.ForEachRevoked(ctx, store.RevokedQuery{CAID: iss.CA.ID}, func(*store.Certificate) error { rows++; return nil })
	fmt.Printf("one pass over the store: %d rows in %v\n", rows, time.Since(t0))
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	signet, peak, err := measure(func() error { return svc.Publish(ctx, iss.CA.ID) })
	if err != nil {
		return err
	}
	crl, err := st.LatestCRL(ctx, iss.CA.ID, false)
	if err != nil {
		return err
	}
	parsed, err := x509.ParseRevocationList(crl.DER)
	if err != nil || len(parsed.RevokedCertificateEntries) != n || parsed.CheckSignatureFrom(iss.Cert) != nil {
		return fmt.Errorf("published CRL does not parse back with %d entries: %v", n, err)
	}
	var entries []x509.RevocationListEntry
	if err := st.ForEachRevoked(ctx, store.RevokedQuery{CAID: iss.CA.ID}, func(c *store.Certificate) error {
		s, _ := new(big.Int).SetString(c.Serial, 16)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: *c.RevokedAt, ReasonCode: c.RevocationReason})
		return nil
	}); err != nil {
		return err
	}
	runtime.GC()
	std, stdPeak, err := measure(func() error {
		_, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now,
			NextUpdate: now.Add(24 * time.Hour), RevokedCertificateEntries: entries}, iss.Cert, iss.Signer)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Println("| measurement | time | peak heap | CRL size |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	fmt.Printf("| Signet: publish (read from SQLite once, measure, encode, sign, store) | %v | %.0f MiB | %.1f MiB |\n",
		signet.Round(time.Millisecond), mib(peak), mib(uint64(len(crl.DER))))
	fmt.Printf("| x509.CreateRevocationList (entries already in memory, not counted) | %v | %.0f MiB | |\n",
		std.Round(time.Millisecond), mib(stdPeak))
	fmt.Printf("\nratio: %.1fx faster, %.1fx less peak heap\n", std.Seconds()/signet.Seconds(), float64(stdPeak)/float64(peak))
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// measure runs fn and samples the heap in use above what was in use before.
func measure(fn func() error) (time.Duration, uint64, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	err := fn()
	d := time.Since(start)
	close(stop)
	<-done
	return d, peak.Load(), err
}

func load(ctx context.Context, st *sqlite.Store, caID string, n int, now time.Time) error {
	const chunk = 50_000
	for done := 0; done < n; done += chunk {
		certs := make([]store.Certificate, min(chunk, n-done))
		for i := range certs {
			var raw [16]byte
			_, _ = rand.Read(raw[:])
			raw[0] &= 0x7f
			at := now.Add(-time.Duration(i) * time.Second)
			serial := new(big.Int).SetBytes(raw[:]).Text(16)
			certs[i] = store.Certificate{Serial: serial, SHA256: fmt.Sprintf("%064x", done+i), SHA1: "", CAID: caID,
				Issuer: "CN=Bench", Subject: "CN=x", CommonName: fmt.Sprintf("h%d.example", done+i), KeyType: "ECDSA-P256",
				NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(0, 6, 0), DER: []byte{0x30}, Status: store.CertRevoked,
				RevocationReason: 1 + i%5, RevokedAt: &at, Source: store.SourceIssued}
		}
		if err := st.BulkInsertCertificates(ctx, certs); err != nil {
			return err
		}
	}
	return nil
}

// issuers is the one benchmark CA.
type issuers struct{ iss *ca.Issuer }

func (i issuers) All() []*ca.Issuer { return []*ca.Issuer{i.iss} }
func (i issuers) Resolve(context.Context, string) (*store.CA, error) {
	return &i.iss.CA, nil
}

func newCA(now time.Time) (*ca.Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench CRL CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3, 4}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca.Issuer{CA: store.CA{ID: "ca_bench", Name: "bench"}, Cert: cert, Signer: key}, nil
}
