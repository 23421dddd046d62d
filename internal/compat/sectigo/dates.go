package sectigo

import (
	"net/http"
	"strings"
	"time"
)

// dateFormat renders dates as the dateFormat query parameter asks: one of
// the document's names (US, the default, is MM/dd/yyyy) or a Java-style
// pattern such as "yyyy-MM-dd".
type dateFormat struct{ layout string }

var namedFormats = map[string]string{
	"ISO":     "2006-01-02",
	"ISO_HMS": "2006-01-02T15:04:05.000Z",
	"EU":      "02.01.2006",
	"EU_HMS":  "02.01.2006 15:04:05",
	"US":      "01/02/2006",
	"US_HMS":  "01/02/2006 15:04:05",
	"UK":      "02/01/2006",
	"UK_HMS":  "02/01/2006 15:04:05",
	"JP":      "2006/01/02",
	"JP_HMS":  "2006/01/02 15:04:05",
}

// javaTokens maps the pattern letters clients use to Go layout parts,
// longest first.
var javaTokens = []struct{ java, goLayout string }{
	{"yyyy", "2006"}, {"yy", "06"}, {"MM", "01"}, {"dd", "02"}, {"HH", "15"},
	{"mm", "04"}, {"ss", "05"}, {"SSS", "000"},
}

func parseDateFormat(s string) (dateFormat, error) {
	if s == "" {
		return dateFormat{layout: namedFormats["US"]}, nil
	}
	if l, ok := namedFormats[strings.ToUpper(s)]; ok {
		return dateFormat{layout: l}, nil
	}
	if len(s) > 64 {
		return dateFormat{}, errInvalidField("dateFormat")
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\'' { // quoted literal
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return dateFormat{}, errInvalidField("dateFormat")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, t := range javaTokens {
			if strings.HasPrefix(s[i:], t.java) {
				b.WriteString(t.goLayout)
				i += len(t.java)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			// An unsupported pattern letter, or a digit Go would read as a layout element.
			return dateFormat{}, fail(http.StatusBadRequest, -1601, "Field 'dateFormat' has invalid value.")
		}
		b.WriteByte(c)
		i++
	}
	return dateFormat{layout: b.String()}, nil
}

func (f dateFormat) format(t time.Time) string { return t.UTC().Format(f.layout) }
