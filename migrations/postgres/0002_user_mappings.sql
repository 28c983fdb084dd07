-- Agents mapped to Exotel users. `seq` is the pagination cursor (creation order).
CREATE TABLE user_mappings (
    seq                 BIGSERIAL PRIMARY KEY,
    app_id              TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    customer_id         TEXT NOT NULL,
    app_user_id         TEXT NOT NULL,
    exotel_account_sid  TEXT NOT NULL,
    exotel_user_id      TEXT NOT NULL,
    app_username        TEXT NOT NULL,
    exotel_user_name    TEXT NOT NULL,
    agent_number        TEXT NOT NULL,
    agent_last10        TEXT NOT NULL,
    active_device_id    TEXT NOT NULL,
    phone_device_id     TEXT NOT NULL,
    sip_device_id       TEXT NOT NULL,
    virtual_number      TEXT NOT NULL,
    email               TEXT NOT NULL,
    outbound_active     BOOLEAN NOT NULL,
    role                TEXT NOT NULL,
    sip_id              TEXT NOT NULL,
    sip_password        TEXT NOT NULL,
    is_active           BOOLEAN NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (app_id, app_user_id)
);
CREATE INDEX user_mappings_page ON user_mappings (app_id, seq);
CREATE INDEX user_mappings_by_sip_id ON user_mappings (app_id, sip_id);
CREATE INDEX user_mappings_by_agent ON user_mappings (app_id, agent_last10);
