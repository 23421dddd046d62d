-- Signet schema v12: how each request and issued certificate was enrolled
-- (api, acme, est, scep, cmp, auto_renew, a compatibility API's name), for
-- the inventory and the compatibility APIs' "requested via" fields. Rows
-- from before this migration keep '' (unknown).
ALTER TABLE requests ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN method TEXT NOT NULL DEFAULT '';
