package digicert

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/auth"
	"github.com/signet-pki/signet/internal/issuance"
	"github.com/signet-pki/signet/internal/store"
)

// An enrollment is a one-time code an administrator creates for a seat and
// profile; whoever holds it redeems it with a CSR. Only the code's SHA-256
// is stored (as the object's lookup key), never the code.
const kindEnrollment = "digicert.enrollment"

// Enrollment statuses (the vendor's lower-case names).
const (
	enrCreated  = "created"
	enrRedeemed = "redeemed"
	enrExpired  = "expired"
	enrLocked   = "locked"
)

// maxEnrollmentBadAttempts is how many refused attempts with an
// enrollment's own code (wrong seat, another organization) lock it.
// DigiCert locks an enrollment once "the maximum number of authentication
// attempts" is exceeded but does not publish the number; 10 matches the
// per-principal limit (attempts.go). A locked enrollment cannot be
// redeemed; an administrator creates a new one for the seat.
const maxEnrollmentBadAttempts = 10

type enrollmentRecord struct {
	ID           string     `json:"id"`
	SeatID       string     `json:"seat_id"`
	SeatType     string     `json:"seat_type"`
	Email        string     `json:"email"`
	ProfileID    string     `json:"profile_id"`
	ProfileName  string     `json:"profile_name"`
	OrgID        string     `json:"org_id"`
	CSR          string     `json:"csr,omitempty"`
	ValidityDays int        `json:"validity_days,omitempty"`
	Subject      string     `json:"subject,omitempty"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	RedeemedAt   *time.Time `json:"redeemed_at,omitempty"`
	Serial       string     `json:"serial,omitempty"`
	// BadAttempts counts refused attempts with this enrollment's code,
	// kept with the record so that restarts and other nodes see it.
	BadAttempts int `json:"bad_attempts,omitempty"`
}

func codeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// newCode is 20 base32 characters (100 bits): enrollment codes are bearer
// credentials, so they are not the vendor's guessable nine digits.
func newCode() (string, error) {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("enrollment code: %w", err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:20], nil
}

// profileRef accepts the profile as a string (the OpenAPI schema) or as
// {"id": ...} (the OpenAPI example).
type profileRef string

func (p *profileRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = profileRef(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fieldErr("profile", "invalid_input", "profile must be a profile id or {\"id\": ...}")
	}
	*p = profileRef(o.ID)
	return nil
}

type enrollmentRequest struct {
	Profile    profileRef `json:"profile"`
	Seat       refIn      `json:"seat"`
	Email      string     `json:"email"`
	Attributes struct {
		CSR      string      `json:"csr"`
		Subject  subjectIn   `json:"subject"`
		Validity *validityIn `json:"validity"`
	} `json:"attributes"`
	EnrollmentCode string `json:"enrollment_code"`
	ExpiryDate     string `json:"expiry_date"`
}

type enrollmentResponse struct {
	ID                  string  `json:"id"`
	SeatID              string  `json:"seat_id"`
	ProfileID           string  `json:"profile_id"`
	ProfileName         string  `json:"profile_name"`
	EnrollmentCode      string  `json:"enrollment_code"`
	CreationDateTime    string  `json:"creation_date_time"`
	ExpiryDateTime      string  `json:"expiry_date_time"`
	Status              string  `json:"status"`
	NumberOfBadAttempts float64 `json:"number_of_bad_attempts"`
}

func (h *Handler) enrollmentStatus(obj *store.ProtocolObject) string {
	if obj.Status == enrCreated && obj.ExpiresAt != nil && !h.d.Now().Before(*obj.ExpiresAt) {
		return enrExpired
	}
	return obj.Status
}

func (h *Handler) response(obj *store.ProtocolObject, e *enrollmentRecord, code string) enrollmentResponse {
	return enrollmentResponse{ID: e.ID, SeatID: e.SeatID, ProfileID: e.ProfileID, ProfileName: e.ProfileName, EnrollmentCode: code,
		CreationDateTime: timeString(e.CreatedAt), ExpiryDateTime: timeString(e.ExpiresAt), Status: h.enrollmentStatus(obj),
		NumberOfBadAttempts: float64(e.BadAttempts)}
}

// parseExpiry reads expiry_date in the vendor's "yyyy-MM-dd" or
// "yyyy-MM-dd HH:mm:ss" forms (RFC 3339 too), as UTC.
func parseExpiry(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldErr("expiry_date", "invalid_input", "expiry_date must be yyyy-MM-dd or yyyy-MM-dd HH:mm:ss")
}

// createEnrollment needs the permission to approve requests in the
// profile's organization: an enrollment code authorizes an issuance in advance.
func (h *Handler) createEnrollment(w http.ResponseWriter, r *http.Request) error {
	var in enrollmentRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Profile == "" {
		return fieldErr("profile", "invalid_input", "profile is required")
	}
	seatID := in.Seat.seatRef()
	if err := checkSeatID("seat.seat_id", seatID); err != nil {
		return err
	}
	days, err := in.Attributes.Validity.days("attributes.validity")
	if err != nil {
		return err
	}
	csr := ""
	if in.Attributes.CSR != "" {
		if csr, err = normalizeCSR("attributes.csr", in.Attributes.CSR); err != nil {
			return err
		}
	}
	code := in.EnrollmentCode
	if code == "" {
		if code, err = newCode(); err != nil {
			return err
		}
	} else if len(code) < 8 || len(code) > 128 {
		return fieldErr("enrollment_code", "invalid_input", "a chosen enrollment_code must be 8 to 128 characters")
	}
	now := h.d.Now()
	expires := now.AddDate(0, 0, defaultEnrollmentDays)
	if in.ExpiryDate != "" {
		if expires, err = parseExpiry(in.ExpiryDate); err != nil {
			return err
		}
		if !expires.After(now) {
			return fieldErr("expiry_date", "invalid_input", "expiry_date must be in the future")
		}
	}
	prof, err := h.d.Profiles.GetProfile(r.Context(), string(in.Profile))
	if err != nil {
		return err
	}
	caller, err := auth.RequireIn(r.Context(), auth.PermApprove, prof.OrgID)
	if err != nil {
		return err
	}
	seat, err := h.seatFor(r.Context(), prof.OrgID, seatID)
	if err != nil {
		return err
	}
	email := in.Seat.Email
	if email == "" {
		email = cmpOr(in.Email, seat.Email)
	}
	e := &enrollmentRecord{ID: store.NewID("enr"), SeatID: seat.SeatID, SeatType: seat.SeatType, Email: email, ProfileID: prof.ID,
		ProfileName: prof.Name, OrgID: prof.OrgID, CSR: csr, ValidityDays: days, Subject: in.Attributes.Subject.CommonName,
		CreatedBy: caller.ID, CreatedAt: now, ExpiresAt: expires}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	obj := &store.ProtocolObject{Kind: kindEnrollment, ID: e.ID, AccountID: e.OrgID, KeyID: codeHash(code), Status: enrCreated,
		Data: data, ExpiresAt: &expires, CreatedAt: now, UpdatedAt: now}
	err = h.d.Objects.Update(r.Context(), func(tx store.Tx) error {
		if err := tx.InsertProtocolObject(r.Context(), obj); err != nil {
			return err
		}
		tx.AppendAudit(caller.Event(now, e.OrgID, "digicert.enrollment.create", "enrollment", e.ID,
			map[string]any{"seat_id": e.SeatID, "profile": e.ProfileID, "expires_at": expires}))
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		return fieldErr("enrollment_code", "duplicate_enrollment_code", "this enrollment_code is already in use")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, h.response(obj, e, code))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func decodeEnrollment(obj *store.ProtocolObject) (*enrollmentRecord, error) {
	var e enrollmentRecord
	if err := json.Unmarshal(obj.Data, &e); err != nil {
		return nil, fmt.Errorf("decode enrollment %s: %w", obj.ID, err)
	}
	return &e, nil
}

// byCode finds the enrollment a code opens. The lookup is by the code's
// hash; the stored hash is compared again in constant time. A wrong code
// counts against the principal (attempts.go); the right code used for
// another seat or from another organization also counts against the
// enrollment it names, which is locked after maxEnrollmentBadAttempts.
func (h *Handler) byCode(ctx context.Context, code, seatID string) (*store.ProtocolObject, *enrollmentRecord, error) {
	p := auth.PrincipalFrom(ctx)
	if err := h.tries.check(p.ID, h.d.Now()); err != nil {
		return nil, nil, err
	}
	notFound := func() error {
		h.tries.fail(p.ID, h.d.Now())
		return apiErr(http.StatusNotFound, "enrollment_not_found", "no enrollment with this enrollment code and seat")
	}
	if code == "" || len(code) > 128 {
		return nil, nil, notFound()
	}
	sum := codeHash(code)
	obj, err := h.d.Objects.FindProtocolObject(ctx, kindEnrollment, sum)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound()
	}
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(obj.KeyID), []byte(sum)) != 1 {
		return nil, nil, notFound()
	}
	e, err := decodeEnrollment(obj)
	if err != nil {
		return nil, nil, err
	}
	if !p.InOrg(e.OrgID) || (seatID != "" && seatID != e.SeatID) {
		h.badAttempt(ctx, obj.ID)
		return nil, nil, notFound()
	}
	return obj, e, nil
}

// badAttempt counts a refused attempt against enrollment id and locks a
// created enrollment that reaches maxEnrollmentBadAttempts. The count is
// read again just before it is written; two attempts at the same instant
// may count once (the store compares only the status), which the
// per-principal limit still bounds. Failures are logged: the caller's
// answer is the same either way.
func (h *Handler) badAttempt(ctx context.Context, id string) {
	obj, err := h.d.Objects.GetProtocolObject(ctx, kindEnrollment, id)
	if err == nil {
		err = h.countBadAttempt(ctx, obj)
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		h.d.Logger.WarnContext(ctx, "digicert API: could not count a bad enrollment attempt", "enrollment", id, "err", err)
	}
}

func (h *Handler) countBadAttempt(ctx context.Context, obj *store.ProtocolObject) error {
	e, err := decodeEnrollment(obj)
	if err != nil {
		return err
	}
	e.BadAttempts++
	upd := *obj
	lock := obj.Status == enrCreated && e.BadAttempts >= maxEnrollmentBadAttempts
	if lock {
		upd.Status = enrLocked
	}
	if upd.Data, err = json.Marshal(e); err != nil {
		return err
	}
	caller, now := auth.PrincipalFrom(ctx), h.d.Now()
	upd.UpdatedAt = now
	return h.d.Objects.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateProtocolObject(ctx, &upd, obj.Status); err != nil {
			return err
		}
		if lock {
			tx.AppendAudit(caller.Event(now, e.OrgID, "digicert.enrollment.lock", "enrollment", e.ID,
				map[string]any{"seat_id": e.SeatID, "bad_attempts": e.BadAttempts}))
		}
		return nil
	})
}

func (h *Handler) getEnrollmentByCode(w http.ResponseWriter, r *http.Request) error {
	seatID := r.URL.Query().Get("seat_id")
	if seatID == "" {
		return fieldErr("seat_id", "invalid_input", "the seat_id query parameter is required")
	}
	code := r.PathValue("enrollmentCode")
	obj, e, err := h.byCode(r.Context(), code, seatID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.response(obj, e, code))
}

type redeemRequest struct {
	Seat           refIn       `json:"seat"`
	Profile        refIn       `json:"profile"`
	EnrollmentCode string      `json:"enrollment_code"`
	CSR            string      `json:"csr"`
	Validity       *validityIn `json:"validity"`
	Attributes     struct {
		CSR string `json:"csr"`
	} `json:"attributes"`
}

// redeemEnrollment spends the code, then enrolls as the caller for the
// seat's owner: issuance applies the profile's policy and the caller's
// rights as for any enrollment. The code is marked redeemed first, so two
// concurrent redemptions cannot both issue; a failed issuance gives it back.
func (h *Handler) redeemEnrollment(w http.ResponseWriter, r *http.Request) error {
	var in redeemRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.EnrollmentCode == "" {
		return fieldErr("enrollment_code", "invalid_input", "enrollment_code is required")
	}
	obj, e, err := h.byCode(r.Context(), in.EnrollmentCode, in.Seat.seatRef())
	if err != nil {
		return err
	}
	if in.Profile.ID != "" && in.Profile.ID != e.ProfileID && in.Profile.ID != e.ProfileName {
		return fieldErr("profile.id", "invalid_input", "the enrollment is for another profile")
	}
	switch h.enrollmentStatus(obj) {
	case enrExpired:
		return apiErr(http.StatusConflict, "enrollment_expired", "the enrollment code has expired")
	case enrRedeemed:
		return apiErr(http.StatusConflict, "enrollment_redeemed", "the enrollment code has already been redeemed")
	case enrLocked:
		return apiErr(http.StatusConflict, "enrollment_locked",
			"the enrollment is locked after too many bad attempts; ask an administrator for a new one")
	}
	csr := cmpOr(in.CSR, in.Attributes.CSR)
	if csr == "" {
		csr = e.CSR
	}
	if csr, err = normalizeCSR("csr", csr); err != nil {
		return err
	}
	days := e.ValidityDays
	if in.Validity != nil {
		if days, err = in.Validity.days("validity"); err != nil {
			return err
		}
	}
	seat, err := h.seatFor(r.Context(), e.OrgID, e.SeatID)
	if err != nil {
		return err
	}
	if err := h.setEnrollmentStatus(r.Context(), obj, e, enrCreated, enrRedeemed); err != nil {
		return err
	}
	res, err := h.d.Issuance.Enroll(r.Context(), issuance.EnrollInput{Profile: e.ProfileID, CSR: csr, ValidityDays: days,
		Owner: seat.Owner, Labels: map[string]string{seatLabel: seat.SeatID}, Method: issuance.MethodAPI})
	if err != nil {
		if rerr := h.setEnrollmentStatus(r.Context(), obj, e, enrRedeemed, enrCreated); rerr != nil {
			h.d.Logger.WarnContext(r.Context(), "digicert API: could not give an enrollment code back", "enrollment", e.ID, "err", rerr)
		}
		return withField(err, "csr")
	}
	now := h.d.Now()
	e.RedeemedAt = &now
	if res.Certificate != nil {
		e.Serial = res.Certificate.Serial
	}
	if err := h.setEnrollmentStatus(r.Context(), obj, e, enrRedeemed, enrRedeemed); err != nil {
		h.d.Logger.WarnContext(r.Context(), "digicert API: could not record a redemption", "enrollment", e.ID, "err", err)
	}
	return writeJSON(w, http.StatusOK, issuedResponse(res))
}

func (h *Handler) setEnrollmentStatus(ctx context.Context, obj *store.ProtocolObject, e *enrollmentRecord, from, to string) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	caller, now := auth.PrincipalFrom(ctx), h.d.Now()
	upd := *obj
	upd.Status, upd.Data, upd.UpdatedAt = to, data, now
	err = h.d.Objects.Update(ctx, func(tx store.Tx) error {
		if err := tx.UpdateProtocolObject(ctx, &upd, from); err != nil {
			return err
		}
		if from != to {
			tx.AppendAudit(caller.Event(now, e.OrgID, "digicert.enrollment."+map[string]string{enrRedeemed: "redeem", enrCreated: "release"}[to],
				"enrollment", e.ID, map[string]any{"seat_id": e.SeatID}))
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return apiErr(http.StatusConflict, "enrollment_redeemed", "the enrollment code has already been redeemed")
	}
	return err
}

// enrollmentDetails is the vendor's PublicEnrollmentDetails.
type enrollmentDetails struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"`
	Email                 string         `json:"email"`
	CreatedAt             string         `json:"created_at"`
	ExpiresAt             string         `json:"expires_at"`
	Profile               idName         `json:"profile"`
	BusinessUnit          idName         `json:"business_unit"`
	MessageToUser         string         `json:"message_to_user"`
	SeatIDMappingValue    string         `json:"seat_id_mapping_value"`
	ApprovedByCurrentUser bool           `json:"approved_by_current_user"`
	Seat                  map[string]any `json:"seat"`
	Comments              string         `json:"comments"`
	SerialNumber          string         `json:"serial_number,omitempty"`
	RedeemedAt            string         `json:"redeemed_at,omitempty"`
}

func (h *Handler) details(ctx context.Context, obj *store.ProtocolObject, e *enrollmentRecord) enrollmentDetails {
	d := enrollmentDetails{ID: e.ID, Status: h.enrollmentStatus(obj), Email: e.Email, CreatedAt: timeString(e.CreatedAt),
		ExpiresAt: timeString(e.ExpiresAt), Profile: idName{ID: e.ProfileID, Name: e.ProfileName},
		BusinessUnit: idName{ID: e.OrgID, Name: h.orgName(ctx, e.OrgID)}, SeatIDMappingValue: "COMMON_NAME",
		ApprovedByCurrentUser: auth.PrincipalFrom(ctx).ID == e.CreatedBy,
		Seat:                  map[string]any{"seat_id": e.SeatID, "seat_type": e.SeatType}}
	if e.Serial != "" {
		d.SerialNumber = upperSerial(e.Serial)
	}
	if e.RedeemedAt != nil {
		d.RedeemedAt = timeString(*e.RedeemedAt)
	}
	return d
}

// enrollmentsOf lists an organization's enrollments (readers of requests
// may list them), oldest first, filtered by the vendor's list parameters.
func (h *Handler) enrollmentsOf(r *http.Request) ([]store.ProtocolObject, []*enrollmentRecord, error) {
	caller, err := auth.Require(r.Context(), auth.PermRequestRead)
	if err != nil {
		return nil, nil, err
	}
	q := r.URL.Query()
	orgID, err := h.d.Directory.TargetOrg(r.Context(), caller, q.Get("business_unit_id"))
	if err != nil {
		return nil, nil, err
	}
	statuses := map[string]bool{}
	for _, s := range append(q["statuses"], q["status"]...) {
		for _, one := range strings.Split(s, ",") {
			statuses[strings.ToLower(strings.TrimSpace(one))] = true
		}
	}
	if statuses["redeem"] {
		statuses[enrRedeemed] = true
	}
	var (
		objs []store.ProtocolObject
		recs []*enrollmentRecord
	)
	cursor := ""
	for {
		page, next, err := h.d.Objects.ListProtocolObjects(r.Context(), kindEnrollment, orgID, 1000, cursor)
		if err != nil {
			return nil, nil, err
		}
		for i := range page {
			e, err := decodeEnrollment(&page[i])
			if err != nil {
				return nil, nil, err
			}
			if (q.Get("profile_id") != "" && q.Get("profile_id") != e.ProfileID) ||
				(q.Get("seat_identifier") != "" && q.Get("seat_identifier") != e.SeatID) ||
				(q.Get("email") != "" && !strings.EqualFold(q.Get("email"), e.Email)) ||
				(len(statuses) > 0 && !statuses[h.enrollmentStatus(&page[i])]) {
				continue
			}
			objs, recs = append(objs, page[i]), append(recs, e)
		}
		if next == "" || len(objs) > maxOffset {
			return objs, recs, nil
		}
		cursor = next
	}
}

func (h *Handler) listEnrollments(w http.ResponseWriter, r *http.Request) error {
	objs, recs, err := h.enrollmentsOf(r)
	if err != nil {
		return err
	}
	out := make([]enrollmentDetails, 0, len(recs))
	for i := range recs {
		out = append(out, h.details(r.Context(), &objs[i], recs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getEnrollment(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.Require(r.Context(), auth.PermRequestRead)
	if err != nil {
		return err
	}
	obj, err := h.d.Objects.GetProtocolObject(r.Context(), kindEnrollment, r.PathValue("identifier"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil || !caller.InOrg(obj.AccountID) {
		return apiErr(http.StatusNotFound, "enrollment_not_found", "no enrollment "+r.PathValue("identifier"))
	}
	e, err := decodeEnrollment(obj)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.details(r.Context(), obj, e))
}

// enrollmentReportItem is the vendor's EnrollmentReport (camelCase there).
type enrollmentReportItem struct {
	Seat             idName  `json:"seat"`
	SeatType         string  `json:"seatType"`
	ProfileName      string  `json:"profileName"`
	BuName           string  `json:"buName"`
	Subject          string  `json:"subject"`
	EnrollmentStatus string  `json:"enrollmentStatus"`
	CreateDate       string  `json:"createDate"`
	ExpiryDate       string  `json:"expiryDate"`
	RedeemDate       *string `json:"redeemDate"`
}

func (h *Handler) enrollmentReport(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := paging(r, 20, 1000)
	if err != nil {
		return err
	}
	objs, recs, err := h.enrollmentsOf(r)
	if err != nil {
		return err
	}
	items := []enrollmentReportItem{}
	for i := offset; i < len(recs) && len(items) < limit; i++ {
		e := recs[i]
		it := enrollmentReportItem{Seat: idName{ID: e.SeatID, Name: e.SeatID}, SeatType: e.SeatType, ProfileName: e.ProfileName,
			BuName: h.orgName(r.Context(), e.OrgID), Subject: e.Subject, EnrollmentStatus: h.enrollmentStatus(&objs[i]),
			CreateDate: e.CreatedAt.Format(time.DateOnly), ExpiryDate: e.ExpiresAt.Format(time.DateOnly)}
		if e.RedeemedAt != nil {
			d := e.RedeemedAt.Format(time.DateOnly)
			it.RedeemDate = &d
		}
		items = append(items, it)
	}
	return writeJSON(w, http.StatusOK, page(limit, offset, int64(len(recs)), items))
}
