-- One row that /readyz rewrites to prove that writes commit (they fail on a full disk).
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY,
    checked_at BIGINT NOT NULL
);
