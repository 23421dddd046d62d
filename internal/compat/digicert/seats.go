package digicert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/store"
)

// A seat is the identity a certificate is issued to (a person's email, a
// device, a server). Signet's equivalent is the certificate owner, a
// principal (or team): each seat records the owner its certificates get,
// and certificates carry the seat id as the label digicert.seat_id.
const kindSeat = "digicert.seat"

// Seat types the vendor documents; USER_SEAT is the default.
var seatTypes = []map[string]string{
	{"id": "USER_SEAT", "display_name": "User seat"},
	{"id": "DEVICE_SEAT", "display_name": "Device seat"},
	{"id": "SERVER_SEAT", "display_name": "Server seat"},
}

type seatRecord struct {
	SeatID   string `json:"seat_id"`
	SeatType string `json:"seat_type"`
	SeatName string `json:"seat_name,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Owner    string `json:"owner"` // Signet principal or team id
	OrgID    string `json:"org_id"`
}

// seatDoc is the vendor's seat answer (SeatDetails plus seat_id), with the
// Signet owner it maps to.
type seatDoc struct {
	SeatID         string         `json:"seat_id"`
	SeatName       string         `json:"seat_name"`
	Email          string         `json:"email"`
	Phone          string         `json:"phone"`
	SeatType       map[string]any `json:"seat_type"`
	BusinessUnitID string         `json:"business_unit_id"`
	Owner          string         `json:"owner"`
}

func (s *seatRecord) doc() seatDoc {
	return seatDoc{SeatID: s.SeatID, SeatName: s.SeatName, Email: s.Email, Phone: s.Phone,
		SeatType: map[string]any{"id": s.SeatType}, BusinessUnitID: s.OrgID, Owner: s.Owner}
}

func seatKey(orgID, seatID string) string { return orgID + "/" + seatID }

func checkSeatID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return fieldErr(field, "invalid_input", "%s is required", field)
	}
	// The seat id is stored as a certificate label value (at most 256 bytes).
	if len(id) > 255 || !utf8.ValidString(id) || strings.ContainsAny(id, "\x00\r\n") {
		return fieldErr(field, "invalid_input", "%s must be at most 255 bytes of printable text", field)
	}
	return nil
}

func seatType(t string) (string, error) {
	if t == "" {
		return "USER_SEAT", nil
	}
	for _, st := range seatTypes {
		if st["id"] == t {
			return t, nil
		}
	}
	return "", fieldErr("seat_type.id", "invalid_input", "seat_type.id must be USER_SEAT, DEVICE_SEAT or SERVER_SEAT")
}

func (h *Handler) loadSeat(ctx context.Context, orgID, seatID string) (*seatRecord, error) {
	o, err := h.d.Objects.GetProtocolObject(ctx, kindSeat, seatKey(orgID, seatID))
	if err != nil {
		return nil, err
	}
	var s seatRecord
	if err := json.Unmarshal(o.Data, &s); err != nil {
		return nil, fmt.Errorf("decode seat %s: %w", o.ID, err)
	}
	return &s, nil
}

// ownerFor maps a new seat to a Signet owner: the principal of the
// organization whose name is the seat id (or its email), else the caller.
// The lookup runs with the server's own rights, even for a caller who may
// not list principals, so that nobody can claim a seat named after someone
// else by using it first: issuance then refuses a caller who may not issue
// to that principal.
func (h *Handler) ownerFor(ctx context.Context, orgID string, refs ...string) string {
	sys := auth.WithPrincipal(ctx, auth.System())
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if p, err := h.d.Directory.Principal(sys, ref); err == nil && !p.Disabled && (p.OrgID == orgID || p.OrgID == "") {
			return p.ID
		}
	}
	return auth.PrincipalFrom(ctx).ID
}

// seatFor returns the seat a certificate is requested for, creating it
// (owned as ownerFor decides) when the organization does not know it yet:
// the tutorial issues to a seat it never created.
func (h *Handler) seatFor(ctx context.Context, orgID, seatID string) (*seatRecord, error) {
	s, err := h.loadSeat(ctx, orgID, seatID)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	// Only a caller who may enroll there creates seats (an auditor's
	// refused issuance must change nothing).
	if _, err := auth.RequireIn(ctx, auth.PermEnroll, orgID); err != nil {
		return nil, err
	}
	s = &seatRecord{SeatID: seatID, SeatType: "USER_SEAT", OrgID: orgID, Owner: h.ownerFor(ctx, orgID, seatID)}
	if strings.Contains(seatID, "@") {
		s.Email = seatID
	}
	err = h.insertSeat(ctx, s)
	if errors.Is(err, store.ErrDuplicate) { // created concurrently
		return h.loadSeat(ctx, orgID, seatID)
	}
	return s, err
}

func (h *Handler) insertSeat(ctx context.Context, s *seatRecord) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	caller := auth.PrincipalFrom(ctx)
	now := h.d.Now()
	return h.d.Objects.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(ctx, &store.ProtocolObject{Kind: kindSeat, ID: seatKey(s.OrgID, s.SeatID),
			AccountID: s.OrgID, Status: "active", Data: data, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		tx.AppendAudit(caller.Event(now, s.OrgID, "digicert.seat.create", "seat", s.SeatID,
			map[string]any{"seat_type": s.SeatType, "owner": s.Owner}))
		return nil
	})
}

type seatRequest struct {
	SeatID         string `json:"seat_id"`
	SeatName       string `json:"seat_name"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	BusinessUnitID string `json:"business_unit_id"`
	SeatType       struct {
		ID string `json:"id"`
	} `json:"seat_type"`
}

// seatOrg is the organization a seat request addresses: business_unit_id
// (a Signet organization id or name) or the caller's. Seats are managed by
// whoever may enroll there; issuance still decides, per certificate,
// whether the caller may issue to the seat's owner.
func (h *Handler) seatOrg(ctx context.Context, businessUnit string) (*auth.Principal, string, error) {
	caller, err := auth.Require(ctx, auth.PermEnroll)
	if err != nil {
		return nil, "", err
	}
	orgID, err := h.d.Directory.TargetOrg(ctx, caller, businessUnit)
	if err != nil {
		return nil, "", err
	}
	if _, err := auth.RequireIn(ctx, auth.PermEnroll, orgID); err != nil {
		return nil, "", err
	}
	return caller, orgID, nil
}

func (h *Handler) createSeat(w http.ResponseWriter, r *http.Request) error {
	var in seatRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := checkSeatID("seat_id", in.SeatID); err != nil {
		return err
	}
	typ, err := seatType(in.SeatType.ID)
	if err != nil {
		return err
	}
	_, orgID, err := h.seatOrg(r.Context(), in.BusinessUnitID)
	if err != nil {
		return err
	}
	s := &seatRecord{SeatID: in.SeatID, SeatType: typ, SeatName: in.SeatName, Email: in.Email, Phone: in.Phone, OrgID: orgID,
		Owner: h.ownerFor(r.Context(), orgID, in.SeatID, in.Email)}
	if err := h.insertSeat(r.Context(), s); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return apiErr(http.StatusConflict, "duplicate_seat", "a seat with seat_id "+in.SeatID+" already exists")
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, s.doc())
}

func (h *Handler) seatFromPath(r *http.Request) (*seatRecord, error) {
	_, orgID, err := h.seatOrg(r.Context(), r.URL.Query().Get("business_unit_id"))
	if err != nil {
		return nil, err
	}
	s, err := h.loadSeat(r.Context(), orgID, r.PathValue("seat_id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr(http.StatusNotFound, "seat_not_found", "no seat "+r.PathValue("seat_id"))
	}
	return s, err
}

func (h *Handler) getSeat(w http.ResponseWriter, r *http.Request) error {
	s, err := h.seatFromPath(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.doc())
}

// updateSeat changes a seat's details (name, email, phone, type); the
// owner mapping stays, so existing certificates keep their owner.
func (h *Handler) updateSeat(w http.ResponseWriter, r *http.Request) error {
	var in seatRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	s, err := h.seatFromPath(r)
	if err != nil {
		return err
	}
	if in.SeatType.ID != "" {
		if s.SeatType, err = seatType(in.SeatType.ID); err != nil {
			return err
		}
	}
	if in.SeatName != "" {
		s.SeatName = in.SeatName
	}
	if in.Email != "" {
		s.Email = in.Email
	}
	if in.Phone != "" {
		s.Phone = in.Phone
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	caller, now := auth.PrincipalFrom(r.Context()), h.d.Now()
	err = h.d.Objects.Update(r.Context(), func(tx store.Tx) error {
		if err := tx.UpdateProtocolObject(r.Context(), &store.ProtocolObject{Kind: kindSeat, ID: seatKey(s.OrgID, s.SeatID),
			AccountID: s.OrgID, Status: "active", Data: data, UpdatedAt: now}, "active"); err != nil {
			return err
		}
		tx.AppendAudit(caller.Event(now, s.OrgID, "digicert.seat.update", "seat", s.SeatID, map[string]any{"seat_type": s.SeatType}))
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteSeat forgets a seat; its certificates keep their owner and label.
func (h *Handler) deleteSeat(w http.ResponseWriter, r *http.Request) error {
	s, err := h.seatFromPath(r)
	if err != nil {
		return err
	}
	if t := r.URL.Query().Get("seat_type_id"); t != "" && t != s.SeatType {
		return apiErr(http.StatusNotFound, "seat_not_found", "no seat "+s.SeatID+" of type "+t)
	}
	caller, now := auth.PrincipalFrom(r.Context()), h.d.Now()
	err = h.d.Objects.Update(r.Context(), func(tx store.Tx) error {
		if err := tx.DeleteProtocolObject(r.Context(), kindSeat, seatKey(s.OrgID, s.SeatID)); err != nil {
			return err
		}
		tx.AppendAudit(caller.Event(now, s.OrgID, "digicert.seat.delete", "seat", s.SeatID, nil))
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return apiErr(http.StatusNotFound, "seat_not_found", "no seat "+s.SeatID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) seatTypes(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, seatTypes)
}
