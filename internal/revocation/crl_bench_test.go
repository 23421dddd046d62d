package revocation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	mrand "math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// generatedSource yields n synthetic entries the way a store would: one row
// at a time, reusing one big.Int, nothing kept between yields. Serials are
// 16 random bytes with the top bit cleared (Signet's serial shape) from a
// seeded generator, so both passes see the same entries.
type generatedSource struct {
	n    int
	base time.Time
	seed uint64
}

func newGeneratedSource(n int, base time.Time, seed uint64) *generatedSource {
	return &generatedSource{n: n, base: base, seed: seed}
}

// reasons is a realistic mix: most revocations say nothing or "superseded".
var benchReasons = [...]int{0, 0, 0, 4, 4, 1, 5, 3, 6, 9}

func (s *generatedSource) Entries(ctx context.Context, yield func(Entry) error) error {
	rng := mrand.NewChaCha8([32]byte{byte(s.seed), byte(s.seed >> 8)})
	var raw [16]byte
	serial := new(big.Int)
	for i := range s.n {
		_, _ = rng.Read(raw[:])
		raw[0] &= 0x7f
		serial.SetBytes(raw[:])
		e := Entry{
			Serial:    serial,
			RevokedAt: s.base.Add(-time.Duration(s.n-i) * time.Second),
			Reason:    benchReasons[i%len(benchReasons)],
		}
		if i%10 == 3 {
			e.InvalidityDate = e.RevokedAt.Add(-24 * time.Hour)
		}
		if err := yield(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// x509Entries materialises the same entries for x509.CreateRevocationList,
// which needs them all at once.
func (s *generatedSource) x509Entries() []x509.RevocationListEntry {
	out := make([]x509.RevocationListEntry, 0, s.n)
	_ = s.Entries(context.Background(), func(e Entry) error {
		re := x509.RevocationListEntry{SerialNumber: new(big.Int).Set(e.Serial), RevocationTime: e.RevokedAt, ReasonCode: e.Reason}
		if !e.InvalidityDate.IsZero() {
			v, _ := asn1.MarshalWithParams(e.InvalidityDate.UTC(), "generalized")
			re.ExtraExtensions = []pkix.Extension{{Id: oidInvalidityDate, Value: v}}
		}
		out = append(out, re)
		return nil
	})
	return out
}

// peakHeap runs f and returns the highest heap-object byte count seen above
// the level before f, sampled every millisecond through runtime/metrics
// (which does not stop the world, unlike ReadMemStats).
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak {
				peak = v
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	if v := read(); v > peak {
		peak = v
	}
	close(stop)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

const mib = 1 << 20

// BenchmarkCRL1M compares CreateCRL with x509.CreateRevocationList on the
// same million entries (P-256 issuer). Both include producing the entries
// from the synthetic source (source-only shows that share); the x509 side
// also builds its entry slice, since that API cannot take a stream:
//
//	go test -run '^$' -bench CRL1M -benchtime 3x ./internal/revocation/
func BenchmarkCRL1M(b *testing.B) {
	const n = 1_000_000
	now := time.Now()
	ca := newTestCA(b, "p256", "Bench CA", now.Add(-time.Hour), 365*24*time.Hour)
	src := newGeneratedSource(n, now, 1)
	tmpl := &CRLTemplate{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(7 * 24 * time.Hour)}

	b.Run("signet", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		var peak uint64
		for b.Loop() {
			peak = max(peak, peakHeap(func() {
				der, err := CreateCRL(context.Background(), tmpl, ca.cert, ca.key, src)
				if err != nil {
					b.Fatal(err)
				}
				size = len(der)
			}))
		}
		b.ReportMetric(float64(size)/mib, "CRL-MiB")
		b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
	})
	// The synthetic source's own cost, both passes, included in "signet" above.
	b.Run("source-only", func(b *testing.B) {
		for b.Loop() {
			for range 2 {
				_ = src.Entries(context.Background(), func(Entry) error { return nil })
			}
		}
	})
	b.Run("x509", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		var peak uint64
		for b.Loop() {
			peak = max(peak, peakHeap(func() {
				rl := x509Template(tmpl, nil)
				rl.RevokedCertificateEntries = src.x509Entries()
				der, err := x509.CreateRevocationList(rand.Reader, rl, ca.cert, ca.key)
				if err != nil {
					b.Fatal(err)
				}
				size = len(der)
			}))
		}
		b.ReportMetric(float64(size)/mib, "CRL-MiB")
		b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
	})
}

// TestCRLMillionParses builds a CRL of a million entries and parses it back
// with crypto/x509. It takes a few seconds, so -short uses 100,000.
func TestCRLMillionParses(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	now := time.Now()
	ca := newTestCA(t, "p256", "Million CA", now.Add(-time.Hour), 365*24*time.Hour)
	src := newGeneratedSource(n, now, 2)
	var der []byte
	start := time.Now()
	peak := peakHeap(func() {
		var err error
		der, err = CreateCRL(context.Background(), &CRLTemplate{Number: big.NewInt(9), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, ca.cert, ca.key, src)
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%d entries: %.1f MiB in %v, peak heap %.1f MiB", n, float64(len(der))/mib, time.Since(start), float64(peak)/mib)
	if peak > 256*mib {
		t.Errorf("peak heap %.1f MiB exceeds 256 MiB", float64(peak)/mib)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.CheckSignatureFrom(ca.cert); err != nil {
		t.Fatal(err)
	}
	if len(rl.RevokedCertificateEntries) != n {
		t.Fatalf("parsed %d entries, want %d", len(rl.RevokedCertificateEntries), n)
	}
	i := 0
	err = src.Entries(context.Background(), func(e Entry) error {
		got := rl.RevokedCertificateEntries[i]
		if got.SerialNumber.Cmp(e.Serial) != 0 || got.ReasonCode != e.Reason || !got.RevocationTime.Equal(e.RevokedAt.Truncate(time.Second)) {
			t.Fatalf("entry %d = %v/%d/%v, want %v/%d/%v", i, got.SerialNumber, got.ReasonCode, got.RevocationTime, e.Serial, e.Reason, e.RevokedAt)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
