package notify

import "context"

// SendMail sends one message now over the configured SMTP relay, outside
// any rule and queue: for mail a person must act on at once, such as a
// domain control validation code (internal/domain). The subject is the
// message description; body follows the usual header lines.
func (s *Service) SendMail(ctx context.Context, to, subject, body string) error {
	return s.sender.mail(ctx, to, Message{Event: "domain.validation", Rule: "-", Description: subject, Attachment: body})
}
