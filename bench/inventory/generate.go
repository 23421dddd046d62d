package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Shape of the synthetic inventory.
const (
	numProfiles = 12
	numOwners   = 200
	numTeams    = 50
)

// generator makes deterministic synthetic certificates.
type generator struct {
	r   *rand.Rand
	now time.Time
	der []byte
}

func newGenerator(seed uint64, now time.Time) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: now, der: make([]byte, 1400)}
}

// next returns certificate number i: names like host-123.team-7.example.com
// with 1-3 SANs, NotAfter in now-30d..now+400d, ~5% revoked, ~0.5% on hold.
func (g *generator) next(i int) store.Certificate {
	team := g.r.IntN(numTeams)
	cn := fmt.Sprintf("host-%d.team-%d.example.com", i, team)
	sans := []string{cn}
	if g.r.IntN(2) == 0 {
		sans = append(sans, "www."+cn)
	}
	if g.r.IntN(3) == 0 {
		sans = append(sans, fmt.Sprintf("10.%d.%d.%d", team, g.r.IntN(256), g.r.IntN(256)))
	}
	notAfter := g.now.Add(time.Duration(g.r.Int64N(int64(430*24*time.Hour))) - 30*24*time.Hour).Truncate(time.Second)
	validity := []int{90, 365, 398}[g.r.IntN(3)]
	notBefore := notAfter.AddDate(0, 0, -validity)
	der := g.der[:900+g.r.IntN(500)]
	for j := range der {
		der[j] = byte(g.r.Uint32())
	}
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	c := store.Certificate{
		Serial: g.serial(), CAID: g.caID(), ProfileID: fmt.Sprintf("prof_%02d", g.r.IntN(numProfiles)),
		RequestID: fmt.Sprintf("req_%08d", i), Issuer: "CN=Signet Issuing CA", Subject: "CN=" + cn, CommonName: cn,
		SANs: sans, KeyType: []string{"ECDSA-P256", "RSA-2048", "ECDSA-P384"}[g.r.IntN(3)],
		NotBefore: notBefore, NotAfter: notAfter, SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:]),
		DER: append([]byte(nil), der...), Status: store.CertActive, Source: g.source(),
		Owner:     fmt.Sprintf("owner-%d", g.r.IntN(numOwners)),
		CreatedAt: notBefore, UpdatedAt: notBefore,
	}
	switch p := g.r.IntN(1000); {
	case p < 50:
		at := notBefore.Add(time.Duration(g.r.Int64N(int64(notAfter.Sub(notBefore)))))
		c.Status, c.RevocationReason, c.RevokedAt, c.UpdatedAt = store.CertRevoked, 1+g.r.IntN(5), &at, at
	case p < 55:
		at := notBefore.Add(time.Hour)
		c.Status, c.RevocationReason, c.RevokedAt, c.UpdatedAt = store.CertOnHold, 6, &at, at
	}
	return c
}

// serial is 16 random bytes with the top bit clear, as canonical hex.
func (g *generator) serial() string {
	b := make([]byte, 16)
	for j := range b {
		b[j] = byte(g.r.Uint32())
	}
	b[0] &= 0x7f
	s := strings.TrimLeft(hex.EncodeToString(b), "0")
	if s == "" {
		return "0"
	}
	return s
}

// caID skews issuance towards the first CAs; 2% come from external issuers.
func (g *generator) caID() string {
	p := g.r.IntN(100)
	switch {
	case p < 2:
		return ""
	case p < 42:
		return "ca_0"
	case p < 67:
		return "ca_1"
	case p < 85:
		return "ca_2"
	case p < 95:
		return "ca_3"
	}
	return "ca_4"
}

func (g *generator) source() string {
	switch p := g.r.IntN(100); {
	case p < 8:
		return store.SourceImported
	case p < 10:
		return store.SourceDiscovered
	}
	return store.SourceIssued
}
