package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a fresh public identifier such as "ca_k3x9...": a type prefix
// and 80 random bits, so ids never reveal counts or creation order.
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// ByRef finds an object by public id or by name, trying first the lookup the
// reference looks like ("prof_..." is probably an id) so the common case
// costs one query.
func ByRef[T any](ctx context.Context, ref, idPrefix string, byID, byName func(context.Context, string) (T, error)) (T, error) {
	first, second := byName, byID
	if strings.HasPrefix(ref, idPrefix+"_") {
		first, second = byID, byName
	}
	v, err := first(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		v, err = second(ctx, ref)
	}
	return v, err
}
