-- The operator's own store (DESIGN.md, "The operator's own store").

-- Every apply, rollback, backup, restore, disposal and approval, with its outcome.
create table audit_event (
    id            bigserial primary key,
    occurred_at   timestamptz not null default now(),
    namespace     text not null,
    kind          text not null,
    name          text not null,
    uid           text,
    action        text not null,   -- apply, rollback, backup, restore, disposal, approval, rejection ...
    step          text,            -- the workflow step, e.g. expand, contract, dispose
    actor         text not null,   -- dba-operator, or the approver's identity
    outcome       text not null,   -- started, succeeded, failed, approved, rejected
    plan_digest   text,
    details       jsonb not null default '{}'::jsonb
);
create index audit_event_object_idx on audit_event (namespace, kind, name, occurred_at);
create index audit_event_action_idx on audit_event (action, occurred_at);

-- The knowledge base (P-LEARN): plans seen for a query, and what an index did for it over time.
create table query_plan_history (
    id              bigserial primary key,
    captured_at     timestamptz not null default now(),
    database_key    text not null,   -- user@host/dbname, never credentials
    query_fingerprint text not null,
    query_text      text not null,
    plan            jsonb not null,
    total_cost      double precision,
    execution_ms    double precision,
    source          text not null    -- production, staging, hypothetical
);
create index query_plan_history_query_idx on query_plan_history (database_key, query_fingerprint, captured_at);

create table index_impact (
    id              bigserial primary key,
    observed_at     timestamptz not null default now(),
    database_key    text not null,
    index_name      text not null,
    table_name      text not null,
    query_fingerprint text,
    cost_before     double precision,
    cost_after      double precision,
    idx_scan        bigint,
    size_bytes      bigint,
    recommended_by  text not null    -- analyzer, llm-advisor
);
create index index_impact_index_idx on index_impact (database_key, index_name, observed_at);
