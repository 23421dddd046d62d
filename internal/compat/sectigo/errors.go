package sectigo

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/signet-pki/signet/internal/problem"
)

// apiError is a Sectigo error document: {"code": -N, "description": "..."}
// with its HTTP status. The codes and messages are the document's own.
type apiError struct {
	status int
	Code   int    `json:"code"`
	Desc   string `json:"description"`
}

func (e *apiError) Error() string { return fmt.Sprintf("sectigo %d: %s", e.Code, e.Desc) }

func fail(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, Code: code, Desc: fmt.Sprintf(format, args...)}
}

// The document's messages (its ” are Java MessageFormat escapes of ').
func errUnknownUser() *apiError { return fail(http.StatusUnauthorized, -16, "Unknown user") }
func errCustomer(uri string) *apiError {
	return fail(http.StatusUnauthorized, -410, "Customer %s cannot be found.", uri)
}
func errMissing(field string) *apiError {
	return fail(http.StatusBadRequest, -7, "%s is required but missing.", field)
}
func errInvalidField(field string) *apiError {
	return fail(http.StatusBadRequest, -1601, "Field '%s' has invalid value.", field)
}
func errWrongSSLID(id string) *apiError {
	return fail(http.StatusNotFound, -124, "Wrong SSL certificate id %s.", id)
}
func errBadJSON() *apiError {
	return fail(http.StatusBadRequest, -1, "Unknown error. The request body is not valid JSON.")
}

// writeError answers err in the document's format. Domain errors are mapped
// in mapProblem; anything else is an internal error (-2), logged, never shown.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = mapProblem(err)
		if ae.Code == -2 {
			log.Error("sectigo compatibility API failure", "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(ae)
}

// mapProblem turns the services' typed errors into the document's codes:
// the one place Signet's error codes meet Sectigo's.
func mapProblem(err error) *apiError {
	p := problem.As(err)
	if p == nil {
		return fail(http.StatusInternalServerError, -2, "Internal error. Please contact Support for details.")
	}
	switch p.Code {
	case "csr_malformed":
		return fail(http.StatusBadRequest, -10, "Error while decoding CSR.")
	case "csr_signature_invalid", "csr_too_large":
		return fail(http.StatusBadRequest, -138, "Invalid CSR.")
	case "key_too_small", "key_too_large":
		return fail(http.StatusBadRequest, -13, "The CSR uses an unsupported key size!")
	case "key_unsupported_type", "key_unsupported_curve", "keygen_unsupported":
		return fail(http.StatusBadRequest, -11, "The CSR uses an unsupported algorithm!")
	case "key_invalid", "key_bad_exponent", "key_small_factor", "key_roca_vulnerable", "key_fermat_factorable":
		return fail(http.StatusBadRequest, -78, "The public key is invalid or not supported.")
	case "domain_not_validated":
		return fail(http.StatusBadRequest, -737, "The domain(s): %s are not validated! Please perform the DCV process for them before proceed.", violatedNames(p))
	case "enrollment_method_not_allowed", "profile_disabled":
		return fail(http.StatusBadRequest, -39, "The certificate profile id is invalid!")
	case "policy_violation", "attributes_invalid":
		return mapViolations(p)
	}
	switch p.Kind {
	case problem.KindUnauthorized:
		return errUnknownUser()
	case problem.KindForbidden:
		return fail(http.StatusForbidden, -3, "You are not authorized to perform this operation (%s).", strings.TrimSuffix(p.Message, "."))
	case problem.KindNotFound:
		return fail(http.StatusNotFound, -5101, "Certificate not found. %s", p.Message)
	case problem.KindInvalid, problem.KindTooLarge:
		return fail(http.StatusBadRequest, -39, "%s", p.Message)
	case problem.KindConflict:
		return fail(http.StatusBadRequest, -39, "%s", p.Message)
	case problem.KindUnavailable:
		return fail(http.StatusServiceUnavailable, -195, "CA is not available now. Please try again later.")
	}
	return fail(http.StatusInternalServerError, -2, "Internal error. Please contact Support for details.")
}

// mapViolations reports the first violation the document has a code for.
func mapViolations(p *problem.Error) *apiError {
	for _, v := range p.Violations {
		switch v.Code {
		case "key_too_small", "key_too_large":
			return fail(http.StatusBadRequest, -13, "The CSR uses an unsupported key size!")
		case "key_type_not_allowed":
			return fail(http.StatusBadRequest, -11, "The CSR uses an unsupported algorithm!")
		case "validity_too_long", "validity_invalid":
			return fail(http.StatusBadRequest, -36, "The validity period (term) is invalid for this certificate profile.")
		case "custom_field_required":
			return fail(http.StatusBadRequest, -62, "Missing mandatory custom field!")
		case "domain_not_validated":
			return fail(http.StatusBadRequest, -737, "The domain(s): %s are not validated! Please perform the DCV process for them before proceed.", violatedNames(p))
		}
	}
	if len(p.Violations) > 0 {
		v := p.Violations[0]
		return fail(http.StatusBadRequest, -1601, "Field '%s' has invalid value. %s", v.Field, v.Message)
	}
	return fail(http.StatusBadRequest, -39, "%s", p.Message)
}

// violatedNames lists the DNS names of domain_not_validated violations.
func violatedNames(p *problem.Error) string {
	var names []string
	for _, v := range p.Violations {
		if v.Code == "domain_not_validated" {
			n, _, _ := strings.Cut(v.Message, " ")
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}
