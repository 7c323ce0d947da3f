-- An audit event that a retry or a restart may record again (an approval recorded from status after a crash, a
-- statement found applied in the migration history) carries a key: the second insert of the same key for the same
-- object is a no-op, so the trail holds each fact once.
alter table audit_event add column dedup_key text;
create unique index audit_event_dedup_idx on audit_event (uid, dedup_key) where dedup_key is not null;
