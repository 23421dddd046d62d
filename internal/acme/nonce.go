package acme

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/store"
)

// Nonces are stateless to issue and stateful to use. A nonce is
// expiry || random || MAC(expiry || random) under a key every node sharing
// the database reads from it; using one inserts a "nonce" object whose id
// is the nonce, which the store's unique key lets succeed exactly once
// across every node. Issuing costs no write (HEAD new-nonce and the
// Replay-Nonce of every response are free, and nobody can fill the database
// by asking for nonces); each use costs one insert, kept until the nonce
// expires and then swept.
const (
	nonceExpiryLen = 8
	nonceRandLen   = 12
	nonceMACLen    = 16
	nonceLen       = nonceExpiryLen + nonceRandLen + nonceMACLen
	nonceKeyID     = "hmac-sha256"
	sweepInterval  = time.Minute
)

var b64 = base64.RawURLEncoding

type nonces struct {
	store    Store
	now      func() time.Time
	lifetime time.Duration

	// sweep, run in a nonce's transaction about once a minute, removes
	// what has expired: used nonces, and whatever else the service adds.
	sweep func(ctx context.Context, tx store.Tx, now time.Time) error

	mu        sync.Mutex
	key       []byte
	lastSweep time.Time
}

func newNonces(st Store, now func() time.Time, lifetime time.Duration) *nonces {
	n := &nonces{store: st, now: now, lifetime: lifetime}
	n.sweep = func(ctx context.Context, tx store.Tx, now time.Time) error {
		_, err := tx.DeleteExpiredProtocolObjects(ctx, kindNonce, now)
		return err
	}
	return n
}

type nonceKeyRecord struct {
	Key []byte `json:"key"`
}

// macKey returns the shared nonce key, creating it on first use; of two
// nodes creating it at once, the store's unique key keeps one.
func (n *nonces) macKey(ctx context.Context) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.key != nil {
		return n.key, nil
	}
	for range 2 {
		o, err := n.store.GetProtocolObject(ctx, kindNonceKey, nonceKeyID)
		if err == nil {
			var rec nonceKeyRecord
			if err := json.Unmarshal(o.Data, &rec); err != nil || len(rec.Key) < 32 {
				return nil, fmt.Errorf("nonce key is corrupt: %v", err)
			}
			n.key = rec.Key
			return n.key, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("read nonce key: %w", err)
		}
		rec := nonceKeyRecord{Key: make([]byte, 32)}
		_, _ = rand.Read(rec.Key)
		data, _ := json.Marshal(rec)
		err = n.store.Update(ctx, func(tx store.Tx) error {
			return tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindNonceKey, ID: nonceKeyID, Status: "active", Data: data})
		})
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			return nil, fmt.Errorf("create nonce key: %w", err)
		}
	}
	return nil, errors.New("nonce key vanished while being created")
}

// issue returns a fresh nonce.
func (n *nonces) issue(ctx context.Context) (string, error) {
	key, err := n.macKey(ctx)
	if err != nil {
		return "", err
	}
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:nonceExpiryLen], uint64(n.now().Add(n.lifetime).Unix()))
	_, _ = rand.Read(b[nonceExpiryLen : nonceExpiryLen+nonceRandLen])
	copy(b[nonceExpiryLen+nonceRandLen:], nonceMAC(key, b[:nonceExpiryLen+nonceRandLen]))
	return b64.EncodeToString(b[:]), nil
}

func nonceMAC(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)[:nonceMACLen]
}

// check verifies that nonce is one this server issued and has not expired;
// it returns the id its use is recorded under and its expiry.
func (n *nonces) check(ctx context.Context, nonce string) (string, time.Time, error) {
	key, err := n.macKey(ctx)
	if err != nil {
		return "", time.Time{}, internal(err, "nonce check")
	}
	b, err := b64.DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return "", time.Time{}, badNonce("the nonce was not issued by this server")
	}
	body := b[:nonceExpiryLen+nonceRandLen]
	if !hmac.Equal(b[nonceExpiryLen+nonceRandLen:], nonceMAC(key, body)) {
		return "", time.Time{}, badNonce("the nonce was not issued by this server")
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[:nonceExpiryLen])), 0).UTC()
	if !n.now().Before(exp) {
		return "", time.Time{}, badNonce("the nonce has expired")
	}
	return b64.EncodeToString(body), exp, nil
}

// consume accepts nonce once: a second use, here or on any node sharing the
// database, is badNonce. Expired objects are swept about once a minute.
func (n *nonces) consume(ctx context.Context, nonce string) error {
	id, exp, err := n.check(ctx, nonce)
	if err != nil {
		return err
	}
	now := n.now()
	n.mu.Lock()
	sweep := now.Sub(n.lastSweep) >= sweepInterval
	if sweep {
		n.lastSweep = now
	}
	n.mu.Unlock()
	err = n.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindNonce, ID: id, Status: "used", Data: []byte("{}"),
			ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if sweep {
			if err := n.sweep(ctx, tx, now); err != nil {
				return fmt.Errorf("sweep expired ACME objects: %w", err)
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		return badNonce("the nonce has already been used")
	}
	if err != nil {
		return toACME(fmt.Errorf("record nonce use: %w", err), errMalformed)
	}
	return nil
}
